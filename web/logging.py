"""One JSON line per request on stderr, and the security headers every response carries.

A line names the route template (``/v1/cases/<uuid:case_id>``), never the
concrete path, and never a body, a token or case data.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

import orjson
from flask import Flask, Response, g, request

from domain import clock

ACCESS_LOG = "inspectorate.access"

# The docs page loads Swagger UI from this app alone (web/pages, web/templates/swagger_ui.html);
# pages set their own (g.csp, web/pages/views.py); everything else gets nothing.
STRICT_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
DOCS_PATHS = ("/docs",)


class _CurrentStderr(logging.StreamHandler):
    """Writes to whatever sys.stderr is now (test runners swap it)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _: Any) -> None:
        pass


def access_logger() -> logging.Logger:
    logger = logging.getLogger(ACCESS_LOG)
    if not logger.handlers:
        handler = _CurrentStderr()
        _OWN_HANDLERS.append(handler)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False  # the line is already complete JSON; no second copy via root
    return logger


_OWN_HANDLERS: list[logging.Handler] = []
_ACCESS = logging.getLogger(ACCESS_LOG)  # (loggers live as long as the process; getLogger takes a lock)


def _write(text: str) -> None:
    """The line to the access log. While the logger has only our own handler (the usual case), the line
    goes straight to stderr as that handler would write it, without a LogRecord: the logging
    machinery was a share of every read worth saving (docs/performance.md). Any other handler (a
    test's, an operator's) gets a record."""
    logger = _ACCESS
    if logger.handlers == _OWN_HANDLERS and not logger.disabled and logger.isEnabledFor(logging.INFO):
        stream = sys.stderr
        stream.write(text + "\n")
        stream.flush()
    else:
        logger.info(text)


def log_event(event: str, **fields: Any) -> None:
    """One JSON line on stderr for something the server did on its own (no request behind it)."""
    sys.stderr.write(json.dumps({"event": event, **fields}) + "\n")


def start_timer() -> None:
    g.started = time.perf_counter()


def log_request(response: Response) -> Response:
    ctx, req = g._get_current_object(), request._get_current_object()  # type: ignore[attr-defined]  # (each proxy lookup costs)
    started = ctx.get("started")
    actor = ctx.get("actor")
    rule = req.url_rule
    line = {
        "ts": clock.now().isoformat(),
        "method": req.method,
        "path": rule.rule if rule is not None else "<unmatched>",
        "status": response.status_code,
        "duration_ms": round((time.perf_counter() - started) * 1000, 3) if started else None,
        "role": actor.role if actor is not None else None,
        "correlation_id": ctx.get("correlation_id"),
    }
    _write(orjson.dumps(line).decode())
    return response


_ALWAYS = (("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"), ("Referrer-Policy", "no-referrer"))


def security_headers(response: Response) -> Response:
    """The headers every response carries, replacing any a view set.

    A header the response lacks is appended; only one already there is replaced. (Replacing
    scans the whole header list for each header, and these are almost never there:
    docs/performance.md.)
    """
    path = request.path
    csp = g.get("csp") or (DOCS_CSP if path.startswith(DOCS_PATHS) else STRICT_CSP)
    wanted = [*_ALWAYS, ("Content-Security-Policy", csp)]
    if path.startswith("/v1"):
        wanted.append(("Cache-Control", "no-store"))
    correlation_id = g.get("correlation_id")
    if correlation_id is not None:
        wanted.append(("X-Correlation-ID", correlation_id))
    headers = response.headers
    present = {key.lower() for key, _ in headers}
    for key, value in wanted:
        if key.lower() in present:
            headers.set(key, value)
        else:
            headers.add(key, value)
    return response


def init_logging(app: Flask) -> None:
    """Register before any other hook, so that even a 401 is timed and logged."""
    access_logger()
    app.before_request(start_timer)
    app.after_request(security_headers)
    app.after_request(log_request)
