"""The tamper-evident record: every stored event is chained to the one before it by SHA-256.

A link hashes the STORED bytes of an event (position, originator id, version,
topic, state: encrypted and compressed if a cipher is configured) together
with the previous link's hash, so altering, removing or inserting a stored
row breaks every later link. The recorders in ``infrastructure.eventstore``
write the links in the same transaction as the events; this module holds the
hashing and the verification walk, which know nothing of SQL.

The chain proves the record is internally consistent. Someone able to rewrite
the database could recompute every later link too; an auditor who keeps the
head (``GET /v1/audit/head``) elsewhere and passes it back as an anchor
detects that as well.
"""
from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

GENESIS = bytes(32)
_HEAD = struct.Struct(">QQ")
_LEN = struct.Struct(">I")


def id_bytes(originator_id: UUID | str) -> bytes:
    """The 16 bytes of an originator id, however the backend hands it out (UUID or hex text)."""
    if isinstance(originator_id, UUID):
        return originator_id.bytes
    try:
        return bytes.fromhex(originator_id) if len(originator_id) == 32 else UUID(originator_id).bytes
    except ValueError:
        return originator_id.encode()


def link(previous: bytes, position: int, originator_id: bytes, version: int, topic: str, state: bytes) -> bytes:
    """SHA-256 of the previous hash and one stored event, fields framed so no two events collide."""
    topic_bytes = topic.encode()
    return hashlib.sha256(
        b"".join((
            previous,
            _HEAD.pack(position, version),
            _LEN.pack(len(originator_id)),
            originator_id,
            _LEN.pack(len(topic_bytes)),
            topic_bytes,
            state,
        ))
    ).digest()


@dataclass(frozen=True)
class EventRow:
    """A stored event as the recorder holds it."""

    position: int
    originator_id: bytes
    version: int
    topic: str
    state: bytes


@dataclass(frozen=True)
class ChainRow:
    position: int
    prev_position: int
    hash: bytes


def chain_rows(
    previous: tuple[int, bytes] | None, events: Iterable[EventRow]
) -> list[tuple[int, int, bytes]]:
    """Links (position, prev_position, hash) for newly stored events following ``previous``."""
    prev_position, prev_hash = previous if previous is not None else (0, GENESIS)
    rows = []
    for e in events:
        prev_hash = link(prev_hash, e.position, e.originator_id, e.version, e.topic, e.state)
        rows.append((e.position, prev_position, prev_hash))
        prev_position = e.position
    return rows


@dataclass
class Report:
    """What a verification found: ``first_broken`` is None when every link holds."""

    ok: bool = True
    checked: int = 0
    head_position: int = 0
    head_hash: str | None = None
    first_broken: dict[str, Any] | None = None
    anchors_checked: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "head_position": self.head_position,
            "head_hash": self.head_hash,
            "first_broken": self.first_broken,
            "anchors_checked": self.anchors_checked,
        }


def merged(events: Iterable[EventRow], links: Iterable[ChainRow]) -> Iterator[tuple[int, EventRow | None, ChainRow | None]]:
    """Pair events and links by position (both in ascending order); a side may be missing."""
    events_it, links_it = iter(events), iter(links)
    e, c = next(events_it, None), next(links_it, None)
    while e is not None or c is not None:
        if c is None or (e is not None and e.position < c.position):
            yield e.position, e, None  # type: ignore[union-attr]
            e = next(events_it, None)
        elif e is None or c.position < e.position:
            yield c.position, None, c
            c = next(links_it, None)
        else:
            yield e.position, e, c
            e, c = next(events_it, None), next(links_it, None)


def verify(
    pairs: Iterable[tuple[int, EventRow | None, ChainRow | None]],
    anchors: Mapping[int, bytes] | None = None,
) -> Report:
    """Recompute the chain over (position, event, link) triples in position order.

    Stops at the first broken link and says what looks wrong there: an event
    without a link (written around the recorder), a link without its event
    (deleted), a link that skips events (event and link deleted), altered
    event bytes, or an altered link. ``anchors`` maps positions to hashes kept
    elsewhere (earlier heads); a recomputed hash must equal them.
    """
    report = Report()
    anchors = anchors or {}
    prev_position, prev_hash = 0, GENESIS
    suspect: tuple[int, bytes, bytes] | None = None  # (position, recomputed, stored) awaiting diagnosis

    def broken(position: int, reason: str) -> Report:
        report.ok = False
        report.first_broken = {"position": position, "reason": reason}
        return report

    for position, event, chain in pairs:
        if suspect is not None:
            return broken(suspect[0], _diagnose(suspect, event, chain))
        if event is None:
            return broken(position, "event missing: the chain records an event at this position but it is gone")
        if chain is None:
            return broken(position, "event has no chain link: it was written around the recorder")
        if chain.prev_position != prev_position:
            if chain.prev_position > prev_position:
                return broken(
                    chain.prev_position,
                    f"event missing: the link at position {position} follows position "
                    f"{chain.prev_position}, which is gone with its link",
                )
            return broken(position, f"event inserted: its link follows position {chain.prev_position}, "
                                    f"not the previous event at {prev_position}")
        recomputed = link(prev_hash, position, event.originator_id, event.version, event.topic, event.state)
        if recomputed != chain.hash:
            suspect = (position, recomputed, chain.hash)
            continue
        anchored = anchors.get(position)
        if anchored is not None:
            if anchored != recomputed:
                return broken(position, "the recomputed hash differs from the anchored head kept by the auditor")
            report.anchors_checked.append(position)
        report.checked += 1
        prev_position, prev_hash = position, recomputed
        report.head_position, report.head_hash = position, recomputed.hex()
    if suspect is not None:
        return broken(suspect[0], "stored event bytes or their chain link were altered")
    missing = sorted(p for p in anchors if p > report.head_position)
    if missing:
        return broken(missing[0], "an anchored position lies beyond the end of the record: events were removed")
    return report


def _diagnose(suspect: tuple[int, bytes, bytes], event: EventRow | None, chain: ChainRow | None) -> str:
    """Tell an altered event from an altered link by looking one link further."""
    position, recomputed, stored = suspect
    if event is not None and chain is not None:
        following = (event.originator_id, event.version, event.topic, event.state)
        if link(stored, event.position, *following) == chain.hash:
            return "stored event bytes altered: they no longer match their chain link"
        if link(recomputed, event.position, *following) == chain.hash:
            return "chain link altered: its hash no longer matches the stored event"
    return "stored event bytes or their chain link were altered"
