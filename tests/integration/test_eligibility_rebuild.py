"""The eligibility view, kept live through a randomised workload of a few thousand commands
(the seed generator's families and histories, persons helped before their NIK was known and
then linked to a member, rule changes, restrictions, an erasure, days passing), equals the
same view rebuilt from scratch by `casework rebuild`, row for row."""

from __future__ import annotations

import datetime as dt
import hashlib
import random

import pytest

from adapters import wire
from adapters.bootstrap import bootstrap
from app.seed import seed_app
from consumers.runner import apply_all, rebuild, tick
from domain.application import SYSTEM, make_meta
from domain.errors import RulesFailed
from projections import eligibility
from projections.base import ensure_schema, reveal
from projections.catalog import PROJECTIONS

pytestmark = pytest.mark.integration

META = make_meta(SYSTEM, "api")


def checksums(views_db) -> dict[str, list[str]]:
    """A checksum of every row of every table of the live eligibility view."""
    return {
        table: [hashlib.sha256(repr(row).encode()).hexdigest() for row in rows]
        for table, rows in eligibility.all_rows(views_db).items()
    }


def test_the_live_view_after_a_random_workload_equals_a_rebuild(
    casework, settings, views_db, monkeypatch
):
    day = {"today": dt.date(2026, 11, 2)}
    monkeypatch.setattr(eligibility, "CLOCK", lambda: day["today"])
    projections = [eligibility.PROJECTION]
    ensure_schema(views_db, PROJECTIONS.values())
    rng = random.Random(8)
    seen = 0

    def follow() -> None:
        """What the runner does: new events in batches of random size."""
        nonlocal seen
        notifications = casework.recorder.select_notifications(seen + 1, 100_000)
        envelopes = [
            reveal(casework.codec, wire.from_notification(casework, n, "1571", sealed=True))
            for n in notifications
        ]
        while envelopes:
            size = rng.randint(1, 300)
            with views_db.transaction() as cur:
                apply_all(cur, projections, envelopes[:size])
            seen = envelopes[size - 1 if size <= len(envelopes) else -1]["position"]
            envelopes = envelopes[size:]

    commands = 0
    for part in range(3):
        counts = seed_app(casework, 90, seed_value=40 + part)
        commands += sum(n for k, n in counts.items() if not k.startswith(("refused", "skipped")))
        follow()
        day["today"] += dt.timedelta(days=rng.randint(5, 30))
        tick(views_db, projections, day["today"])
    assert commands > 2500
    # persons helped under REHSOS before their NIK was known, most of them then linked to a
    # member of a family of the workload, some of those benefits changed after the link
    assert provisional_persons(casework, _household_ids(views_db), rng, day["today"]) >= 3
    follow()
    day["today"] += dt.timedelta(days=rng.randint(5, 30))
    tick(views_db, projections, day["today"])

    # rules change: at once for one program, later for another
    today = day["today"].isoformat()
    later = day["today"] + dt.timedelta(days=30)
    casework.change_program_rules(
        {"code": "KJB", "rules": {"min_residence_months": 24}, "effective_from": today}, META
    )
    casework.change_program_rules(
        {"code": "PKH", "rules": {"max_desil": 3}, "effective_from": later.isoformat()}, META
    )
    # a few persons restricted, one of them lifted again; one person erased
    households = [casework.get_household(h) for h in _household_ids(views_db)[:12]]
    for household in households[:4]:
        nik = sorted(household.members)[0]
        casework.restrict_processing(
            {"household_id": str(household.id), "nik": nik, "grounds": "keberatan"}, META
        )
    nik = sorted(households[0].members)[0]
    casework.lift_restriction({"household_id": str(households[0].id), "nik": nik}, META)
    erased = households[5]
    casework.request_erasure(
        {
            "household_id": str(erased.id),
            "nik": sorted(erased.members)[-1],
            "reason": "permintaan",
        },
        META,
    )
    evaluated: list[tuple[str, tuple[str, ...]]] = []
    original = eligibility._evaluate_household

    def spy(cur, names, household_id, programs, on, *args, **kwargs):
        evaluated.append((household_id, tuple(p.code for p in programs)))
        return original(cur, names, household_id, programs, on, *args, **kwargs)

    monkeypatch.setattr(eligibility, "_evaluate_household", spy)
    follow()
    # the change in force at once: each of the 270 families once, for that program only;
    # the later one: none yet. A restriction only hides rows (no fact changed); the erased
    # person's family is evaluated again for every program, without the birth date (once:
    # the events of a batch mark families, each marked family is evaluated at its end).
    families = _household_ids(views_db)
    kjb_only = sorted(h for h, codes in evaluated if codes == ("KJB",))
    assert kjb_only == families  # 270, each once
    assert not [codes for _, codes in evaluated if codes == ("PKH",)]
    assert [h for h, codes in evaluated if len(codes) > 1] == [str(erased.id)]
    day["today"] = later
    assert tick(views_db, projections, day["today"]) > 0

    live = checksums(views_db)
    linked = [row for row in eligibility.all_rows(views_db)["provisional"] if row[1]]
    assert len(linked) >= 4  # with a subject: linked (one of them without benefits)
    rebuild(bootstrap(settings), ["eligibility"])
    assert checksums(views_db) == live
    statuses = {row[4] for row in eligibility.all_rows(views_db)["results"]}
    assert statuses == {"eligible", "ineligible", "review"}
    assert len(live["facts"]) == 270  # every family of the workload


def _household_ids(views_db) -> list[str]:
    return [row[0] for row in eligibility.all_rows(views_db)["facts"]]


def provisional_persons(casework, families: list[str], rng: random.Random, today: dt.date) -> int:
    """Persons without papers granted REHSOS (one never linked, one linked without benefits),
    the others linked to a living member of one of these families; after the link some
    benefits suspended and resumed, some terminated. How many were linked with a benefit."""
    linked = 0
    for n in range(7):
        person_id = str(
            casework.execute(
                "RegisterHomelessPerson",
                {"name": f"Orang {n}", "sex": "M", "found_at": "Pasar", "kecamatan": "Telanaipura"},
                META,
            ).stream_id
        )
        start = today - dt.timedelta(days=rng.randint(0, 90))
        if n != 6:
            casework.execute(
                "GrantProvisionalBenefit",
                {
                    "person_id": person_id,
                    "program": "REHSOS",
                    "period_start": start.isoformat(),
                    "period_end": (start + dt.timedelta(days=rng.randint(30, 200))).isoformat(),
                    "amount": 250000,
                },
                META,
            )
        if n == 0:
            continue  # never linked: counts nowhere
        household = casework.get_household(families[rng.randrange(len(families))])
        living = sorted(k for k, m in household.members.items() if m["status"] == "active")
        if not living:
            continue
        try:
            casework.execute(
                "LinkIdentity",
                {"person_id": person_id, "household_id": str(household.id), "nik": living[0]},
                META,
            )
        except RulesFailed:  # the NIK receives REHSOS already
            continue
        (benefit_id, *_) = casework.get_provisional_person(person_id).benefits or [None]
        if benefit_id is None:
            continue
        linked += 1
        change = {"person_id": person_id, "benefit_id": benefit_id, "reason_code": "data_invalid"}
        later = (start + dt.timedelta(days=10)).isoformat()
        if n % 3 == 1:
            casework.execute("SuspendProvisionalBenefit", {**change, "effective_date": later}, META)
            casework.execute("ResumeProvisionalBenefit", {**change, "effective_date": later}, META)
        elif n % 3 == 2:
            casework.execute(
                "TerminateProvisionalBenefit", {**change, "effective_date": later}, META
            )
    return linked
