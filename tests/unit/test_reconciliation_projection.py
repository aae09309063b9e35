"""The reconciliation view: what each source says about a family beside the register, the
reasons they disagree, counts per kecamatan and kelurahan equal to a direct count, and the
live view equal to a rebuild after a randomised workload."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import random

import pytest
from flask import Flask

from adapters.db import Database
from adapters.settings import DatabaseUrl, Settings, SettingsError
from adapters.wire import from_notification
from app.importer import Importer
from app.messages import init_babel
from app.reconciliation import reason_label
from app.seed_data import kk_for, nik_for
from app.source_samples import VERVAL_HEADER, write_csv
from domain.application import SYSTEM, make_meta
from domain.catalog import seed_catalog
from domain.city import today as city_today
from domain.errors import DomainError
from domain.household import ASSESSMENT_SOURCES, LISTING_BENEFITS
from projections import reconciliation
from projections.base import apply_batch, ensure_schema, reconfigured, reveal
from projections.catalog import configured
from tests.support.apps import memory_casework

META = make_meta(SYSTEM, "import:test")
PLACES = (
    ("Telanaipura", "Simpang IV Sipin"),
    ("Telanaipura", "Telanaipura"),
    ("Jambi Timur", "Talang Banjar"),
)


def person(serial: int, born: dt.date, sex: str) -> dict:
    return {
        "nik": nik_for("157101", born, sex, serial),
        "name": f"Warga {serial}",
        "birth_date": born.isoformat(),
        "sex": sex,
    }


class View:
    """The reconciliation view in a SQLite file, fed from the app's store in batches."""

    def __init__(self, app, path, name: str, rule=reconciliation.DEFAULT_RULE) -> None:
        self.app = app
        self.db = Database(DatabaseUrl.parse(f"sqlite:///{path}/{name}", "CASEWORK_VIEWS"))
        self.projection = reconciliation.configured(rule)
        ensure_schema(self.db, [self.projection])
        self.position = 0

    def catch_up(self, rng: random.Random | None = None) -> View:
        envelopes = [
            reveal(self.app.codec, from_notification(self.app, n, "1571", sealed=True))
            for n in self.app.recorder.select_notifications(self.position + 1, 100_000)
        ]
        if envelopes:
            self.position = envelopes[-1]["position"]
        while envelopes:
            size = rng.randint(1, 40) if rng else len(envelopes)
            apply_batch(self.db, self.projection, envelopes[:size])
            envelopes = envelopes[size:]
        return self

    def checksum(self) -> str:
        rows = reconciliation.all_rows(self.db)
        return hashlib.sha256(repr(sorted(rows.items())).encode()).hexdigest()


@pytest.fixture
def app():
    application = memory_casework()
    seed_catalog(application, make_meta(SYSTEM, "cli"))  # PKH, BPNT, PBI-JK, ...
    yield application
    application.close()


def family(app, serial: int, size: int, place=PLACES[0]) -> tuple[str, list[str]]:
    head = person(serial * 10 + 1, dt.date(1980, 1, 1), "M")
    household_id = app.register_household(
        {
            "kk_number": kk_for("157101", dt.date(2010, 1, 1), serial),
            "kecamatan": place[0],
            "kelurahan": place[1],
            "address": "Jl. Sultan Agung No. 1",
            "rt": "001",
            "rw": "002",
            "head": head,
        },
        META,
    ).stream_id
    niks = [head["nik"]]
    for n in range(1, size):
        member = person(serial * 10 + 1 + n, dt.date(2000 + n, 1, 1), "F" if n % 2 else "M")
        app.add_member(
            {"household_id": household_id, "person": member, "relationship": "anak"}, META
        )
        niks.append(member["nik"])
    return household_id, niks


