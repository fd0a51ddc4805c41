"""`Idempotency-Key` on any POST: the same key, token and request within 24 hours answers the first answer.

Before the view: claim the key (``infrastructure.idempotency``). Claimed: the
request goes ahead and its answer (status, body, ETag, Inspectorate-Position)
is stored after it. Already answered: that answer again, and nothing recorded.
Another request under the key: 422. The first still running: 409. A 5xx is
not kept, so a client may retry after the server's own failure.
"""

from __future__ import annotations

import hashlib

from flask import Flask, Response, current_app, g, request

from infrastructure.idempotency import MAX_KEY, IdempotencyStore, Stored, stored_headers
from infrastructure.tokens import hash_token
from web.errors import IdempotencyKeyReused, InvalidInput, RequestInFlight

HEADER = "Idempotency-Key"


def init_idempotency(app: Flask) -> None:
    """Register after authentication (the token is known) and the body checks."""
    app.before_request(claim)
    app.after_request(keep)
    app.teardown_request(release)


def _store() -> IdempotencyStore:
    return current_app.extensions["inspectorate"].idempotency


def forget_answers_about(text: str) -> int:
    """Forget the kept answers that quote ``text`` (an erased case's id: see IdempotencyStore)."""
    return _store().forget_mentioning(text)


def request_hash(method: str, path: str, query: bytes, body: bytes) -> str:
    """What makes two requests the same request: method, path, query and body, byte for byte."""
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query):
        digest.update(part + b"\0")
    digest.update(body)
    return digest.hexdigest()


def claim() -> Response | None:
    key = request.headers.get(HEADER)
    if key is None or request.method != "POST" or g.get("actor") is None:
        return None
    if not 1 <= len(key) <= MAX_KEY or not key.isprintable() or not key.isascii():
        raise InvalidInput(
            f"{HEADER} must be 1 to {MAX_KEY} printable ASCII characters.",
            {HEADER: [f"must be 1 to {MAX_KEY} printable ASCII characters"]},
        )
    _, _, secret = request.headers.get("Authorization", "").partition(" ")
    token = hash_token(secret.strip())
    digest = request_hash(request.method, request.path, request.query_string, request.get_data(cache=True))
    outcome = _store().claim(token, key, digest)
    if outcome.kind == "claimed":
        g.idempotency = (token, key)
        return None
    if outcome.kind == "mismatch":
        raise IdempotencyKeyReused(
            f"This {HEADER} was used with another request in the last 24 hours; use a new key.",
            {HEADER: ["already used with another request"]},
        )
    if outcome.kind == "in_flight":
        raise RequestInFlight(f"A request with this {HEADER} is still being processed; retry shortly.")
    stored = outcome.stored
    assert stored is not None
    response = Response(stored.body, status=stored.status)
    for name, value in stored.headers.items():
        response.headers[name] = value
    response.headers["Idempotent-Replayed"] = "true"
    return response


def keep(response: Response) -> Response:
    claimed = g.pop("idempotency", None)
    if claimed is None:
        return response
    token, key = claimed
    if response.status_code >= 500:
        _store().release(token, key)
    else:
        _store().store(token, key, Stored(response.status_code, stored_headers(response.headers), response.get_data()))
    return response


def release(_: BaseException | None) -> None:
    """A request that ended without an answer (an exception past every handler): free its key."""
    claimed = g.pop("idempotency", None)
    if claimed is not None:
        _store().release(*claimed)
