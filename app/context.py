"""What one web process holds for its lifetime (`Services`), and how a request reaches it."""

from __future__ import annotations

import logging
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from eventsourcing.persistence import PersistenceError
from flask import abort, current_app, send_from_directory

from adapters.db import Database
from adapters.retry import transient
from adapters.settings import Settings
from domain.application import Casework
from projections.base import ensure_schema
from projections.catalog import configured

log = logging.getLogger("casework.web")

# Errors of an unreachable or failing database: answered 503, logged without the request.
DATABASE_ERRORS = (PersistenceError, psycopg.Error, sqlite3.Error)
_SCHEMA_RETRIES = transient(3, errors=DATABASE_ERRORS, what="read-model schema not ready")

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
            # Another worker or the runner may be creating the same tables right now.
            try:
                _SCHEMA_RETRIES(ensure_schema, self.views, configured(self.settings).values())
            except DATABASE_ERRORS as error:
                log.warning("read-model schema not ready (%s)", type(error).__name__)
                return False
            self.schema_ready = True
            return True

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


ICON_MAX_AGE = 7 * 24 * 3600  # the icon changes with a release, if ever


def icon_file():
    """The app's icon (app/static/icon.svg), also at /favicon.ico: browsers ask for that
    whatever the page links, and each miss was a 404 in the log."""
    return send_from_directory(
        current_app.static_folder or "", "icon.svg", mimetype="image/svg+xml", max_age=ICON_MAX_AGE
    )
