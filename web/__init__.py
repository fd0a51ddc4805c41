"""The Flask API: an app factory, one blueprint per resource."""

from __future__ import annotations

from typing import Any, cast

import orjson
from flask import Flask, Response
from flask.json.provider import DefaultJSONProvider

from infrastructure.config import Settings
from web.bootstrap import Services, compose

MAX_BODY_BYTES = 1024 * 1024


class _JSON(DefaultJSONProvider):
    """Flask's JSON responses, written by orjson (several times faster than the standard library's
    encoder: docs/performance.md). The same output: keys sorted, compact, a final newline, dates and
    dataclasses through Flask's own ``default``; only text beyond ASCII is sent as UTF-8 rather
    than ``\\u`` escapes. Anything orjson refuses (an integer beyond 64 bits) goes the standard way.
    """

    options = (
        orjson.OPT_SORT_KEYS
        | orjson.OPT_NON_STR_KEYS
        | orjson.OPT_PASSTHROUGH_DATETIME
        | orjson.OPT_PASSTHROUGH_DATACLASS
        | orjson.OPT_APPEND_NEWLINE
    )

    def response(self, *args: Any, **kwargs: Any) -> Response:
        if self.compact is False or (self.compact is None and self._app.debug):
            return cast(Response, super().response(*args, **kwargs))
        try:
            body = orjson.dumps(self._prepare_response_obj(args, kwargs), default=self.default, option=self.options)
        except TypeError:  # (orjson.JSONEncodeError is one)
            return cast(Response, super().response(*args, **kwargs))
        return cast(Response, self._app.response_class(body, mimetype=self.mimetype))  # type: ignore[arg-type]


class _Flask(Flask):
    """Flask, remembering which hooks and views are plain functions.

    Flask asks ``inspect`` whether each hook and view is a coroutine function on
    every request (18 times for a rating); the answer never changes, so ask once.
    A bound method is remembered by its function: a ``MethodView`` is made anew
    for every request, and so are its bound methods (keyed by themselves, they
    missed every time, each miss raising and catching a ``KeyError``, a share of every read
    worth saving: docs/performance.md).
    """

    json_provider_class = _JSON

    def ensure_sync(self, func: Any) -> Any:
        known: dict[Any, bool] = self.__dict__.setdefault("_sync", {})
        key = getattr(func, "__func__", func)
        try:
            plain = known[key]
        except KeyError:
            plain = super().ensure_sync(func) is func
            if len(known) < 1000:  # (a callback made per request, e.g. after_this_request, is not kept)
                known[key] = plain
        except TypeError:  # an unhashable callable: as Flask does
            return super().ensure_sync(func)
        return func if plain else super().ensure_sync(func)


def create_app(
    settings: Settings | None = None,
    *,
    services: Services | None = None,
    create_tables: bool = True,
    test_config: dict[str, Any] | None = None,
) -> Flask:
    """Build the Flask app. No module-level app: everything from configuration."""
    app = _Flask(__name__)
    app.config.update(
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        API_TITLE="inspectorate",
        API_VERSION="1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL="/docs/assets/",  # served by the app itself (web/pages), never a CDN
        JSON_SORT_KEYS=False,
    )
    if test_config:
        app.config.update(test_config)
    app.extensions["inspectorate"] = services or compose(settings, create_tables=create_tables)

    from web.api import init_api

    init_api(app)
    from web.pages import init_pages

    init_pages(app)
    return app


def services_of(app: Flask) -> Services:
    return app.extensions["inspectorate"]