def listing(
    app, household_id, source, niks, *, desil=None, benefits=(), dead=(), period="2026-Q1", row=1
):
    kk = app.get_household(household_id).kk_number
    members = [
        {
            "nik": nik,
            "relationship": "kepala_keluarga" if i == 0 else "anak",
            "deceased": nik in dead,
        }
        for i, nik in enumerate(niks)
    ]
    app.execute(
        "RecordSourceListing",
        {
            "household_id": household_id,
            "source": source,
            "period": period,
            "reference": f"{source.lower()}_{period}.csv#row={row}",
            "kk_number": kk,
            "members": members,
            "desil": desil,
            "benefits": list(benefits),
        },
        META,
    )


def direct_counts(view: View, day: str | None = None) -> dict[tuple[str, str, str], int]:
    """Per (kecamatan, kelurahan, reason): a count over every household's own comparison on
    that day (today by default)."""
    names = reconciliation.live_tables(view.db, reconciliation.PROJECTION)
    found: dict[tuple[str, str, str], int] = {}
    with view.db.transaction() as cur:
        ids = [
            r[0] for r in cur.execute(f"SELECT household_id FROM {names['households']}").fetchall()
        ]
        for household_id in ids:
            answer = reconciliation.side_by_side(cur, names, household_id, day=day)
            keys = ([reconciliation.LISTED] if answer["listed"] else []) + (
                [reconciliation.ANY, *answer["reasons"]] if answer["reasons"] else []
            )
            for key in keys:
                place = (answer["kecamatan"], answer["kelurahan"], key)
                found[place] = found.get(place, 0) + 1
    return found


def kept_counts(view: View, day: str | None = None) -> dict[tuple[str, str, str], int]:
    return {
        (row["kecamatan"], row["kelurahan"], key): row[key]
        for row in reconciliation.counts(view.db, day=day)
        for key in (reconciliation.LISTED, reconciliation.ANY, *reconciliation.REASONS)
        if row[key]
    }


def test_each_disagreement_is_found_and_counted(app, tmp_path):
    household_id, niks = family(app, 1, 3)
    agreeing, agreeing_niks = family(app, 2, 2)
    listing(app, household_id, "DTSEN", niks, desil=2)
    listing(app, household_id, "DTKS", niks[:2], desil=6, benefits=["PKH"])  # a child missing
    listing(app, household_id, "P3KE", niks, dead={niks[1]})  # alive in the register
    listing(app, agreeing, "DTSEN", agreeing_niks, desil=3)
    listing(app, agreeing, "DTKS", agreeing_niks, desil=4)  # within the tolerance
    view = View(app, tmp_path, "views.db").catch_up()

    answer = reconciliation.household(view.db, household_id)
    assert set(answer["reasons"]) == {"desil", "missing_in_source", "benefit", "deceased"}
    assert answer["desil_spread"] == 4 and answer["tolerance"] == 1
    dtks, p3ke = answer["sources"]["DTKS"], answer["sources"]["P3KE"]
    (missing,) = dtks["missing_in_source"]
    assert missing["nik_hash"] == app.codec.lookup("nik", niks[2])  # by keyed hash
    assert dtks["compared_flags"] == ["PKH"] and answer["register"]["running_benefits"] == []
    (dead,) = p3ke["deceased_in_source"]
    assert dead["nik_hash"] == app.codec.lookup("nik", niks[1])
    assert answer["sources"]["VERVAL"] == {
        "listed": False,
        "desil": None,
        "stale": False,
        "desil_stale": False,
    }
    assert reconciliation.household(view.db, agreeing)["reasons"] == []

    # someone only the source lists: membership; Casework grants PKH: DTKS agrees on aid now
    stranger = person(99, dt.date(1990, 5, 5), "F")["nik"]
    listing(app, agreeing, "DTKS", [*agreeing_niks, stranger], desil=4, period="2026-Q2")
    app.grant_benefit(
        {
            "household_id": household_id,
            "nik": niks[1],  # an adult woman: PKH's recipient
            "program": "PKH",
            "period_start": "2026-01-01",
            "period_end": "2026-12-31",
            "amount": 750000,
        },
        META,
    )
    view.catch_up()
    assert reconciliation.household(view.db, agreeing)["reasons"] == ["membership"]
    assert "benefit" not in reconciliation.household(view.db, household_id)["reasons"]
    assert kept_counts(view) == direct_counts(view)
    (row,) = reconciliation.counts(view.db, kelurahan="Simpang IV Sipin")
    assert (row["listed"], row["any"], row["membership"], row["desil"]) == (2, 2, 1, 1)
    listed = reconciliation.disagreeing(view.db, kelurahan="Simpang IV Sipin")
    assert {f["household_id"] for f in listed} == {household_id, agreeing}
    only = reconciliation.disagreeing(view.db, reason="membership")
    assert [f["household_id"] for f in only] == [agreeing]


