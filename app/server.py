"""`casework web`: the Flask app under gunicorn (threads in a few worker processes).

Each worker builds its own app after the fork, so no database connection crosses a
fork. The access log names the path only: search URLs carry NIKs and names in the query
string, and the referrer may too.
"""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger
from werkzeug.exceptions import HTTPException

from adapters.bootstrap import bootstrap
from adapters.settings import Settings
from app import create_app

# %(U)s is the route (RouteLogger); no %(r)s (request line) and no %(f)s (referrer).
ACCESS_LOG_FORMAT = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%(a)s"'
THREADS = 4


class RouteLogger(Logger):
    """Logs the matched route (/rumah-tangga/<household_id>) as %(U)s, never the path: a
    path may carry a NIK or a name too (/api/v1/households/<nik>, a mistyped URL); "-" when
    no route matches."""

    url_map: Any = None  # the app's, set when the worker loads it

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        try:
            rule, _ = self.url_map.bind_to_environ(environ).match(return_rule=True)
            atoms["U"] = rule.rule
        except (AttributeError, HTTPException):  # no app yet; 404, 405 or a redirect
            atoms["U"] = "-"
        return atoms

    def warning(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        """A request gunicorn could not parse is named by what was wrong with it, never by
        its text: "Invalid request from ip=...: Invalid HTTP Version: 'Aminah HTTP/1.1'"
        (a client that did not encode a name's space in a search) is logged up to "Invalid
        HTTP Version"."""
        if isinstance(msg, str) and msg.startswith(INVALID_REQUEST):
            who, _, what = msg.partition(": ")
            msg = f"{who}: {what.split(': ', 1)[0]}"
        super().warning(msg, *args, **kwargs)

    def exception(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        """A request that failed outside the app ("Error handling request GET /path?q=...")
        is logged with its method only: its path and query may name a person."""
        if msg == f"{FAILED_REQUEST} %s %s":  # the method, the path
            msg, args = f"{FAILED_REQUEST} %s", args[:1]
        elif msg == f"{FAILED_REQUEST} %s":  # the path alone
            msg, args = FAILED_REQUEST, ()
        super().exception(msg, *args, **kwargs)


# what gunicorn's worker logs of a request it could not parse or serve (handle_error)
INVALID_REQUEST = "Invalid request from ip="
FAILED_REQUEST = "Error handling request"


def pre_request(worker: Any, req: Any) -> None:
    """gunicorn's default logs the path at DEBUG; the method only here."""
    worker.log.debug("%s request", req.method)


class WebServer(BaseApplication):
    def __init__(self, settings: Settings, options: dict[str, Any] | None = None) -> None:
        self.settings = settings
        self.options = options or {}
        super().__init__()

    def load_config(self) -> None:
        # Settings this gunicorn version does not know are skipped.
        for key, value in self.options.items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key, value)

    def load(self):
        app = create_app(bootstrap(self.settings))
        RouteLogger.url_map = app.url_map
        return app


def options(settings: Settings) -> dict[str, Any]:
    return {
        "bind": f"{settings.host}:{settings.port}",
        "workers": settings.web_workers,
        "worker_class": "gthread",
        "threads": THREADS,
        "accesslog": "-",
        "access_log_format": ACCESS_LOG_FORMAT,
        "logger_class": RouteLogger,
        "pre_request": pre_request,
        "errorlog": "-",
        "loglevel": settings.log_level.lower(),
        "timeout": 60,
        "graceful_timeout": 10,
        "proc_name": "casework-web",
        # gunicorn >= 27: one shared control socket per user would clash between instances.
        "control_socket_disable": True,
    }


def serve(settings: Settings) -> None:
    WebServer(settings, options(settings)).run()
