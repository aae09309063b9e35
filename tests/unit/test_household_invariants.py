"""Invariants of households over random command sequences (hypothesis), on the in-memory
store: a person is an active member of at most one household; nothing is granted to a
person after their death; a member is not removed twice; a terminated benefit is never
resumed. Checked against the stored history in store order, not only the current state."""

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    rule,
)

from app.seed_data import kk_for, nik_for
from domain.application import SYSTEM, make_meta
from domain.errors import DomainError
from domain.household import ASSESSMENT_SOURCES, derived_id
from tests.support.apps import memory_casework

REGION = "157102"


def person(i, birth, sex):
    born = dt.date.fromisoformat(birth)
    return {"nik": nik_for(REGION, born, sex, i), "name": f"P{i}", "birth_date": birth, "sex": sex}


HEADS = [person(1, "1970-01-01", "M"), person(2, "1972-02-02", "F")]
PEOPLE = [
    person(10, "1990-03-03", "F"),
    person(11, "1991-04-04", "M"),
    person(12, "1995-05-05", "F"),
]
KKS = [kk_for(REGION, dt.date(2020, 1, 1), 1), kk_for(REGION, dt.date(2020, 1, 1), 2)]
SLOW = settings(
    max_examples=40,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def meta():
    return make_meta(SYSTEM, "test")


def all_events(app):
    """Every stored event of the application, in store order."""
    notifications = app.recorder.select_notifications(start=1, limit=1_000_000)
    return [app.mapper.to_domain_event(n) for n in notifications]


class Households(RuleBasedStateMachine):
    benefits = Bundle("benefits")

    @initialize()
    def start(self):
        self.app = memory_casework()
        # A program without restrictions, so grants exercise the household's own rules.
        self.app.define_program(
            {
                "code": "BPNT",
                "name": "Bantuan Pangan Non Tunai",
                "opd": "DINSOS",
                "funding": "APBN",
                "kind": "bansos",
                "rules": {},
                "effective_from": "2020-01-01",
            },
            meta(),
        )
        self.households = []
        for head, kk in zip(HEADS, KKS, strict=True):
            stored = self.app.register_household(
                {
                    "kk_number": kk,
                    "kecamatan": "Telanaipura",
                    "kelurahan": "Telanaipura",
                    "address": "Jl. Test",
                    "rt": "001",
                    "rw": "001",
                    "head": head,
                },
                meta(),
            )
            self.households.append(stored.stream_id)
        self.dead: set[str] = set()
        self.terminated: set[tuple[str, str]] = set()

    def teardown(self):
        self.app.close()

    def member(self, h, nik):
        return self.app.get_household(self.households[h]).members.get(nik)

    def where(self, p, h):
        """Mostly the household the person is in (so rules hit), sometimes any other."""
        found = [i for i in range(len(self.households)) if self.member(i, p["nik"])]
        return found[0] if found and h < 3 else h % 2

    def active_in(self, nik):
        return [
            h
            for h in range(len(self.households))
            if (self.member(h, nik) or {}).get("status") == "active"
        ]

    @rule(p=st.sampled_from(PEOPLE), h=st.integers(0, 1))
    def add(self, p, h):
        elsewhere = self.active_in(p["nik"])
        try:
            self.app.add_member(
                {"household_id": self.households[h], "person": p, "relationship": "famili_lain"},
                meta(),
            )
        except DomainError as error:
            assert elsewhere or p["nik"] in self.dead, error
        else:
            assert not elsewhere and p["nik"] not in self.dead

    @rule(
        p=st.sampled_from(PEOPLE),
        h=st.integers(0, 3),
        kind=st.sampled_from(["moved_out", "other", "deceased"]),
    )
    def remove(self, p, h, kind):
        h = self.where(p, h)
        before = self.member(h, p["nik"])
        cmd = {
            "household_id": self.households[h],
            "nik": p["nik"],
            "kind": kind,
            "effective_date": "2025-01-01",
        }
        try:
            self.app.remove_member(cmd, meta())
        except DomainError as error:
            assert before is None or before["status"] != "active"
            assert error.code == (
                "member.not_found" if before is None else "member.already_removed"
            )
        else:
            assert before is not None and before["status"] == "active"
            if kind == "deceased":
                self.dead.add(p["nik"])
            # removing the same member again is always refused
            with pytest.raises(DomainError) as again:
                self.app.remove_member(cmd, meta())
            assert again.value.code == "member.already_removed"

    @rule(p=st.sampled_from(PEOPLE + HEADS), h=st.integers(0, 3))
    def die(self, p, h):
        h = self.where(p, h)
        try:
            self.app.record_death(
                {
                    "household_id": self.households[h],
                    "nik": p["nik"],
                    "date_of_death": "2025-02-01",
                },
                meta(),
            )
        except DomainError:
            assert (self.member(h, p["nik"]) or {}).get("status") != "active"
        else:
            self.dead.add(p["nik"])

    @rule(target=benefits, p=st.sampled_from(PEOPLE + HEADS), h=st.integers(0, 3))
    def grant(self, p, h):
        h = self.where(p, h)
        try:
            stored = self.app.grant_benefit(
                {
                    "household_id": self.households[h],
                    "nik": p["nik"],
                    "program": "BPNT",
                    "period_start": "2025-01-01",
                    "period_end": "2025-12-31",
                    "amount": 100,
                },
                meta(),
            )
        except DomainError as error:
            if p["nik"] in self.dead:
                assert error.code in ("person.deceased", "member.not_found", "member.not_active")
            return ("", "")
        assert p["nik"] not in self.dead
        return (stored.stream_id, derived_id(stored.stream_id, "benefit", stored.version))

    @rule(b=benefits, verb=st.sampled_from(["suspend", "resume", "terminate"]))
    def change(self, b, verb):
        hid, benefit_id = b
        if not hid:
            return
        cmd = {"household_id": hid, "benefit_id": benefit_id, "effective_date": "2025-06-01"}
        try:
            getattr(self.app, f"{verb}_benefit")(cmd, meta())
        except DomainError as error:
            if b in self.terminated:
                assert error.code == "benefit.terminated"
        else:
            assert b not in self.terminated
            if verb == "terminate":
                self.terminated.add(b)

    @rule(b=consumes(benefits))
    def forget(self, b):
        """Lets the bundle shrink, so sequences also revisit fresh benefits."""

    @invariant()
    def one_active_household_per_person(self):
        for p in PEOPLE + HEADS:
            active = self.active_in(p["nik"])
            assert len(active) <= 1
            holder = self.app.household_id_for_nik(p["nik"])
            if active:
                assert str(holder) == self.households[active[0]]
            elif p["nik"] not in self.dead:
                assert holder is None

    @invariant()
    def history_has_no_grant_after_death_and_no_change_after_termination(self):
        dead, terminated = set(), set()
        for event in all_events(self.app):
            name = type(event).__name__
            if name == "DeathRecorded" or (name == "MemberRemoved" and event.kind == "deceased"):
                dead.add(event.nik)
            elif name == "BenefitGranted":
                assert event.nik not in dead
            elif name == "BenefitTerminated":
                terminated.add(event.benefit_id)
            elif name in ("BenefitResumed", "BenefitSuspended"):
                assert event.benefit_id not in terminated
            elif name in ("MemberAdded", "MemberRejoined"):
                assert event.person["nik"] not in dead


TestHouseholds = Households.TestCase
TestHouseholds.settings = SLOW


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(ASSESSMENT_SOURCES),
            st.sampled_from(["2025-Q1", "2025-Q2"]),
            st.integers(1, 10),
        ),
        max_size=12,
    )
)
def test_an_assessment_only_ever_replaces_its_own_source_and_period(assessments):
    app = memory_casework()
    try:
        hid = app.register_household(
            {
                "kk_number": KKS[0],
                "kecamatan": "Telanaipura",
                "kelurahan": "Telanaipura",
                "address": "Jl. Test",
                "rt": "001",
                "rw": "001",
                "head": HEADS[0],
            },
            meta(),
        ).stream_id
        expected = {}
        for source, period, desil in assessments:
            app.record_welfare_assessment(
                {
                    "household_id": hid,
                    "source": source,
                    "desil": desil,
                    "period": period,
                    "reference": "r",
                },
                meta(),
            )
            expected[(source, period)] = desil
        state = app.get_household(hid).as_dict()["assessments"]
        got = {(s, a["period"]): a["desil"] for s, rows in state.items() for a in rows}
        assert got == expected
        assert app.get_household(hid).version == 1 + len(assessments)
    finally:
        app.close()
