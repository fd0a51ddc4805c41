"""Pure building blocks of a tracked projection: facts in, changed rows out.

Nothing here knows about a database. A view applies facts to rows held in
memory (``Rows``); the mechanism in ``infrastructure.projections`` loads rows it
does not hold yet, writes the changed ones and the view's position in one
transaction per page, and throws the rows away whenever a transaction fails.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from typing import Any, ClassVar, Protocol, TypeVar
from uuid import UUID

import msgspec

from domain.ids import uuid_text

Row = dict[str, Any]
Loader = Callable[[str, str], "Row | None"]  # (table, key) -> the committed row, or None


S = TypeVar("S")


class StateCodec(Protocol):
    """Turns an event's stored state into what a handler reads (see ``Fact``)."""

    def state(self, topic: str, data: bytes) -> dict[str, Any]: ...

    def read(self, shape: type[S], topic: str, data: bytes) -> S: ...


class Ref(msgspec.Struct, gc=False):
    """An id (a UUID) read into a shape, as the record stores it; ``ref_text`` gives its canonical text."""

    hex: str = msgspec.field(name="_data_")


def ref_text(value: Ref | str) -> str:
    """The canonical text of an id read into a shape as ``Ref | str`` (a fact made from its state, as
    in tests, holds the text already)."""
    return value if type(value) is str else uuid_text(value.hex)  # type: ignore[union-attr]


class Fact:
    """One recorded event as a projection sees it: position, topic, its stream (``key``) and version,
    and its state.

    The state is decoded only when a handler reads it: as a whole (``state``, a dict), or straight
    into the handler's own shape of the few fields it uses (``read(Shape)``, a ``msgspec.Struct``;
    fields not in the shape are skipped, not built). So a view pays only for what it reads. A shape
    holds plain JSON values, and ids as ``Ref | str`` (see ``ref_text``); dates are read through
    ``state``, where ids (UUIDs) are their canonical text, as the views store them. Read-only by
    convention.
    """

    __slots__ = ("_codec", "_data", "_state", "key", "position", "topic", "version")

    def __init__(
        self,
        position: int,
        topic: str,
        state: dict[str, Any] | None = None,
        key: str = "",
        version: int = 0,  # the event's version in its stream
        data: bytes | None = None,
        codec: StateCodec | None = None,
    ) -> None:
        self.position, self.topic, self.key, self.version = position, topic, key, version
        self._state, self._data, self._codec = state, data, codec

    @property
    def state(self) -> dict[str, Any]:
        state = self._state
        if state is None:
            assert self._codec is not None and self._data is not None, "a fact needs its state or its data"
            state = self._state = self._codec.state(self.topic, self._data)
        return state

    def read(self, shape: type[S]) -> S:
        """The fields of the state that ``shape`` (a msgspec Struct) names, decoded straight into it."""
        if self._codec is None or self._data is None:  # a fact made from its state (tests): ids as text
            return msgspec.convert(msgspec.to_builtins(self.state), shape)
        return self._codec.read(shape, self.topic, self._data)

    def __repr__(self) -> str:
        return f"Fact({self.position}, {self.topic!r}, key={self.key!r}, version={self.version})"


# (stream, before version, topics) -> the stream's earlier facts of those topics, in order, from the record
History = Callable[[str, int, frozenset[str]], list[Fact]]


_MISSING = object()


class Rows:
    """One table's rows for a run: read-through cache, written back once per page."""

    __slots__ = ("cache", "complete", "dirty", "loader", "table")

    def __init__(self, table: str, loader: Loader) -> None:
        self.table = table
        self.loader = loader
        self.cache: dict[str, Row | None] = {}
        self.dirty: set[str] = set()
        # True when the cache holds every committed row (a rebuild that started empty),
        # so a miss means "no such row" without asking the database.
        self.complete = False

    def get(self, key: str) -> Row | None:
        row = self.cache.get(key, _MISSING)
        if row is _MISSING:
            row = None if self.complete else self.loader(self.table, key)
            self.cache[key] = row
        return row  # type: ignore[return-value]

    def put(self, row: Row) -> None:
        """Insert or replace (or mark changed after editing in place) the row with key ``row['id']``."""
        key = row["id"]
        self.cache[key] = row
        self.dirty.add(key)

    def take_changes(self) -> list[Row]:
        """The rows put since the last call, to be written."""
        changed = [self.cache[key] for key in self.dirty]
        self.dirty.clear()
        return changed  # type: ignore[return-value]

    def trim(self, limit: int) -> None:
        """Past ``limit`` rows, drop the older half (by first use): a bounded cache, no longer complete."""
        if _drop_oldest(self.cache, limit):
            self.complete = False

    def forget(self, *, complete: bool = False) -> None:
        """Drop every cached row (after a failed or foreign transaction)."""
        self.cache.clear()
        self.dirty.clear()
        self.complete = complete


