"""Least privilege on every web page (app/read_policy.py WEB, the guard app.web.least_privilege).

The first tests are generated from the app's url_map: every page outside /api/ and each of its
methods is tried by an anonymous visitor and by an account of every role. Anonymous visitors
are sent to the login page (but for the public pages); a role the page's declared policy does
not name gets the forbidden page (403); a role it names, on records inside that role's area,
never does. A page without a declared policy fails the first test and is forbidden to everyone.
The others check what a user would notice: a case worker's start page and search stay in their
kelurahan, a program manager reads only their OPD's programs, NIKs in lists are masked, the
auditor writes nothing.

One app on SQLite for the whole module (the policy does not depend on the store's kind; the
API's tests run both kinds): the records are made once, each test only reads, or tries writes
that must be refused.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from flask import Flask

from adapters.bootstrap import bootstrap
from adapters.settings import Settings
from app import create_app, read_policy
from domain.application import SYSTEM, make_meta
from tests.conftest import TEST_MASTER_KEY
from tests.integration.conftest import USERS
from tests.integration.test_eligibility_api import project
from tests.support.events import TEST_SIGNING_KEY
from tests.support.signin import use_signed_in_clients

pytestmark = pytest.mark.integration

META = make_meta(SYSTEM, "ui")
SIPIN_HEAD = "1571015203850007"
SIPIN_HEAD_MASKED = "1571**********07"
PELAYANGAN_HEAD = "1571015203850015"
SIPIN_NAME = "Siti Sipinawati"
PELAYANGAN_NAME = "Ani Pelayanganti"
ROLE_USERS = ("cw_sipin", "sup1", "auditor", "pm_dinsos", "agency", "admin")
IGNORED_METHODS = {"HEAD", "OPTIONS"}
FORGOTTEN = "forgotten_page"  # a page added without a policy, on purpose
FORBIDDEN_TITLE = "Tidak diizinkan"  # the forbidden page's title, in Indonesian


def _household(kk: str, kecamatan: str, kelurahan: str, nik: str, name: str) -> dict:
    return {
        "kk_number": kk,
        "kecamatan": kecamatan,
        "kelurahan": kelurahan,
        "address": "Jl. Kapten Pattimura No. 5",
        "rt": "007",
        "rw": "002",
        "head": {"nik": nik, "name": name, "birth_date": "1985-03-12", "sex": "F"},
    }


@pytest.fixture(scope="module")
def web(tmp_path_factory) -> Iterator[Flask]:
    """The app on SQLite with PKH (DINSOS) and ZAKAT (BAZNAS), a family in Simpang IV Sipin
    (Telanaipura) and one in Tahtul Yaman (Pelayangan), and a removal the Sipin case worker
    asked for (waiting for a supervisor); the read models caught up."""
    where = tmp_path_factory.mktemp("web-policy")
    settings = Settings.from_env(
        {
            "CASEWORK_STORE": f"sqlite:///{where}/casework.db",
            "CASEWORK_VIEWS": f"sqlite:///{where}/views.db",
            "CASEWORK_SECRET_KEY": "test-secret",
            "CASEWORK_MASTER_KEY": TEST_MASTER_KEY,
            "CASEWORK_SIGNING_KEY": TEST_SIGNING_KEY,
        }
    )
    app = use_signed_in_clients(create_app(bootstrap(settings)), USERS)
    app.add_url_rule("/terlupa", FORGOTTEN, lambda: "everything")
    casework = app.extensions["casework"].casework
    for code, opd in (("PKH", "DINSOS"), ("ZAKAT", "BAZNAS")):
        casework.define_program(
            {
                "code": code,
                "name": f"Program {code}",
                "opd": opd,
                "funding": "APBN",
                "kind": "bansos",
                "rules": {},
                "effective_from": "2025-01-01",
            },
            META,
        )
    sipin = casework.register_household(
        _household("1571010101200003", "Telanaipura", "Simpang IV Sipin", SIPIN_HEAD, SIPIN_NAME),
        META,
    ).stream_id
    pelayangan = casework.register_household(
        _household(
            "1571010101200004", "Pelayangan", "Tahtul Yaman", PELAYANGAN_HEAD, PELAYANGAN_NAME
        ),
        META,
    ).stream_id
    for hid, nik, program in ((sipin, SIPIN_HEAD, "PKH"), (pelayangan, PELAYANGAN_HEAD, "ZAKAT")):
        casework.grant_benefit(
            {
                "household_id": hid,
                "nik": nik,
                "program": program,
                "period_start": "2026-01-01",
                "period_end": "2030-12-31",
                "amount": 600_000,
            },
            META,
        )
    maker = app.test_client(user="cw_sipin")
    asked = maker.post(
        "/perintah/RemoveMember",
        data={
            "household_id": str(sipin),
            "nik": SIPIN_HEAD,
            "kind": "moved_out",
            "effective_date": "2026-01-01",
            "reason": "pindah",
        },
        headers={"X-CSRF-Token": csrf(maker)},
    )
    assert asked.status_code == 303, asked.get_data(as_text=True)[:500]
    project(app)
    app.config["WORLD"] = {"sipin": str(sipin), "pelayangan": str(pelayangan)}
    yield app
    app.extensions["casework"].close()


def csrf(client) -> str:
    with client.session_transaction() as session:
        return session["csrf"]


@pytest.fixture(scope="module")
def clients(web) -> dict[str | None, object]:
    """A signed-in client per role's account (and None: an anonymous visitor)."""
    return {user: web.test_client(user=user) for user in (*ROLE_USERS, None)}


