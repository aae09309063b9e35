"""The access log (UU PDP) on SQLite and PostgreSQL: every read recorded, append-only,
hash-chained, no NIK in clear, and the breach report drawn from it."""

from __future__ import annotations

import datetime as dt
import sqlite3

import psycopg
import pytest

from app import access_log
from domain.application import Actor, make_meta
from tests.integration.conftest import add_users, authorized_client
from tests.integration.test_api import HEAD, HOUSEHOLD, project, register

pytestmark = pytest.mark.integration

OTHER_HEAD = {"nik": "1571011004820002", "name": "Budi Santoso", "birth_date": "1982-04-10"}
OTHER = {
    **HOUSEHOLD,
    "kk_number": "1571010101200004",
    "head": {**OTHER_HEAD, "sex": "M"},
}
TABLE = access_log.TABLE


def store_of(web):
    return web.extensions["casework"].store


def log_rows(web) -> list[dict]:
    store = store_of(web)
    access_log.ensure_table(store)
    columns = ("id", *access_log.FIELDS, "prev_hash", "row_hash")
    rows = store.query(f"SELECT {', '.join(columns)} FROM {TABLE} ORDER BY id")
    return [dict(zip(columns, row, strict=True)) for row in rows]


@pytest.fixture
def setup(web):
    """Two households (projected), and the tokens of an admin, a caseworker and an auditor."""
    tokens = add_users(web, ["admin", "cw_sipin", "auditor"])
    admin = authorized_client(web, tokens["admin"])
    first = register(admin)["stream_id"]
    second = register(admin, **OTHER)["stream_id"]
    project(web)
    return {"tokens": tokens, "first": first, "second": second}


def test_an_api_read_is_logged_with_who_when_which_and_why(web, setup):
    client = authorized_client(web, setup["tokens"]["cw_sipin"])
    before = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    response = client.get(
        f"/api/v1/households/{setup['first']}", headers={"X-Access-Reason": "verifikasi"}
    )
    assert response.status_code == 200
    (row,) = log_rows(web)
    assert (row["actor_id"], row["actor_role"], row["channel"]) == ("cw_sipin", "caseworker", "api")
    assert row["household_id"] == setup["first"]
    assert row["reason"] == "verifikasi"
    assert row["endpoint"] == "GET /api/v1/households/<household_id>"
    assert row["at"] >= before and row["at"].endswith("Z")
    secret = web.extensions["casework"].settings.secret_key
    assert access_log.nik_hash(secret, HEAD["nik"]) in row["subject_hashes"].split(",")

    # History and search too; a search by NIK logs the searched NIK's hash; a search showing
    # several households logs one row naming them all.
    assert (
        client.get(f"/api/v1/households/{setup['first']}/history?reason=audit").status_code == 200
    )
    assert client.get(f"/api/v1/households?nik={HEAD['nik']}").status_code == 200
    assert client.get("/api/v1/households").status_code == 200
    rows = log_rows(web)
    assert rows[1]["endpoint"].endswith("/history") and rows[1]["reason"] == "audit"
    assert rows[2]["nik_hash"] == access_log.nik_hash(secret, HEAD["nik"])
    assert rows[2]["household_id"] == setup["first"]
    assert len(rows) == 4
    assert set(access_log.households_of(rows[3])) == {setup["first"], setup["second"]}
    assert access_log.verify_chain(store_of(web)) == (True, None)


def test_a_ui_read_is_logged_with_the_signed_in_person(web, setup):
    client = web.test_client(user="sup1")
    page = client.get(f"/rumah-tangga/{setup['second']}?alasan=kunjungan%20rumah")
    assert page.status_code == 200
    client.get(f"/?q={OTHER_HEAD['nik']}")
    rows = log_rows(web)
    assert [(r["channel"], r["actor_id"], r["household_id"]) for r in rows] == [
        ("ui", "sup1", setup["second"]),
        ("ui", "sup1", setup["second"]),
    ]
    assert {(r["actor_role"], r["actor_opd"]) for r in rows} == {("supervisor", None)}
    assert rows[0]["reason"] == "kunjungan rumah"
    assert rows[0]["endpoint"] == "GET /rumah-tangga/<household_id>"
    assert rows[1]["nik_hash"] is not None


def _refused(store, statement: str) -> None:
    errors = (sqlite3.Error, psycopg.Error)
    with pytest.raises(errors) as raised, store.transaction() as cursor:
        cursor.execute(statement)
    assert "append-only" in str(raised.value)


