"""Crypto-shredding: each case's personal data is sealed with a key of the case's own.

The personal fields of a case (its reference, its characteristics, the notes
of its judgements and moderations) are written to the record sealed with
AES-256-GCM under a key that belongs to that case alone, wherever an event
holds them (``SEALED_FIELDS``). Erasing the case destroys the key: its events
stay byte for byte (the hash chain still verifies), but what they seal can no
longer be read by anyone, and reads give ``null`` in its place.

A sealed value is stored as the transcoder's custom type ``pd``:
``{"_type_": "pd", "_data_": "<case id hex>.<base64 of nonce + ciphertext>"}``,
so every decoder of the record (the mapper, the projections' fast path, the
feed's) opens it through the same transcoding, and nothing else needs to know.

Keys live in the event store's database, in the recorder's ``case_keys`` table:
the key of a new case is written in the same transaction as the case's first
event, and destroyed in the same transaction as its erasure event. This
process keeps keys it has read for at most ``KEY_TTL`` seconds, so a key
destroyed by another process (an API node, the worker) stops opening its
values here within that time; the process that erases forgets it at once.
"""

from __future__ import annotations

import base64
import binascii
import os
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol
from uuid import UUID

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.persistence import Cipher, Compressor, Mapper, StoredEvent, Transcoder, Transcoding
from eventsourcing.utils import get_topic

KEY_TTL = 2.0  # seconds a key read from the store is used without asking the store again
ERASED_TOPIC = "case.personal_data_erased.v1"
SAMPLED_TOPIC = "case.sampled.v1"

# topic -> how to find the case an event's personal fields belong to, and which fields they are.
# A field named "judgements[].note" is the ``note`` of each item of the ``judgements`` list.
SEALED_FIELDS: dict[str, tuple[str, ...]] = {
    "case.sampled.v1": ("case_ref", "characteristics"),
    "case.rated.v1": ("judgements[].note",),
    "case.moderated.v1": ("judgements[].note", "note"),
    "inspection.case_sampled.v1": ("case_ref",),
}
# Events whose personal fields belong to another stream's case: the field naming that case's id.
CASE_ID_FIELD = {"inspection.case_sampled.v1": "case_id"}


class KeyStore(Protocol):
    """What the event store's recorder offers for case keys (``infrastructure.eventstore``)."""

    def select_case_keys(self, case_ids: list[str]) -> dict[str, bytes | None]:
        """Each known case's key by id (hex); ``None`` for an erased case; unknown cases are absent."""
        ...

    def destroy_case_keys(self, case_ids: list[str]) -> int:
        """Destroy the keys of these cases (again); how many were still there."""
        ...


_ERASED = object()  # a cache entry: the case is erased
_UNKNOWN = object()  # a cache entry: no key (a case recorded before keys, or none at all)