def web_routes(web) -> list[tuple[str, str]]:
    """(endpoint, method) of every page outside the API; signing out last (it ends sessions)."""
    found = {
        (rule.endpoint, method)
        for rule in web.url_map.iter_rules()
        if not rule.rule.startswith(("/api/", "/dci/"))
        for method in (rule.methods or set()) - IGNORED_METHODS
    }
    return sorted(found, key=lambda route: (route[0] == "login.sign_out", route))


def stored_events(web) -> int:
    recorder = web.extensions["casework"].casework.recorder
    return len(recorder.select_notifications(start=1, limit=100_000))


def test_every_web_page_has_a_declared_policy(web):
    undeclared = {endpoint for endpoint, _ in web_routes(web)} - set(read_policy.WEB)
    assert undeclared == {FORGOTTEN}, (
        f"pages without a policy (app/read_policy.py WEB): {undeclared}"
    )


def test_a_page_added_without_a_policy_is_forbidden_to_everyone(web, clients):
    for user in ROLE_USERS:
        answer = clients[user].get("/terlupa")
        assert answer.status_code == 403, user
        assert "everything" not in answer.get_data(as_text=True)
    assert clients[None].get("/terlupa").headers["Location"].startswith("/login")


def test_every_page_with_every_role_answers_as_its_policy_declares(web, clients):
    world = web.config["WORLD"]
    values = {
        "household_id": world["sipin"],
        "code": "PKH",
        # a command every role of the command pages may send (`app.auth.may_issue`; a form
        # the role may never send is refused: tests/integration/test_command_links_by_role.py)
        "name": "GrantBenefit",
        "command": "AddMember",
        "approval_id": str(uuid.uuid4()),  # no such approval: nothing is decided
        "decision": "tolak",
        "filename": "app.css",
        "job_id": uuid.uuid4().hex,  # no such import: 404 to those who may import
    }
    adapter = web.url_map.bind("localhost")
    checked = 0
    for endpoint, method in web_routes(web):
        policy = read_policy.policy_for(endpoint)
        rule = next(r for r in web.url_map.iter_rules(endpoint) if method in (r.methods or ()))
        path = adapter.build(endpoint, {k: values[k] for k in rule.arguments}, method=method)
        if endpoint == "vendor":
            path = path.replace("app.css", "htmx.min.js")
        for user in (*ROLE_USERS, None):
            client = clients[user]
            # a form's CSRF token, but for signing in and out (they would change the session)
            headers = (
                {}
                if user is None or endpoint.startswith("login.")
                else {"X-CSRF-Token": csrf(client)}
            )
            answer = client.open(path, method=method, headers=headers)
            body = answer.get_data().decode("utf-8", "replace")  # XLSX downloads are binary
            where = f"{method} {path} as {user}: {answer.status_code} {body[:300]}"
            to_login = answer.status_code == 303 and answer.headers["Location"].startswith("/login")
            if user is None and not policy.public:
                assert to_login, where
            elif policy.public or USERS[user][0] in policy.roles:
                assert answer.status_code != 403, where
                assert answer.status_code < 500 or endpoint == "health.healthz", where
                assert not to_login or endpoint == "login.sign_out", where
            else:
                assert answer.status_code == 403, where
                assert FORBIDDEN_TITLE in body, where
            checked += 1
    assert checked >= 7 * 34