def test_the_database_refuses_updates_and_deletes(web, setup):
    authorized_client(web, setup["tokens"]["admin"]).get(f"/api/v1/households/{setup['first']}")
    store = store_of(web)
    (before,) = log_rows(web)
    _refused(store, f"UPDATE {TABLE} SET actor_id = 'someone' WHERE id = {before['id']}")
    _refused(store, f"DELETE FROM {TABLE} WHERE id = {before['id']}")
    # its index of households and NIK hashes (the subject access report's way in) likewise
    terms = access_log.TERMS
    _refused(store, f"UPDATE {terms} SET term = 'someone else' WHERE log_id = {before['id']}")
    _refused(store, f"DELETE FROM {terms} WHERE log_id = {before['id']}")
    if store.kind == "postgresql":
        _refused(store, f"TRUNCATE {TABLE}")
        _refused(store, f"TRUNCATE {terms}")
    assert log_rows(web) == [before]
    indexed = store.query(f"SELECT term FROM {terms} WHERE log_id = ?", (before["id"],))
    assert sorted(t for (t,) in indexed) == sorted(access_log.terms_of(before))
    assert setup["first"] in {t for (t,) in indexed}


def test_no_nik_in_clear_anywhere_in_the_log(web, setup):
    admin = authorized_client(web, setup["tokens"]["admin"])
    admin.get(f"/api/v1/households?nik={HEAD['nik']}&reason=cek")
    admin.get(f"/api/v1/households/{setup['first']}")
    web.test_client().get(f"/?q={HEAD['nik']}")
    web.test_client().get(f"/rumah-tangga/{setup['first']}")
    rows = log_rows(web)
    assert len(rows) == 4
    text = repr(rows)
    for nik in (HEAD["nik"], OTHER_HEAD["nik"], HOUSEHOLD["kk_number"]):
        assert nik not in text


def test_verify_chain_finds_a_tampered_row(web, setup):
    admin = authorized_client(web, setup["tokens"]["admin"])
    for _ in range(3):
        admin.get(f"/api/v1/households/{setup['first']}")
    store = store_of(web)
    assert access_log.verify_chain(store) == (True, None)
    rows = log_rows(web)
    with store.transaction() as cursor:
        if store.kind == "sqlite":
            cursor.execute(f"DROP TRIGGER {TABLE}_no_update")
        else:
            cursor.execute(f"DROP TRIGGER {TABLE}_no_update_delete ON {TABLE}")
        cursor.execute(f"UPDATE {TABLE} SET actor_id = 'someone' WHERE id = ?", (rows[1]["id"],))
    assert access_log.verify_chain(store) == (False, rows[1]["id"])


def test_the_breach_report_lists_what_those_accounts_read(web, setup):
    tokens = setup["tokens"]
    start = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    authorized_client(web, tokens["cw_sipin"]).get(f"/api/v1/households/{setup['first']}")
    authorized_client(web, tokens["admin"]).get(f"/api/v1/households/{setup['second']}")
    end = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    auditor = authorized_client(web, tokens["auditor"])
    window = {"from": start.isoformat(), "to": end.isoformat()}

    report = auditor.get(
        "/api/v1/privacy/breach-report", query_string={**window, "actor": "cw_sipin"}
    )
    assert report.status_code == 200, report.json
    body = report.json
    assert [h["household_id"] for h in body["households"]] == [setup["first"]]
    assert body["reads"] == 1 and body["households"][0]["actors"] == ["cw_sipin"]
    secret = web.extensions["casework"].settings.secret_key
    assert [p["nik_hash"] for p in body["persons"]] == [access_log.nik_hash(secret, HEAD["nik"])]

    both = auditor.get(
        "/api/v1/privacy/breach-report",
        query_string=[*window.items(), ("actor", "cw_sipin"), ("actor", "admin")],
    ).json
    assert {h["household_id"] for h in both["households"]} == {setup["first"], setup["second"]}

    earlier = {"from": "2020-01-01T00:00:00Z", "to": start.isoformat()}
    assert (
        auditor.get(
            "/api/v1/privacy/breach-report", query_string={**earlier, "actor": "cw_sipin"}
        ).json["households"]
        == []
    )

    caseworker = authorized_client(web, tokens["cw_sipin"])
    forbidden = caseworker.get("/api/v1/privacy/breach-report", query_string=window)
    assert forbidden.status_code == 403
    assert auditor.get("/api/v1/privacy/breach-report", query_string=window).status_code == 422

    page = web.test_client().get(
        "/privasi/pelanggaran",
        query_string={
            "dari": start.astimezone(access_log_wib()).strftime("%Y-%m-%dT%H:%M:%S"),
            "sampai": end.astimezone(access_log_wib()).strftime("%Y-%m-%dT%H:%M:%S"),
            "akun": "cw_sipin",
        },
    )
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert setup["first"] in html and setup["second"] not in html

    # the calendar's ends (the deadline is 72 hours after the window): 422 naming the end
    for far in ("9999-12-31T23:59:59Z", "9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00Z"):
        refused = auditor.get(
            "/api/v1/privacy/breach-report",
            query_string={"from": "2025-01-01T00:00:00Z", "to": far, "actor": "cw_sipin"},
        )
        assert refused.status_code == 422 and "to" in refused.json["errors"], far
    page = web.test_client().get(
        "/privasi/pelanggaran",
        query_string={"dari": "2025-01-01T00:00", "sampai": "9999-12-31T23:59", "akun": "cw_sipin"},
    )
    shown = page.get_data(as_text=True)  # the page names the field it refuses, as a refused
    # form of the other pages does: 422
    assert page.status_code == 422 and 'name="sampai" type="datetime-local"' in shown
    assert 'role="alert"' in shown and "Sampai (WIB)" in shown