def test_the_view_keeps_no_nik_or_kk_number_in_clear(app, tmp_path):
    household_id, niks = family(app, 3, 2)
    listing(app, household_id, "DTKS", niks, desil=5, dead={niks[1]})
    view = View(app, tmp_path, "views.db").catch_up()
    text = repr(reconciliation.all_rows(view.db))
    kk = app.get_household(household_id).kk_number
    assert not [number for number in (*niks, kk) if number in text]


def test_after_a_random_workload_a_rebuild_equals_the_live_view(app, tmp_path):
    rng = random.Random(10)
    live = View(app, tmp_path, "live.db")
    families = []
    for serial in range(10, 46):
        household_id, niks = family(app, serial, rng.randint(1, 5), rng.choice(PLACES))
        families.append((household_id, niks))
        if rng.random() < 0.5:
            live.catch_up(rng)
    for step in range(160):
        household_id, niks = rng.choice(families)
        roll = rng.random()
        if roll < 0.6:
            listed = [n for n in niks if rng.random() < 0.85]
            if rng.random() < 0.2:
                listed.append(person(5000 + step, dt.date(1995, 1, 2), "M")["nik"])
            listing(
                app,
                household_id,
                rng.choice(ASSESSMENT_SOURCES),
                listed,
                desil=rng.choice((None, *range(1, 11))),
                benefits=rng.sample(LISTING_BENEFITS, rng.randint(0, 2)),
                dead={n for n in listed if rng.random() < 0.1},
                period=f"202{rng.randint(5, 6)}-Q{rng.randint(1, 4)}",
                row=step,
            )
        elif roll < 0.7:
            app.record_welfare_assessment(
                {
                    "household_id": household_id,
                    "source": rng.choice(ASSESSMENT_SOURCES),
                    "desil": rng.randint(1, 10),
                    "period": f"2026-Q{rng.randint(1, 4)}",
                },
                META,
            )
        elif roll < 0.8 and len(niks) > 1:
            with contextlib.suppress(DomainError):  # dead already
                app.execute(
                    "RecordDeath",
                    {"household_id": household_id, "nik": niks[-1], "date_of_death": "2026-01-05"},
                    META,
                )
        elif roll < 0.9:
            grant = (
                {
                    "household_id": household_id,
                    "nik": rng.choice(niks),
                    "program": rng.choice(("PKH", "BPNT", "PBI-JK")),
                    "period_start": f"{2000 + step}-01-01",
                    "period_end": f"{2000 + step}-12-31",
                    "amount": 100000,
                },
            )
            with contextlib.suppress(DomainError):  # a program's rules may refuse it
                app.grant_benefit(*grant, META)
        else:
            place = rng.choice(PLACES)
            app.execute(
                "RelocateHousehold",
                {
                    "household_id": household_id,
                    "kecamatan": place[0],
                    "kelurahan": place[1],
                    "address": "Jl. Baru No. 2",
                    "rt": "003",
                    "rw": "004",
                    "moved_on": "2026-02-01",
                },
                META,
            )
        if rng.random() < 0.1:
            live.catch_up(rng)
    # suspensions, resumptions and terminations, backdated or recorded ahead, some brought
    # earlier than one recorded before them (their own generator: the workload above stays)
    changes = random.Random(11)
    rules = {"name": "Bantuan Sosial Tunai", "opd": "DINSOS", "funding": "APBN", "kind": "bansos"}
    app.execute("DefineProgram", {"code": "BST", **rules, "rules": {}}, META)  # any recipient
    now = city_today()
    for household_id, niks in families[::2]:  # BST from today for three years: P3KE records it
        grant = {"household_id": household_id, "nik": niks[0], "program": "BST", "amount": 1}
        end = now + dt.timedelta(days=3 * 365)
        period = {"period_start": now.isoformat(), "period_end": end.isoformat()}
        app.grant_benefit({**grant, **period}, META)
        listing(app, household_id, "P3KE", niks, benefits=["BST"], period="2026-Q4", row=999)
    days = set()
    for _ in range(80):
        household_id, _ = changes.choice(families)
        benefits = list(app.get_household(household_id).benefits.values())
        if not benefits:
            continue
        benefit = changes.choice(benefits)
        start = dt.date.fromisoformat(benefit["period_start"])
        day = start + dt.timedelta(days=changes.randint(0, 3 * 364))
        with contextlib.suppress(DomainError):  # not suspended, terminated, in force already
            app.execute(
                changes.choice(("SuspendBenefit", "ResumeBenefit", "TerminateBenefit")),
                {
                    "household_id": household_id,
                    "benefit_id": benefit["benefit_id"],
                    "effective_date": day.isoformat(),
                    "reason_code": "data_invalid",
                },
                META,
            )
            days.add(day.isoformat())
        if changes.random() < 0.2:
            live.catch_up(changes)
    live.catch_up(rng)
    rebuilt = View(app, tmp_path, "rebuilt.db").catch_up()
    assert live.checksum() == rebuilt.checksum()
    assert kept_counts(live) == direct_counts(live)
    ahead = sorted(d for d in days if d > dt.date.today().isoformat())
    assert ahead  # changes recorded ahead were met
    for day in ahead[:8]:  # the counts of a day to come follow the changes in force then
        assert kept_counts(live, day) == direct_counts(live, day), day
    bounds = set()  # and the periods that begin, or end (the day after their last), then
    for household_id, _ in families:
        for benefit in app.get_household(household_id).benefits.values():
            last = dt.date.fromisoformat(benefit["period_end"])
            bounds.update((benefit["period_start"], (last + dt.timedelta(days=1)).isoformat()))
    bounds = sorted(d for d in bounds if d > dt.date.today().isoformat())
    assert bounds
    for day in bounds[:8]:
        assert kept_counts(live, day) == direct_counts(live, day), day
    reasons = {r for f in reconciliation.disagreeing(live.db, limit=1000) for r in f["reasons"]}
    assert reasons == set(reconciliation.REASONS)  # the workload met every kind


