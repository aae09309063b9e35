"""Every fact that opens a review, carried out by the policies on the in-memory store, and
what a reviewer then sees: the review, its deadline (14 days from when the fact was
recorded), its decision, and the benefit suspended or ended. Grant rules are not the subject
here (they are tested in test_grant_rules.py), so grants skip them."""

import datetime as dt

import pytest

from adapters.codec import Codec, MemoryKeyRing
from app.seed_data import kk_for, nik_for
from consumers.policies import ReviewBook, execute, replay, store_envelopes
from domain.application import SYSTEM, Casework, make_meta
from domain.catalog import seed_catalog
from domain.city import today
from domain.errors import DomainError

REGION = "157101"


def person(name, birth, sex, serial):
    return {
        "nik": nik_for(REGION, dt.date.fromisoformat(birth), sex, serial),
        "name": name,
        "birth_date": birth,
        "sex": sex,
    }


HEAD = person("Budi Santoso", "1980-01-01", "M", 1)
WIFE = person("Siti Aminah", "1985-03-02", "F", 2)
SON = person("Andi", "2000-02-03", "M", 4)


class NoGrantRules(Casework):
    def check_program_rules(self, household, cmd):
        return None


def meta(**kwargs):
    return make_meta(SYSTEM, "ui", **kwargs)


@pytest.fixture
def app():
    application = NoGrantRules(
        env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, codec=Codec(MemoryKeyRing())
    )
    seed_catalog(application, meta())
    yield application
    application.close()


@pytest.fixture
def hid(app):
    stored = app.register_household(
        {
            "kk_number": kk_for(REGION, dt.date(2020, 1, 1), 1),
            "kecamatan": "Telanaipura",
            "kelurahan": "Telanaipura",
            "address": "Jl. Sultan Agung No. 12",
            "rt": "001",
            "rw": "002",
            "head": HEAD,
        },
        meta(),
    )
    for member, relationship in ((WIFE, "istri"), (SON, "anak")):
        app.add_member(
            {"household_id": stored.stream_id, "person": member, "relationship": relationship},
            meta(),
        )
    return stored.stream_id


def do(app, command, hid, **cmd):
    return app.execute(command, {"household_id": hid, **cmd}, meta())


def grant(app, hid, who, program, start="2026-01-01", end="2026-12-31"):
    do(
        app,
        "GrantBenefit",
        hid,
        nik=who["nik"],
        program=program,
        period_start=start,
        period_end=end,
        amount=300000,
    )
    return list(app.get_household(hid).benefits)[-1]


def react(app, day=None):
    """The policies over the whole store (idempotent), carried out."""
    outcomes = [execute(app, action) for action in replay(app, day=day or today())]
    assert set(outcomes) <= {"done"}


def reviews(app, hid):
    """(program, holder, cause, status, decision) of every review, in benefit order."""
    household = app.get_household(hid)
    return [
        (b["program"], b["nik"], r["cause"], r["status"], r["decision"])
        for b in household.benefits.values()
        for r in b["reviews"]
    ]


def benefit(app, hid, benefit_id):
    return app.get_household(hid).benefits[benefit_id]


def expected_deadline():
    return (today() + dt.timedelta(days=14)).isoformat()


# --- NIB ------------------------------------------------------------------------------------


def test_an_nib_reviews_the_kks_household_level_benefits_of_programs_excluding_holders(app, hid):
    kjb = grant(app, hid, HEAD, "KJB")  # household-level (head), excludes NIB holders
    grant(app, hid, WIFE, "PKH")  # national: does not exclude NIB holders (docs/nib-rule.md)
    grant(app, hid, SON, "PBI-JK")
    do(
        app,
        "RegisterNib",
        hid,
        nik=WIFE["nik"],
        nib="1234567890123",
        business_name="Warung",
        registered_on="2026-03-01",
    )
    react(app)

    assert reviews(app, hid) == [("KJB", HEAD["nik"], "nib", "open", None)]
    review = benefit(app, hid, kjb)["reviews"][0]
    # 14 days from the day the NIB was recorded, not from its registration date in March
    assert review["deadline"] == expected_deadline()


def test_an_nib_revoked_again_withdraws_its_review_and_a_new_nib_opens_another(app, hid):
    kjb = grant(app, hid, HEAD, "KJB")
    do(
        app,
        "RegisterNib",
        hid,
        nik=HEAD["nik"],
        nib="1234567890123",
        business_name="Warung",
        registered_on="2026-03-01",
    )
    react(app)
    do(app, "RevokeNib", hid, nik=HEAD["nik"], nib="1234567890123", revoked_on="2026-04-01")
    react(app)

    assert reviews(app, hid) == [("KJB", HEAD["nik"], "nib", "closed", "withdrawn")]
    react(app)  # a replay of the whole history opens nothing again
    assert len(benefit(app, hid, kjb)["reviews"]) == 1

    do(
        app,
        "RegisterNib",
        hid,
        nik=HEAD["nik"],
        nib="9876543210987",
        business_name="Bengkel",
        registered_on="2026-05-01",
    )
    react(app)
    assert [r[3:] for r in reviews(app, hid)] == [
        ("closed", "withdrawn"),
        ("open", None),
    ]


