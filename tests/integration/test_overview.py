"""The cross-OPD view (projections/overview.py) after a randomised workload: the seed's
families and histories (DINSOS programs), grants of two more OPDs' programs, suspensions,
resumptions, terminations, relocations, a family split and a person helped before their NIK,
and benefits no event ends but their period: ended before today, or beginning after it.

Its per-kelurahan counts and its overlap matrix equal a direct count over the household states
(each household loaded through the application; a benefit counts when it runs today); rebuilt
from scratch it equals the live view (a checksum of every row of every table); and its queries
read indexes."""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import re
from collections import Counter
from itertools import combinations_with_replacement

import pytest

from adapters import wire
from adapters.bootstrap import bootstrap
from app.seed import seed_app
from consumers.runner import apply_all, rebuild
from domain.application import SYSTEM, make_meta
from domain.city import today as city_today
from domain.errors import DomainError
from domain.household import scheduled_changes
from domain.regions import KECAMATAN
from projections import overview
from projections.base import ensure_schema, live_tables, reveal
from projections.catalog import PROJECTIONS
from tests.integration.test_name_search import plan

pytestmark = pytest.mark.integration

META = make_meta(SYSTEM, "api")
OTHER_OPDS = {"ZKT": "BAZNAS", "UMKM": "DISKOPUKM"}


def checksums(views_db) -> dict[str, list[str]]:
    return {
        table: [hashlib.sha256(repr(row).encode()).hexdigest() for row in rows]
        for table, rows in overview.all_rows(views_db).items()
    }


def _change(rng: random.Random, benefit: dict) -> tuple[str, str]:
    """A change the benefit can take now, with an effective date after its last one."""
    last = benefit["history"][-1]["effective_date"]
    day = max(last, benefit["period_start"])
    if day < "2026-06-30" and benefit["period_end"] >= "2026-06-30":
        day = rng.choice(["2026-03-15", "2026-06-30"]) if day < "2026-03-15" else "2026-06-30"
    if benefit["status"] == "suspended":
        return rng.choice(["ResumeBenefit", "TerminateBenefit"]), day
    return rng.choice(["SuspendBenefit", "TerminateBenefit"]), day


def define_other_opds(casework, zkt_target: int | None = None) -> None:
    """The other OPDs' programs, defined together, each listing the others as combinable."""
    for code, opd in OTHER_OPDS.items():
        casework.define_program(
            {
                "code": code,
                "name": f"Program {code}",
                "opd": opd,
                "funding": "APBD",
                "kind": "bansos",
                "rules": {"combinable_with": sorted(set(OTHER_OPDS) - {code})},
                "effective_from": "2025-01-01",
                **({"yearly_target": zkt_target} if code == "ZKT" and zkt_target else {}),
            },
            META,
            alongside=sorted(OTHER_OPDS),
        )