def _drop_oldest(cache: dict[str, Any], limit: int) -> bool:
    """Past ``limit`` entries, drop the older half (by insertion); whether anything was dropped."""
    if len(cache) <= limit:
        return False
    for key in list(itertools.islice(cache, len(cache) - limit // 2)):
        del cache[key]
    return True


Handler = Callable[[Any, Fact, "Tables"], None]


class Tables(dict[str, Rows]):
    """The rows of each of a view's tables, by table name (a plain dict: handlers index it per event).

    Besides rows, a view may keep per-stream state that is never written:
    a *memo* (``memo(name)``, a dict by stream key) whose every entry can be
    derived again from the stream's own earlier events in the record
    (``earlier``). Such state costs nothing to keep current, survives any
    crash (the record is the state), and is dropped whenever the rows are.
    """

    def __init__(self, names: Iterable[str], loader: Loader, history: History | None = None) -> None:
        super().__init__((name, Rows(name, loader)) for name in names)
        self.history = history
        self.memos: dict[str, dict[str, Any]] = {}
        # Streams read ahead for a page (see View.reads_history): stream -> its facts, in order.
        self.streams: dict[str, list[Fact]] = {}
        self.upto = 0  # the position of the last fact of the page being settled (View.settle)

    def earlier(self, fact: Fact, topics: frozenset[str]) -> list[Fact]:
        """The facts of ``fact``'s stream recorded before it, of the given topics."""
        ahead = self.streams.get(fact.key)
        if ahead is not None:
            return [f for f in ahead if f.version < fact.version and f.topic in topics]
        if self.history is None:
            raise LookupError("these tables were given no access to the record")
        return self.history(fact.key, fact.version, topics)

    def memo(self, name: str) -> dict[str, Any]:
        memo = self.memos.get(name)  # (not setdefault: that would build a dict per event)
        if memo is None:
            memo = self.memos[name] = {}
        return memo

    def derived(self, name: str, fact: Fact, fold: Callable[[list[Fact]], Any], topics: frozenset[str]) -> Any:
        """The memo's state for ``fact``'s stream, derived from its earlier events when not held."""
        memo = self.memo(name)
        state = memo.get(fact.key)
        if state is None:
            state = fold(self.earlier(fact, topics))
            if state is not None:
                memo[fact.key] = state
        return state

    def forget(self, *, complete: bool = False) -> None:
        for rows in self.values():
            rows.forget(complete=complete)
        self.memos.clear()

    def trim(self, limit: int) -> None:
        for rows in self.values():
            rows.trim(limit)
        for memo in self.memos.values():
            _drop_oldest(memo, limit)


def handles(topic: str) -> Callable[[Handler], Handler]:
    """Mark a view method as the handler of one event topic."""

    def mark(method: Handler) -> Handler:
        method.topic = topic  # type: ignore[attr-defined]
        return method

    return mark


class View:
    """A read model: a name (its tracking key), its tables, and a handler per topic it uses."""

    name: ClassVar[str]
    tables: ClassVar[tuple[str, ...]]
    version: ClassVar[int] = 1  # raise it when the view's logic changes: the worker then rebuilds it
    cost: ClassVar[float] = 1.0  # relative cost of a rebuild, to share views out between rebuild processes
    # Topics whose handlers read their stream's earlier events (Tables.earlier), and the topics they
    # read: the mechanism reads those streams ahead, once per page, instead of once per event.
    reads_history: ClassVar[dict[str, frozenset[str]]] = {}
    # Topics whose handlers use only the fact's position, stream and version, never its state: unless
    # another view in the same projector reads their state, such events are not decoded (state ``{}``).
    keys_only: ClassVar[frozenset[str]] = frozenset()
    handlers: ClassVar[dict[str, Handler]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.handlers = {
            value.topic: value
            for klass in reversed(cls.__mro__)  # a subclass inherits its parents' handlers
            for value in vars(klass).values()
            if callable(value) and hasattr(value, "topic")
        }

    def settle(self, tables: Tables, final: bool) -> None:
        """Finish the rows changed by a page's facts, before they are written (once per page). ``final``:
        no later page is known yet, so what the view left for later must be done now (a rebuild's pages
        before its last are not final)."""

    def apply(self, fact: Fact, tables: Tables) -> None:
        """Apply one fact (the projector inlines this loop; override handlers, not this)."""
        handler = self.handlers.get(fact.topic)
        if handler is not None:
            handler(self, fact, tables)


def text(value: Any) -> str | None:
    """Ids and dates as the strings the views store."""
    if value is None:
        return None
    if isinstance(value, UUID):
        return str(value)
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def body_key(name: str | None) -> str | None:
    """An organisation's name as it is matched: case and surrounding spaces ignored."""
    return name.strip().casefold() if name is not None else None
