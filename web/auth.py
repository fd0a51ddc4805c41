"""Bearer-token authentication and role checks."""
from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Response, g, request

from web.context import services
from web.errors import problem

F = TypeVar("F", bound=Callable[..., Any])

READERS = ("admin", "inspector", "local_assessor", "qa_reviewer", "auditor", "organisation")


def authenticate() -> Response | None:
    """Before every /v1 request: identify the caller from its bearer token, or answer 401."""
    g.correlation_id = request.headers.get("X-Correlation-ID", "")[:64] or str(uuid.uuid4())
    if not request.path.startswith("/v1"):
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return problem(401, "Unauthorized", "A bearer token is required.", headers={"WWW-Authenticate": "Bearer"})
    info = services().tokens.authenticate(secret.strip())
    if info is None:
        return problem(401, "Unauthorized", "The token is unknown or revoked.", headers={"WWW-Authenticate": "Bearer"})
    g.actor = info.actor
    return None


def roles(*allowed: str) -> Callable[[F], F]:
    """Only callers with one of these roles may use the view (403 otherwise)."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if g.actor.role not in allowed:
                return problem(403, "Forbidden", f"The role '{g.actor.role}' may not do this.")
            return view(*args, **kwargs)

        wrapper.allowed_roles = allowed  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate
