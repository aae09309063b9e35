"""Sign-in for the web: the login page, logout, the session's timeouts and the gate that sends
anonymous visitors to the login page.

- Accounts are the users of `casework users add ... --password-stdin`; the password is checked
  against its argon2id hash (adapters/credentials.py), never stored or logged in clear.
- The session is Flask's signed cookie. At sign-in it is emptied and refilled with a fresh
  random session id and CSRF token (rotation: nothing of the anonymous session survives but
  the language). It ends after `SESSION_IDLE_SECONDS` without a request and, whatever the
  activity, `SESSION_ABSOLUTE_SECONDS` after sign-in. Each request reloads the account, so a
  deactivated user is signed out at once; signing out ends every session of the account
  signed in until then (a copied cookie too: `casework_credentials.sessions_after`). Cookies
  are `HttpOnly`, `SameSite=Lax`, and `Secure` whenever the request's host is not localhost
  (serve it behind HTTPS).
- Failed attempts are throttled in this process, per account name and per client address:
  each failure waits a little longer (`LOGIN_FAILURE_DELAY` seconds times the failures, at
  most 2 s), and after `LOGIN_ACCOUNT_LIMIT` failures of one account (or
  `LOGIN_ADDRESS_LIMIT` from one address) within `LOGIN_WINDOW_SECONDS` every attempt, right
  or wrong, is refused (429) until the window has passed. Several web processes each keep
  their own counts; the client address is `request.remote_addr` (behind a proxy, configure
  werkzeug's ProxyFix). Each failure is logged with keyed hashes of the account name and the
  address (no name, no address, no password).
- Every page but the login page, static files, `/healthz` and `/metrics` needs a signed-in
  person; the API (`/api/`) authenticates each request by its bearer token instead.
"""

from __future__ import annotations

import collections
import hashlib
import hmac
import logging
import secrets
import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.sessions import SecureCookieSessionInterface
from flask_babel import gettext

from adapters.credentials import end_sessions, sessions_after, verify_password
from app.context import services
from app.messages import role_label
from domain.application import Actor
from domain.errors import NotFound

log = logging.getLogger("casework.login")

bp = Blueprint("login", __name__)

DEFAULTS = {
    "SESSION_IDLE_SECONDS": 30 * 60,
    "SESSION_ABSOLUTE_SECONDS": 12 * 60 * 60,
    "LOGIN_ACCOUNT_LIMIT": 5,
    "LOGIN_ADDRESS_LIMIT": 20,
    "LOGIN_WINDOW_SECONDS": 15 * 60,
    "LOGIN_FAILURE_DELAY": 0.25,
    # The clock of the session timeouts and the throttle (seconds); tests inject their own.
    "CASEWORK_CLOCK": time.time,
}
MAX_DELAY = 2.0
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
# Paths that carry their own authentication (bearer tokens) or none by design.
OPEN_PREFIXES = ("/api/", "/dci/", "/healthz", "/metrics")  # /dci/: bearer tokens (app/dci.py)
OPEN_ENDPOINTS = (
    "login.login_page",
    "login.sign_in",
    "login.sign_out",
    "static",
    "vendor",
    "icon",
)
# How often a busy session's last-seen time is written back into the cookie.
SEEN_RESOLUTION = 30


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session, `Secure` unless the request's host is localhost."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return is_secure_host(request.host)


def is_secure_host(host: str) -> bool:
    hostname = urlsplit(f"//{host}").hostname or ""
    return hostname not in LOCAL_HOSTS


class Throttle:
    """Failures per key within a sliding window; a key at its limit is locked."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failures: dict[str, collections.deque[float]] = {}

    def _recent(self, key: str, now: float, window: float) -> collections.deque[float]:
        found = self._failures.get(key)
        if found is None:
            return collections.deque()
        while found and found[0] <= now - window:
            found.popleft()
        if not found:
            del self._failures[key]
        return found

    def seconds_locked(self, key: str, limit: int, now: float, window: float) -> float:
        """How long this key stays locked (0: it may try)."""
        with self._lock:
            recent = self._recent(key, now, window)
            if len(recent) < limit:
                return 0.0
            return max(recent[-limit] + window - now, 1.0)

    def fail(self, key: str, now: float, window: float) -> int:
        """Count a failure; the failures within the window."""
        with self._lock:
            recent = self._recent(key, now, window)
            recent.append(now)
            self._failures[key] = recent
            return len(recent)

    def clear(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)


def init_app(app: Flask) -> None:
    for key, value in DEFAULTS.items():
        app.config.setdefault(key, value)
    app.session_interface = SessionInterface()
    app.extensions["casework.login_throttle"] = Throttle()
    app.before_request(_require_sign_in)
    app.context_processor(_signed_in_helpers)
    app.register_blueprint(bp)


def _signed_in_helpers() -> dict[str, object]:
    return {"signed_in": g.get("web_actor"), "role_label": role_label}


def _now() -> float:
    clock: Callable[[], float] = current_app.config["CASEWORK_CLOCK"]
    return clock()


def _reference(value: str) -> str:
    """A keyed hash that tells log lines of the same account or address apart, and nothing
    more (no name or address in the log)."""
    key = current_app.config["SECRET_KEY"].encode("utf-8")
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()[:12]


def _safe_next(target: str | None) -> str:
    """A path on this site to go to after signing in (never another site). A control
    character is refused too: a browser drops a tab or a line break from a URL
    (`/<TAB>/evil.example` is `//evil.example`, another site), and a line break cannot go
    into the Location header at all."""
    if (
        not target
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(c) < 0x20 or ord(c) == 0x7F for c in target)
    ):
        return url_for("web.search_page")
    if target.startswith(url_for("login.login_page")):
        return url_for("web.search_page")
    return target


def end_session() -> None:
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language


def signed_in_actor() -> Actor | None:
    """The signed-in account as an Actor, or None (the session ended: it is emptied)."""
    name = session.get("user")
    if not name:
        return None
    now = _now()
    config = current_app.config
    since, seen = session.get("since", 0.0), session.get("seen", 0.0)
    if (
        now - since > config["SESSION_ABSOLUTE_SECONDS"]
        or now - seen > config["SESSION_IDLE_SECONDS"]
    ):
        end_session()
        g.session_expired = True
        return None
    try:
        user = services().casework.get_user(name)
    except NotFound:
        user = None
    if user is None or not user.active or since < sessions_after(services().store, name):
        end_session()
        return None
    if now - seen >= SEEN_RESOLUTION:
        session["seen"] = now
    return Actor(id=user.name, role=user.role, opd=user.opd)


def _require_sign_in() -> Response | None:
    if request.path.startswith(OPEN_PREFIXES):
        return None
    actor = signed_in_actor()
    if actor is not None:
        g.web_actor = actor
        return None
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    if request.method == "GET":
        args = {"next": request.full_path.rstrip("?")}
    else:
        # a form sent after the session ended is not saved: said on the login page, which
        # leads back to the page the form was on (this site's, as the browser names it)
        args = {"unsaved": "1"}
        back = page_sent_from()
        if back:
            args["next"] = back
    if g.get("session_expired"):
        args["expired"] = "1"
    target = url_for("login.login_page", **args)
    if request.headers.get("HX-Request"):
        # htmx follows HX-Redirect with a full page load.
        return Response("", 401, {"HX-Redirect": target})
    return redirect(target, 303)


def page_sent_from() -> str:
    """The path (and query) of this site's page a form was sent from, or "" (no Referer, or
    another site's)."""
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc != request.host or not referrer.path.startswith("/"):
        return ""
    return f"{referrer.path}?{referrer.query}" if referrer.query else referrer.path


