"""What a command returns (its own module, so that use cases outside ``application.app`` can build one)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Result:
    """What a command returns: the representation, the aggregate version, the last position written."""

    body: dict[str, Any]
    version: int
    position: int | None