def test_a_source_disagrees_on_aid_only_over_the_flags_it_records(app, tmp_path):
    """P3KE has no PBI column: a P3KE family flagged for PKH, receiving PKH and PBI-JK, agrees
    with Casework; DTKS records PBI, so the same flags from DTKS disagree."""
    household_id, niks = family(app, 3, 3)
    listing(app, household_id, "DTSEN", niks, desil=1)
    for program, nik in (("PKH", niks[1]), ("PBI-JK", niks[0])):
        app.grant_benefit(
            {
                "household_id": household_id,
                "nik": nik,
                "program": program,
                "period_start": "2026-01-01",
                "period_end": "2026-12-31",
                "amount": 750000,
            },
            META,
        )
    listing(app, household_id, "P3KE", niks, desil=1, benefits=["PKH"])
    view = View(app, tmp_path, "views.db").catch_up()
    answer = reconciliation.household(view.db, household_id)
    assert "benefit" not in answer["reasons"]
    assert answer["sources"]["P3KE"]["compared_flags"] == ["PKH"]

    listing(app, household_id, "DTKS", niks, desil=1, benefits=["PKH"])
    view.catch_up()
    assert "benefit" in reconciliation.household(view.db, household_id)["reasons"]


def test_aid_counts_as_running_until_its_termination_recorded_ahead_takes_effect(app, tmp_path):
    """DTKS flags PKH and the family receives PKH: they agree. A termination recorded today
    from a day to come leaves PKH running (and the family agreeing) until that day, in the
    household's answer, the counts and the list; from that day DTKS disagrees over aid. A
    termination from an earlier day replaces it; a rebuild equals the view kept."""
    today = city_today()
    household_id, niks = family(app, 5, 2)
    grant = {"household_id": household_id, "nik": niks[1], "program": "PKH", "amount": 750000}
    period = {"period_start": f"{today.year}-01-01", "period_end": f"{today.year + 1}-12-31"}
    app.grant_benefit({**grant, **period}, META)
    listing(app, household_id, "DTKS", niks, desil=1, benefits=["PKH"])
    (benefit_id,) = app.get_household(household_id).benefits
    soon, later = today + dt.timedelta(days=10), today + dt.timedelta(days=30)

    def terminate(day: dt.date) -> None:
        app.execute(
            "TerminateBenefit",
            {
                "household_id": household_id,
                "benefit_id": benefit_id,
                "effective_date": day.isoformat(),
                "reason_code": "data_invalid",
            },
            META,
        )

    def seen(day: dt.date) -> tuple[list[str], list[str], int, list[str]]:
        """On that day: the running benefits, the reasons, the families counted for aid and
        those listed for it."""
        on = day.isoformat()
        answer = reconciliation.household(view.db, household_id, day=on)
        counted = sum(r["benefit"] for r in reconciliation.counts(view.db, day=on))
        listed = reconciliation.disagreeing(view.db, reason="benefit", day=on)
        return (
            answer["register"]["running_benefits"],
            answer["reasons"],
            counted,
            [f["household_id"] for f in listed],
        )

    terminate(later)
    view = View(app, tmp_path, "views.db").catch_up()
    assert reconciliation.household(view.db, household_id)["reasons"] == []  # today by default
    assert seen(today) == (["PKH"], [], 0, [])
    assert seen(later - dt.timedelta(days=1)) == (["PKH"], [], 0, [])
    assert seen(later) == ([], ["benefit"], 1, [str(household_id)])

    terminate(soon)  # the decision changed: from an earlier day
    view.catch_up()
    assert seen(soon - dt.timedelta(days=1)) == (["PKH"], [], 0, [])
    assert seen(soon) == ([], ["benefit"], 1, [str(household_id)])
    assert View(app, tmp_path, "rebuilt.db").catch_up().checksum() == view.checksum()


