"""Stored events to projection facts, fast.

The same result as ``mapper.to_domain_event`` (cipher, compressor, the
transcoder's custom types, class-version upcasting) without building event
objects, with orjson instead of the standard library's JSON decoder, and
only when a handler reads the state (or, with msgspec, only the fields it
reads): decoding is most of the cost of reading the record in order. Rows come as
plain tuples ``(position, stream, version, topic, state)`` from the
recorders' ``select_feed_rows``, and ids (UUIDs) come out as their canonical
text, the form the views store, so no ``UUID`` object is ever built.
"""
from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any, TypeVar

import msgspec
import orjson
from eventsourcing.persistence import JSONTranscoder, Mapper
from eventsourcing.utils import resolve_topic

from application.ids import uuid_text
from application.personal_data import CASE_ID_FIELD, SEALED_FIELDS, CaseKeys
from application.projections.store import Fact

Row = tuple[int, str, int, str, "bytes | None"]
S = TypeVar("S")


class FactDecoder:
    """Rows to facts, whose state is decoded when (and as) a handler reads it (``store.Fact``)."""

    def __init__(self, mapper: Mapper[Any]) -> None:
        self.cipher = mapper.cipher
        self.compressor = mapper.compressor
        transcoder = mapper.transcoder
        assert isinstance(transcoder, JSONTranscoder), "the fast path knows only JSON transcoders"
        self.decoders = {name: t.decode for name, t in transcoder.names.items()}
        self.decoders["uuid_hex"] = uuid_text
        self.shapes: dict[type, msgspec.json.Decoder[Any]] = {}
        self.keys: CaseKeys | None = getattr(mapper, "keys", None)

    def facts(
        self, rows: Iterable[Row], topics: frozenset[str] | None = None, bare: frozenset[str] = frozenset()
    ) -> list[Fact]:
        """The facts of the rows, leaving out those whose topic is not in ``topics``; those whose
        topic is in ``bare`` get an empty state (their handlers never read it). Nothing is decoded yet,
        but the keys of the cases whose personal fields may be read are fetched, in one query."""
        if not isinstance(rows, list):
            rows = list(rows)
        if self.keys is not None and self.keys.enabled:
            self.keys.prefetch(
                s.replace("-", "") for _, s, _, t, d in rows  # (canonical text to hex)
                if t in _PREFETCH and d is not None and (topics is None or t in topics) and t not in bare
            )
        if topics is None:
            return [Fact(p, t, None, s, v, d, self) for p, s, v, t, d in rows]
        return [
            Fact(p, t, {} if t in bare else None, s, v, d, self) for p, s, v, t, d in rows if t in topics
        ]

    def state(self, topic: str, data: bytes) -> dict[str, Any]:
        """The whole state, as the mapper would give it (ids as text)."""
        data = self._plain(data)
        state = orjson.loads(data)
        typed = 0
        decoders = self.decoders
        for key, value in state.items():
            if type(value) is dict and "_type_" in value and len(value) == 2:
                state[key] = decoders[value["_type_"]](value["_data_"])
                typed += 1
        if data.count(b'"_type_"') > typed:  # typed values nested deeper (rare): the full walk
            state = self._revive(state)
        if _class_version(topic) > 1:
            _upcast(topic, state)
        return state

    def read(self, shape: type[S], topic: str, data: bytes) -> S:
        """Only the fields ``shape`` names, decoded straight from the stored JSON (msgspec: about
        twice as fast as a whole decode for a rating, whose notes, cause and timestamp are skipped)."""
        if _class_version(topic) > 1:  # an older stored shape: upcast the whole state first
            return msgspec.convert(self.state(topic, data), shape)
        decoder = self.shapes.get(shape)
        if decoder is None:
            decoder = self.shapes[shape] = msgspec.json.Decoder(shape)
        sealed = _SEALED_AT_TOP.get(topic)
        if sealed is None:
            return decoder.decode(self._plain(data))
        # Personal fields the shape reads come sealed ({"_type_": "pd", ...}): open just those.
        try:
            value = decoder.decode(self._plain(data))
        except msgspec.ValidationError:  # the shape reads a sealed field as a plain type: the whole way
            return msgspec.convert(self.state(topic, data), shape)
        for name in sealed:
            found = getattr(value, name, None)
            if type(found) is dict and found.get("_type_") == "pd":
                setattr(value, name, self.decoders["pd"](found["_data_"]))
        return value

    def _plain(self, data: bytes) -> bytes:
        if self.cipher is not None:
            data = self.cipher.decrypt(data)
        if self.compressor is not None:
            data = self.compressor.decompress(data)
        return data

    def _revive(self, value: Any) -> Any:
        """Turn the transcoder's ``{"_type_", "_data_"}`` objects back into values, in place."""
        if type(value) is dict:
            if len(value) == 2 and "_type_" in value and "_data_" in value:
                return self.decoders[value["_type_"]](value["_data_"])
            for key, item in value.items():
                if type(item) is dict or type(item) is list:
                    value[key] = self._revive(item)
        elif type(value) is list:
            for index, item in enumerate(value):
                if type(item) is dict or type(item) is list:
                    value[index] = self._revive(item)
        return value


# Topics with a sealed field at the top of the state (a shape would read it still sealed), and the
# topics whose stream is the case whose key opens them (read ahead per page of rows).
_SEALED_AT_TOP = {
    t: top for t, fields in SEALED_FIELDS.items() if (top := tuple(f for f in fields if "[]" not in f))
}
_PREFETCH = frozenset(t for t in _SEALED_AT_TOP if t not in CASE_ID_FIELD)


@cache
def _class_version(topic: str) -> int:
    return getattr(resolve_topic(topic), "class_version", 1)


def _upcast(topic: str, state: dict[str, Any]) -> None:
    """Bring an older stored state up to the event class's version, as the mapper does."""
    cls = resolve_topic(topic)
    version = state.pop("class_version", 1)
    while version < cls.class_version:
        getattr(cls, f"upcast_v{version}_v{version + 1}")(state)
        version += 1
