"""Signing people in to the pages: a token once, then a session cookie; CSRF tokens on every form.

The cookie is Flask's signed session holding the token's id (never the token), checked against the
token store on every page request, so revoking the token ends its sessions at once. The signing key
comes from configuration (``SECRET_KEY`` or ``INSPECTORATE_SECRET_KEY``) or is generated once and kept
in the data folder, readable by its owner only (on PostgreSQL: in the database, so that every API node
behind a load balancer has the same one).
"""

from __future__ import annotations

import hmac
import os
import secrets
from datetime import timedelta
from pathlib import Path

from flask import Flask, Request, abort, g, request, session
from flask.sessions import SecureCookieSessionInterface

from infrastructure.shared_secrets import shared_secret
from infrastructure.tokens import TokenInfo
from web.context import services

KEY_FILE = "session.key"
SESSION_HOURS = 12
CSRF_FIELD = "csrf_token"


def secret_key(data_dir: Path) -> str:
    """The key kept in ``data_dir`` (0600), made by whichever process first needs it.

    Written to a private temporary file and linked into place, so that two workers starting at once
    both end up with the one key that won, never with a half-written file.
    """
    path = data_dir / KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = data_dir / f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(32))
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process won; use its key
        finally:
            temporary.unlink()
    return path.read_text().strip()


def _kept_key(app: Flask) -> str:
    """PostgreSQL: one key in the database for every API node (each has its own data folder), so a
    cookie from one node is good at the next one behind the load balancer. SQLite: the data folder's."""
    services = app.extensions["inspectorate"]
    if services.settings.is_postgres:
        return shared_secret(
            services.read_engine, "session_key", lambda: secrets.token_hex(32), services.app.mapper.cipher
        )
    return secret_key(services.settings.data_dir)


class PageSessions(SecureCookieSessionInterface):
    """Flask's signed cookie, marked ``Secure`` whenever the page was reached over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or _over_https(request)


def _over_https(req: Request) -> bool:
    """HTTPS here, or at the proxy in front of us (it can only make the cookie stricter)."""
    return req.is_secure or req.headers.get("X-Forwarded-Proto", "").lower() == "https"


def init_sessions(app: Flask) -> None:
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = app.extensions["inspectorate"].settings.secret_key or _kept_key(app)
    app.config.update(
        SESSION_COOKIE_NAME="inspectorate_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=SESSION_HOURS),  # older signed cookies are refused
    )
    app.session_interface = PageSessions()


def csrf_token() -> str:
    """This session's CSRF token, made on first use (before sign-in too: the sign-in form has one)."""
    token = session.get(CSRF_FIELD)
    if not token:
        token = session[CSRF_FIELD] = secrets.token_urlsafe(32)
    return str(token)


def check_csrf() -> None:
    """Every POST form must send back the session's token (400 otherwise)."""
    expected = session.get(CSRF_FIELD)
    sent = request.form.get(CSRF_FIELD, "")
    if not expected or not hmac.compare_digest(str(expected), sent):
        abort(400, "The form has expired or did not come from this site; reload the page and try again.")


def sign_in(info: TokenInfo) -> None:
    """A fresh session for the token: nothing from before sign-in is carried over."""
    session.clear()
    session.permanent = True
    session["token_id"] = info.id
    session[CSRF_FIELD] = secrets.token_urlsafe(32)


def sign_out() -> None:
    session.clear()


def signed_in() -> TokenInfo | None:
    """The live token behind this session, or None; sets ``g.actor`` as a bearer token would."""
    token_id = session.get("token_id")
    if not token_id:
        return None
    info = services().tokens.live_by_id(str(token_id))
    if info is None:
        session.clear()
        return None
    g.actor = info.actor
    g.token = info
    return info
