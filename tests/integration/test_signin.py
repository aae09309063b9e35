"""Sign-in for the web (app/login.py): the gate, the login and logout, the throttle and its
log, the session's rotation, timeouts and cookie flags, and maker-checker across the web and
the API."""

from __future__ import annotations

import html
import logging
import re
import uuid

import pytest

from app.login import OPEN_ENDPOINTS, OPEN_PREFIXES
from app.schemas import COMMANDS, example
from domain.application import SYSTEM, make_meta
from tests.integration.conftest import bearer
from tests.integration.test_commands_api import GRANT, post, register
from tests.support.signin import PASSWORD, csrf_of, ensure_account, sign_in

pytestmark = pytest.mark.integration

WRONG = "not-the-password"  # noqa: S105


class Clock:
    """The injected clock of the session timeouts and the throttle."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, minutes: float) -> None:
        self.now += minutes * 60


@pytest.fixture
def clock(web) -> Clock:
    web.config["CASEWORK_CLOCK"] = found = Clock()
    return found


def anonymous(web):
    return web.test_client(user=None)


def session_cookie(client) -> str | None:
    cookie = client.get_cookie("session")
    return cookie.value if cookie else None


def signed_in(client) -> bool:
    return client.get("/status").status_code == 200


def test_an_anonymous_visitor_gets_only_the_login_page(web):
    client = anonymous(web)
    pages = [
        rule
        for rule in web.url_map.iter_rules()
        if not rule.rule.startswith(OPEN_PREFIXES) and rule.endpoint not in OPEN_ENDPOINTS
    ]
    assert len(pages) > 20
    for rule in pages:
        path = rule.build({name: str(uuid.uuid4()) for name in rule.arguments})[1]
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            response = client.open(path, method=method)
            assert response.status_code == 303, f"{method} {rule.rule}"
            assert response.headers["Location"].startswith("/login"), f"{method} {rule.rule}"
    # a page asked for comes back after signing in
    assert client.get("/status").headers["Location"] == "/login?next=/status"
    # htmx is told to load the login page
    partial = client.get("/", headers={"HX-Request": "true"})
    assert partial.status_code == 401 and partial.headers["HX-Redirect"].startswith("/login")
    assert partial.get_data() == b""
    login = client.get("/login")
    assert login.status_code == 200
    html = login.get_data(as_text=True)
    assert "Masuk" in html and "Nama pengguna" in html and "Kata sandi" in html
    assert "/persetujuan" not in html  # no navigation to pages before signing in
    assert client.get("/healthz").status_code in (200, 503)
    assert client.get("/api/v1/households").status_code == 401  # the API asks for its token


def test_sign_in_rotates_the_session_and_sign_out_ends_it(web):
    ensure_account(web, "sup1")
    client = anonymous(web)
    login = client.get("/login")
    before, anonymous_csrf = session_cookie(client), csrf_of(login.get_data(as_text=True))
    answer = sign_in(client, "sup1", next_="/persetujuan")
    assert answer.status_code == 303 and answer.headers["Location"] == "/persetujuan"
    after = session_cookie(client)
    assert after and after != before
    with client.session_transaction() as session:
        assert session["user"] == "sup1" and session["csrf"] != anonymous_csrf
    page = client.get("/persetujuan").get_data(as_text=True)
    assert "sup1" in page and "Keluar" in page

    copy = anonymous(web)  # the same cookie in another browser, as a thief would hold it
    copy.set_cookie("session", after)
    assert signed_in(copy)

    client.post("/logout", data={"csrf_token": csrf_of(page)})
    assert not signed_in(client)
    assert not signed_in(copy)  # signing out ends the account's other sessions too
    assert sign_in(client, "sup1").status_code == 303 and signed_in(client)


@pytest.mark.parametrize("forged", ["é", "tøken", "\u202e"])
def test_a_forged_csrf_token_of_any_characters_is_refused_never_a_server_error(web, forged):
    """A CSRF token is compared in constant time; one holding a character beyond ASCII (a
    forged form, an outsider's probe of the login page) is refused as any wrong token is: the
    form has expired (400), not a server error."""
    ensure_account(web, "sup1")
    client = anonymous(web)
    client.get("/login")
    answer = client.post("/login", data={"csrf_token": forged, "name": "sup1", "password": WRONG})
    assert answer.status_code == 400
    assert not signed_in(client)
    assert sign_in(client, "sup1").status_code == 303
    page = client.get("/perintah/AddCaseNote")
    assert page.status_code == 200
    for headers, data in (({}, {"csrf_token": forged}), ({"X-CSRF-Token": forged}, {})):
        refused = client.post(
            "/perintah/AddCaseNote", data={**data, "text": "catatan"}, headers=headers
        )
        assert refused.status_code == 400, refused.status_code
        assert "Muat ulang halaman" in refused.get_data(as_text=True)
    client.post("/logout", data={"csrf_token": forged})
    assert signed_in(client)  # a forged sign-out ends nothing
    client.post("/logout", data={"csrf_token": csrf_of(page.get_data(as_text=True))})
    assert not signed_in(client)


@pytest.mark.parametrize(
    "target", ["//evil.example/x", "/\t/evil.example/x", "/\r\n/evil.example/x"]
)
def test_an_open_redirect_is_not_followed(web, target):
    """Signing in, and the login page of one signed in already, lead back to a page of this
    site only: a browser drops a tab or line break from a URL (`/<TAB>/evil.example` is the
    other site), so such a `next` leads to the search page, never to a server error."""
    ensure_account(web, "sup1")
    client = anonymous(web)
    answer = sign_in(client, "sup1", next_=target)
    assert (answer.status_code, answer.headers["Location"]) == (303, "/")
    again = client.get("/login", query_string={"next": target})
    assert (again.status_code, again.headers["Location"]) == (303, "/")


def test_wrong_passwords_are_refused_then_locked_and_logged_without_the_name(web, clock, caplog):
    ensure_account(web, "sup1")
    client = anonymous(web)
    caplog.set_level(logging.WARNING, logger="casework.login")
    for _ in range(web.config["LOGIN_ACCOUNT_LIMIT"]):
        refused = sign_in(client, "sup1", WRONG)
        assert refused.status_code == 401
        assert "Nama pengguna atau kata sandi salah." in refused.get_data(as_text=True)
    locked = sign_in(client, "sup1", PASSWORD)  # the right password, while locked
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
    assert "Terlalu banyak percobaan gagal" in locked.get_data(as_text=True)
    assert not signed_in(client)
    failures = [r.getMessage() for r in caplog.records if "sign-in failed" in r.getMessage()]
    assert len(failures) == web.config["LOGIN_ACCOUNT_LIMIT"]
    assert any("sign-in refused (locked)" in r.getMessage() for r in caplog.records)
    assert all("sup1" not in r.getMessage() and WRONG not in r.getMessage() for r in caplog.records)

    clock.advance(web.config["LOGIN_WINDOW_SECONDS"] / 60 + 1)
    assert sign_in(client, "sup1", PASSWORD).status_code == 303 and signed_in(client)


def test_failures_from_one_address_lock_every_account_from_it(web):
    ensure_account(web, "sup2")
    client = anonymous(web)
    for attempt in range(web.config["LOGIN_ADDRESS_LIMIT"]):
        assert sign_in(client, f"nobody{attempt}", WRONG).status_code == 401
    assert sign_in(client, "sup2", PASSWORD).status_code == 429
    other_address = web.test_client(user=None)
    other_address.environ_base["REMOTE_ADDR"] = "10.1.2.3"
    assert sign_in(other_address, "sup2", PASSWORD).status_code == 303


def test_a_session_ends_when_idle_and_after_its_absolute_limit(web, clock):
    ensure_account(web, "sup1")
    client = anonymous(web)
    assert sign_in(client, "sup1").status_code == 303
    idle = web.config["SESSION_IDLE_SECONDS"] / 60
    clock.advance(idle - 1)
    assert signed_in(client)  # activity keeps it open
    clock.advance(idle - 1)
    assert signed_in(client)
    clock.advance(idle + 1)
    expired = client.get("/status")
    assert expired.status_code == 303 and "expired=1" in expired.headers["Location"]
    assert "Sesi Anda telah berakhir" in client.get(expired.headers["Location"]).get_data(
        as_text=True
    )
    assert not signed_in(client)

    assert sign_in(client, "sup1").status_code == 303
    absolute = web.config["SESSION_ABSOLUTE_SECONDS"] / 60
    for _ in range(int(absolute // (idle - 1))):
        clock.advance(idle - 1)
        assert signed_in(client)
    clock.advance(idle - 1)
    assert not signed_in(client)  # busy all along, but signed in too long ago


def test_a_form_sent_after_the_session_ended_says_it_was_not_saved_and_leads_back(web, clock):
    ensure_account(web, "sup1")
    client = anonymous(web)
    assert sign_in(client, "sup1").status_code == 303
    form_page = "/perintah/RegisterHomelessPerson"
    token = csrf_of(client.get(form_page).get_data(as_text=True))
    clock.advance(web.config["SESSION_IDLE_SECONDS"] / 60 + 1)  # away from the desk
    person = {"name": "Pak Ujang", "sex": "M", "found_at": "Pasar", "kecamatan": "Telanaipura"}

    sent = client.post(
        form_page,
        data={"csrf_token": token, **person},
        headers={"Referer": f"http://localhost{form_page}"},
    )

    assert sent.status_code == 303
    login = sent.headers["Location"]
    assert "unsaved=1" in login and "expired=1" in login
    page = client.get(login).get_data(as_text=True)
    assert "Sesi Anda telah berakhir" in page
    assert "Formulir yang Anda kirim belum tersimpan." in page
    # signed in again, the person is back at the form, not on the search page
    assert sign_in(client, "sup1", next_=next_of(page)).headers["Location"] == form_page
    # a Referer of another site is not followed
    other = anonymous(web).post(
        form_page, data=person, headers={"Referer": "https://evil.example/perintah"}
    )
    assert "next=" not in other.headers["Location"]


def next_of(page: str) -> str:
    found = re.search(r'name="next" value="([^"]*)"', page)
    assert found, "the login form carries no next"
    return html.unescape(found.group(1))


def test_a_deactivated_account_is_signed_out_at_once(web):
    ensure_account(web, "cw_sipin")
    client = web.test_client(user="cw_sipin")
    assert signed_in(client)
    web.extensions["casework"].casework.deactivate_user("cw_sipin", make_meta(SYSTEM, "cli"))
    assert not signed_in(client)
    assert sign_in(anonymous(web), "cw_sipin").status_code == 401


def test_the_session_cookie_is_httponly_samesite_and_secure_outside_localhost(web):
    ensure_account(web, "sup1")
    local = sign_in(anonymous(web), "sup1")
    cookie = local.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    remote = web.test_client(user=None)
    token = csrf_of(remote.get("/login", base_url="https://casework.jambikota.go.id").text)
    answer = remote.post(
        "/login",
        base_url="https://casework.jambikota.go.id",
        data={"csrf_token": token, "name": "sup1", "password": PASSWORD},
    )
    assert answer.status_code == 303
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie


def test_no_one_approves_their_own_request_by_the_web_or_the_api(web, tokens):
    api = web.test_client(user=None)
    program = example(COMMANDS["DefineProgram"].schema)
    program["rules"] = {**program["rules"], "min_residence_months": 0}
    assert post(api, "DefineProgram", program, tokens["admin"]).status_code == 201
    household_id = register(api, tokens["cw_sipin"])
    asked = post(api, "GrantBenefit", {**GRANT, "household_id": household_id}, tokens["sup1"])
    assert asked.status_code == 202
    approval_id = asked.json["approval_id"]
    casework = web.extensions["casework"].casework

    maker = web.test_client(user="sup1")  # the same person, now in the web
    queue = maker.get("/persetujuan").get_data(as_text=True)
    assert "Anda yang meminta perubahan ini" in queue and "Setujui" not in queue
    refused = maker.post(
        f"/persetujuan/{approval_id}/setujui",
        data={"csrf_token": csrf_of(queue)},
        follow_redirects=True,
    )
    assert "flash-error" in refused.get_data(as_text=True)
    assert [str(c.id) for c in casework.pending_approvals()] == [approval_id]

    checker = web.test_client(user="sup2")
    queue = checker.get("/persetujuan").get_data(as_text=True)
    assert "Setujui" in queue and "PKH" in queue  # what will change
    approved = checker.post(
        f"/persetujuan/{approval_id}/setujui",
        data={"csrf_token": csrf_of(queue)},
        follow_redirects=True,
    )
    assert "flash-success" in approved.get_data(as_text=True)
    assert casework.pending_approvals() == []
    events = api.get(
        f"/api/v1/households/{household_id}/history", headers=bearer(tokens["admin"])
    ).json["events"]
    assert events[-1]["type"] == "BenefitGranted"
    assert events[-1]["actor"]["id"] == "sup1"
    assert events[-1]["approved_by"] == {"id": "sup2", "role": "supervisor", "opd": None}

    # and the other way round: asked in the web, refused to the same person by the API
    page = checker.get(f"/perintah/GrantBenefit?household_id={household_id}").text
    web_grant = checker.post(
        "/perintah/GrantBenefit",
        data={
            "csrf_token": csrf_of(page),
            "household_id": household_id,
            **{k: str(v) for k, v in GRANT.items()},
            "period_start": "2025-04-01",
            "period_end": "2025-06-30",
        },
    )
    assert web_grant.status_code in (302, 303)
    [pending] = casework.pending_approvals()
    assert pending.requester["id"] == "sup2" and pending.requester["role"] == "supervisor"
    own = post(api, "ApproveChange", {"approval_id": str(pending.id)}, tokens["sup2"])
    assert own.status_code == 403 and own.json["codes"] == {"actor": ["approval.self"]}


def test_the_app_has_its_own_icon_which_anyone_gets_without_signing_in(web):
    """Browsers ask for /favicon.ico whatever a page links: it was a 404 on every page load."""
    client = anonymous(web)
    login = client.get("/login").get_data(as_text=True)
    linked = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', login)
    assert linked, "the pages link no icon"
    for path in (linked.group(1), "/favicon.ico"):
        icon = client.get(path)
        assert icon.status_code == 200, path
        assert icon.mimetype == "image/svg+xml", path
        assert icon.get_data(as_text=True).lstrip().startswith("<svg"), path
        # kept by the browser: not asked for again on every page
        assert icon.cache_control.max_age and icon.cache_control.max_age >= 3600, path
        assert not icon.cache_control.no_store, path
