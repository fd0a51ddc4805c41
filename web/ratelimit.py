"""Optional per-token rate limiting: INSPECTORATE_RATE_LIMIT=N requests a minute, off when unset.

Over the limit a request gets 429 problem+json with Retry-After. Only
authenticated /v1 requests count; /health and 401s do not.
"""

from __future__ import annotations

from flask import Flask, current_app, g, request

from infrastructure.ratelimit import RateLimiter
from infrastructure.tokens import hash_token
from web.errors import RateLimited


def init_rate_limit(app: Flask) -> None:
    """Register after authentication, so the caller's token is known."""
    limiter: RateLimiter | None = app.extensions["inspectorate"].rate_limiter
    if limiter is None:
        return
    limiter.create_table()
    app.before_request(limit)


def limit() -> None:
    if not request.path.startswith("/v1") or g.get("actor") is None:
        return None
    limiter: RateLimiter = current_app.extensions["inspectorate"].rate_limiter
    _, _, secret = request.headers.get("Authorization", "").partition(" ")
    verdict = limiter.hit(hash_token(secret.strip()))
    if verdict.allowed:
        return None
    raise RateLimited(
        f"This token may make {limiter.per_minute} requests a minute; retry after {verdict.retry_after} s.",
        verdict.retry_after,
    )