def test_aid_runs_only_inside_its_period_on_every_day_asked(app, tmp_path):
    """A benefit whose period ended (no termination, it just expired) or has not begun is not
    Casework's running aid: a source that marks other aid but not it agrees with the register,
    one that marks it disagrees. A period that ends or begins in the days to come changes the
    answer on the day after its end and on its start, in the household's answer, the counts
    and the list alike, on every day, with no event or rebuild in between."""
    today = city_today()
    last_year = {"period_start": f"{today.year - 1}-01-01", "period_end": f"{today.year - 1}-12-31"}
    end = today + dt.timedelta(days=10)  # its last day: it runs no more from the day after
    ending = {"period_start": f"{today.year}-01-01", "period_end": end.isoformat()}
    start = today + dt.timedelta(days=20)
    beginning = {"period_start": start.isoformat(), "period_end": f"{today.year + 1}-12-31"}

    def grant(household_id: str, nik: str, program: str, period: dict) -> None:
        app.grant_benefit(
            {"household_id": household_id, "nik": nik, "program": program, "amount": 1, **period},
            META,
        )

    # DTKS marks PBI only: the PKH that ended last year is no disagreement
    says_no, niks = family(app, 7, 2)
    grant(says_no, niks[1], "PKH", last_year)
    grant(says_no, niks[0], "PBI-JK", ending)
    listing(app, says_no, "DTKS", niks, desil=1, benefits=["PBI_JK"])
    # DTKS marks PKH, which ended last year: it disagrees
    says_yes, niks = family(app, 8, 2)
    grant(says_yes, niks[1], "PKH", last_year)
    listing(app, says_yes, "DTKS", niks, desil=1, benefits=["PKH"])
    # DTKS marks PKH, which begins in twenty days: it disagrees until then
    not_yet, niks = family(app, 9, 2)
    grant(not_yet, niks[1], "PKH", beginning)
    listing(app, not_yet, "DTKS", niks, desil=1, benefits=["PKH"])
    view = View(app, tmp_path, "views.db").catch_up()

    def seen(household_id: str, day: dt.date) -> tuple[list[str], list[str], bool]:
        on = day.isoformat()
        answer = reconciliation.household(view.db, household_id, day=on)
        listed = reconciliation.disagreeing(view.db, reason="benefit", day=on)
        return (
            answer["register"]["running_benefits"],
            answer["reasons"],
            str(household_id) in {f["household_id"] for f in listed},
        )

    assert seen(says_no, today) == (["PBI_JK"], [], False)
    assert seen(says_yes, today) == ([], ["benefit"], True)
    assert seen(not_yet, today) == ([], ["benefit"], True)
    # PBI ends after `end`: DTKS, marking it, disagrees from the day after
    assert seen(says_no, end) == (["PBI_JK"], [], False)
    assert seen(says_no, end + dt.timedelta(days=1)) == ([], ["benefit"], True)
    assert seen(not_yet, start - dt.timedelta(days=1)) == ([], ["benefit"], True)
    assert seen(not_yet, start) == (["PKH"], [], False)
    for ahead in range(0, 31):  # the counts kept equal a direct count on every day
        day = (today + dt.timedelta(days=ahead)).isoformat()
        assert kept_counts(view, day) == direct_counts(view, day), day
    assert View(app, tmp_path, "rebuilt.db").catch_up().checksum() == view.checksum()