@pytest.mark.parametrize(
    ("window", "field", "code"),
    [
        ({"from": "2026-01-01", "to": "2026-02-01T00:00:00Z"}, "from", "breach.moment_invalid"),
        (
            {"from": "2026-01-01T00:00:00", "to": "2026-02-01T00:00:00Z"},
            "from",
            "breach.moment_invalid",
        ),
        ({"from": "2026-01-01T00:00:00Z", "to": "kemarin"}, "to", "breach.moment_invalid"),
        (
            {"from": "2026-01-01T00:00:00Z", "to": "9999-12-31T23:59:59Z"},
            "to",
            "breach.moment_invalid",
        ),
        (
            {"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
            "to",
            "breach.to_before_from",
        ),
    ],
)
def test_a_breach_window_refused_says_what_to_send(web, setup, window, field, code):
    """A malformed or reversed window is 422 on its field saying what the API takes (an RFC
    3339 time with its zone, 1900 to 2100; `to` after `from`), not "cannot be read"."""
    auditor = authorized_client(web, setup["tokens"]["auditor"])
    refused = auditor.get(
        "/api/v1/privacy/breach-report", query_string={**window, "actor": "cw_sipin"}
    )
    assert refused.status_code == 422
    assert refused.json["codes"] == {field: [code]}
    (message,) = refused.json["errors"][field]
    if code == "breach.moment_invalid":
        assert "RFC 3339" in message and "+07:00" in message
    else:
        assert "from" in message and "to" in message


def access_log_wib() -> dt.timezone:
    return dt.timezone(dt.timedelta(hours=7))


def test_the_record_of_processing_pages(web, setup):
    record = authorized_client(web, setup["tokens"]["auditor"]).get(
        "/api/v1/privacy/record-of-processing"
    )
    assert record.status_code == 200
    assert record.json["recipients"]["agency_agreements"] == []
    page = web.test_client().get("/privasi/rekam-pemrosesan")
    assert page.status_code == 200 and "Rekam pemrosesan" in page.get_data(as_text=True)


def test_a_reason_is_logged_without_control_or_text_direction_characters(web, setup):
    client = authorized_client(web, setup["tokens"]["admin"])
    reason = "verifikasi\x1b[2J\u202e lapangan\x00"
    answer = client.get(f"/api/v1/households/{setup['first']}", headers={"X-Access-Reason": reason})
    assert answer.status_code == 200
    assert log_rows(web)[-1]["reason"] == "verifikasi[2J lapangan"


FAMILY = {
    **HOUSEHOLD,
    "kk_number": "1571010101200005",
    "head": {
        "nik": "1571011505800003",
        "name": "Ahmad Yani",
        "birth_date": "1980-05-15",
        "sex": "M",
    },
}
CHILDREN = [
    {"nik": f"15710141011{n}000{n}", "name": f"Anak {chr(64 + n)}", "birth_date": f"201{n}-01-01"}
    for n in range(1, 5)
]


def test_a_read_of_a_five_member_household_costs_one_row(web, setup):
    """N reads of a household page of five members add N rows to the read log, each naming
    all five; the subject access report still lists every read of one of them; verify still
    finds a row edited afterwards."""
    admin = authorized_client(web, setup["tokens"]["admin"])
    household = register(admin, **FAMILY)["stream_id"]
    for child in CHILDREN:
        answer = admin.post(
            "/api/v1/commands/AddMember",
            json={
                "household_id": household,
                "relationship": "anak",
                "person": {**child, "sex": "F"},
            },
        )
        assert answer.status_code == 201, answer.json
    project(web)
    before = len(log_rows(web))
    client = web.test_client(user="sup1")
    for _ in range(3):
        assert client.get(f"/rumah-tangga/{household}").status_code == 200
    rows = log_rows(web)[before:]
    assert len(rows) == 3
    secret = web.extensions["casework"].settings.secret_key
    child = access_log.nik_hash(secret, CHILDREN[2]["nik"])
    for row in rows:
        assert access_log.households_of(row) == [household]
        assert len(access_log.subjects_of(row)) == 5 and child in access_log.subjects_of(row)

    report = admin.get(f"/api/v1/persons/{CHILDREN[2]['nik']}/subject-access")
    assert report.status_code == 200, report.json
    ids = [r["id"] for r in report.json["reads"]]
    assert {row["id"] for row in rows} <= set(ids)

    store = store_of(web)
    assert access_log.verify_chain(store) == (True, None)
    with store.transaction() as cursor:
        if store.kind == "sqlite":
            cursor.execute(f"DROP TRIGGER {TABLE}_no_update")
        else:
            cursor.execute(f"DROP TRIGGER {TABLE}_no_update_delete ON {TABLE}")
        cursor.execute(
            f"UPDATE {TABLE} SET subject_hashes = ? WHERE id = ?",
            (access_log.nik_hash(secret, HEAD["nik"]), rows[1]["id"]),
        )
    assert access_log.verify_chain(store) == (False, rows[1]["id"])


def test_an_account_typed_in_another_case_is_the_same_account(web, setup):
    """User names ignore case (sign-in, `casework users`): the breach report, the read log
    and the audit log asked about `CW_SIPIN` said it had read and done nothing."""
    tokens = setup["tokens"]
    start = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    authorized_client(web, tokens["cw_sipin"]).get(f"/api/v1/households/{setup['first']}")
    end = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    auditor = authorized_client(web, tokens["auditor"])
    window = {"from": start.isoformat(), "to": end.isoformat()}
    for typed in ("cw_sipin", "CW_SIPIN", "Cw_Sipin"):
        body = auditor.get(
            "/api/v1/privacy/breach-report", query_string={**window, "actor": typed}
        ).json
        assert body["reads"] == 1 and body["actors"] == ["cw_sipin"], typed
        page = (
            web.test_client()
            .get(
                "/privasi/pelanggaran",
                query_string={
                    "dari": start.astimezone(access_log_wib()).strftime("%Y-%m-%dT%H:%M:%S"),
                    "sampai": end.astimezone(access_log_wib()).strftime("%Y-%m-%dT%H:%M:%S"),
                    "akun": typed,
                },
            )
            .get_data(as_text=True)
        )
        assert setup["first"] in page, typed
        read_log = web.test_client().get("/audit/log-baca", query_string={"akun": typed})
        assert setup["first"][:8] in read_log.get_data(as_text=True), typed
    # the admin registered both households: the audit log finds its events however typed
    for typed in ("admin", "ADMIN"):
        found = auditor.get("/api/v1/audit", query_string={"actor": typed}).json["results"]
        assert found and {e["actor"]["id"] for e in found} == {"admin"}, typed
    # an actor that is no account is matched as typed
    assert auditor.get("/api/v1/audit", query_string={"actor": "SYSTEM"}).json["results"] == []


def test_the_audit_log_finds_an_opd_typed_in_small_letters(web, setup):
    """OPD codes are kept in capitals (DINSOS): `opd=dinsos` found no event at all."""
    meta = make_meta(Actor(id="pm_dinsos", role="program_manager", opd="DINSOS"), "cli")
    web.extensions["casework"].casework.add_user("siti.cw", "caseworker", None, ["Legok"], meta)
    auditor = authorized_client(web, setup["tokens"]["auditor"])
    for typed in ("DINSOS", "dinsos", "Dinsos"):
        found = auditor.get("/api/v1/audit", query_string={"opd": typed}).json["results"]
        assert [e["actor"]["opd"] for e in found] == ["DINSOS"], typed
        page = web.test_client().get("/audit", query_string={"opd": typed}).get_data(as_text=True)
        assert "pm_dinsos" in page, typed
