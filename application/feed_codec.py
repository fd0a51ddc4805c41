"""Stored event state straight to the plain JSON values the feed sends, fast.

The same values as ``to_plain(vars(mapper.to_domain_event(n)))`` (cipher,
compressor, the transcoder's custom types) without building event objects and
with orjson: decoding is most of the cost of serving a page of the feed. The
library's JSON transcoder writes a custom type as ``{"_type_": ..., "_data_": ...}``;
dates, times and UUIDs are turned into their JSON strings directly, anything
else goes through its transcoding and ``to_plain``. An event class with a
``class_version`` above 1 takes the mapper's path, so upcasting stays the
library's.
"""
from __future__ import annotations

from functools import cache
from typing import Any, NamedTuple
from uuid import UUID

import orjson
from eventsourcing.persistence import JSONTranscoder, Mapper, Notification
from eventsourcing.utils import resolve_topic

from application.app import to_plain
from application.ids import uuid_text
from application.personal_data import erased_case_id

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


class PlainStateDecoder:
    def __init__(self, mapper: Mapper[Any]) -> None:
        self.mapper = mapper
        self.cipher = mapper.cipher
        self.compressor = mapper.compressor
        transcoder = mapper.transcoder
        self.fast = isinstance(transcoder, JSONTranscoder)
        self.transcodings = transcoder.names if isinstance(transcoder, JSONTranscoder) else {}

    def state(self, n: FeedRow | Notification) -> dict[str, Any]:
        """The event's stored state (timestamp, cause and its own fields) as plain JSON values."""
        state = self._state(n)
        keys = getattr(self.mapper, "keys", None)
        if keys is not None and keys.enabled:
            stream = n.stream if isinstance(n, FeedRow) else str(n.originator_id)
            case_hex = erased_case_id(n.topic, stream, lambda: state)
            if case_hex is not None and keys.is_erased(case_hex):
                state["erased"] = True  # its personal fields are null: their key is destroyed
        return state

    def _state(self, n: FeedRow | Notification) -> dict[str, Any]:
        if not self.fast or _class_version(n.topic) > 1:
            return self._via_mapper(n)
        data = n.state
        if self.cipher is not None:
            data = self.cipher.decrypt(data)
        if self.compressor is not None:
            data = self.compressor.decompress(data)
        state: dict[str, Any] = orjson.loads(data)
        wrapped = data.count(_WRAPPED)
        if wrapped:
            found = 0
            for key, value in state.items():
                if type(value) is dict and len(value) == 2 and "_type_" in value:
                    state[key] = self._plain(value)
                    found += 1
            if found != wrapped:  # some custom value is nested deeper: walk everything
                state = self._walk(state)
        return state

    def _via_mapper(self, n: FeedRow | Notification) -> dict[str, Any]:
        if isinstance(n, FeedRow):
            n = Notification(id=n.position, originator_id=UUID(n.stream), originator_version=n.version,
                             topic=n.topic, state=n.state)
        fields = dict(vars(self.mapper.to_domain_event(n)))
        fields.pop("originator_id", None)
        fields.pop("originator_version", None)
        return to_plain(fields)

    def _plain(self, wrapped: dict[str, Any]) -> Any:
        kind, data = wrapped["_type_"], wrapped["_data_"]
        if kind in _AS_IS:
            return data
        if kind == "uuid_hex" and len(data) == 32:
            return uuid_text(data)
        return to_plain(self.transcodings[kind].decode(self._walk(data)))

    def _walk(self, value: Any) -> Any:
        if type(value) is dict:
            if len(value) == 2 and "_type_" in value and "_data_" in value:
                return self._plain(value)
            return {key: self._walk(item) for key, item in value.items()}
        if type(value) is list:
            return [self._walk(item) for item in value]
        return value


@cache
def _class_version(topic: str) -> int:
    return int(getattr(resolve_topic(topic), "class_version", 1))
