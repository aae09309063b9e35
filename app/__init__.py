"""The web application: `create_app(system)` takes the parts built by the composition root
(`adapters.bootstrap`) and registers every blueprint.

Nothing happens at import time; `casework web` (app/server.py) and the tests call the factory.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, request
from htmx_flask import Htmx
from jinja2 import BytecodeCache
from jinja2.bccache import Bucket
from werkzeug.exceptions import HTTPException

from adapters.bootstrap import System, bootstrap
from adapters.codec import WrongMasterKey


class CompiledTemplates(BytecodeCache):
    """The templates' compiled code, kept in this process for every app it makes (Jinja's
    bytecode cache, in memory): each app has its own Jinja environment, which would otherwise
    compile every template again (the tests make one app per test; a template's compiling
    costs 10-50 ms). A bucket's checksum is its template's source, so an edited template is
    compiled again."""

    def __init__(self) -> None:
        self.code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self.code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self.code[bucket.key] = bucket.bytecode_to_string()


COMPILED_TEMPLATES = CompiledTemplates()


def create_app(system: System | None = None, test_config: dict[str, Any] | None = None) -> Flask:
    # The blueprints are imported here, not when the package is: `casework users add` and
    # the other commands of app/cli.py import the package without making a web app, and
    # importing every page and endpoint took them 1.2 s before doing anything.
    from app import (
        agency_pages,
        api,
        audit_pages,
        dci,
        filling,
        health,
        import_pages,
        login,
        overview_pages,
        privacy,
        subject_access,
        web,
    )
    from app.command_path import error_response, refuse_repeated_query
    from app.context import (
        DATABASE_ERRORS,
        REPO_ROOT,
        Services,
        find_node_modules,
        icon_file,
        log,
        vendor_file,
    )
    from app.messages import init_babel

    system = system or bootstrap()
    settings = system.settings
    app = Flask(__name__)
    # before anything makes the app's Jinja environment (Flask reads the options then)
    app.jinja_options = {**app.jinja_options, "bytecode_cache": COMPILED_TEMPLATES}
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
    login.init_app(app)  # before every page: the signed-in person, or the login page
    app.before_request(web.least_privilege)  # then: the page's declared roles, or 403
    filling.init_app(app)  # a view being filled from the past: said on the pages and answers

    node_modules = find_node_modules()
    if node_modules is None:
        log.error(
            "node_modules not found next to %s: run `npm ci --omit=dev` (make install)", REPO_ROOT
        )
    svc = Services(
        settings=settings,
        casework=system.casework,
        store=system.store,
        views=system.views,
        node_modules=node_modules,
    )
    app.extensions["casework"] = svc
    svc.ensure_views_schema()

    app.register_blueprint(api.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(web.bp)
    app.register_blueprint(privacy.bp)
    app.register_blueprint(audit_pages.bp)
    app.register_blueprint(overview_pages.bp)
    app.register_blueprint(agency_pages.bp)
    app.register_blueprint(import_pages.bp)
    app.register_blueprint(privacy.api_bp)
    app.register_blueprint(subject_access.api_bp)
    app.register_blueprint(subject_access.page_bp)
    app.register_blueprint(dci.bp)  # the DCI social-registry interface (agencies)
    app.add_url_rule("/static/vendor/<path:filename>", "vendor", vendor_file)
    app.add_url_rule("/icon.svg", "icon", icon_file)  # url_for("icon") is this one
    app.add_url_rule("/favicon.ico", "icon", icon_file)

    @app.before_request
    def _schema() -> None:
        if not svc.schema_ready:
            svc.ensure_views_schema()

    app.before_request(refuse_repeated_query)  # ?opd=A&opd=B: 422, not A

    @app.after_request
    def _headers(response):
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self';"
            " frame-ancestors 'none'; form-action 'self'; base-uri 'self'",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")  # frame-ancestors, older browsers
        # Search URLs carry NIKs: never hand them to another site.
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if request.endpoint not in ("static", "vendor", "icon"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        if request.path.startswith("/dci/"):
            response, status = dci.http_error(error.code or 500), error.code or 500
        elif _wants_json():
            response, status = error_response(error.code or 500)
        else:
            response = app.make_response(web.error_page(error.code or 500))
            status = response.status_code
        # werkzeug's own headers of the error: `Allow` on a 405, for one
        for name, value in error.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response, status

    def _database_error(error: Exception):
        log.error(
            "database error on %s %s: %s", request.method, request.url_rule, type(error).__name__
        )
        if request.path.startswith("/dci/"):
            return dci.http_error(503)
        if _wants_json():
            return error_response(503)
        return web.error_page(503)

    for error_class in DATABASE_ERRORS:
        app.register_error_handler(error_class, _database_error)

    @app.errorhandler(WrongMasterKey)
    def _wrong_master_key(error: WrongMasterKey):
        # a misconfigured deployment: no person's data can be read, none is shown wrong
        log.error("CASEWORK_MASTER_KEY on %s %s: %s", request.method, request.url_rule, error)
        if _wants_json():
            return error_response(503)
        return web.error_page(503)

    return app


def _wants_json() -> bool:
    return request.path.startswith(("/api/", "/dci/", "/healthz", "/metrics"))
