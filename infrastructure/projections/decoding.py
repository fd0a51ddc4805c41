"""Stored events to projection facts, fast.

The same result as ``mapper.to_domain_event`` (cipher, compressor, the
transcoder's custom types, class-version upcasting) without building event
objects, and with orjson instead of the standard library's JSON decoder:
decoding is most of the cost of reading the record in order. Rows come as
plain tuples ``(position, stream, version, topic, state)`` from the
recorders' ``select_feed_rows``, and ids (UUIDs) come out as their canonical
text, the form the views store, so no ``UUID`` object is ever built.
"""
from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any

import orjson
from eventsourcing.persistence import JSONTranscoder, Mapper
from eventsourcing.utils import resolve_topic

from application.feed_codec import uuid_text
from application.projections.store import Fact

Row = tuple[int, str, int, str, "bytes | None"]


class FactDecoder:
    def __init__(self, mapper: Mapper[Any]) -> None:
        self.cipher = mapper.cipher
        self.compressor = mapper.compressor
        transcoder = mapper.transcoder
        assert isinstance(transcoder, JSONTranscoder), "the fast path knows only JSON transcoders"
        self.decoders = {name: t.decode for name, t in transcoder.names.items()}
        self.decoders["uuid_hex"] = uuid_text

    def facts(
        self, rows: Iterable[Row], topics: frozenset[str] | None = None, bare: frozenset[str] = frozenset()
    ) -> list[Fact]:
        """The facts of the rows, leaving out (undecoded) those whose topic is not in ``topics``;
        those whose topic is in ``bare`` keep their state undecoded (``{}``: their handlers never read it)."""
        fact = self.fact
        if topics is None:
            return [fact(*row) for row in rows]
        if not bare:
            return [fact(*row) for row in rows if row[3] in topics]
        return [
            Fact(row[0], row[3], {}, row[1], row[2]) if row[3] in bare else fact(*row)
            for row in rows if row[3] in topics
        ]

    def fact(self, position: int, stream: str, version: int, topic: str, data: bytes) -> Fact:
        if self.cipher is not None:
            data = self.cipher.decrypt(data)
        if self.compressor is not None:
            data = self.compressor.decompress(data)
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
        return Fact(position, topic, state, stream, version)

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


@lru_cache(maxsize=None)
def _class_version(topic: str) -> int:
    return getattr(resolve_topic(topic), "class_version", 1)


def _upcast(topic: str, state: dict[str, Any]) -> None:
    """Bring an older stored state up to the event class's version, as the mapper does."""
    cls = resolve_topic(topic)
    version = state.pop("class_version", 1)
    while version < cls.class_version:
        getattr(cls, f"upcast_v{version}_v{version + 1}")(state)
        version += 1