def workload(casework, rng: random.Random) -> list[str]:
    """The families and what happened to them; answers the households' ids."""
    seed_app(casework, 36, seed_value=11)
    define_other_opds(casework, zkt_target=20)
    ids = _household_ids(casework)
    for household_id in ids:
        household = casework.get_household(household_id)
        living = sorted(n for n, m in household.members.items() if m["status"] == "active")
        for code in OTHER_OPDS:
            if living and rng.random() < 0.5:
                try:
                    casework.execute(
                        "GrantBenefit",
                        {
                            "household_id": household_id,
                            "nik": rng.choice(living),
                            "program": code,
                            "period_start": "2026-01-01",
                            # running today, whatever year the suite runs in
                            "period_end": f"{city_today().year + 1}-12-31",
                            "amount": rng.choice([600_000, 1_200_000]),
                        },
                        META,
                    )
                except DomainError:
                    pass
    # benefits no event ends but time: one whose period has ended, one that starts next month
    today = city_today()
    next_month = dt.date(today.year + (today.month == 12), today.month % 12 + 1, 1)
    periods = (
        (f"{today.year - 1}-01-01", f"{today.year - 1}-06-30"),
        (next_month.isoformat(), f"{next_month.year + 1}-06-30"),
    )
    for household_id in rng.sample(ids, 12):
        household = casework.get_household(household_id)
        living = sorted(n for n, m in household.members.items() if m["status"] == "active")
        start, end = rng.choice(periods)
        try:
            casework.execute(
                "GrantBenefit",
                {
                    "household_id": household_id,
                    "nik": living[0],
                    "program": rng.choice(sorted(OTHER_OPDS)),
                    "period_start": start,
                    "period_end": end,
                    "amount": 600_000,
                },
                META,
            )
        except (DomainError, IndexError):
            pass
    for household_id in rng.sample(ids, 20):
        household = casework.get_household(household_id)
        for benefit in list(household.benefits.values()):
            if benefit["status"] == "terminated" or rng.random() < 0.4:
                continue
            command, day = _change(rng, benefit)
            cmd = {"household_id": household_id, "benefit_id": benefit["benefit_id"]}
            try:
                casework.execute(
                    command,
                    {**cmd, "effective_date": day, "reason_code": "other"},
                    make_meta(SYSTEM, "api", reason="uji ulang"),
                )
            except DomainError:  # not every change fits every benefit: the rest do
                pass
    # recorded today to take effect later, each of a benefit running today: a suspension from
    # tomorrow and a termination from next week
    ahead = [
        ("SuspendBenefit", today + dt.timedelta(days=1)),
        ("TerminateBenefit", today + dt.timedelta(days=7)),
    ]
    for household_id in ids:
        for benefit in casework.get_household(household_id).benefits.values():
            if (
                ahead
                and runs_on(benefit, today)
                and ahead[0][1].isoformat() <= benefit["period_end"]
            ):
                command, day = ahead.pop(0)
                cmd = {"household_id": household_id, "benefit_id": benefit["benefit_id"]}
                casework.execute(
                    command,
                    {**cmd, "effective_date": day.isoformat(), "reason_code": "other"},
                    make_meta(SYSTEM, "api", reason="berlaku kemudian"),
                )
                break
    assert not ahead
    kelurahan = [(k.name, kel.name) for k in KECAMATAN for kel in k.kelurahan]
    for household_id in rng.sample(ids, 5):
        kecamatan, kel = rng.choice(kelurahan)
        casework.execute(
            "RelocateHousehold",
            {
                "household_id": household_id,
                "kecamatan": kecamatan,
                "kelurahan": kel,
                "address": "Jl. Pindahan No. 1",
                "rt": "001",
                "rw": "001",
                "moved_on": "2026-02-01",
            },
            META,
        )
    return ids


def _household_ids(casework) -> list[str]:
    """Every household in the store (its registration or split), from the events."""
    found = []
    for n in casework.recorder.select_notifications(start=1, limit=1_000_000):
        if n.topic.endswith(("Household.HouseholdRegistered", "Household.HouseholdSplitOff")):
            found.append(str(n.originator_id))
    return found


def runs_on(benefit: dict, day: dt.date) -> bool:
    """The benefit's period covers the day (WIB) and its last change in force that day (its
    history's effective dates only grow) left it active."""
    on = day.isoformat()
    if not benefit["period_start"] <= on <= benefit["period_end"]:
        return False
    in_force = [h for h in benefit["history"] if h["effective_date"] <= on]
    return bool(in_force) and in_force[-1]["status"] == "active"


