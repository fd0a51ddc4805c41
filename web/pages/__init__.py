"""Server-rendered pages for people, on the same app as the API (see docs/pages.md)."""

from __future__ import annotations

from flask import Flask, send_from_directory
from swagger_ui_bundle import swagger_ui_path  # a pinned copy of swagger-ui-dist, packaged (pyproject.toml)

DOCS_ASSETS = "/docs/assets/"
# Only the files the docs page loads; nothing else of the package is served.
_DOCS_FILES = frozenset({"swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js"})


def init_pages(app: Flask) -> None:
    from web.pages.session import init_sessions
    from web.pages.views import bp

    init_sessions(app)
    app.register_blueprint(bp)

    @app.get(f"{DOCS_ASSETS}<path:filename>")
    def docs_asset(filename: str):
        """Swagger UI's own files, served from the installed package: /docs needs no other origin."""
        if filename not in _DOCS_FILES:
            from werkzeug.exceptions import NotFound

            raise NotFound()
        return send_from_directory(str(swagger_ui_path), filename, max_age=86400)
