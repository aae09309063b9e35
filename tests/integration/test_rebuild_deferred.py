"""A rebuild leaves the views' end-of-batch work to its end (`projections.base.deferring`): a
household whose events fall in many of the rebuild's batches, as in a store that grew over
years of interleaved work, is evaluated, compared and counted once, not once per batch; and
the views it builds equal those the runner builds batch by batch, each batch doing its work
at its end."""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import random
from collections import Counter

import pytest

from adapters import wire
from adapters.bootstrap import bootstrap
from app.seed import seed_app
from consumers import runner
from consumers.runner import apply_all, rebuild
from domain.application import SYSTEM, make_meta
from projections import eligibility, overview, reconciliation
from projections.base import COUNTS, PROGRESS, ensure_schema, live_tables, reveal
from projections.catalog import PROJECTIONS, configured
from tests.integration.test_eligibility_rebuild import provisional_persons

pytestmark = pytest.mark.integration

DEFERRING = ("eligibility", "reconciliation", "overview")
# the kept counters are split into shards by process: their sums are what must agree
SUMMED = {
    PROGRESS: "SELECT SUM(applied), MAX(position) FROM {table}",
    COUNTS: "SELECT name, item, SUM(value) FROM {table} GROUP BY name, item HAVING SUM(value) <> 0",
}


def stored_envelopes(casework) -> list[dict]:
    """Every stored event, as the runner reveals it."""
    return [
        reveal(casework.codec, wire.from_notification(casework, n, "1571", sealed=True))
        for n in casework.recorder.select_notifications(1, 1_000_000)
    ]


def checksums(views_db, projections) -> dict[str, str]:
    found = {}
    for projection in projections:
        for base, table in live_tables(views_db, projection).items():
            query = SUMMED.get(base, "SELECT * FROM {table}").format(table=table)
            rows = sorted(repr(tuple(row)) for row in views_db.query(query))
            digest = hashlib.sha256("\n".join(rows).encode()).hexdigest()
            found[f"{projection.name}.{base}"] = f"{digest} ({len(rows)} rows)"
    return found


def test_a_rebuild_does_each_households_work_once_and_equals_the_runners_batches(
    casework, settings, views_db, monkeypatch
):
    monkeypatch.setattr(eligibility, "CLOCK", lambda: dt.date(2026, 11, 2))
    counted = seed_app(casework, 30, seed_value=17)
    assert counted["GrantBenefit"] > 0
    # benefits before a NIK, linked to members of the families (eligibility counts them)
    families = [
        str(e["stream_id"])
        for e in stored_envelopes(casework)
        if e["type"] == "HouseholdRegistered"
    ]
    assert provisional_persons(casework, families, random.Random(3), dt.date(2026, 11, 2)) >= 3
    # a rule change marks a program: every household answers it again
    casework.change_program_rules(
        {"code": "KJB", "rules": {"min_residence_months": 24}, "effective_from": "2026-10-01"},
        make_meta(SYSTEM, "api"),
    )
    projections = [configured(settings)[name] for name in DEFERRING]
    ensure_schema(views_db, PROJECTIONS.values())
    envelopes = stored_envelopes(casework)
    rng = random.Random(4)
    while envelopes:  # the runner: batches of random size, each doing its work at its end
        size = rng.randint(1, 40)
        with views_db.transaction() as cur:
            apply_all(cur, projections, envelopes[:size])
        envelopes = envelopes[size:]
    live = checksums(views_db, projections)

    work: dict[str, Counter] = {name: Counter() for name in DEFERRING}

    def spy(name, module, function, unit_at=2):  # the unit: the positional argument there
        original = getattr(module, function)

        def counting(*args, **kwargs):
            work[name][args[unit_at]] += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(module, function, counting)

    spy("eligibility", eligibility, "_evaluate_household")
    spy("reconciliation", reconciliation, "_compare")
    spy("overview", overview, "_refreshed", unit_at=0)
    # five events per batch: every family's events fall in several of the rebuild's batches
    monkeypatch.setattr(runner, "REBUILD_CHUNK", 5)
    rebuild(bootstrap(settings), list(DEFERRING), workers=1)

    assert checksums(views_db, projections) == live
    assert gc.get_freeze_count() == 0  # what the rebuild kept from the collector, given back
    families = {
        row[0]
        for row in views_db.query(
            f"SELECT household_id FROM {live_tables(views_db, eligibility.PROJECTION)['facts']}"
        )
    }
    assert len(families) >= 30
    assert set(work["eligibility"]) == families  # every household, each once
    assert set(work["eligibility"].values()) == {1}
    assert set(work["reconciliation"]) == families
    assert set(work["reconciliation"].values()) == {1}
    assert set(work["overview"]) >= families and set(work["overview"].values()) == {1}