def test_the_tolerance_is_the_views_own_a_difference_of_two_deciles_counts_at_one(app, tmp_path):
    household_id, niks = family(app, 4, 2)
    listing(app, household_id, "DTSEN", niks, desil=3)
    listing(app, household_id, "DTKS", niks, desil=5)
    strict = View(app, tmp_path, "strict.db").catch_up()
    lenient = View(app, tmp_path, "lenient.db", reconciliation.Rule(desil_tolerance=2)).catch_up()

    at_one = reconciliation.household(strict.db, household_id)
    assert at_one["reasons"] == ["desil"] and at_one["desil_spread"] == 2
    assert reconciliation.disagreeing(strict.db, reason="desil")[0]["household_id"] == household_id
    at_two = reconciliation.household(lenient.db, household_id)
    assert at_two["reasons"] == [] and at_two["tolerance"] == 2
    assert reconciliation.disagreeing(lenient.db) == []
    assert reconciliation.rule_in_force(lenient.db) == reconciliation.Rule(desil_tolerance=2)

    # a process configured otherwise later neither changes the rule a view was built under
    # nor mixes two rules in it: it answers as built, and is known to need a rebuild
    other = reconciliation.configured(reconciliation.Rule(desil_tolerance=2))
    ensure_schema(strict.db, [other])
    strict.projection = other
    listing(app, household_id, "DTKS", niks, desil=6, period="2026-Q2")  # spread 3 now
    strict.catch_up()
    assert reconciliation.rule_in_force(strict.db) == reconciliation.DEFAULT_RULE
    assert reconciliation.household(strict.db, household_id)["tolerance"] == 1
    with strict.db.transaction() as cur:
        assert reconfigured(cur, other) == reconciliation.DEFAULT_RULE.parameters()
        assert reconfigured(cur, reconciliation.PROJECTION) is None