def direct_counts(
    casework, ids: list[str], day: dt.date | None = None
) -> tuple[Counter, Counter, Counter]:
    """From the household states: families and persons with a benefit running on the day
    (today by default) per (kecamatan, kelurahan, program), and families per program pair,
    per kelurahan."""
    day = day or city_today()
    families, persons, pairs = Counter(), Counter(), Counter()
    for household_id in ids:
        household = casework.get_household(household_id)
        running: dict[str, set[str]] = {}
        for benefit in household.benefits.values():
            if runs_on(benefit, day):
                running.setdefault(benefit["program"], set()).add(benefit["nik"])
        where = (household.kecamatan, household.kelurahan)
        for program, niks in running.items():
            families[(*where, program)] += 1
            persons[(*where, program)] += len(niks)
        for a, b in combinations_with_replacement(sorted(running), 2):
            pairs[(*where, a, b)] += 1
    return families, persons, pairs


def test_the_view_equals_a_direct_count_and_a_rebuild(casework, settings, views_db):
    rng = random.Random(10)
    ensure_schema(views_db, PROJECTIONS.values())
    projections = [overview.PROJECTION]
    ids = workload(casework, rng)
    notifications = casework.recorder.select_notifications(1, 1_000_000)
    envelopes = [
        reveal(casework.codec, wire.from_notification(casework, n, "1571", sealed=True))
        for n in notifications
    ]
    # streams interleaved at random (as partitions deliver them), each stream in its order
    by_stream: dict[str, list] = {}
    for envelope in sorted(envelopes, key=lambda e: e["version"]):
        by_stream.setdefault(envelope["stream_id"], []).append(envelope)
    ordered = []
    while by_stream:
        stream = rng.choice(sorted(by_stream))
        ordered.append(by_stream[stream].pop(0))
        if not by_stream[stream]:
            del by_stream[stream]
    while ordered:
        size = rng.randint(1, 200)
        with views_db.transaction() as cur:
            apply_all(cur, projections, ordered[:size])
        ordered = ordered[size:]

    families, persons, pairs = direct_counts(casework, ids)
    statuses = Counter(
        b["status"] for h in ids for b in casework.get_household(h).benefits.values()
    )
    assert min(statuses["active"], statuses["suspended"], statuses["terminated"]) > 0, statuses
    # active benefits that do not run today: one whose period has ended, one not yet begun
    today = city_today().isoformat()
    active = [
        b
        for h in ids
        for b in casework.get_household(h).benefits.values()
        if b["status"] == "active"
    ]
    assert any(b["period_end"] < today for b in active)
    assert any(b["period_start"] > today for b in active)
    opd_of = {p.code: p.opd for p in casework.list_programs()}
    # the workload's two OPDs (the seed's DINSOS benefits too while their 2026 periods run)
    assert {opd_of[program] for *_, program in families} >= {"BAZNAS", "DISKOPUKM"}
    assert any(opd_of[a] != opd_of[b] for *_, a, b in pairs)  # families reached by two OPDs
    rows = overview.overview(views_db)["rows"]
    assert {(r["kecamatan"], r["kelurahan"], r["program"]): r["families"] for r in rows} == dict(
        families
    )
    assert {(r["kecamatan"], r["kelurahan"], r["program"]): r["persons"] for r in rows} == dict(
        persons
    )
    assert all(r["opd"] == opd_of[r["program"]] for r in rows)
    view_pairs = {}
    for kecamatan, kelurahan in {(k, kel) for k, kel, _ in families}:
        answer = overview.overlaps(views_db, kecamatan=kecamatan, kelurahan=kelurahan)
        for pair in answer["pairs"]:
            view_pairs[(kecamatan, kelurahan, pair["program_a"], pair["program_b"])] = pair[
                "families"
            ]
    assert view_pairs == dict(pairs)
    city = overview.overlaps(views_db)
    city_pairs = Counter()
    for (_, _, a, b), n in pairs.items():
        city_pairs[(a, b)] += n
    assert {(p["program_a"], p["program_b"]): p["families"] for p in city["pairs"]} == dict(
        city_pairs
    )
    zkt = next(p for p in overview.overview(views_db)["programs"] if p["program"] == "ZKT")
    total = sum(n for (*_, program), n in families.items() if program == "ZKT")
    assert zkt["families"] == total and zkt["yearly_target"] == 20
    assert zkt["progress"] == round(total / 20, 4)

    # the changes recorded ahead: counted today, not from their day on, as a direct count says
    today = city_today()
    scheduled = [
        step["status"]
        for h in ids
        for b in casework.get_household(h).benefits.values()
        for step in scheduled_changes(b, today)
    ]
    assert {"suspended", "terminated"} <= set(scheduled)  # (also of benefits not begun yet)
    for day in (today + dt.timedelta(days=1), today + dt.timedelta(days=8)):
        later, later_persons, later_pairs = direct_counts(casework, ids, day)
        assert later != families, day  # something stopped that day
        rows = overview.overview(views_db, today=day)["rows"]
        assert {(r["kecamatan"], r["kelurahan"], r["program"]): r["families"] for r in rows} == (
            dict(later)
        ), day
        assert {(r["kecamatan"], r["kelurahan"], r["program"]): r["persons"] for r in rows} == (
            dict(later_persons)
        ), day
        city_later = Counter()
        for (_, _, a, b), n in later_pairs.items():
            city_later[(a, b)] += n
        answer = overview.overlaps(views_db, today=day)
        assert {(p["program_a"], p["program_b"]): p["families"] for p in answer["pairs"]} == (
            dict(city_later)
        ), day

    # a reader sums one folded row per key and the changes from the day before the last
    # recording on (today's events: from yesterday), not every change since the first
    kept = overview.all_rows(views_db)
    [(_, horizon)] = kept["horizon"]
    assert horizon == (city_today() - dt.timedelta(days=1)).isoformat()
    dated = [r[5] for r in kept["counts"]] + [r[4] for r in kept["opds"]]
    dated += [r[5] for r in kept["overlaps"]]
    assert "" in dated and all(day == "" or day > horizon for day in dated)

    live = checksums(views_db)
    rebuild(bootstrap(settings), ["overview"])
    assert checksums(views_db) == live
    assert len(live["families"]) >= 36


