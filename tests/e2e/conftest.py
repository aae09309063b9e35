"""A live web server on a fresh SQLite store with projected demo data, and headless Chromium.

The `page` fixture is a tab signed in as the administrator `e2e-admin`; `sign_in(page,
live_server, name)` signs in as another account (`live_server.account(name, role, ...)` makes
one), `anonymous_page` is a tab that has not signed in."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, sync_playwright
from werkzeug.serving import make_server

from adapters import wire
from adapters.bootstrap import bootstrap
from adapters.credentials import set_password
from adapters.settings import Settings
from app import create_app
from app.seed_data import generate_households
from domain.application import SYSTEM, make_meta
from domain.catalog import seed_catalog
from domain.errors import NotFound
from projections.base import apply_batch, reveal
from projections.register import PROJECTION as REGISTER
from projections.status import store_counts

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
ADMIN = "e2e-admin"
PASSWORD = "e2e-password-0123"  # noqa: S105 - the tests' own accounts
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

# The family the tests search for; everything else is synthetic.
KNOWN_HEAD = {
    "nik": "1571015203850007",
    "name": "Siti Aminah",
    "birth_date": "1985-03-12",
    "sex": "F",
}
KNOWN_HUSBAND = {
    "nik": "1571011004820002",
    "name": "Budi Santoso",
    "birth_date": "1982-04-10",
    "sex": "M",
}
KNOWN_HOUSEHOLD = {
    "kk_number": "1571010101200003",
    "kecamatan": "Telanaipura",
    "kelurahan": "Simpang IV Sipin",
    "address": "Jl. Kapten Pattimura No. 5",
    "rt": "007",
    "rw": "002",
    "head": KNOWN_HEAD,
}


@dataclass
class LiveServer:
    url: str
    app: Flask
    known_household_id: str = ""
    household_ids: list[str] = field(default_factory=list)

    @property
    def services(self):
        return self.app.extensions["casework"]

    def project(self) -> int:
        """Apply every stored event to the register view, as the projection runner does."""
        casework = self.services.casework
        notifications = casework.recorder.select_notifications(start=1, limit=100_000)
        envelopes = [
            reveal(casework.codec, wire.from_notification(casework, n, "1571", sealed=True))
            for n in notifications
        ]
        return apply_batch(self.services.views, REGISTER, envelopes)

    def stored_events(self) -> int:
        return store_counts(self.services.store)[0]

    def account(
        self, name: str, role: str, opd: str | None = None, kelurahan: list[str] | None = None
    ) -> str:
        """An account that signs in with PASSWORD (made on first use); its name."""
        try:
            self.services.casework.get_user(name)
        except NotFound:
            self.services.casework.add_user(
                name, role, opd, kelurahan or [], make_meta(SYSTEM, "cli")
            )
            set_password(self.services.store, name, PASSWORD)
        return name


def _seed(flask_app: Flask, families: int) -> tuple[str, list[str]]:
    casework = flask_app.extensions["casework"].casework
    meta = make_meta(SYSTEM, "api")
    seed_catalog(casework, meta)  # the city's programs, as `casework seed` defines them
    ids = []
    for family in generate_households(families, 7):
        stored = casework.register_household(family["register"], meta)
        for member in family["members"]:
            casework.add_member({"household_id": stored.stream_id, **member}, meta)
        ids.append(stored.stream_id)
    known = casework.register_household(KNOWN_HOUSEHOLD, meta).stream_id
    casework.add_member(
        {"household_id": known, "person": KNOWN_HUSBAND, "relationship": "suami"}, meta
    )
    return known, ids


@pytest.fixture(scope="module")
def live_server(tmp_path_factory) -> Iterator[LiveServer]:
    tmp = tmp_path_factory.mktemp("e2e")
    settings = Settings.from_env(
        {
            "CASEWORK_STORE": f"sqlite:///{tmp}/casework.db",
            "CASEWORK_VIEWS": f"sqlite:///{tmp}/views.db",
            "CASEWORK_SECRET_KEY": "e2e-secret",
        }
    )
    flask_app = create_app(bootstrap(settings))
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, flask_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-web", daemon=True)
    thread.start()
    live = LiveServer(url=f"http://127.0.0.1:{server.server_port}", app=flask_app)
    live.account(ADMIN, "admin")
    live.known_household_id, live.household_ids = _seed(flask_app, families=24)
    live.project()
    try:
        yield live
    finally:
        server.shutdown()
        thread.join(10)
        flask_app.extensions["casework"].close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium package "
            "(`make browser`, or apt-get install -y chromium)"
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def sign_in(page: Page, live: LiveServer, name: str = ADMIN, password: str = PASSWORD) -> None:
    """Sign in through the login page as a person does."""
    page.goto(f"{live.url}/login")
    page.get_by_label("Nama pengguna").fill(name)
    page.get_by_label("Kata sandi").fill(password)
    page.get_by_role("button", name="Masuk").click()
    page.wait_for_url(lambda url: "/login" not in url)


@pytest.fixture
def page(anonymous_page: Page, live_server: LiveServer) -> Page:
    """A fresh browser tab signed in as the administrator `e2e-admin`."""
    sign_in(anonymous_page, live_server)
    return anonymous_page


@pytest.fixture
def anonymous_page(browser: Browser) -> Iterator[Page]:
    """A fresh browser tab; fails the test on script errors or refused resources (CSP)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="id-ID")
    context.set_default_timeout(10_000)
    tab = context.new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    tab.on(
        "console",
        lambda msg: (
            problems.append(f"console: {msg.text}")
            if msg.type == "error" and "Failed to load resource" not in msg.text
            else None
        ),
    )
    yield tab
    context.close()
    assert not problems, problems


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