def test_a_listing_older_than_the_stated_months_is_left_out_and_named_stale(app, tmp_path):
    household_id, niks = family(app, 5, 3)
    listing(app, household_id, "DTSEN", niks, desil=2, period="2026-Q1")
    # DTKS, 15 months before: a child missing, another decile, PKH marked
    listing(app, household_id, "DTKS", niks[:2], desil=9, benefits=["PKH"], period="2024-Q4")
    # P3KE, 12 months before (not more): compared, and it misses the child too
    listing(app, household_id, "P3KE", niks[:2], desil=2, period="2025-Q1")
    view = View(app, tmp_path, "views.db").catch_up()

    answer = reconciliation.household(view.db, household_id)
    assert answer["reasons"] == ["missing_in_source", "stale"]
    assert answer["stale_months"] == 12 and answer["newest_period"] == "2026-Q1"
    dtks, p3ke = answer["sources"]["DTKS"], answer["sources"]["P3KE"]
    assert dtks["stale"] and dtks["desil_stale"] and dtks["period"] == "2024-Q4"
    assert dtks["missing_in_source"] == [] and not dtks["benefit_differs"]
    assert answer["desil_spread"] == 0  # DTKS's 9 is left out
    assert not p3ke["stale"] and len(p3ke["missing_in_source"]) == 1
    assert [f["household_id"] for f in reconciliation.disagreeing(view.db, reason="stale")] == [
        household_id
    ]
    (row,) = reconciliation.counts(view.db, kelurahan=PLACES[0][1])
    assert (row["stale"], row["desil"], row["benefit"]) == (1, 0, 0)

    # stated otherwise (24 months), the same listing is compared: its differences count
    patient = View(app, tmp_path, "patient.db", reconciliation.Rule(stale_months=24)).catch_up()
    answer = reconciliation.household(patient.db, household_id)
    assert answer["reasons"] == ["desil", "benefit", "missing_in_source"]
    assert len(answer["sources"]["DTKS"]["missing_in_source"]) == 1

    # DTKS brought up to date: nothing stale any more
    listing(app, household_id, "DTKS", niks, desil=2, period="2026-Q1", row=2)
    view.catch_up()
    assert reconciliation.household(view.db, household_id)["reasons"] == ["missing_in_source"]
    assert reconciliation.counts(view.db, kelurahan=PLACES[0][1])[0]["stale"] == 0


def test_the_rule_is_stated_by_the_settings_and_a_bad_value_is_named():
    pg = {
        "CASEWORK_STORE": "postgresql://u@h/db",
        "CASEWORK_VIEWS": "postgresql://u@h/views",
        "CASEWORK_SECRET_KEY": "s",
        "CASEWORK_MASTER_KEY": "5e" * 32,
        "CASEWORK_SIGNING_KEY": "cd" * 32,
    }
    default = configured(Settings.from_env(pg))["reconciliation"]
    assert default.parameters == {"desil_tolerance": 1, "stale_months": 12}
    stated = Settings.from_env(
        {
            **pg,
            "CASEWORK_RECONCILE_DESIL_TOLERANCE": "2",
            "CASEWORK_RECONCILE_STALE_MONTHS": "24",
        }
    )
    assert configured(stated)["reconciliation"].parameters == {
        "desil_tolerance": 2,
        "stale_months": 24,
    }
    for variable, value in (
        ("CASEWORK_RECONCILE_DESIL_TOLERANCE", "1.5"),
        ("CASEWORK_RECONCILE_DESIL_TOLERANCE", "9"),
        ("CASEWORK_RECONCILE_STALE_MONTHS", "-3"),
        ("CASEWORK_RECONCILE_STALE_MONTHS", "setahun"),
    ):
        with pytest.raises(SettingsError, match=f"^{variable}: must be a whole number from"):
            Settings.from_env({**pg, variable: value})