def test_a_benefit_counts_in_the_months_it_ran():
    changes = [("active", "2026-01-01"), ("suspended", "2026-03-01"), ("active", "2026-05-20")]
    changes += [("terminated", "2026-08-01")]
    assert overview.running_months("2026-01-01", "2026-12-31", changes) == [
        "2026-01",
        "2026-02",
        "2026-05",
        "2026-06",
        "2026-07",
    ]
    assert overview.running_months("2026-01-01", "2026-12-31", [("active", "2026-01-01")]) == [
        f"2026-{m:02d}" for m in range(1, 13)
    ]
    # terminated on its first day: it never ran
    ended = [("active", "2026-01-01"), ("terminated", "2026-01-01")]
    assert overview.running_months("2026-01-01", "2026-12-31", ended) == []
    assert overview.monthly_share(3_000_000, "2026-01-01", "2026-12-31") == 250_000


def test_the_views_queries_read_indexes(web):
    views = web.extensions["casework"].views
    ensure_schema(views, PROJECTIONS.values())
    tables = live_tables(views, overview.PROJECTION)
    scanned = "|".join(
        tables[t] for t in ("counts", "opds", "monthly", "overlaps", "benefits", "horizon")
    )
    full_scan = re.compile(rf"\b(SCAN|Seq Scan on) ({scanned})\b")
    statements = [
        *overview.overview_queries(views).values(),
        *overview.overview_queries(views, opd="DINSOS", kecamatan="Telanaipura").values(),
        *overview.overview_queries(
            views, kecamatan="Telanaipura", kelurahan="Simpang IV Sipin", rows_of_opds=("BAZNAS",)
        ).values(),
        overview.monthly_query(views, program="PKH"),
        overview.monthly_query(views, kecamatan="Telanaipura", kelurahan="Simpang IV Sipin"),
        overview.overlaps_query(views),
        overview.overlaps_query(views, kecamatan="Telanaipura"),
        # the fold of the days the horizon passes (a writer's, as the events come)
        *((overview.fold_query(tables, t), ["2026-12-06"]) for t in overview.DATED),
    ]
    for statement, params in statements:
        shown = plan(views, statement, params)
        assert not full_scan.search(shown), f"{statement}: {shown}"


