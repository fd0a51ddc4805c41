"""The tamper-evident record: verify its hash chain, and read its head to keep elsewhere."""

from __future__ import annotations

from typing import Any

from application.app import InspectorateApp


def verify_record(app: InspectorateApp, anchors: dict[int, bytes] | None = None) -> dict[str, Any]:
    """Recompute the hash chain over every stored event: ``{ok, checked, head_position, head_hash, first_broken}``."""
    return app.recorder.verify_chain(anchors).as_dict()  # type: ignore[attr-defined]


def record_head(app: InspectorateApp) -> dict[str, Any]:
    """The last link of the chain, for an auditor to keep elsewhere and pass back as an anchor."""
    head = app.recorder.chain_head()  # type: ignore[attr-defined]
    return {"position": head[0], "hash": head[1].hex()} if head else {"position": 0, "hash": None}