def test_a_field_verification_is_not_compared_on_membership(app, tmp_path):
    """A verval file names the person met, not the family's members: its listing (no members)
    leaves every member of the register where it was, no `missing_in_source`. A source that
    lists members and lists none (DTKS, members: []) still misses every one of them."""
    household_id, niks = family(app, 5, 3)
    other, other_niks = family(app, 6, 2)
    kk = app.get_household(household_id).kk_number
    verval = write_csv(
        tmp_path / "verval.csv",
        VERVAL_HEADER,
        [[kk, niks[0], "3", "02-01-2026", "Sesuai", "Tim 4", ""]],
    )
    summary = Importer(app, "verval", "2026-Q1").run([verval])
    assert summary.families["updated"] == 1 and summary.rejected_rows == 0
    listing(app, other, "DTKS", [])
    view = View(app, tmp_path, "views.db").catch_up()

    answer = reconciliation.household(view.db, household_id)
    assert answer["reasons"] == []
    source = answer["sources"]["VERVAL"]
    assert source["listed"] and source["listing_desil"] == 3
    assert source["members"] is None  # it lists none: not zero members
    assert source["missing_in_source"] == source["only_in_source"] == []
    emptied = reconciliation.household(view.db, other)
    assert emptied["reasons"] == ["missing_in_source"]
    assert emptied["sources"]["DTKS"]["members"] == 0
    assert {p["nik_hash"] for p in emptied["sources"]["DTKS"]["missing_in_source"]} == {
        app.codec.lookup("nik", nik) for nik in other_niks
    }
    assert kept_counts(view) == direct_counts(view)


def test_a_death_the_register_has_and_a_source_lists_alive_is_a_death_disagreement(app, tmp_path):
    """A member who died in the register and whom a source still lists as living is not
    "someone only the source lists" (membership): the register knows them; the two disagree
    on the death."""
    household_id, niks = family(app, 3, 3)
    app.execute(
        "RecordDeath",
        {"household_id": household_id, "nik": niks[2], "date_of_death": "2026-02-01"},
        META,
    )
    listing(app, household_id, "DTKS", niks)  # everyone alive, the dead child included
    view = View(app, tmp_path, "views.db").catch_up()
    answer = reconciliation.household(view.db, household_id)
    dtks = answer["sources"]["DTKS"]
    assert answer["reasons"] == ["deceased"]
    assert dtks["only_in_source"] == []
    (alive,) = dtks["alive_in_source"]
    assert alive["nik_hash"] == app.codec.lookup("nik", niks[2])
    assert dtks["missing_in_source"] == []


def test_a_death_disagreement_is_not_named_as_one_way_only(app, tmp_path):
    """The reason `deceased` covers a death the register has that a source does not (alive
    in the source) as well as the reverse: its words said 'deceased in the source, alive
    here', the opposite of this family's case, in the page's counts, list and downloads."""
    household_id, niks = family(app, 3, 3)
    app.execute(
        "RecordDeath",
        {"household_id": household_id, "nik": niks[2], "date_of_death": "2026-02-01"},
        META,
    )
    listing(app, household_id, "DTKS", niks)
    view = View(app, tmp_path, "views.db").catch_up()
    answer = reconciliation.household(view.db, household_id)
    assert answer["sources"]["DTKS"]["alive_in_source"]
    web = Flask(__name__)
    init_babel(web)
    for lang, wrong in (("id", "Meninggal menurut sumber"), ("en", "Deceased in the source")):
        with web.test_request_context(f"/rekonsiliasi?lang={lang}"):
            (said,) = [reason_label(code) for code in answer["reasons"]]
            assert wrong not in said
    with web.test_request_context("/rekonsiliasi?lang=id"):
        assert reason_label("deceased") == "Kematian berbeda (sumber dan register)"


def test_every_family_of_a_long_list_has_its_reasons(app, tmp_path, monkeypatch):
    """An export lists up to 100,000 families: their reasons are read a bounded number of
    families at a time (CHUNK, made 2 here), and each family of the list has its own."""
    monkeypatch.setattr(reconciliation, "CHUNK", 2)
    for serial in range(60, 66):  # 63 agrees: DTSEN lists every member, both deciles 1
        household_id, niks = family(app, serial, 2)
        listing(app, household_id, "DTSEN", niks[: 1 + serial % 2], desil=1)
        listing(app, household_id, "DTKS", niks, desil=1 + serial % 3 * 2)
    view = View(app, tmp_path, "views.db").catch_up()
    listed = reconciliation.disagreeing(view.db, limit=1000)
    assert len(listed) == 5
    for found in listed:
        answer = reconciliation.household(view.db, found["household_id"])
        assert found["reasons"] == answer["reasons"] != []