def test_a_case_worker_sees_only_households_of_their_kelurahan(web, clients):
    world = web.config["WORLD"]
    client = clients["cw_sipin"]
    home = client.get("/").get_data(as_text=True)
    assert SIPIN_NAME in home and PELAYANGAN_NAME not in home
    for query in (PELAYANGAN_NAME.split()[0], PELAYANGAN_HEAD, "1571010101200004"):
        found = client.get("/", query_string={"q": query}).get_data(as_text=True)
        assert PELAYANGAN_NAME not in found, query
        assert world["pelayangan"] not in found, query
    assert SIPIN_NAME in client.get("/", query_string={"q": "Sipinawati"}).get_data(as_text=True)
    before = stored_events(web)
    elsewhere = f"/rumah-tangga/{world['pelayangan']}"
    token = {"X-CSRF-Token": csrf(client)}
    for answer in (
        client.get(elsewhere),
        client.get(f"/perintah/RecordWelfareAssessment?household_id={world['pelayangan']}"),
        client.post(
            f"{elsewhere}/anggota",
            data={
                "person.nik": "1571016503100002",
                "person.name": "Budi",
                "person.birth_date": "2010-03-25",
                "person.sex": "M",
                "relationship": "anak",
            },
            headers=token,
        ),
    ):
        page = answer.get_data(as_text=True)
        assert answer.status_code == 403
        assert FORBIDDEN_TITLE in page
        assert PELAYANGAN_NAME not in page and PELAYANGAN_HEAD not in page
        # why: the household is elsewhere, not the case worker's role (which opens such pages)
        assert "Rumah tangga ini di luar kelurahan tugas Anda." in page
        assert "Peran Anda tidak boleh membuka halaman ini" not in page
    assert stored_events(web) == before
    own = client.get(f"/rumah-tangga/{world['sipin']}")
    assert own.status_code == 200 and SIPIN_HEAD in own.get_data(as_text=True)
    nav = client.get("/status").get_data(as_text=True)
    assert 'href="/program"' not in nav and 'href="/audit"' not in nav
    assert 'href="/daftar"' in nav


def test_niks_in_lists_are_masked_and_in_clear_on_the_household_page(web, clients):
    world = web.config["WORLD"]
    client = clients["sup1"]
    home = client.get("/").get_data(as_text=True)
    assert SIPIN_HEAD_MASKED in home
    assert SIPIN_HEAD not in home and PELAYANGAN_HEAD not in home
    searched = client.get("/", query_string={"q": SIPIN_HEAD}).get_data(as_text=True)
    assert SIPIN_NAME in searched and SIPIN_HEAD_MASKED in searched
    assert f">{SIPIN_HEAD}<" not in searched  # the number asked for stays in the search box only
    household = client.get(f"/rumah-tangga/{world['sipin']}").get_data(as_text=True)
    assert SIPIN_HEAD in household
    approvals = client.get("/persetujuan").get_data(as_text=True)
    assert SIPIN_HEAD_MASKED in approvals and SIPIN_HEAD not in approvals


def test_a_maker_sees_only_the_approvals_they_asked_for(web, clients):
    web.test_client(user="cw_pelayangan")  # another case worker
    own = clients["cw_sipin"].get("/persetujuan").get_data(as_text=True)
    assert SIPIN_HEAD_MASKED in own
    other = web.test_client(user="cw_pelayangan").get("/persetujuan")
    assert other.status_code == 200
    assert SIPIN_HEAD_MASKED not in other.get_data(as_text=True)