def test_an_nib_revoked_while_another_is_held_keeps_the_review(app, hid):
    grant(app, hid, HEAD, "KJB")
    for nib, day in (("1234567890123", "2026-03-01"), ("9876543210987", "2026-03-05")):
        do(
            app,
            "RegisterNib",
            hid,
            nik=WIFE["nik"],
            nib=nib,
            business_name="Warung",
            registered_on=day,
        )
    react(app)
    do(app, "RevokeNib", hid, nik=WIFE["nik"], nib="1234567890123", revoked_on="2026-04-01")
    react(app)

    assert reviews(app, hid) == [("KJB", HEAD["nik"], "nib", "open", None)]


# --- death ------------------------------------------------------------------------------------


def test_a_death_ends_the_deceaseds_own_benefits_and_reviews_household_level_ones(app, hid):
    kjb = grant(app, hid, HEAD, "KJB")
    pbi = grant(app, hid, HEAD, "PBI-JK")
    do(app, "RecordDeath", hid, nik=HEAD["nik"], date_of_death="2026-02-10")
    react(app)

    ended = benefit(app, hid, pbi)
    assert ended["status"] == "terminated"
    assert ended["history"][-1]["effective_date"] == "2026-02-10"
    assert "deceased" in ended["history"][-1]["reason"]
    assert reviews(app, hid) == [("KJB", HEAD["nik"], "death", "open", None)]
    assert benefit(app, hid, kjb)["reviews"][0]["deadline"] == expected_deadline()


def test_a_death_reported_late_ends_a_grant_recorded_earlier_that_started_after_it(app, hid):
    later = grant(app, hid, SON, "PBI-JK", start="2026-06-01")
    do(app, "RecordDeath", hid, nik=SON["nik"], date_of_death="2026-03-01")
    react(app)

    ended = benefit(app, hid, later)
    assert ended["status"] == "terminated"
    # it would have begun after the death: it ends where it starts, so nothing is ever due
    assert ended["history"][-1]["effective_date"] == "2026-06-01"
    assert ended["history"][-1]["reason_code"] == "deceased"


def test_a_death_reported_after_a_later_suspension_ends_the_benefit_from_that_change(app, hid):
    pbi = grant(app, hid, SON, "PBI-JK")
    do(
        app,
        "SuspendBenefit",
        hid,
        benefit_id=pbi,
        effective_date="2026-05-01",
        reason_code="data_invalid",
    )
    do(app, "RecordDeath", hid, nik=SON["nik"], date_of_death="2026-03-01")
    react(app)  # every action "done": none refused for a date before the last change

    ended = benefit(app, hid, pbi)
    assert ended["status"] == "terminated"
    assert ended["history"][-1]["effective_date"] == "2026-05-01"


def test_the_last_members_death_ends_household_level_benefits_too(app, hid):
    for member in (WIFE, SON):
        app.remove_member(
            {
                "household_id": hid,
                "nik": member["nik"],
                "kind": "other",
                "effective_date": "2026-01-15",
            },
            meta(),
        )
    kjb = grant(app, hid, HEAD, "KJB")
    do(app, "RecordDeath", hid, nik=HEAD["nik"], date_of_death="2026-02-10")
    react(app)

    assert benefit(app, hid, kjb)["status"] == "terminated"


# --- verification, objection, moving out, graduation --------------------------------------------


@pytest.mark.parametrize("outcome", ["not_found", "moved", "deceased", "invalid"])
def test_a_verification_not_confirming_the_family_reviews_its_benefits(app, hid, outcome):
    grant(app, hid, HEAD, "KJB")
    grant(app, hid, WIFE, "PKH")
    do(
        app,
        "RecordVerification",
        hid,
        outcome=outcome,
        visited_on="2026-04-01",
        verifier="Tim Verval 3",
        notes=None,
    )
    react(app)

    assert [(r[0], r[2]) for r in reviews(app, hid)] == [
        ("KJB", "verification"),
        ("PKH", "verification"),
    ]


def test_a_valid_verification_opens_no_review(app, hid):
    grant(app, hid, HEAD, "KJB")
    do(
        app,
        "RecordVerification",
        hid,
        outcome="valid",
        visited_on="2026-04-01",
        verifier="Tim Verval 3",
        notes=None,
    )
    react(app)

    assert reviews(app, hid) == []


def _objection(app, hid, resolution):
    do(
        app,
        "FileObjection",
        hid,
        objector_nik=WIFE["nik"],
        grounds="Mampu",
        filed_on="2026-04-01",
        photo_reference="foto-1",
        latitude=-1.61,
        longitude=103.61,
    )
    objection_id = list(app.get_household(hid).objections)[-1]
    do(
        app,
        "ResolveObjection",
        hid,
        objection_id=objection_id,
        resolution=resolution,
        resolved_on="2026-04-05",
    )


