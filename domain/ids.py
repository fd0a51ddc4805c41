"""Ids as the views and the feed give them."""

from __future__ import annotations


def uuid_text(hex32: str) -> str:
    """A UUID's 32 lower-case hex digits (as ``UUID.hex`` writes them) as its canonical text."""
    return f"{hex32[:8]}-{hex32[8:12]}-{hex32[12:16]}-{hex32[16:20]}-{hex32[20:]}"
