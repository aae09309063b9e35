"""No full scan where a user waits: the statements behind `/healthz`, `/status`, `/metrics`,
the home page, the household page, eligibility (per household, per program and kelurahan),
the reviews list and the subject access report's reads of the read log use indexes or a
few counter rows, never every row of a growing table; and the counts kept for them equal a
direct count after a workload with an erasure and a rebuild."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from adapters import access_log, wire
from adapters.relay_store import counted_topics_clause, events_table
from app.seed import seed_app
from domain.application import make_meta
from projections import register
from projections.base import (
    PROGRESS,
    apply_envelopes,
    counts,
    create_generation,
    live_tables,
    progress,
    reveal,
)
from projections.catalog import PROJECTIONS
from projections.status import store_counts
from tests.integration.conftest import authorized_client
from tests.integration.test_name_search import plan, project
from tests.unit.test_erasure_domain import CHECKER, MAKER

pytestmark = pytest.mark.integration

# Tables that grow with the city (the store's events and chain, every view's rows and
# tracking), by the start of their names; counters, progress, the settings a view was built
# under and state rows are few, and so are the reconciliation's programs defined (one row per
# program of the catalogue).
GROWING = re.compile(
    r"^(stored_events|casework_events|casework_event_chain|casework_access_log(_terms)?"
    r"|(?!reconciliation_v[0-9]+_programs_)[a-z_]+_v[0-9]+_(?!kept_)[a-z_]+_g[0-9]+)$"
)


@contextmanager
def statements(*databases) -> Iterator[list[tuple[object, str]]]:
    """Every statement these SQLite databases run in this thread meanwhile (sqlite3's trace
    callback: the statement as run, its parameters bound)."""
    seen: list[tuple[object, str]] = []
    connections = [(db, db.connection) for db in databases]
    for db, conn in connections:
        conn.set_trace_callback(lambda text, db=db: seen.append((db, text)))
    try:
        yield seen
    finally:
        for _, conn in connections:
            conn.set_trace_callback(None)


def scans(ran: list[tuple[object, str]]) -> list[str]:
    """The full scans of growing tables in the plans of these statements."""
    found = []
    for db, text in ran:
        if not re.match(r"\s*(SELECT|WITH)\b", text, re.IGNORECASE):
            continue
        try:
            shown = plan(db, text, [])
        except sqlite3.Error:
            continue  # e.g. a statement of a temporary table gone since
        # a scan in an index's or the rowid's order that stops at a LIMIT reads a page, not
        # the table (the newest households, the read log's last row)
        early = re.search(r"\bLIMIT\b", text, re.IGNORECASE) and "TEMP B-TREE" not in shown
        for line in shown.splitlines():
            match = re.match(r"\s*SCAN (\w+)", line)
            if match and GROWING.match(match.group(1)) and not early:
                found.append(f"{match.group(1)}: {text[:300]}")
    return found


def pages(web, admin_token) -> list[tuple[object, str]]:
    """(client, URL) of every page and answer the test looks at, on seeded households."""
    svc = web.extensions["casework"]
    views = svc.views
    households = live_tables(views, register.PROJECTION)["households"]
    household_id, kelurahan = views.query(f"SELECT id, kelurahan FROM {households} LIMIT 1")[0]
    api = authorized_client(web, admin_token)
    code = api.get("/api/v1/programs").json["programs"][0]["code"]
    page = web.test_client()
    return [
        (page, "/healthz"),
        (page, "/status"),
        (page, "/metrics"),
        (page, "/"),
        (page, f"/rumah-tangga/{household_id}"),
        (page, "/tinjauan"),
        (page, f"/tinjauan?kelurahan={kelurahan}"),
        (api, f"/api/v1/households/{household_id}"),
        (api, f"/api/v1/households/{household_id}/eligibility"),
        (api, f"/api/v1/programs/{code}/eligible?kelurahan={kelurahan}"),
        (api, "/api/v1/reviews"),
        (api, f"/api/v1/reviews?kelurahan={kelurahan}"),
    ]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_no_page_a_user_waits_for_scans_a_growing_table(web, admin_token):
    svc = web.extensions["casework"]
    seed_app(svc.casework, 12, history=True)
    project(web, PROJECTIONS.values())
    # the check finds what it looks for: the count /healthz ran before, the search by a name
    # without its index
    assert scans([(svc.store, "SELECT COUNT(*) FROM stored_events")])
    members = live_tables(svc.views, register.PROJECTION)["members"]
    assert scans([(svc.views, f"SELECT household_id FROM {members} WHERE name_token = 'x'")])
    for client, url in pages(web, admin_token):
        with statements(svc.store, svc.views) as ran:
            answer = client.get(url)
        assert answer.status_code == 200, url
        assert ran, url
        assert scans(ran) == [], url


def test_the_subject_access_report_finds_the_reads_through_the_index(web, admin_token):
    """The person's reads are found through the read log's terms (their NIK hash and their
    households), on SQLite and PostgreSQL: the plan reads both tables by key."""
    svc = web.extensions["casework"]
    seed_app(svc.casework, 12, history=False)
    project(web)
    households = live_tables(svc.views, register.PROJECTION)["households"]
    ids = [row[0] for row in svc.views.query(f"SELECT id FROM {households} ORDER BY id")]
    page = web.test_client()
    for household_id in ids:
        assert page.get(f"/rumah-tangga/{household_id}").status_code == 200
    assert page.get("/").status_code == 200  # a list: every family of its page in one row
    chosen = next(h for h in (svc.casework.get_household(i) for i in ids) if len(h.members) > 1)
    nik = next(n for n in chosen.members if n != chosen.head_nik)  # not the one searched by
    hashed = access_log.nik_hash(svc.settings.secret_key, nik)

    statement, params = access_log.reads_query([hashed, str(chosen.id)])
    shown = plan(svc.store, statement, params)
    full_scan = re.compile(r"\b(SCAN|Seq Scan on) casework_access_log(_terms)?\b")
    assert not full_scan.search(shown), shown
    assert "casework_access_log_terms" in shown and ("USING" in shown or "Index" in shown), shown

    api = authorized_client(web, admin_token)
    if svc.store.kind == "sqlite":
        with statements(svc.store) as ran:
            report = api.get(f"/api/v1/persons/{nik}/subject-access")
        logged = [(db, text) for db, text in ran if "casework_access_log" in text]
        assert logged and scans(logged) == []
    else:
        report = api.get(f"/api/v1/persons/{nik}/subject-access")
    assert report.status_code == 200, report.json
    reads = report.json["reads"]
    assert [r["matched_by"] for r in reads].count("nik") >= 1  # their household's page
    assert {r["endpoint"] for r in reads} >= {"GET /rumah-tangga/<household_id>", "GET /"}


def direct_counts(web) -> tuple[dict[str, int], int, int]:
    """(households per kelurahan, events to publish, events applied by the register) counted
    over the rows themselves."""
    svc = web.extensions["casework"]
    names = live_tables(svc.views, register.PROJECTION)
    per_kelurahan = dict(
        svc.views.query(f"SELECT kelurahan, COUNT(*) FROM {names['households']} GROUP BY kelurahan")
    )
    table, _ = events_table(svc.store)
    clause, params = counted_topics_clause("?")  # not of a private stream
    published = svc.store.query_one(f"SELECT COUNT(*) FROM {table} WHERE {clause}", params)[0]
    applied = svc.views.query_one(f"SELECT SUM(version) FROM {names['tracking']}")[0]
    return per_kelurahan, int(published), int(applied)


def test_the_kept_counts_equal_a_direct_count_after_erasure_and_rebuild(web, admin_token):
    svc = web.extensions["casework"]
    casework = svc.casework
    seed_app(casework, 10, history=True)
    project(web)
    # a family moves to another kelurahan, a member's data is erased
    names = live_tables(svc.views, register.PROJECTION)
    moved, kelurahan = svc.views.query(
        f"SELECT id, kelurahan FROM {names['households']} WHERE id IN (SELECT household_id"
        f" FROM {names['members']} GROUP BY household_id HAVING COUNT(*) > 1) ORDER BY id LIMIT 1"
    )[0]
    target = "Talang Bakung" if kelurahan != "Talang Bakung" else "Payo Selincah"
    casework.execute(
        "RelocateHousehold",
        {
            "household_id": moved,
            "kecamatan": "Paal Merah",
            "kelurahan": target,
            "address": "Jl. Baru No. 1",
            "rt": "001",
            "rw": "001",
            "moved_on": "2024-01-02",
        },
        make_meta(CHECKER, "ui"),
    )
    household = casework.get_household(moved)
    nik = next(n for n, m in household.members.items() if n != household.head_nik)
    approval = casework.request_approval(
        "RequestErasure",
        {"household_id": moved, "nik": nik, "reason": "Permohonan subjek data tertulis"},
        make_meta(MAKER, "ui"),
    ).stream_id
    casework.approve_change({"approval_id": approval, "note": "ok"}, make_meta(CHECKER, "ui"))
    project(web)

    per_kelurahan, published, applied = direct_counts(web)
    assert register.households_per_kelurahan(svc.views) == per_kelurahan
    assert per_kelurahan.get(target, 0) >= 1
    assert register.count_households(svc.views) == sum(per_kelurahan.values()) == 10
    assert store_counts(svc.store)[0] == published
    assert progress(svc.views, register.PROJECTION)[0] == applied
    health = web.test_client().get("/healthz").json["components"]
    assert health["store"]["events"] == published

    # rebuilt from scratch into fresh tables: the same counts
    notifications = casework.recorder.select_notifications(start=1, limit=100_000)
    envelopes = [
        reveal(casework.codec, wire.from_notification(casework, n, "1571", sealed=True))
        for n in notifications
    ]
    with svc.views.transaction() as cur:
        fresh = create_generation(cur, register.PROJECTION, 9)
        apply_envelopes(cur, register.PROJECTION, fresh, envelopes)
    assert counts(svc.views, fresh, register.HOUSEHOLDS) == per_kelurahan
    assert svc.views.query_one(f"SELECT SUM(applied) FROM {fresh[PROGRESS]}")[0] == applied