class CaseKeys:
    """Per-case keys: made for new cases, read from the store per use (cached ``KEY_TTL`` seconds)."""

    def __init__(self, ttl: float = KEY_TTL) -> None:
        self.store: KeyStore | None = None  # attached once the recorder exists; without one nothing is sealed
        self.ttl = ttl
        self._cache: dict[str, tuple[Any, float]] = {}
        self._pending: dict[str, bytes] = {}  # keys made for cases whose first event is being recorded
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.store is not None

    # -- new cases ----------------------------------------------------------------

    def new_key(self, case_hex: str) -> AESGCM:
        """The key of a case being sampled: made once, written with the case's first event."""
        with self._lock:
            key = self._pending.get(case_hex)
            if key is None:
                key = self._pending[case_hex] = AESGCM.generate_key(bit_length=256)
        return AESGCM(key)

    def pending_keys(self) -> dict[str, bytes]:
        """The keys made and not (yet) written: all of them, for an application without a key store."""
        with self._lock:
            return dict(self._pending)

    def take_pending(self, case_hex: str) -> bytes | None:
        """The recorder takes the new key it writes in the transaction of the case's first event."""
        with self._lock:
            key = self._pending.pop(case_hex, None)
        if key is not None:
            self._cache[case_hex] = (AESGCM(key), time.monotonic())
        return key

    # -- reading --------------------------------------------------------------------

    def _entry(self, case_hex: str) -> Any:
        entry = self._cache.get(case_hex)
        if entry is not None and time.monotonic() - entry[1] < self.ttl:
            return entry[0]
        with self._lock:
            pending = self._pending.get(case_hex)
        if pending is not None:
            return AESGCM(pending)
        self.prefetch([case_hex])
        entry = self._cache.get(case_hex)
        return entry[0] if entry is not None else _UNKNOWN

    def prefetch(self, case_hexes: Iterable[str]) -> None:
        """Read the keys of these cases in one query (those not fresh in the cache)."""
        if self.store is None:
            return
        now = time.monotonic()
        wanted = sorted(
            {
                h
                for h in case_hexes
                if ((entry := self._cache.get(h)) is None or now - entry[1] >= self.ttl) and h not in self._pending
            }
        )
        if not wanted:
            return
        found = self.store.select_case_keys(wanted)
        if len(self._cache) > 200_000:
            self._cache.clear()
        for case_hex in wanted:
            key = found.get(case_hex, _UNKNOWN)
            value = _ERASED if key is None else key if key is _UNKNOWN else AESGCM(key)  # type: ignore[arg-type]
            self._cache[case_hex] = (value, now)

    def is_erased(self, case_id: UUID | str) -> bool:
        return self._entry(_hex(case_id)) is _ERASED

    def forget(self, case_ids: Iterable[UUID | str]) -> None:
        """Take these cases as erased here at once (the process that erased them)."""
        now = time.monotonic()
        for case_id in case_ids:
            self._cache[_hex(case_id)] = (_ERASED, now)

    # -- sealing ----------------------------------------------------------------------

    def seal(self, case_hex: str, value: Any, aead: AESGCM) -> Sealed:
        nonce = os.urandom(12)
        data = aead.encrypt(nonce, orjson.dumps(value), case_hex.encode())
        return Sealed(f"{case_hex}.{base64.b64encode(nonce + data).decode()}")

    def open(self, text: str) -> Any:
        """The sealed value, or ``None`` when its case's key is gone (erased) or cannot open it."""
        case_hex, _, data = text.partition(".")
        aead = self._entry(case_hex)
        if not isinstance(aead, AESGCM):
            return None
        raw = binascii.a2b_base64(data)
        try:
            return orjson.loads(aead.decrypt(raw[:12], raw[12:], case_hex.encode()))
        except InvalidTag:
            return None


class Unopened:
    """A sealed value read but not opened yet: what ``Fact.read`` gives for a field its shape names in
    ``unopened`` (a ``ClassVar``). A view that needs the value only later, if at all (the scores view:
    a case's characteristics, which a publication may freeze before anyone needs them), opens those
    still needed all at once (``open_all``: one query for their keys) instead of each as it is read.
    Hashed by identity, so it can stand for its value as a dict key until then."""

    __slots__ = ("_value", "keys", "text")

    def __init__(self, keys: CaseKeys, text: str) -> None:
        self.keys, self.text = keys, text
        self._value: Any = _UNKNOWN

    @property
    def case(self) -> str:
        """The id (hex) of the case whose key seals it (the text begins with it: 32 hex digits)."""
        return self.text[:32]

    def open(self) -> Any:
        """The value (opened once), or ``None`` when its case's key is gone."""
        if self._value is _UNKNOWN:
            self._value = self.keys.open(self.text)
        return self._value


def open_all(values: Iterable[Unopened]) -> list[Any]:
    """Each value opened, the keys of those not opened yet fetched first, in one query."""
    values = list(values)
    shut = [value for value in values if value._value is _UNKNOWN]
    if shut:  # (all read by one decoder, so under one key store)
        shut[0].keys.prefetch({value.case for value in shut})
    return [value.open() for value in values]


class MemoryKeyStore:
    """Keys kept in memory only (an in-memory application, as the benchmarks' history generator plays
    one): a new case's key stays pending in ``CaseKeys``, from where the record is copied with it."""

    def select_case_keys(self, case_ids: list[str]) -> dict[str, bytes | None]:
        return {}

    def destroy_case_keys(self, case_ids: list[str]) -> int:
        return 0