def _apply_everything(casework, views_db) -> None:
    notifications = casework.recorder.select_notifications(1, 1_000_000)
    envelopes = [
        reveal(casework.codec, wire.from_notification(casework, n, "1571", sealed=True))
        for n in notifications
    ]
    with views_db.transaction() as cur:
        apply_all(cur, [overview.PROJECTION], envelopes)


def test_the_figures_of_a_day_follow_the_periods_and_the_changes_in_force(casework, views_db):
    """A family with ZKT from January to June of next year and UMKM from March, suspended from
    1 September (recorded now, ahead): each day's totals, OPDs and overlaps count what runs
    that day, the first and last days of a period included."""
    ensure_schema(views_db, PROJECTIONS.values())
    define_other_opds(casework)
    nik = "1571015203850007"
    household_id = str(
        casework.register_household(
            {
                "kk_number": "1571010101200003",
                "kecamatan": "Telanaipura",
                "kelurahan": "Simpang IV Sipin",
                "address": "Jl. Kapten Pattimura No. 5",
                "rt": "007",
                "rw": "002",
                "head": {"nik": nik, "name": "Siti", "birth_date": "1985-03-12", "sex": "F"},
            },
            META,
        ).stream_id
    )
    year = city_today().year + 1
    for code, start, end in (
        ("ZKT", f"{year}-01-01", f"{year}-06-30"),
        ("UMKM", f"{year}-03-01", f"{year}-12-31"),
    ):
        grant = {"household_id": household_id, "nik": nik, "program": code}
        grant |= {"period_start": start, "period_end": end, "amount": 1_200_000}
        casework.execute("GrantBenefit", grant, META)
    umkm = next(
        b for b in casework.get_household(household_id).benefits.values() if b["program"] == "UMKM"
    )
    casework.execute(
        "SuspendBenefit",
        {
            "household_id": household_id,
            "benefit_id": umkm["benefit_id"],
            "effective_date": f"{year}-09-01",
            "reason_code": "other",
        },
        make_meta(SYSTEM, "api", reason="menunggu verifikasi"),
    )
    _apply_everything(casework, views_db)

    def figures(day: str) -> tuple[dict, dict, dict, list]:
        today = dt.date.fromisoformat(day.replace("Y", str(year)))
        answer = overview.overview(views_db, today=today)
        pairs = overview.overlaps(
            views_db, kelurahan="Simpang IV Sipin", kecamatan="Telanaipura", today=today
        )
        return (
            {p["program"]: p["families"] for p in answer["programs"]},
            {o["opd"]: o["amount"] for o in answer["opds"]},
            {(r["kelurahan"], r["program"]): r["persons"] for r in answer["rows"]},
            pairs["matrix"],
        )

    assert figures(f"{year - 1}-12-31") == ({}, {}, {}, [])
    assert figures("Y-01-01") == (
        {"ZKT": 1},
        {"BAZNAS": 1_200_000},
        {("Simpang IV Sipin", "ZKT"): 1},
        [[1]],
    )
    both = figures("Y-03-01")
    assert both[0] == {"UMKM": 1, "ZKT": 1} and both[3] == [[1, 1], [1, 1]]
    assert figures("Y-06-30") == both
    assert figures("Y-07-01")[0] == {"UMKM": 1}
    assert figures("Y-07-01")[3] == [[1]]
    assert figures("Y-08-31")[1] == {"DISKOPUKM": 1_200_000}
    assert figures("Y-09-01") == ({}, {}, {}, [])
