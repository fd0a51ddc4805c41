"""Stored events to plain values, fast: the one decoder of the record.

The same result as ``mapper.to_domain_event`` (cipher, compressor, the transcoder's
custom types, class-version upcasting) without building event objects, with orjson
instead of the standard library's JSON decoder: decoding is most of the cost of
reading the record in order, for the projections and for the feed alike.

- ``facts``/``state``/``read``: for the projections (``store.Fact``). Rows come as plain
  tuples ``(position, stream, version, topic, state)`` from the recorders'
  ``select_feed_rows``; the state is decoded only when (and as) a handler reads it (with
  msgspec, only the fields it reads), and ids come out as their canonical text, the form
  the views store, so no ``UUID`` object is ever built.
- ``plain``: for the feed, the values ``to_plain(vars(mapper.to_domain_event(n)))``
  gives. The library's JSON transcoder writes a custom type as ``{"_type_": ..., "_data_": ...}``;
  dates, times and UUIDs become their JSON strings directly, anything else goes through
  its transcoding and ``to_plain``. An event class with a ``class_version`` above 1 takes
  the mapper's path there, so upcasting stays the library's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cache
from typing import Any, NamedTuple, TypeVar
from uuid import UUID

import msgspec
import orjson
from eventsourcing.persistence import JSONTranscoder, Mapper, Notification
from eventsourcing.utils import resolve_topic

from application.history import to_plain
from application.personal_data import CASE_ID_FIELD, SEALED_FIELDS, CaseKeys, Unopened, erased_case_id
from application.projections.store import Fact
from domain.ids import uuid_text

Row = tuple[int, str, int, str, "bytes | None"]
S = TypeVar("S")
_WRAPPED = b'"_type_":'  # the transcoder writes compact JSON; a user's text cannot contain this unescaped
_AS_IS = ("date_iso", "datetime_iso")


class FeedRow(NamedTuple):
    """A stored event as the feed reads it: the stream already as its hyphenated string."""

    position: int
    stream: str
    version: int
    topic: str
    state: bytes

    @classmethod
    def of(cls, n: Notification) -> FeedRow:
        return cls(n.id, str(n.originator_id), n.originator_version, n.topic, n.state)


class EventDecoder:
    """One per mapper (its cipher, compressor and transcodings)."""

    def __init__(self, mapper: Mapper[Any]) -> None:
        self.mapper = mapper
        self.cipher = mapper.cipher
        self.compressor = mapper.compressor
        transcoder = mapper.transcoder
        self.fast = isinstance(transcoder, JSONTranscoder)
        self.transcodings = transcoder.names if isinstance(transcoder, JSONTranscoder) else {}
        self.decoders: dict[str, Callable[[Any], Any]] = {name: t.decode for name, t in self.transcodings.items()}
        self.decoders["uuid_hex"] = uuid_text
        self.shapes: dict[type, msgspec.json.Decoder[Any]] = {}
        self.sealed: dict[tuple[type, str], tuple[tuple[str, bool], ...]] = {}  # see _sealed_in
        self.keys: CaseKeys | None = getattr(mapper, "keys", None)

    # -- for the projections ---------------------------------------------------------

    def facts(
        self,
        rows: Iterable[Row],
        topics: frozenset[str] | None = None,
        bare: frozenset[str] = frozenset(),
        keys_ahead: bool = True,
    ) -> list[Fact]:
        """The facts of the rows, leaving out those whose topic is not in ``topics``; those whose
        topic is in ``bare`` get an empty state (their handlers never read it). Nothing is decoded yet,
        but with ``keys_ahead`` the keys of the cases whose personal fields may be read are fetched, in
        one query (the projector's own pages skip it: no view opens them as it reads them); a key not
        fetched ahead is fetched when needed."""
        if not isinstance(rows, list):
            rows = list(rows)
        if keys_ahead and self.keys is not None and self.keys.enabled:
            self.keys.prefetch(
                s.replace("-", "")
                for _, s, _, t, d in rows  # (canonical text to hex)
                if t in _PREFETCH and d is not None and (topics is None or t in topics) and t not in bare
            )
        if topics is None:
            return [Fact(p, t, None, s, v, d, self) for p, s, v, t, d in rows]
        return [Fact(p, t, {} if t in bare else None, s, v, d, self) for p, s, v, t, d in rows if t in topics]

    def state(self, topic: str, data: bytes) -> dict[str, Any]:
        """The whole state, as the mapper would give it (ids as text)."""
        data = self._opened(data)
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
        """Only the fields ``shape`` names, decoded straight from the stored JSON (msgspec: a
        rating's notes, cause and timestamp are skipped, not decoded: docs/performance.md)."""
        if _class_version(topic) > 1:  # an older stored shape: upcast the whole state first
            return msgspec.convert(self.state(topic, data), shape)
        decoder = self.shapes.get(shape)
        if decoder is None:
            decoder = self.shapes[shape] = msgspec.json.Decoder(shape)
        if topic not in _SEALED_AT_TOP:
            return decoder.decode(self._opened(data))
        # Personal fields the shape reads come sealed ({"_type_": "pd", ...}): open just those, or leave
        # them unopened where the shape says so.
        try:
            value = decoder.decode(self._opened(data))
        except msgspec.ValidationError:  # the shape reads a sealed field as a plain type: the whole way
            return msgspec.convert(self.state(topic, data), shape)
        sealed = self.sealed.get((shape, topic))
        if sealed is None:
            sealed = self.sealed[shape, topic] = _sealed_in(shape, topic, self.keys is not None)
        for name, later in sealed:
            found = getattr(value, name)
            if type(found) is dict and found.get("_type_") == "pd":
                text = found["_data_"]
                setattr(value, name, Unopened(self.keys, text) if later else self.decoders["pd"](text))  # type: ignore[arg-type]
        return value

    def _opened(self, data: bytes) -> bytes:
        """Decrypted and decompressed, as the mapper does first."""
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

    # -- for the feed ----------------------------------------------------------------

    def plain(self, n: FeedRow | Notification) -> dict[str, Any]:
        """The event's stored state (timestamp, cause and its own fields) as plain JSON values;
        ``erased: true`` when the case's personal fields are null because its key is destroyed."""
        state = self._plain_state(n)
        keys = self.keys
        if keys is not None and keys.enabled:
            stream = n.stream if isinstance(n, FeedRow) else str(n.originator_id)
            case_hex = erased_case_id(n.topic, stream, lambda: state)
            if case_hex is not None and keys.is_erased(case_hex):
                state["erased"] = True
        return state

    def _plain_state(self, n: FeedRow | Notification) -> dict[str, Any]:
        if not self.fast or _class_version(n.topic) > 1:
            return self._via_mapper(n)
        data = self._opened(n.state)
        state: dict[str, Any] = orjson.loads(data)
        wrapped = data.count(_WRAPPED)
        if wrapped:
            found = 0
            for key, value in state.items():
                if type(value) is dict and len(value) == 2 and "_type_" in value:
                    state[key] = self._plain_value(value)
                    found += 1
            if found != wrapped:  # some custom value is nested deeper: walk everything
                state = self._walk(state)
        return state

    def _via_mapper(self, n: FeedRow | Notification) -> dict[str, Any]:
        if isinstance(n, FeedRow):
            n = Notification(
                id=n.position, originator_id=UUID(n.stream), originator_version=n.version, topic=n.topic, state=n.state
            )
        fields = dict(vars(self.mapper.to_domain_event(n)))
        fields.pop("originator_id", None)
        fields.pop("originator_version", None)
        return to_plain(fields)

    def _plain_value(self, wrapped: dict[str, Any]) -> Any:
        kind, data = wrapped["_type_"], wrapped["_data_"]
        if kind in _AS_IS:
            return data
        if kind == "uuid_hex" and len(data) == 32:
            return uuid_text(data)
        return to_plain(self.transcodings[kind].decode(self._walk(data)))

    def _walk(self, value: Any) -> Any:
        if type(value) is dict:
            if len(value) == 2 and "_type_" in value and "_data_" in value:
                return self._plain_value(value)
            return {key: self._walk(item) for key, item in value.items()}
        if type(value) is list:
            return [self._walk(item) for item in value]
        return value


# Topics with a sealed field at the top of the state (a shape would read it still sealed), and the
# topics whose stream is the case whose key opens them (read ahead per page of rows).
_SEALED_AT_TOP = {t: top for t, fields in SEALED_FIELDS.items() if (top := tuple(f for f in fields if "[]" not in f))}
_PREFETCH = frozenset(t for t in _SEALED_AT_TOP if t not in CASE_ID_FIELD)


def _sealed_in(shape: type, topic: str, unopened: bool) -> tuple[tuple[str, bool], ...]:
    """The sealed fields of the topic that the shape reads, each with whether it is left unopened."""
    fields = getattr(shape, "__struct_fields__", ())
    later: frozenset[str] = getattr(shape, "unopened", frozenset()) if unopened else frozenset()
    return tuple((name, name in later) for name in _SEALED_AT_TOP[topic] if name in fields)


@cache
def _class_version(topic: str) -> int:
    return int(getattr(resolve_topic(topic), "class_version", 1))


def _upcast(topic: str, state: dict[str, Any]) -> None:
    """Bring an older stored state up to the event class's version, as the mapper does."""
    cls = resolve_topic(topic)
    version = state.pop("class_version", 1)
    while version < cls.class_version:
        getattr(cls, f"upcast_v{version}_v{version + 1}")(state)
        version += 1