class Sealed:
    """A sealed value as the record stores it (see the module's docstring); not a ``str``, which the
    JSON encoder would write as it is, without the transcoding."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


class SealedTranscoding(Transcoding):
    type = Sealed
    name = "pd"

    def __init__(self, keys: CaseKeys) -> None:
        self.keys = keys

    def encode(self, obj: Sealed) -> str:
        return obj.text

    def decode(self, data: str) -> Any:
        return self.keys.open(data)


def case_of(topic: str, originator_hex: str, state: dict[str, Any]) -> str:
    """The id (hex) of the case whose personal fields an event of ``topic`` holds."""
    field = CASE_ID_FIELD.get(topic)
    if field is None:
        return originator_hex
    value = state[field]
    return value.hex if isinstance(value, UUID) else UUID(str(value)).hex


def seal_state(keys: CaseKeys, topic: str, originator_hex: str, state: dict[str, Any]) -> dict[str, Any]:
    """A copy of an event's state with its personal fields sealed under the case's key."""
    if not _holds_personal_data(topic, state):  # (a rating without notes: no key to look up)
        return state
    case_hex = case_of(topic, originator_hex, state)
    if topic in CASE_ID_FIELD or topic == SAMPLED_TOPIC:
        aead: Any = keys.new_key(case_hex)
    else:
        aead = keys._entry(case_hex)
        if aead is _UNKNOWN:  # a case sampled before keys existed: its data was never sealed
            return state
        if not isinstance(aead, AESGCM):
            raise ValueError("this case's personal data is erased; nothing more can be recorded of it")
    state = dict(state)
    for field in SEALED_FIELDS[topic]:
        name, _, inner = field.partition("[].")
        if inner:
            state[name] = [
                {**item, inner: keys.seal(case_hex, item[inner], aead)} if item.get(inner) is not None else item
                for item in state[name]
            ]
        elif state.get(name) is not None:
            state[name] = keys.seal(case_hex, state[name], aead)
    return state


def _holds_personal_data(topic: str, state: dict[str, Any]) -> bool:
    for field in SEALED_FIELDS[topic]:
        name, _, inner = field.partition("[].")
        if inner:
            if any(item.get(inner) is not None for item in state.get(name) or ()):
                return True
        elif state.get(name) is not None:
            return True
    return False


class SealingMapper(Mapper[UUID]):
    """The library's mapper, sealing the personal fields of the events that hold them."""

    def __init__(
        self,
        transcoder: Transcoder,
        keys: CaseKeys,
        compressor: Compressor | None = None,
        cipher: Cipher | None = None,
    ) -> None:
        super().__init__(transcoder=transcoder, compressor=compressor, cipher=cipher)
        self.keys = keys

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        topic = get_topic(domain_event.__class__)
        event_state = dict(vars(domain_event))
        originator_id = event_state.pop("originator_id")
        originator_version = event_state.pop("originator_version")
        if topic in SEALED_FIELDS and self.keys.enabled:
            event_state = seal_state(self.keys, topic, originator_id.hex, event_state)
        class_version = getattr(type(domain_event), "class_version", 1)
        if class_version > 1:
            event_state["class_version"] = class_version
        stored_state = self.transcoder.encode(event_state)
        if self.compressor:
            stored_state = self.compressor.compress(stored_state)
        if self.cipher:
            stored_state = self.cipher.encrypt(stored_state)
        return StoredEvent(
            originator_id=originator_id, originator_version=originator_version, topic=topic, state=stored_state
        )


def erased_case_id(topic: str, stream: str, data: Callable[[], dict[str, Any]]) -> str | None:
    """The case (hex) an event's personal fields belong to, when its topic holds any; else None."""
    if topic not in SEALED_FIELDS:
        return None
    if topic in CASE_ID_FIELD:
        value = data().get(CASE_ID_FIELD[topic])
        return None if value is None else UUID(str(value)).hex
    return UUID(stream).hex


def _hex(case_id: UUID | str) -> str:
    return case_id.hex if isinstance(case_id, UUID) else UUID(case_id).hex
