"""Bearer-token authentication, role checks and the organisation read rule.

Who may do what (the contract's tables; admin only where the contract names it):

- inspections create / start / complete / publish, reinspection schedule: inspector
- cases POST: inspector, local_assessor (own-organisation 403 is the rule of ``domain.access``)
- ratings: inspector, local_assessor (``domain.access`` allows only the case's assessor, by id)
- moderations: qa_reviewer
- complaints POST: organisation (own body only, checked by the application), inspector
- complaint steps: inspector, admin
- reads: every role but integration; for an organisation another body's records do not exist (404,
  as for an unknown id: ``domain.access``)
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import g, request

from domain.access import ensure_may_read, may_read
from domain.errors import NotFound
from web.context import services
from web.errors import Forbidden, Unauthenticated

F = TypeVar("F", bound=Callable[..., Any])

READERS = ("admin", "inspector", "local_assessor", "qa_reviewer", "auditor", "organisation")
ASSESSORS = ("inspector", "local_assessor")
COMPLAINT_HANDLERS = ("inspector", "admin")
COMPLAINANTS = ("organisation", "inspector")

# A caller-supplied correlation id is echoed into logs and events: keep it short and plain.
_CORRELATION_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,64}$")


def authenticate() -> None:
    """Before every /v1 request: identify the caller from its bearer token, or answer 401."""
    supplied = request.headers.get("X-Correlation-ID", "")
    g.correlation_id = supplied if _CORRELATION_ID.match(supplied) else str(uuid.uuid4())
    if not request.path.startswith("/v1"):
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthenticated("A bearer token is required.")
    info = services().tokens.authenticate(secret.strip())
    if info is None:
        raise Unauthenticated("The token is unknown or revoked.")
    g.actor = info.actor
    return None


def roles(*allowed: str) -> Callable[[F], F]:
    """Only callers with one of these roles may use the view (403 otherwise).

    Put it above the argument decorators so that the role is checked before the body.
    """

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if g.actor.role not in allowed:
                raise Forbidden(f"The role '{g.actor.role}' may not do this.")
            return view(*args, **kwargs)

        wrapper.allowed_roles = allowed  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def may_see(inspected_body: dict[str, Any]) -> bool:
    """An organisation sees only its own body's records; every other reader sees everything."""
    return may_read(g.actor, inspected_body)


def ensure_may_see(inspected_body: dict[str, Any], absent: NotFound) -> None:
    """Raise ``absent``, the error an unknown id gets, unless the caller may see the record."""
    ensure_may_read(g.actor, inspected_body, absent)


def is_organisation() -> bool:
    return bool(g.actor.role == "organisation")