def test_the_registers_version_only_events_are_neither_decoded_nor_revealed_in_a_rebuild(
    casework, settings, views_db, monkeypatch
):
    """The register reads of most household events only their version and time
    (`Projection.stream_touches`): a rebuild hands them over from the stored frame, without
    their data, and the households' versions and times equal those the runner keeps from the
    whole envelopes."""
    from projections import register

    counted = seed_app(casework, 20, seed_value=29)
    assert counted["IssueKtp"] > 0 and counted["RecordWelfareAssessment"] > 0
    view = configured(settings)["register"]
    assert not view.reads("Household", "KtpIssued")
    assert not view.reads("Household", "WelfareAssessed")
    assert view.reads("Household", "MemberAdded")
    ensure_schema(views_db, PROJECTIONS.values())
    envelopes = stored_envelopes(casework)
    types = Counter(envelope["type"] for envelope in envelopes)
    assert types["KtpIssued"] > 0 and types["WelfareAssessed"] > 0
    with views_db.transaction() as cur:
        apply_all(cur, [view], envelopes)
    live = register.all_rows(views_db)

    revealed: Counter = Counter()
    original = runner.reveal_with_retries

    def counting(codec, envelope, live=True):
        revealed[envelope["type"]] += 1
        return original(codec, envelope, live=live)

    monkeypatch.setattr(runner, "reveal_with_retries", counting)
    rebuild(bootstrap(settings), ["register"], workers=1)

    assert register.all_rows(views_db) == live
    assert revealed["MemberAdded"] > 0
    assert revealed["KtpIssued"] == 0 and revealed["WelfareAssessed"] == 0


def test_a_rebuild_reading_its_events_twice_applies_each_once(casework, settings, views_db):
    """A rebuild from the topic that lacks some events reads them all again from the store:
    the streams its first pass saw are looked up in the tracking (the second pass applies
    nothing of them), only streams no chunk had yet are taken as untracked."""
    from projections import register
    from projections.base import create_generation

    seed_app(casework, 12, seed_value=31)
    view = configured(settings)["register"]
    ensure_schema(views_db, PROJECTIONS.values())
    envelopes = stored_envelopes(casework)
    with views_db.transaction() as cur:
        apply_all(cur, [view], envelopes)
    live = checksums(views_db, [view])
    with views_db.transaction() as cur:
        names = {view.name: create_generation(cur, view, 2)}
        cur.execute("UPDATE projection_state SET generation=2 WHERE name=?", (view.name,))
    streams = runner.SeenStreams()
    half = len(envelopes) // 2
    first = runner._apply_in_chunks(views_db, [view], names, envelopes[:half], None, streams)
    again = runner._apply_in_chunks(views_db, [view], names, envelopes, None, streams)
    assert (first, again) == (half, len(envelopes) - half)
    assert checksums(views_db, [view]) == live
    assert register.count_households(views_db) == 12


def test_a_rebuilds_name_index_equals_the_one_kept_event_by_event(
    casework, settings, views_db, monkeypatch
):
    """The register's rebuild writes the name terms at its end, in their key's order
    (`register._write_terms`): with a family that moved, a member who left and came back under
    another name, and an erased member, its rows and its searches are the runner's."""
    from projections import register
    from tests.integration.test_name_search import move_to_teluk_kenali, person, register_family

    meta = make_meta(SYSTEM, "api")
    budi = person("Budi Santoso", dt.date(1982, 4, 10), "M", 1)
    siti = person("Siti Aminah", dt.date(1985, 3, 12), "F", 2)
    dedi = person("Dedi Kurniawan", dt.date(1979, 1, 5), "M", 3)
    rina = person("Rina Marlina", dt.date(1981, 7, 9), "F", 4)
    ids = [
        register_family(casework, serial, head, [wife], "istri")
        for serial, (head, wife) in enumerate(((budi, siti), (dedi, rina)), 1)
    ]
    seed_app(casework, 6, seed_value=41)  # other families around them
    move_to_teluk_kenali(casework, ids[0])
    casework.remove_member(
        {
            "household_id": ids[0],
            "nik": siti["nik"],
            "kind": "moved_out",
            "effective_date": "2025-07-01",
        },
        meta,
    )
    casework.add_member(  # she comes back (MemberRejoined) under her full name
        {
            "household_id": ids[0],
            "person": {**siti, "name": "Siti Rahmawati"},
            "relationship": "istri",
        },
        meta,
    )
    casework.request_erasure(
        {"household_id": ids[1], "nik": rina["nik"], "reason": "Permohonan tertulis subjek data."},
        meta,
    )
    view = configured(settings)["register"]
    ensure_schema(views_db, PROJECTIONS.values())
    envelopes = stored_envelopes(casework)
    assert {"MemberRejoined", "HouseholdRelocated", "PersonalDataErased"} <= {
        envelope["type"] for envelope in envelopes
    }
    with views_db.transaction() as cur:
        apply_all(cur, [view], envelopes)

    def search(query):
        return [h["id"] for h in register.search(views_db, q=query, name_key=casework.name_key)]

    live = register.all_rows(views_db)
    searches = {q: search(q) for q in ("rahmawati", "siti", "aminah", "rina", "santoso", "kurn")}
    # seeded families may share a word with them: each family is checked by its own id
    assert all(ids[0] in searches[q] for q in ("rahmawati", "siti", "santoso"))
    assert ids[0] not in searches["aminah"] and ids[1] not in searches["rina"]
    assert ids[1] in searches["kurn"]
    terms = live_tables(views_db, view)["name_terms"]
    assert {
        row[0]
        for row in views_db.query(f"SELECT kelurahan FROM {terms} WHERE household_id=?", (ids[0],))
    } == {"Teluk Kenali"}

    monkeypatch.setattr(runner, "REBUILD_CHUNK", 7)  # the staged terms span many chunks
    rebuild(bootstrap(settings), ["register"], workers=1)

    assert register.all_rows(views_db) == live
    assert {q: search(q) for q in searches} == searches
    temporary = "sqlite_temp_master" if views_db.kind == "sqlite" else "pg_tables"
    assert views_db.kind != "sqlite" or not views_db.query(f"SELECT name FROM {temporary}")