def _login_page(status: int = 200, error: str | None = None, name: str = "", next_: str = ""):
    expired = request.args.get("expired") == "1"
    unsaved = request.args.get("unsaved") == "1"
    page = render_template(
        "login.html",
        error=error,
        name=name,
        next=next_,
        expired=expired,
        unsaved=unsaved,
        active="login",
    )
    return page, status


@bp.get("/login")
def login_page():
    if g.get("web_actor") is not None:
        return redirect(_safe_next(request.args.get("next")), 303)
    return _login_page(next_=request.args.get("next", ""))


@bp.post("/login")
def sign_in():
    expected = session.get("csrf", "")
    sent = request.form.get("csrf_token", "")
    next_ = request.form.get("next", "")
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        return _login_page(400, gettext("The form expired. Please sign in again."), next_=next_)
    name = request.form.get("name", "").strip()[:64]
    password = request.form.get("password", "")
    config = current_app.config
    throttle: Throttle = current_app.extensions["casework.login_throttle"]
    now, window = _now(), config["LOGIN_WINDOW_SECONDS"]
    account_key, address_key = f"account:{name.lower()}", f"address:{request.remote_addr}"
    locked = max(
        throttle.seconds_locked(account_key, config["LOGIN_ACCOUNT_LIMIT"], now, window),
        throttle.seconds_locked(address_key, config["LOGIN_ADDRESS_LIMIT"], now, window),
    )
    if locked:
        log.warning(
            "sign-in refused (locked): account=%s address=%s",
            _reference(account_key),
            _reference(address_key),
        )
        minutes = max(1, round(locked / 60))
        body, status = _login_page(
            429,
            gettext("Too many failed attempts. Try again in %(minutes)d minutes.", minutes=minutes),
            name=name,
            next_=next_,
        )
        return Response(body, status, {"Retry-After": str(int(locked))})
    user = _account(name)
    # An unknown name is verified against a dummy hash: it costs as much as a known one.
    # The password is kept under the account's name as added (a user name ignores case).
    known = user.name if user is not None else name
    verified = verify_password(services().store, known, password) if name else False
    if user is None or not verified:
        failures = throttle.fail(account_key, now, window)
        by_address = throttle.fail(address_key, now, window)
        log.warning(
            "sign-in failed: account=%s address=%s failures_account=%d failures_address=%d",
            _reference(account_key),
            _reference(address_key),
            failures,
            by_address,
        )
        delay = min(config["LOGIN_FAILURE_DELAY"] * max(failures, by_address), MAX_DELAY)
        if delay > 0:
            time.sleep(delay)
        return _login_page(401, gettext("Wrong user name or password."), name=name, next_=next_)
    throttle.clear(account_key)
    # Rotate: nothing of the anonymous session is kept but the language.
    end_session()
    session["user"] = user.name
    session["sid"] = secrets.token_urlsafe(16)
    session["csrf"] = secrets.token_urlsafe(32)
    session["since"] = session["seen"] = now
    log.info("signed in: account=%s role=%s", _reference(account_key), user.role)
    return redirect(_safe_next(next_), 303)


def _account(name: str):
    if not name:
        return None
    try:
        user = services().casework.get_user(name)
    except NotFound:
        return None
    return user if user.active else None


@bp.post("/logout")
def sign_out():
    expected = session.get("csrf", "")
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token", "")
    if expected and hmac.compare_digest(sent.encode(), expected.encode()):
        name = session.get("user")
        if name:
            end_sessions(services().store, name, _now())
        end_session()
    return redirect(url_for("login.login_page"), 303)