def test_an_upheld_objection_reviews_the_households_benefits_a_rejected_one_does_not(app, hid):
    grant(app, hid, HEAD, "KJB")
    _objection(app, hid, "rejected")
    react(app)
    assert reviews(app, hid) == []

    _objection(app, hid, "upheld")
    react(app)
    assert [(r[0], r[2]) for r in reviews(app, hid)] == [("KJB", "objection")]


def test_a_member_moving_out_reviews_their_own_benefits(app, hid):
    grant(app, hid, HEAD, "KJB")
    grant(app, hid, SON, "PBI-JK")
    app.remove_member(
        {
            "household_id": hid,
            "nik": SON["nik"],
            "kind": "moved_out",
            "effective_date": "2026-04-01",
        },
        meta(),
    )
    react(app)

    assert reviews(app, hid) == [("PBI-JK", SON["nik"], "moved_out", "open", None)]


def test_a_graduation_reviews_the_graduates_and_the_households_aid_not_the_program(app, hid):
    grant(app, hid, HEAD, "KJB")
    grant(app, hid, WIFE, "PBI-JK")
    grant(app, hid, SON, "PBI-JK")
    grant(app, hid, SON, "UMKM-NAIK-KELAS")
    do(
        app,
        "EnrollEmpowerment",
        hid,
        nik=SON["nik"],
        program="UMKM-NAIK-KELAS",
        enrolled_on="2026-02-01",
    )
    enrollment_id = list(app.get_household(hid).enrollments)[-1]
    do(
        app,
        "CompleteEmpowerment",
        hid,
        enrollment_id=enrollment_id,
        outcome="graduated",
        completed_on="2026-06-01",
    )
    react(app)

    assert [(r[0], r[1], r[2]) for r in reviews(app, hid)] == [
        ("KJB", HEAD["nik"], "graduation"),
        ("PBI-JK", SON["nik"], "graduation"),
    ]


# --- deciding, and the overdue sweep --------------------------------------------------------


def _nib_review(app, hid):
    kjb = grant(app, hid, HEAD, "KJB")
    do(
        app,
        "RegisterNib",
        hid,
        nik=HEAD["nik"],
        nib="1234567890123",
        business_name="Warung",
        registered_on="2026-03-01",
    )
    react(app)
    return kjb, benefit(app, hid, kjb)["reviews"][0]["review_id"]


@pytest.mark.parametrize(
    ("decision", "status"),
    [("keep", "active"), ("suspend", "suspended"), ("terminate", "terminated")],
)
def test_a_decision_closes_the_review_and_changes_the_benefit(app, hid, decision, status):
    kjb, review_id = _nib_review(app, hid)
    app.execute(
        "DecideReview",
        {"household_id": hid, "review_id": review_id, "decision": decision},
        meta(reason="Usaha masih berjalan"),
    )

    assert benefit(app, hid, kjb)["status"] == status
    assert reviews(app, hid) == [("KJB", HEAD["nik"], "nib", "closed", decision)]
    with pytest.raises(DomainError) as twice:
        app.execute(
            "DecideReview",
            {"household_id": hid, "review_id": review_id, "decision": "keep"},
            meta(reason="lagi"),
        )
    assert twice.value.code == "review.not_open"


def test_an_unknown_review_or_decision_is_refused_naming_the_field(app, hid):
    _, review_id = _nib_review(app, hid)
    cases = [
        ({"review_id": "00000000-0000-0000-0000-000000000000", "decision": "keep"}, "review_id"),
        ({"review_id": review_id, "decision": "pause"}, "decision"),
    ]
    for cmd, field in cases:
        with pytest.raises(DomainError) as refused:
            app.execute("DecideReview", {"household_id": hid, **cmd}, meta(reason="x"))
        assert refused.value.field == field


def test_the_sweep_marks_a_review_overdue_once_after_its_deadline(app, hid):
    kjb, review_id = _nib_review(app, hid)
    deadline = dt.date.fromisoformat(benefit(app, hid, kjb)["reviews"][0]["deadline"])

    book = ReviewBook()
    for envelope in store_envelopes(app, "1571"):
        book.learn(envelope)
    assert book.due(deadline) == []  # the deadline day itself still counts
    due = book.due(deadline + dt.timedelta(days=1))
    assert [a.cmd["review_id"] for a in due] == [review_id]
    assert execute(app, due[0]) == "done"
    assert execute(app, due[0]) == "done"  # twice: already marked, nothing more stored

    marks = [e for e in store_envelopes(app, "1571") if e["type"] == "BenefitReviewOverdue"]
    assert len(marks) == 1
    review = benefit(app, hid, kjb)["reviews"][0]
    assert review["overdue"] and review["status"] == "open"  # still to be decided
