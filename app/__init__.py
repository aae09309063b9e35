"""The web application: `create_app()` wires the store, the read models and the blueprints.

Nothing happens at import time; `casework web` (app/server.py) and the tests call the factory.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from eventsourcing.persistence import PersistenceError
from flask import Flask, abort, current_app, request, send_from_directory
from htmx_flask import Htmx
from werkzeug.exceptions import HTTPException

from app.messages import init_babel
from domain.application import Casework
from domain.settings import Settings
from projections.base import ensure_schema
from projections.catalog import PROJECTIONS
from projections.db import Database, open_casework

log = logging.getLogger("casework.web")

# Errors of an unreachable or failing database: answered 503, logged without the request.
DATABASE_ERRORS = (PersistenceError, psycopg.Error, sqlite3.Error)

# /static/vendor/<file> -> its path inside node_modules (installed by `npm ci --omit=dev`).
VENDOR_FILES = {
    "htmx.min.js": "htmx.org/dist/htmx.min.js",
    "pico.min.css": "@picocss/pico/css/pico.jade.min.css",
}
REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Services:
    """What one web process holds for its lifetime: the write side and both databases."""

    settings: Settings
    casework: Casework
    store: Database
    views: Database
    node_modules: Path | None
    schema_ready: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def ensure_views_schema(self) -> bool:
        """Create the read-model tables if missing, so pages work before the runner ever ran."""
        if self.schema_ready:
            return True
        with self._lock:
            for attempt in range(3):
                try:
                    ensure_schema(self.views, PROJECTIONS.values())
                    self.schema_ready = True
                    return True
                except DATABASE_ERRORS as error:
                    # Another worker or the runner may be creating the same tables right now.
                    log.warning(
                        "read-model schema not ready (attempt %d): %s",
                        attempt + 1,
                        type(error).__name__,
                    )
                    time.sleep(0.2 * (attempt + 1))
        return False

    def close(self) -> None:
        self.casework.close()
        self.store.close()
        self.views.close()


def services() -> Services:
    return current_app.extensions["casework"]


def find_node_modules() -> Path | None:
    for candidate in (REPO_ROOT / "node_modules", Path.cwd() / "node_modules"):
        if candidate.is_dir():
            return candidate
    return None


def create_app(
    settings: Settings | None = None, test_config: dict[str, Any] | None = None
) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.config.from_mapping(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        MAX_CONTENT_LENGTH=1024 * 1024,
    )
    app.json.sort_keys = False
    if test_config:
        app.config.update(test_config)
    Htmx(app)
    init_babel(app)

    node_modules = find_node_modules()
    if node_modules is None:
        log.error(
            "node_modules not found next to %s: run `npm ci --omit=dev` (make install)", REPO_ROOT
        )
    svc = Services(
        settings=settings,
        casework=open_casework(settings.store, settings.master_key),
        store=Database(settings.store),
        views=Database(settings.views),
        node_modules=node_modules,
    )
    app.extensions["casework"] = svc
    svc.ensure_views_schema()

    # Here, not at the top: these modules import `services` from this package.
    from app import (
        api,
        health,
        privacy,
        subject_access,  # noqa: F401  (importing it nests its routes in api and privacy)
        web,
    )

    app.register_blueprint(api.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(web.bp)
    app.register_blueprint(privacy.bp)
    app.register_blueprint(privacy.api_bp)
    app.add_url_rule("/static/vendor/<path:filename>", "vendor", vendor_file)

    @app.before_request
    def _schema() -> None:
        if not svc.schema_ready:
            svc.ensure_views_schema()

    @app.after_request
    def _headers(response):
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self';"
            " frame-ancestors 'none'; form-action 'self'; base-uri 'self'",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        # Search URLs carry NIKs: never hand them to another site.
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if request.endpoint not in ("static", "vendor"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        if _wants_json():
            return api.error_response(error.code or 500)
        return web.error_page(error.code or 500)

    def _database_error(error: Exception):
        log.error(
            "database error on %s %s: %s", request.method, request.url_rule, type(error).__name__
        )
        if _wants_json():
            return api.error_response(503)
        return web.error_page(503)

    for error_class in DATABASE_ERRORS:
        app.register_error_handler(error_class, _database_error)

    return app


def _wants_json() -> bool:
    return request.path.startswith(("/api/", "/healthz", "/metrics"))


def vendor_file(filename: str):
    """A front-end library from node_modules: only the files listed in VENDOR_FILES."""
    relative = VENDOR_FILES.get(filename)
    if relative is None:
        abort(404)
    node_modules = services().node_modules
    if node_modules is None or not (node_modules / relative).is_file():
        log.error("vendor file %s missing: run `npm ci --omit=dev` in %s", relative, REPO_ROOT)
        abort(404)
    return send_from_directory(node_modules, relative, max_age=3600)