def test_a_program_manager_reads_only_their_opds_programs_and_no_household(web, clients):
    world = web.config["WORLD"]
    client = clients["pm_dinsos"]
    assert client.get("/program/PKH").status_code == 200
    other = client.get("/program/ZAKAT")
    assert other.status_code == 403 and FORBIDDEN_TITLE in other.get_data(as_text=True)
    # why: the program is another OPD's, not the role (which opens program pages)
    assert "Program ini milik OPD lain." in other.get_data(as_text=True)
    assert "Peran Anda tidak boleh membuka halaman ini" not in other.get_data(as_text=True)
    assert client.get("/program/ZAKAT/kesalahan.csv").status_code == 403
    assert (
        client.post("/program/ZAKAT/what-if", headers={"X-CSRF-Token": csrf(client)}).status_code
        == 403
    )
    listed = client.get("/program").get_data(as_text=True)
    assert "/program/PKH" in listed and "/program/ZAKAT" not in listed
    assert client.get(f"/rumah-tangga/{world['sipin']}").status_code == 403
    home = client.get("/").get_data(as_text=True)
    assert SIPIN_NAME not in home and PELAYANGAN_NAME not in home
    assert 'href="/program"' in home
    # a form about a household offers none of its members to a program manager
    form = client.get(f"/perintah/GrantBenefit?household_id={world['sipin']}")
    assert form.status_code == 200 and SIPIN_NAME not in form.get_data(as_text=True)


def test_an_agency_reads_no_household_and_no_program(web, clients):
    world = web.config["WORLD"]
    client = clients["agency"]
    home = client.get("/")
    page = home.get_data(as_text=True)
    assert home.status_code == 200
    assert SIPIN_NAME not in page and PELAYANGAN_NAME not in page
    assert "feed" in client.get("/?lang=en").get_data(as_text=True)
    for path in (f"/rumah-tangga/{world['sipin']}", "/program", "/program/PKH", "/tinjauan"):
        assert client.get(path).status_code == 403, path
    for link in ('href="/program"', 'href="/daftar"', 'href="/perintah"', 'href="/tinjauan"'):
        assert link not in page


def test_the_auditor_reads_everything_and_writes_nothing(web, clients):
    world = web.config["WORLD"]
    client = clients["auditor"]
    for path in (
        f"/rumah-tangga/{world['pelayangan']}",
        f"/rumah-tangga/{world['pelayangan']}/lini-masa",
        "/program/ZAKAT",
        "/audit",
    ):
        assert client.get(path).status_code == 200, path
    page = client.get(f"/rumah-tangga/{world['sipin']}").get_data(as_text=True)
    assert SIPIN_HEAD in page
    assert "add-member" not in page and "household-commands" not in page
    before = stored_events(web)
    token = {"X-CSRF-Token": csrf(client)}
    for path, data in (
        (
            "/perintah/RecordWelfareAssessment",
            {"household_id": world["sipin"], "desil": "2", "source": "DTSEN", "period": "2025-Q1"},
        ),
        (f"/rumah-tangga/{world['sipin']}/anggota", {"person.name": "Budi"}),
        ("/daftar", {"kk_number": "1571010101200009"}),
        (f"/persetujuan/{uuid.uuid4()}/setujui", {}),
    ):
        answer = client.post(path, data=data, headers=token)
        assert answer.status_code == 403, path
        assert FORBIDDEN_TITLE in answer.get_data(as_text=True)
    assert stored_events(web) == before


def test_an_error_page_leads_every_role_to_its_start_page_not_to_a_search(web, clients):
    """A program manager or an agency has no search: the error pages' way out is the start
    page, named so, not 'Ke halaman pencarian'."""
    for user in ("pm_dinsos", "agency", "cw_sipin"):
        # in Indonesian: an earlier test of this module switched a client to English
        page = clients[user].get(f"/rumah-tangga/{uuid.uuid4()}", query_string={"lang": "id"})
        assert page.status_code in (403, 404), user
        text = page.get_data(as_text=True)
        assert re.search(r'<a href="/"[^>]*>Ke halaman awal</a>', text), user
        assert "pencarian" not in text.split("<main")[1], user
