"""The household aggregate: a family on one KK and its members.

Every event carries `meta`: who caused it (actor id, role, OPD), why, through
what (source), when it happened in the world (occurred_at) and the version of
its data schema. When it was stored is the event's own timestamp.

Command methods check the rules against the current state, then trigger a private
`@event` method; the event methods only apply what happened, so replaying them (or
loading a snapshot) gives the same state. The state holds only dicts, lists, str,
int, float, bool and None, so snapshots transcode to JSON.

Identifiers of things inside a household (benefits, empowerment enrolments,
objections) are derived, not random: `derived_id(household_id, kind, version)` =
uuid5(household_id, f"{kind}:{version}") where version is the version of the event
that created the thing, i.e. the `version` a stored command answers. So
`benefit_id = derived_id(stream_id, "benefit", stored.version)`; the id is also in the
event's data.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

from eventsourcing.domain import Aggregate, event

from domain import personal_data, upcasting
from domain.city import WIB, today
from domain.errors import Conflict, DomainError, NotFound
from domain.identity import PROVINCE_CODES, nik_problems
from domain.regions import CITY_LATITUDE, CITY_LONGITUDE, TENANT_CODE, kelurahan_matches

RELATIONSHIPS = (
    "istri",
    "suami",
    "anak",
    "menantu",
    "cucu",
    "orang_tua",
    "mertua",
    "famili_lain",
    "lainnya",
)
HEAD = "kepala_keluarga"
SPOUSES = ("istri", "suami")
ADULT_AGE = 17  # KTP age (UU Adminduk); a married person is adult too
EARLIEST_BIRTH = dt.date(1900, 1, 1)  # an earlier birth date is a typing error

MEMBER_STATUSES = ("active", "moved_out", "deceased", "removed")
REMOVAL_KINDS = {"moved_out": "moved_out", "deceased": "deceased", "other": "removed"}
ARRIVAL_TYPES = ("born_here", "pindah_datang")
ASSESSMENT_SOURCES = ("DTSEN", "DTKS", "P3KE", "VERVAL")
# The benefit flags a source's listing may mark as received (RecordSourceListing's `benefits`).
LISTING_BENEFITS = ("PKH", "BPNT", "PBI_JK", "BPUM", "BST", "SEMBAKO")
# The flags each source's files carry (reference-data.md, "File layouts seen in the field"):
# what a source does not record, it cannot disagree on (DTSEN and verval record no aid).
SOURCE_BENEFITS = {
    "DTKS": ("PKH", "BPNT", "PBI_JK"),  # Bansos_Pkh, Bansos_Bpnt, Pbi_Jkn
    "P3KE": ("PKH", "BPNT", "BPUM", "BST", "SEMBAKO"),  # penerima_*
    "DTSEN": (),
    "VERVAL": (),
}
# The sources whose listing names the family's members (reference-data.md, "File layouts"):
# a field verification (VERVAL) names only the person met, so what it lists says nothing of
# who belongs to the family, and it cannot disagree on membership.
MEMBER_SOURCES = ("DTSEN", "DTKS", "P3KE")
# A listed member's relationship: the Casework codes, the head's included.
LISTING_RELATIONSHIPS = (HEAD, *RELATIONSHIPS)
VERIFICATION_OUTCOMES = ("valid", "invalid", "moved", "not_found", "deceased")
BENEFIT_STATUSES = ("active", "suspended", "terminated")
# what opens a review of a benefit (consumers.policies): an NIB, a death (household-level
# benefits), a field verification that did not confirm the family, an upheld objection, a
# member moving out, a graduation from empowerment
REVIEW_CAUSES = ("nib", "death", "verification", "objection", "moved_out", "graduation")
# DecideReview: keep closes the review; suspend and terminate change the benefit too
REVIEW_DECISIONS = ("keep", "suspend", "terminate")
# a policy closes a review whose cause went away (the NIB revoked again)
REVIEW_WITHDRAWN = "withdrawn"
# Why a benefit is suspended, resumed or terminated: the code list, declared once (the schemas,
# the forms and the catalogs follow). "other" needs the free-text reason.
BENEFIT_CHANGE_REASONS = (
    "no_longer_eligible",  # tidak lagi memenuhi syarat (desil, rules)
    "conditions_not_met",  # kewajiban program tidak dipenuhi (e.g. PKH attendance)
    "deceased",  # penerima meninggal
    "moved_away",  # pindah ke luar kota
    "nib_holder",  # memiliki NIB
    "double_receipt",  # menerima bantuan ganda
    "data_invalid",  # data tidak valid (verval)
    "graduated",  # graduasi, sudah mandiri
    "recipient_request",  # atas permintaan penerima
    "issue_resolved",  # masalah sudah selesai (resuming)
    "other",  # lainnya: the free-text reason says what
)
# The reason code a decided review gives the benefit's change, by what opened the review.
REVIEW_REASON_CODES = {
    "nib": "nib_holder",
    "death": "deceased",
    "verification": "data_invalid",
    "objection": "no_longer_eligible",
    "moved_out": "moved_away",
    "graduation": "graduated",
}
EMPOWERMENT_OUTCOMES = ("completed", "graduated", "dropped_out")
OBJECTION_RESOLUTIONS = ("upheld", "rejected")
OBJECTION_DAYS = 14

# SplitFamily: a mover's relationship on the new KK, by the new head's relationship on the old
# KK and the mover's own there (a married child leaving with spouse and children, the common
# case); None: the new head's spouse (istri or suami by sex); anything not listed: famili_lain.
SPLIT_RELATIONSHIPS: dict[str, dict[str, str | None]] = {
    "anak": {"menantu": None, "cucu": "anak"},
    "istri": {"anak": "anak"},
    "suami": {"anak": "anak"},
    "orang_tua": {"orang_tua": None, "mertua": None},
    "mertua": {"orang_tua": None, "mertua": None},
    "famili_lain": {},
    "lainnya": {},
    "menantu": {"anak": None, "cucu": "anak"},
    "cucu": {},
}


# ChangeHead: a member's relationship to the new head, by the new head's relationship to the
# old head and the member's own (the KK's relationships are relative to its head). Where the
# KK cannot tell (the old head's menantu, when a son heads the family: his wife, or a
# sibling's spouse?), nothing is listed: the relationship stays and is flagged for review
# (`Household.relationships_to_review`) until a CorrectMember sets or confirms it.
HEAD_CHANGE_RELATIONSHIPS: dict[str, dict[str, str | None]] = {
    "istri": {
        "anak": "anak",
        "menantu": "menantu",
        "cucu": "cucu",
        "orang_tua": "mertua",
        "mertua": "orang_tua",
        "famili_lain": "famili_lain",
        "lainnya": "lainnya",
    },
    "anak": {
        "istri": "orang_tua",
        "suami": "orang_tua",
        "anak": "famili_lain",  # a brother or sister
        "orang_tua": "famili_lain",  # a grandparent
        "mertua": "famili_lain",
        "famili_lain": "famili_lain",
        "lainnya": "lainnya",
    },
    # a parent heads the family again (a young head died): the other parent is the new
    # head's spouse (None: istri or suami by sex), the old head's children grandchildren
    "orang_tua": {
        "istri": "menantu",
        "suami": "menantu",
        "anak": "cucu",
        "orang_tua": None,
        "mertua": "famili_lain",
        "lainnya": "lainnya",
    },
    "mertua": {
        "istri": "anak",
        "suami": "anak",
        "anak": "cucu",
        "mertua": None,
        "orang_tua": "famili_lain",
        "lainnya": "lainnya",
    },
}
HEAD_CHANGE_RELATIONSHIPS["suami"] = HEAD_CHANGE_RELATIONSHIPS["istri"]
# the old head's relationship to the new one, by the new head's to the old (else famili_lain;
# None: istri or suami by sex)
OLD_HEAD_RELATIONSHIPS: dict[str, str | None] = {
    "istri": None,
    "suami": None,
    "anak": "orang_tua",
    "orang_tua": "anak",
    "mertua": "menantu",
    "menantu": "mertua",
}


def _by_sex(relationship: str | None, member: dict[str, Any]) -> str:
    if relationship is None:
        return "istri" if member["sex"] == "F" else "suami"
    return relationship


def old_head_relationship(new_head: dict[str, Any], old_head: dict[str, Any]) -> str:
    """The old head's relationship to the new one: the spouse of a spouse, the parent of a
    child, the child of a parent, the parent-in-law of a child-in-law, else famili_lain."""
    if new_head["relationship"] not in OLD_HEAD_RELATIONSHIPS:
        return "famili_lain"
    return _by_sex(OLD_HEAD_RELATIONSHIPS[new_head["relationship"]], old_head)


def split_relationship(new_head: dict[str, Any], mover: dict[str, Any]) -> str:
    """A mover's relationship to the new head on the new KK (see SPLIT_RELATIONSHIPS)."""
    found = SPLIT_RELATIONSHIPS.get(new_head["relationship"], {}).get(
        mover["relationship"], "famili_lain"
    )
    if found is None:
        return "istri" if mover["sex"] == "F" else "suami"
    return found


# Every code the household use cases raise (DomainError 422, Conflict 409, NotFound 404),
# for the web layer to translate. NIK and KK format codes come from domain.identity.
ERROR_CODES = (
    # lookups and concurrency
    "household.not_found",
    "person.not_found",
    "version.stale",
    "nik.taken",
    "nik.unavailable",  # an erased person's NIK: never registered again
    "kk.taken",
    # membership
    "relationship.unknown",
    "nik.already_member",
    "member.not_found",
    "member.not_active",
    "member.already_removed",
    "member.is_head",
    "member.already_head",
    "member.not_adult",
    "member.older_than_parent",
    "head.not_adult",
    "birth_date.too_old",
    "removal.kind_unknown",
    "person.deceased",
    # correcting a member's data (CorrectMember)
    "correction.empty",
    "correction.unchanged",
    "correction.nik_disagrees",
    "relationship.of_head",  # the head's relationship is kepala_keluarga (ChangeHead)
    # ChangeHead's stated relationships
    "relationship.of_new_head",  # the new head's own is kepala_keluarga
    "relationship.stated_twice",
    "birth_date.after_death",  # a deceased member's corrected birth date after their death
    # dates and plain values
    "date.in_future",
    "date.too_far",
    "date.before_birth",
    "date.before_family",  # a move, a field visit or an objection before anyone in it was born
    "date.before_start",
    "value.required",
    # identity
    "arrival.type_unknown",
    "arrival.arrived_on_required",
    "arrival.after_issue",
    "arrival.born_elsewhere",
    "ktp.too_young",
    "region_code.format",
    "region_code.unknown",
    "identity.already_linked",
    "sex.invalid",
    "birth_year.out_of_range",
    # business
    "nib.format",
    "nib.already_registered",
    "nib.not_found",
    "nib.already_revoked",
    # welfare
    "assessment.source_unknown",
    "desil.out_of_range",
    "period.format",
    "period.out_of_range",
    "verification.outcome_unknown",
    "listing.duplicate",
    "listing.benefit_unknown",
    "listing.member_duplicate",
    # benefits
    "period.end_before_start",
    "amount.negative",
    "benefit.not_found",
    "benefit.terminated",
    "benefit.not_active",
    "benefit.not_suspended",
    "benefit.date_outside_period",
    "benefit.date_before_last_change",
    "reason_code.unknown",
    "review.cause_unknown",
    "review.already_open",
    "review.not_found",
    "review.not_open",
    "review.decision_unknown",
    "review.not_due",
    # splitting a family (SplitFamily)
    "split.head_not_moving",
    "split.head_stays",
    # empowerment
    "enrollment.not_found",
    "enrollment.already_open",
    "enrollment.already_completed",
    "enrollment.outcome_unknown",
    "enrollment.not_empowerment",
    # objections
    "objection.not_found",
    "objection.not_open",
    "objection.resolution_unknown",
    "objection.past_deadline",
    "objection.not_due",
    "objection.other_kelurahan",
    "objection.kelurahan_required",  # an objector not in the register: where they live
    "kelurahan.unknown",
    "coordinates.out_of_range",
    "coordinates.outside_city",
    # privacy (UU PDP): restriction of processing
    "restriction.already",
    "restriction.not_restricted",
    # privacy (UU PDP): erasure
    "erasure.unavailable",
    "erasure.already",
    "exemption.unknown",
    "exemption.not_erasure",
)
# UU PDP No. 27/2022 article 15(1): the grounds on which a data subject's rights, erasure
# among them, may be refused in the public interest.
ERASURE_EXEMPTIONS = (
    "national_defense",  # a. pertahanan dan keamanan nasional
    "law_enforcement",  # b. proses penegakan hukum
    "state_administration",  # c. kepentingan umum dalam rangka penyelenggaraan negara
    "financial_supervision",  # d. pengawasan sektor jasa keuangan, moneter, sistem pembayaran
    "statistics_research",  # e. statistik dan penelitian ilmiah
)

_INDEX_NAMESPACE = uuid.UUID("0f3d5c1e-7d55-4c51-9b8e-6a3f1f0b2c71")
_NIB = re.compile(r"^[0-9]{13}$")
_PERIOD = re.compile(r"^[0-9]{4}-Q[1-4]$")
_REGION = re.compile(r"^(?:[0-9]{4}|[0-9]{6})$")


def new_benefit(
    benefit_id: str, nik: str | None, program: str, period_start: str, period_end: str, amount: int
) -> dict[str, Any]:
    """A benefit as granted: active from its start, no review yet (`nik` None: a person
    without a NIK yet, domain.homeless)."""
    return {
        "benefit_id": benefit_id,
        "nik": nik,
        "program": program,
        "period_start": period_start,
        "period_end": period_end,
        "amount": amount,
        "status": "active",
        "history": [{"status": "active", "effective_date": period_start}],
        "reviews": [],
    }


def status_on(benefit: dict[str, Any], day: dt.date) -> str:
    """The benefit's status in force on that day: its last change whose effective date has
    come (a suspension, resumption or termination recorded ahead takes effect on its date,
    not when it was recorded; `benefit["status"]` is the status after every change recorded,
    the scheduled ones included). The grant's own status holds before any change."""
    history = benefit.get("history") or [{"status": benefit["status"]}]
    status = history[0]["status"]
    for step in history[1:]:
        if _date(step["effective_date"]) <= day:
            status = step["status"]
    return status


def runs_on(benefit: dict[str, Any], day: dt.date) -> bool:
    """Whether the benefit is received on that day: its period covers the day and it is active
    then (`status_on`). One whose period has ended, or has not begun, is not, though no event
    said so, as the program lists and the cross-OPD view count it."""
    in_period = _date(benefit["period_start"]) <= day <= _date(benefit["period_end"])
    return in_period and status_on(benefit, day) == "active"


def scheduled_changes(benefit: dict[str, Any], day: dt.date) -> list[dict[str, Any]]:
    """The benefit's changes recorded to take effect after that day, in order (each a step of
    its history: status, effective date, reason)."""
    return [
        step for step in (benefit.get("history") or [])[1:] if _date(step["effective_date"]) > day
    ]


def with_change(history: list[dict[str, Any]], step: dict[str, Any]) -> list[dict[str, Any]]:
    """A benefit's history with one more change: the changes recorded before it to take effect
    after its date are replaced by it (a later decision from an earlier day: they never take
    effect), so the steps' dates only grow. The grant stays. Every reader of the changes
    (projections.beneficiaries, projections.overview, projections.reconciliation) keeps the
    same rule (`replaced_by`)."""
    day = step["effective_date"]
    return [
        *history[:1],
        *(s for s in history[1:] if not replaced_by(s["effective_date"], day)),
        step,
    ]


def replaced_by(scheduled: str, day: str) -> bool:
    """Whether a change from `scheduled` (an ISO day) is replaced by one recorded after it from
    `day`: when it would take effect later."""
    return scheduled > day


def status_before(benefit: dict[str, Any], effective_date: str) -> str:
    """The status a change from `effective_date` finds the benefit in: the one in force that
    day once the changes it replaces (those dated after it, still to come) are gone; its
    status after every change when one of those is already in force (nothing is replaced:
    the change would follow them, and its date is refused, `in_force_after`)."""
    day = _date(effective_date)
    if in_force_after(benefit, day):
        return benefit["status"]
    return status_on(benefit, day)


def in_force_after(benefit: dict[str, Any], day: dt.date) -> list[dict[str, Any]]:
    """The changes dated after `day` that are already in force today: a change from `day`
    would replace them, and what has taken effect is not replaced."""
    return [
        step for step in scheduled_changes(benefit, day) if _date(step["effective_date"]) <= today()
    ]


def derived_id(household_id: uuid.UUID | str, kind: str, version: int) -> str:
    """The id of a benefit, enrolment or objection created by the event at `version`."""
    return str(uuid.uuid5(uuid.UUID(str(household_id)), f"{kind}:{version}"))


def listing_content(
    source: str,
    period: str,
    kk_number: str,
    members: list[dict[str, Any]],
    desil: int | None,
    benefits: list[str],
) -> dict[str, Any]:
    """What a source's listing says of a family for a period, whatever its reference: the
    same again is a duplicate (`record_source_listing`)."""
    return {
        "source": source,
        "period": period,
        "kk_number": kk_number,
        "members": sorted(
            (
                {
                    "nik": m["nik"],
                    "relationship": m["relationship"],
                    "deceased": bool(m["deceased"]),
                }
                for m in members
            ),
            key=lambda m: m["nik"],
        ),
        "desil": desil,
        "benefits": sorted(set(benefits)),
    }


# The last day a benefit, a rule or an agreement may run to: the views count days past it
# (9999-12-31 and a day after it is no date), and nothing the city plans reaches so far.
LATEST_DAY = dt.date(2100, 12, 31)

# A source's period (`YYYY-Qn`) lies between the first national listing of poor households
# (BPS's PSE 2005, for the direct cash aid) and the quarter the fact is recorded in.
EARLIEST_PERIOD_YEAR = 2005


def period_problem(period: Any, on: dt.date) -> str | None:
    """What is wrong with a source's period, recorded on the day `on`: its form
    (`period.format`), or a year before the first listing or a quarter not begun by then
    (`period.out_of_range`); None when it is fine."""
    if not isinstance(period, str) or not _PERIOD.fullmatch(period):
        return "period.format"
    year, quarter = int(period[:4]), int(period[-1])
    if year < EARLIEST_PERIOD_YEAR or dt.date(year, 3 * quarter - 2, 1) > on:
        return "period.out_of_range"
    return None


def marriage_day(meta: dict[str, Any]) -> str | None:
    """The day an event shows a marriage from: the day it happened when the command said so
    (an explicit occurred_at); None when it did not (recorded later, married since some day
    not known: counted as married on any earlier day, as the KK showed them)."""
    return occurred_on(meta).isoformat() if meta.get("occurred_at_given") else None


def occurred_on(meta: dict[str, Any]) -> dt.date:
    """The day the command says it happened in the world (its meta), else today."""
    occurred_at = meta.get("occurred_at")
    if not occurred_at:
        return today()
    moment = dt.datetime.fromisoformat(str(occurred_at).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        return moment.date()
    return moment.astimezone(WIB).date()


def _date(value: str) -> dt.date:
    return dt.date.fromisoformat(value)


def _not_future(field: str, value: str) -> None:
    if _date(value) > today():
        raise DomainError(field, "date.in_future")


def _is_number(value: Any) -> bool:
    """16 digits: a NIK or a KK number as sources list them."""
    return isinstance(value, str) and len(value) == 16 and value.isdigit() and value.isascii()


def _required(field: str, value: Any) -> None:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise DomainError(field, "value.required")


def age_on(birth_date: str, day: dt.date) -> int:
    born = _date(birth_date)
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def check_birth_date(person: dict[str, Any], field: str) -> None:
    """A birth date before 1900 is refused (the schema refuses it at the edge too)."""
    if _date(person["birth_date"]) < EARLIEST_BIRTH:
        raise DomainError(f"{field}.birth_date", "birth_date.too_old")


def check_head(head: dict[str, Any], on_day: dt.date, field: str = "head") -> None:
    """A new family's head is 17 or older on the day it is registered: a family is registered
    with its head alone, so a marriage cannot be shown yet (a married head under 17 is
    registered by the spouse as head, and ChangeHead follows)."""
    check_birth_date(head, field)
    if age_on(head["birth_date"], on_day) < ADULT_AGE:
        raise DomainError(f"{field}.birth_date", "head.not_adult")


def check_objector_kelurahan(kelurahan: str, given: str | None, registered: bool) -> None:
    """The kelurahan an objector says they live in (a name or code of Kota Jambi's) is the
    household's: required of an objector the register does not know, checked whenever given."""
    if given is None or not str(given).strip():
        if not registered:
            raise DomainError("objector_kelurahan", "objection.kelurahan_required")
        return
    named = {name for _, name in kelurahan_matches(str(given))}
    if not named:
        raise DomainError("objector_kelurahan", "kelurahan.unknown")
    if kelurahan not in named:
        raise DomainError("objector_kelurahan", "objection.other_kelurahan")


def person_record(person: dict[str, Any], relationship: str) -> dict[str, Any]:
    return {
        "nik": person["nik"],
        "name": person["name"],
        "birth_date": person["birth_date"],
        "sex": person["sex"],
        "relationship": relationship,
        "status": "active",
        "status_since": None,  # the effective date of the last status change
        "date_of_death": None,
        "ktp_issued_on": None,
        "arrival": None,  # {"type", "arrived_on", "origin_region_code"}
        "residence_since": None,  # arrival date, or the birth date when born here
        "provisional_person_ids": [],
    }


def correction_problems(nik: str, birth_date: str | None, sex: str | None) -> list[tuple[str, str]]:
    """The corrected fields that would disagree with the NIK (its birth-date digits, and 40
    added to the day for women), by field: the agreement PersonSchema checks."""
    problems = []
    if birth_date is not None:
        codes = {p.code for p in nik_problems(nik, birth_date=_date(birth_date))}
        if "nik.birth_date_mismatch" in codes:
            problems.append(("birth_date", "correction.nik_disagrees"))
    if sex is not None:
        if "nik.sex_mismatch" in {p.code for p in nik_problems(nik, sex=sex)}:
            problems.append(("sex", "correction.nik_disagrees"))
    return problems


def identity_facts(identity: dict[str, Any] | None) -> dict[str, Any]:
    """The KTP facts a person brings from a previous KK, or none."""
    if not identity or not (identity.get("ktp_issued_on") or identity.get("arrival")):
        return {}
    arrival = identity.get("arrival")
    return {
        "ktp_issued_on": identity.get("ktp_issued_on"),
        "arrival": dict(arrival) if arrival else None,
        "residence_since": identity.get("residence_since"),
    }


# What a household keeps of each member (its snapshot's `members` values).
MEMBER_FIELDS = tuple(person_record({"nik": "", "name": "", "birth_date": "", "sex": ""}, ""))


class Household(Aggregate):
    """A family on one KK (Kartu Keluarga), with its members keyed by NIK, and everything
    recorded about it: identity, business, welfare, benefits and casework."""

    # v2: each assessment keeps the KK number it was made for (snapshots; domain.upcasting)
    # v3: each benefit review has a review_id, the event that triggered it, and a decision
    # v4: relationships_to_review, the members whose relationship a ChangeHead left in doubt
    # v5: married_since, from when the KK showed each member married (IssueKtp's age rule)
    class_version = 5
    upcast_v1_v2 = staticmethod(upcasting.household_v1_v2)
    upcast_v2_v3 = staticmethod(upcasting.household_v2_v3)
    upcast_v3_v4 = staticmethod(upcasting.household_v3_v4)
    upcast_v4_v5 = staticmethod(upcasting.household_v4_v5)

    @event("HouseholdRegistered")
    def __init__(
        self,
        kk_number: str,
        kecamatan: str,
        kelurahan: str,
        address: str,
        rt: str,
        rw: str,
        head: dict[str, Any],
        meta: dict[str, Any],
        head_identity: dict[str, Any] | None = None,
    ) -> None:
        """`head_identity`: the head's KTP facts from a previous KK (see `add_member`)."""
        self.kk_number = kk_number
        self.kecamatan = kecamatan
        self.kelurahan = kelurahan
        self.address = address
        self.rt = rt
        self.rw = rw
        self.head_nik: str = head["nik"]
        self.members: dict[str, dict[str, Any]] = {head["nik"]: person_record(head, HEAD)}
        self.members[head["nik"]].update(identity_facts(head_identity))
        self.kk_history: list[dict[str, Any]] = [
            {"kk_number": kk_number, "since": meta.get("occurred_at")}
        ]
        self.nibs: list[dict[str, Any]] = []
        self.assessments: list[dict[str, Any]] = []
        self.verifications: list[dict[str, Any]] = []
        self.benefits: dict[str, dict[str, Any]] = {}
        self.enrollments: dict[str, dict[str, Any]] = {}
        self.notes: list[dict[str, Any]] = []
        self.objections: dict[str, dict[str, Any]] = {}
        self.erasure_refusals: list[dict[str, Any]] = []  # article 15 decisions
        # SplitFamily: the KK this family split from, and the families that split from it
        self.split_from: dict[str, Any] | None = None
        self.splits: list[dict[str, Any]] = []
        # active members whose relationship is still relative to a former head (ChangeHead)
        self.relationships_to_review: list[str] = []
        # NIK -> the day the KK first showed the member married (a spouse or menantu, or a
        # head with a spouse), None when not known; kawin or pernah kawin: it stays (IssueKtp)
        self.married_since: dict[str, str | None] = {}

    # ---- helpers -------------------------------------------------------------------------

    def _next_id(self, kind: str) -> str:
        return derived_id(self.id, kind, self.version + 1)

    def member(self, nik: str, field: str = "nik") -> dict[str, Any]:
        try:
            return self.members[nik]
        except KeyError:
            raise DomainError(field, "member.not_found") from None

    def living_member(self, nik: str, field: str = "nik") -> dict[str, Any]:
        """An active member; a deceased one is `person.deceased`, any other `member.not_active`."""
        member = self.member(nik, field)
        if member["status"] == "deceased":
            raise DomainError(field, "person.deceased")
        if member["status"] != "active":
            raise DomainError(field, "member.not_active")
        return member

    def check_not_before_family(self, field: str, day: str) -> None:
        """A fact of the whole family (a move, a field visit, an objection) is not dated before
        anyone in it was born: the birth of its oldest member, whatever their status (an
        erased member's is unknown). Not its registration: an import registers a family on the
        day it runs, and the visits and moves the sources knew of came before."""
        known = [m["birth_date"] for m in self.members.values() if m.get("birth_date")]
        if known and _date(day) < min(_date(born) for born in known):
            raise DomainError(field, "date.before_family")

    def active_niks(self) -> list[str]:
        return [nik for nik, m in self.members.items() if m["status"] == "active"]

    def benefit(self, benefit_id: str) -> dict[str, Any]:
        try:
            return self.benefits[str(benefit_id)]
        except KeyError:
            raise DomainError("benefit_id", "benefit.not_found") from None

    # ---- membership ----------------------------------------------------------------------

    def parents(self) -> list[dict[str, Any]]:
        """The head and the head's spouses, active: the parents of an `anak` on the KK."""
        return [
            m
            for nik, m in self.members.items()
            if m["status"] == "active"
            and (nik == self.head_nik or m["relationship"] in SPOUSES)
            and m.get("birth_date")
        ]

    def married_on(self, nik: str, day: dt.date) -> bool:
        """Whether the KK showed this member married on `day` (kawin or pernah kawin, UU
        Adminduk art. 63: a widow or a divorced spouse was married): a spouse or a child's
        spouse (menantu) from the day they joined as one, a head from the day a spouse
        joined; a marriage recorded without the day it happened counts on any day."""
        married = self.__dict__.get("married_since") or {}
        if nik not in married:
            return False
        since = married[nik]
        return since is None or _date(since) <= day

    def _record_marriage(self, nik: str, relationship: str, since: str | None) -> None:
        """A member joined (or was set) as a spouse or menantu: married from `since`; a
        spouse's head too."""
        married = self.__dict__.setdefault("married_since", {})
        if relationship in (*SPOUSES, "menantu"):
            married.setdefault(nik, since)
        if relationship in SPOUSES and self.head_nik != nik:
            married.setdefault(self.head_nik, since)

    def add_member(
        self,
        person: dict[str, Any],
        relationship: str,
        meta: dict[str, Any],
        identity: dict[str, Any] | None = None,
    ) -> None:
        """`identity`: the person's KTP facts (ktp_issued_on, arrival, residence_since) as
        recorded on their previous KK; they follow the person into this one."""
        if relationship not in RELATIONSHIPS:
            raise DomainError("relationship", "relationship.unknown")
        check_birth_date(person, "person")
        if relationship == "anak" and any(
            _date(person["birth_date"]) <= _date(p["birth_date"]) for p in self.parents()
        ):
            raise DomainError("person.birth_date", "member.older_than_parent")
        carried = identity_facts(identity)
        known = self.members.get(person["nik"])
        if known is None:
            self._member_added(person, relationship, meta, **carried)
        elif known["status"] == "active":
            raise Conflict("nik", "nik.already_member")
        elif known["status"] == "deceased":
            raise DomainError("person.nik", "person.deceased")
        else:
            # a former member comes back: a new event, so MemberAdded stays once per NIK
            self._member_rejoined(person, relationship, meta, **carried)

    @event("MemberAdded")
    def _member_added(
        self,
        person: dict[str, Any],
        relationship: str,
        meta: dict[str, Any],
        ktp_issued_on: str | None = None,
        arrival: dict[str, Any] | None = None,
        residence_since: str | None = None,
    ) -> None:
        self.members[person["nik"]] = person_record(person, relationship)
        self._record_marriage(person["nik"], relationship, marriage_day(meta))
        if ktp_issued_on or arrival:
            self.members[person["nik"]].update(
                ktp_issued_on=ktp_issued_on,
                arrival=dict(arrival) if arrival else None,
                residence_since=residence_since,
            )

    @event("MemberRejoined")
    def _member_rejoined(
        self,
        person: dict[str, Any],
        relationship: str,
        meta: dict[str, Any],
        ktp_issued_on: str | None = None,
        arrival: dict[str, Any] | None = None,
        residence_since: str | None = None,
    ) -> None:
        member = self.members[person["nik"]]
        if person["nik"] in self.__dict__.get("relationships_to_review", ()):
            self.relationships_to_review.remove(person["nik"])  # stated again on rejoining
        member.update(
            name=person["name"],
            relationship=relationship,
            status="active",
            status_since=None,
        )
        self._record_marriage(person["nik"], relationship, marriage_day(meta))
        if ktp_issued_on or arrival:  # a KTP issued while on another KK
            member.update(
                ktp_issued_on=ktp_issued_on,
                arrival=dict(arrival) if arrival else None,
                residence_since=residence_since,
            )

    def remove_member(self, nik: str, kind: str, effective_date: str, meta: dict[str, Any]) -> None:
        if kind not in REMOVAL_KINDS:
            raise DomainError("kind", "removal.kind_unknown")
        member = self.member(nik)
        if member["status"] != "active":
            raise DomainError("nik", "member.already_removed")
        if nik == self.head_nik and len(self.active_niks()) > 1:
            raise DomainError("nik", "member.is_head")
        if _date(effective_date) < _date(member["birth_date"]):
            raise DomainError("effective_date", "date.before_birth")
        self._member_removed(nik, kind, REMOVAL_KINDS[kind], effective_date, meta)

    @event("MemberRemoved")
    def _member_removed(
        self, nik: str, kind: str, status: str, effective_date: str, meta: dict[str, Any]
    ) -> None:
        member = self.members[nik]
        member["status"] = status
        member["status_since"] = effective_date
        if status == "deceased":
            member["date_of_death"] = effective_date

    def head_change_relationships(self, nik: str) -> tuple[dict[str, str], list[str]]:
        """What making this member the head restates (HEAD_CHANGE_RELATIONSHIPS): each active
        member's relationship to the new head where the KK leaves no doubt, the old head's
        among them; and the active members it leaves in doubt (to state, or to review)."""
        new_head = self.members[nik]
        old_head = self.members[self.head_nik]
        derived = {nik: HEAD, self.head_nik: old_head_relationship(new_head, old_head)}
        known = HEAD_CHANGE_RELATIONSHIPS.get(new_head["relationship"], {})
        flagged = set(self.__dict__.get("relationships_to_review", ()))
        doubtful = []
        for member_nik in self.active_niks():
            if member_nik in derived:
                continue
            member = self.members[member_nik]
            # a relationship already in doubt is not derived from
            if member_nik not in flagged and member["relationship"] in known:
                derived[member_nik] = _by_sex(known[member["relationship"]], member)
            else:
                doubtful.append(member_nik)
        return derived, doubtful

    def change_head(
        self,
        nik: str,
        new_kk_number: str,
        meta: dict[str, Any],
        stated: list[dict[str, str]] | None = None,
    ) -> None:
        """The new head's relationship is kepala_keluarga; the other active members' are the
        ones `stated` (`[{"nik", "relationship"}]`, as the new KK shows them), else follow
        from their relationships to the old head where the KK leaves no doubt
        (HEAD_CHANGE_RELATIONSHIPS); the others keep theirs, flagged for review."""
        if nik == self.head_nik:
            raise DomainError("nik", "member.already_head")
        new_head = self.living_member(nik)
        if new_head["relationship"] not in SPOUSES and (
            age_on(new_head["birth_date"], occurred_on(meta)) < ADULT_AGE
        ):
            raise DomainError("nik", "member.not_adult")
        if new_kk_number == self.kk_number:
            raise Conflict("new_kk_number", "kk.taken")
        relationships, _ = self.head_change_relationships(nik)
        relationships.update(self._stated_relationships(nik, stated or []))
        self._head_changed(
            nik=nik,
            previous_head_nik=self.head_nik,
            new_kk_number=new_kk_number,
            previous_kk_number=self.kk_number,
            relationships=relationships,
            meta=meta,
        )

    def _stated_relationships(self, nik: str, stated: list[dict[str, str]]) -> dict[str, str]:
        """The relationships to the new head (`nik`) a ChangeHead states, each of another active
        member, once, with a known code; a child (anak) born after the new head."""
        out: dict[str, str] = {}
        for index, entry in enumerate(stated):
            field = f"relationships.{index}"
            member = self.living_member(entry["nik"], f"{field}.nik")
            if entry["nik"] == nik:
                raise DomainError(f"{field}.nik", "relationship.of_new_head")
            if entry["nik"] in out:
                raise DomainError(f"{field}.nik", "relationship.stated_twice")
            if entry["relationship"] not in RELATIONSHIPS:
                raise DomainError(f"{field}.relationship", "relationship.unknown")
            born, head_born = member.get("birth_date"), self.members[nik].get("birth_date")
            if (
                entry["relationship"] == "anak"
                and born
                and head_born
                and _date(born) <= _date(head_born)
            ):
                raise DomainError(f"{field}.relationship", "member.older_than_parent")
            out[entry["nik"]] = entry["relationship"]
        return out

    @event("HeadChanged")
    def _head_changed(
        self,
        nik: str,
        previous_head_nik: str,
        new_kk_number: str,
        previous_kk_number: str,
        relationships: dict[str, str],
        meta: dict[str, Any],
    ) -> None:
        """An active member whose relationship the event does not restate still holds it
        relative to the old head: it is flagged for review (also for events stored before
        ChangeHead restated the others); one it restates (stated in the ChangeHead) is not."""
        for member_nik, relationship in relationships.items():
            self.members[member_nik]["relationship"] = relationship
            if relationship in SPOUSES:  # the new head's spouse: married before, day not known
                married = self.__dict__.setdefault("married_since", {})
                married.setdefault(member_nik, married.get(nik))
                married.setdefault(nik, None)
        review = self.__dict__.setdefault("relationships_to_review", [])
        review[:] = [member_nik for member_nik in review if member_nik not in relationships]
        for member_nik, member in self.members.items():
            if (
                member["status"] == "active"
                and member_nik not in relationships
                and member_nik not in review
            ):
                review.append(member_nik)
        self.head_nik = nik
        self.kk_number = new_kk_number
        self.kk_history.append({"kk_number": new_kk_number, "since": meta.get("occurred_at")})

    def record_death(self, nik: str, date_of_death: str, meta: dict[str, Any]) -> None:
        member = self.living_member(nik)
        if _date(date_of_death) < _date(member["birth_date"]):
            raise DomainError("date_of_death", "date.before_birth")
        _not_future("date_of_death", date_of_death)
        self._death_recorded(nik, date_of_death, meta)

    @event("DeathRecorded")
    def _death_recorded(self, nik: str, date_of_death: str, meta: dict[str, Any]) -> None:
        member = self.members[nik]
        member["status"] = "deceased"
        member["status_since"] = date_of_death
        member["date_of_death"] = date_of_death

    # ---- rectification (UU PDP art. 6) ---------------------------------------------------

    def correct_member(
        self,
        nik: str,
        name: str | None,
        birth_date: str | None,
        sex: str | None,
        meta: dict[str, Any],
        relationship: str | None = None,
    ) -> None:
        """A member's name, birth date or sex as their KTP or KK shows them (the data subject's
        right to rectification; a deceased member's too, the death staying), or their
        relationship to the head as the KK shows it (hubungan dalam keluarga: after a
        ChangeHead, relative to the new head). The NIK is never changed here: a birth date or
        sex that disagrees with it is refused (`correction.nik_disagrees`), for the NIK is
        corrected through Dukcapil; nor is the head (ChangeHead). Only what differs from the
        record is kept; nothing new is refused."""
        given = {"name": name, "birth_date": birth_date, "sex": sex, "relationship": relationship}
        if all(value is None for value in given.values()):
            raise DomainError("name", "correction.empty")
        # a deceased member's recorded facts too (a misspelt name on the death record); the
        # death stays. One who moved out or was removed is corrected on their new KK.
        member = self.member(nik)
        if member["status"] not in ("active", "deceased"):
            raise DomainError("nik", "member.not_active")
        if sex is not None and sex not in ("M", "F"):
            raise DomainError("sex", "sex.invalid")
        if relationship is not None:
            if relationship not in RELATIONSHIPS:
                raise DomainError("relationship", "relationship.unknown")
            if nik == self.head_nik:
                raise DomainError("relationship", "relationship.of_head")
        if birth_date is not None:
            if _date(birth_date) < EARLIEST_BIRTH:
                raise DomainError("birth_date", "birth_date.too_old")
            _not_future("birth_date", birth_date)
            died = member.get("date_of_death")
            if died and _date(birth_date) > _date(died):
                raise DomainError("birth_date", "birth_date.after_death")
        problems = correction_problems(nik, birth_date, sex)
        if problems:
            raise DomainError(*problems[0])
        corrected = {**member, "relationship": relationship or member["relationship"]}
        born = _date(birth_date or member["birth_date"])
        if (birth_date is not None or relationship is not None) and not self._born_after_parents(
            corrected, born
        ):
            raise DomainError(
                "birth_date" if birth_date is not None else "relationship",
                "member.older_than_parent",
            )
        changed = {k: v for k, v in given.items() if v is not None and v != member.get(k)}
        if relationship is not None and nik in self.__dict__.get("relationships_to_review", ()):
            changed["relationship"] = relationship  # a relationship in doubt confirmed
        if not changed:
            first = next(k for k, v in given.items() if v is not None)
            raise DomainError(first, "correction.unchanged")
        self._member_corrected(
            nik=nik,
            name=changed.get("name"),
            birth_date=changed.get("birth_date"),
            sex=changed.get("sex"),
            relationship=changed.get("relationship"),
            meta=meta,
        )

    def _born_after_parents(self, member: dict[str, Any], born: dt.date) -> bool:
        """Whether this birth date keeps a child (anak) born after the head and the head's
        spouses, and a head or spouse born before every child, as AddMember holds them."""
        if member["relationship"] == "anak":
            return all(
                born > _date(p["birth_date"]) for p in self.parents() if p["nik"] != member["nik"]
            )
        if member["nik"] == self.head_nik or member["relationship"] in SPOUSES:
            return all(
                born < _date(m["birth_date"])
                for m in self.members.values()
                if m["relationship"] == "anak"
                and m["status"] == "active"
                and m.get("birth_date")
                and m["nik"] != member["nik"]
            )
        return True

    class MemberCorrected(upcasting.SchemaVersioned, Aggregate.Event):
        """v2 adds `relationship`: the member's relationship to the head, corrected (None:
        not corrected; every v1 event)."""

        class_version = 2
        upcast_v1_v2 = staticmethod(upcasting.member_corrected_v1_v2)

        nik: str
        name: str | None
        birth_date: str | None
        sex: str | None
        relationship: str | None
        meta: dict[str, Any]

    @event(MemberCorrected)
    def _member_corrected(
        self,
        nik: str,
        name: str | None,
        birth_date: str | None,
        sex: str | None,
        relationship: str | None,
        meta: dict[str, Any],
    ) -> None:
        member = self.members[nik]
        for field, value in (
            ("name", name),
            ("birth_date", birth_date),
            ("sex", sex),
            ("relationship", relationship),
        ):
            if value is not None:
                member[field] = value
        if relationship is not None and nik in self.__dict__.get("relationships_to_review", ()):
            self.relationships_to_review.remove(nik)
        if relationship is not None:  # the KK was wrong since some day not known
            self._record_marriage(nik, relationship, None)

    # ---- splitting a family (pecah KK) ---------------------------------------------------

    def split_family(
        self,
        members: list[str],
        new_head_nik: str,
        new_kk_number: str,
        effective_date: str,
        new_household_id: uuid.UUID,
        meta: dict[str, Any],
    ) -> list[dict[str, Any]]:
        """Active members leave with a new head to form a new family on its own KK (the new
        household, `new_household_id`, is created from what this answers: each mover's record
        with the relationship on the new KK, the head first). The head of this KK stays (a
        head who leaves changes head first: ChangeHead), so this KK keeps its head."""
        if not members:
            raise DomainError("members", "value.required")
        for nik in members:
            self.living_member(nik, "members")
            if nik == self.head_nik:
                raise DomainError("members", "split.head_stays")
        if new_head_nik not in members:
            raise DomainError("new_head_nik", "split.head_not_moving")
        new_head = self.members[new_head_nik]
        _not_future("effective_date", effective_date)
        for nik in members:
            born = self.members[nik].get("birth_date")
            if born and _date(effective_date) < _date(born):
                raise DomainError("effective_date", "date.before_birth")
        if new_head.get("birth_date") and age_on(new_head["birth_date"], _date(effective_date)) < (
            ADULT_AGE
        ):
            raise DomainError("new_head_nik", "head.not_adult")
        if new_kk_number in {k["kk_number"] for k in self.kk_history}:
            raise Conflict("new_kk_number", "kk.taken")
        movers = []
        for nik in [new_head_nik, *(n for n in members if n != new_head_nik)]:
            member = self.members[nik]
            relationship = HEAD if nik == new_head_nik else split_relationship(new_head, member)
            movers.append(
                {
                    **{k: member[k] for k in ("nik", "name", "birth_date", "sex")},
                    "relationship": relationship,
                    **identity_facts(member),
                }
            )
        self._family_split(
            members=[m["nik"] for m in movers],
            new_household_id=str(new_household_id),
            new_kk_number=new_kk_number,
            effective_date=effective_date,
            meta=meta,
        )
        return movers

    @event("FamilySplit")
    def _family_split(
        self,
        members: list[str],
        new_household_id: str,
        new_kk_number: str,
        effective_date: str,
        meta: dict[str, Any],
    ) -> None:
        for nik in members:
            member = self.members[nik]
            member["status"] = "moved_out"
            member["status_since"] = effective_date
        self.__dict__.setdefault("splits", []).append(
            {
                "household_id": new_household_id,
                "kk_number": new_kk_number,
                "members": list(members),
                "effective_date": effective_date,
            }
        )

    class HouseholdSplitOff(Aggregate.Created):
        """A new family formed by members who split from another KK (SplitFamily): the head
        and the other movers, each with the KTP facts they had there, and the KK it came
        from."""

        kk_number: str
        kecamatan: str
        kelurahan: str
        address: str
        rt: str
        rw: str
        head: dict[str, Any]
        head_identity: dict[str, Any] | None
        members: list[dict[str, Any]]
        split_from: dict[str, Any]
        effective_date: str
        meta: dict[str, Any]

        def apply(self, aggregate: Any) -> None:
            for mover in self.members:
                record = person_record(mover, mover["relationship"])
                record.update(identity_facts(mover))
                aggregate.members[mover["nik"]] = record
                # married on the old KK since some day this one does not know
                aggregate._record_marriage(mover["nik"], mover["relationship"], None)
            aggregate.split_from = {**self.split_from, "effective_date": self.effective_date}

    @classmethod
    def split_off(
        cls,
        origin: Household,
        new_household_id: uuid.UUID,
        movers: list[dict[str, Any]],
        new_kk_number: str,
        effective_date: str,
        place: dict[str, Any],
        meta: dict[str, Any],
    ) -> Household:
        """The new family of `origin.split_family`'s movers (head first), at `place`
        (kecamatan, kelurahan, address, rt, rw), else at the family's old address."""
        head, *others = movers
        where = {
            key: place.get(key) or getattr(origin, key)
            for key in ("kecamatan", "kelurahan", "address", "rt", "rw")
        }
        if place.get("kelurahan"):  # a new place is given whole (the schema checks it)
            where = {key: place[key] for key in where}
        return cls._create(
            cls.HouseholdSplitOff,
            id=new_household_id,
            kk_number=new_kk_number,
            **where,
            head={k: head[k] for k in ("nik", "name", "birth_date", "sex")},
            head_identity=identity_facts(head) or None,
            members=others,
            split_from={"household_id": str(origin.id), "kk_number": origin.kk_number},
            effective_date=effective_date,
            meta=meta,
        )

    # ---- identity ------------------------------------------------------------------------

    def issue_ktp(
        self, nik: str, issued_on: str, arrival: dict[str, Any], meta: dict[str, Any]
    ) -> None:
        member = self.living_member(nik)
        if _date(issued_on) < _date(member["birth_date"]):
            raise DomainError("issued_on", "date.before_birth")
        _not_future("issued_on", issued_on)
        if age_on(member["birth_date"], _date(issued_on)) < ADULT_AGE and not self.married_on(
            nik, _date(issued_on)
        ):
            raise DomainError("issued_on", "ktp.too_young")
        kind = arrival.get("type")
        if kind not in ARRIVAL_TYPES:
            raise DomainError("arrival.type", "arrival.type_unknown")
        if kind == "born_here" and not str(nik).startswith(TENANT_CODE):
            # the NIK's region is where the person was first registered: born here, it is ours
            raise DomainError("arrival.type", "arrival.born_elsewhere")
        if kind == "pindah_datang":
            arrived_on = arrival.get("arrived_on")
            if not arrived_on:
                raise DomainError("arrival.arrived_on", "arrival.arrived_on_required")
            origin = arrival.get("origin_region_code")
            if not origin:
                raise DomainError("arrival.origin_region_code", "value.required")
            if not _REGION.match(str(origin)):
                raise DomainError("arrival.origin_region_code", "region_code.format")
            # a province of Kemendagri, then a regency (and a district) numbered from 01
            if str(origin)[:2] not in PROVINCE_CODES or "00" in (str(origin)[2:4], str(origin)[4:]):
                raise DomainError("arrival.origin_region_code", "region_code.unknown")
            if _date(arrived_on) > _date(issued_on):
                raise DomainError("arrival.arrived_on", "arrival.after_issue")
            if _date(arrived_on) < _date(member["birth_date"]):
                raise DomainError("arrival.arrived_on", "date.before_birth")
            arrival = {"type": kind, "arrived_on": arrived_on, "origin_region_code": str(origin)}
        else:
            arrival = {"type": kind, "arrived_on": None, "origin_region_code": None}
        self._ktp_issued(nik, issued_on, arrival, meta)

    @event("KtpIssued")
    def _ktp_issued(
        self, nik: str, issued_on: str, arrival: dict[str, Any], meta: dict[str, Any]
    ) -> None:
        member = self.members[nik]
        member["ktp_issued_on"] = issued_on
        member["arrival"] = dict(arrival)
        member["residence_since"] = (
            arrival["arrived_on"] if arrival["type"] == "pindah_datang" else member["birth_date"]
        )

    def link_provisional_identity(self, person_id: str, nik: str, meta: dict[str, Any]) -> None:
        member = self.living_member(nik)
        if person_id in member["provisional_person_ids"]:
            raise DomainError("person_id", "identity.already_linked")
        self._provisional_identity_linked(person_id, nik, meta)

    @event("ProvisionalIdentityLinked")
    def _provisional_identity_linked(self, person_id: str, nik: str, meta: dict[str, Any]) -> None:
        self.members[nik]["provisional_person_ids"].append(person_id)

    # ---- business ------------------------------------------------------------------------

    def _open_nib(self, nib: str) -> dict[str, Any] | None:
        for record in self.nibs:
            if record["nib"] == nib and record["revoked_on"] is None:
                return record
        return None

    def register_nib(
        self, nik: str, nib: str, business_name: str, registered_on: str, meta: dict[str, Any]
    ) -> None:
        member = self.living_member(nik)
        if not _NIB.match(str(nib)):
            raise DomainError("nib", "nib.format")
        _required("business_name", business_name)
        _not_future("registered_on", registered_on)
        if _date(registered_on) < _date(member["birth_date"]):
            raise DomainError("registered_on", "date.before_birth")
        if self._open_nib(nib) is not None:
            raise DomainError("nib", "nib.already_registered")
        self._nib_registered(nik, nib, business_name, registered_on, meta)

    @event("NibRegistered")
    def _nib_registered(
        self, nik: str, nib: str, business_name: str, registered_on: str, meta: dict[str, Any]
    ) -> None:
        self.nibs.append(
            {
                "nik": nik,
                "nib": nib,
                "business_name": business_name,
                "registered_on": registered_on,
                "revoked_on": None,
            }
        )

    def revoke_nib(self, nik: str, nib: str, revoked_on: str, meta: dict[str, Any]) -> None:
        self.member(nik)
        record = self._open_nib(nib)
        if record is None or record["nik"] != nik:
            known = any(r["nib"] == nib and r["nik"] == nik for r in self.nibs)
            raise DomainError("nib", "nib.already_revoked" if known else "nib.not_found")
        if _date(revoked_on) < _date(record["registered_on"]):
            raise DomainError("revoked_on", "date.before_start")
        self._nib_revoked(nik, nib, revoked_on, meta)

    @event("NibRevoked")
    def _nib_revoked(self, nik: str, nib: str, revoked_on: str, meta: dict[str, Any]) -> None:
        record = self._open_nib(nib)
        if record is not None:
            record["revoked_on"] = revoked_on

    def holds_nib(self, nik: str) -> bool:
        return any(r["nik"] == nik and r["revoked_on"] is None for r in self.nibs)

    # ---- welfare -------------------------------------------------------------------------

    def record_welfare_assessment(
        self, source: str, desil: int, period: str, reference: str, meta: dict[str, Any]
    ) -> None:
        if source not in ASSESSMENT_SOURCES:
            raise DomainError("source", "assessment.source_unknown")
        if isinstance(desil, bool) or not isinstance(desil, int) or not 1 <= desil <= 10:
            raise DomainError("desil", "desil.out_of_range")
        problem = period_problem(period, occurred_on(meta))
        if problem:
            raise DomainError("period", problem)
        previous = self._assessment(source, period)
        self._welfare_assessed(
            source=source,
            desil=desil,
            period=period,
            reference=reference,
            replaces_desil=None if previous is None else previous["desil"],
            kk_number=self.kk_number,
            meta=meta,
        )

    def _assessment(self, source: str, period: str) -> dict[str, Any] | None:
        for record in self.assessments:
            if record["source"] == source and record["period"] == period:
                return record
        return None

    class WelfareAssessed(upcasting.SchemaVersioned, Aggregate.Event):
        """v2 adds `kk_number`: the KK the family held when assessed (None before v2)."""

        class_version = 2
        upcast_v1_v2 = staticmethod(upcasting.welfare_assessed_v1_v2)

        source: str
        desil: int
        period: str
        reference: str
        replaces_desil: int | None
        kk_number: str | None
        meta: dict[str, Any]

    @event(WelfareAssessed)
    def _welfare_assessed(
        self,
        source: str,
        desil: int,
        period: str,
        reference: str,
        replaces_desil: int | None,
        kk_number: str | None,
        meta: dict[str, Any],
    ) -> None:
        record = {
            "source": source,
            "period": period,
            "desil": desil,
            "reference": reference,
            "kk_number": kk_number,
        }
        previous = self._assessment(source, period)
        if previous is None:
            self.assessments.append(record)
        else:  # the same source's value for the same period only
            previous.update(record)

    # ---- what a source says (imports: domain.commands RecordSourceListing) ----------------

    def record_source_listing(
        self,
        source: str,
        period: str,
        reference: str,
        kk_number: str,
        members: list[dict[str, Any]],
        desil: int | None,
        benefits: list[str],
        meta: dict[str, Any],
    ) -> None:
        """What one source (DTSEN, DTKS, P3KE, VERVAL) lists about this family: a fact about
        the source, nothing more (it records no death, adds no member, grants nothing). The
        same (source, period, reference) again is refused as a duplicate, so an import run
        twice adds nothing."""
        if source not in ASSESSMENT_SOURCES:
            raise DomainError("source", "assessment.source_unknown")
        problem = period_problem(period, occurred_on(meta))
        if problem:
            raise DomainError("period", problem)
        _required("reference", reference)
        if not _is_number(kk_number):
            raise DomainError("kk_number", "kk.format")
        if desil is not None and (
            isinstance(desil, bool) or not isinstance(desil, int) or not 1 <= desil <= 10
        ):
            raise DomainError("desil", "desil.out_of_range")
        unknown = [b for b in benefits if b not in LISTING_BENEFITS]
        if unknown:
            raise DomainError("benefits", "listing.benefit_unknown")
        listed = []
        for at, member in enumerate(members):
            nik = member.get("nik")
            if not _is_number(nik):
                raise DomainError(f"members.{at}.nik", "nik.format")
            if nik in {m["nik"] for m in listed}:
                raise DomainError(f"members.{at}.nik", "listing.member_duplicate")
            if member.get("relationship") not in LISTING_RELATIONSHIPS:
                raise DomainError(f"members.{at}.relationship", "relationship.unknown")
            listed.append(
                {
                    "nik": nik,
                    "relationship": member["relationship"],
                    "deceased": bool(member.get("deceased")),
                }
            )
        key = {"source": source, "period": period, "reference": reference}
        if key in self.__dict__.get("source_listings", []):
            raise Conflict("reference", "listing.duplicate")
        # the same listing again under another reference (the same file renamed) adds nothing
        said = listing_content(source, period, kk_number, listed, desil, benefits)
        if said in self.__dict__.get("listing_contents", []):
            raise Conflict("reference", "listing.duplicate")
        self._source_listing_recorded(
            source=source,
            period=period,
            reference=reference,
            kk_number=kk_number,
            members=listed,
            desil=desil,
            benefits=sorted(set(benefits)),
            meta=meta,
        )

    @event("SourceListingRecorded")
    def _source_listing_recorded(
        self,
        source: str,
        period: str,
        reference: str,
        kk_number: str,
        members: list[dict[str, Any]],
        desil: int | None,
        benefits: list[str],
        meta: dict[str, Any],
    ) -> None:
        # only what tells a duplicate: the listing itself lives in its event (the views read it)
        self.__dict__.setdefault("source_listings", []).append(
            {"source": source, "period": period, "reference": reference}
        )
        self.__dict__.setdefault("listing_contents", []).append(
            listing_content(source, period, kk_number, members, desil, benefits)
        )

    def latest_desil(self, source: str = "DTSEN") -> int | None:
        own = [r for r in self.assessments if r["source"] == source]
        return max(own, key=lambda r: r["period"])["desil"] if own else None

    def relocate(
        self,
        kecamatan: str,
        kelurahan: str,
        address: str,
        rt: str,
        rw: str,
        moved_on: str,
        meta: dict[str, Any],
    ) -> None:
        """The family moves to another address in the city, possibly another kelurahan
        (checked against the region list at the edge)."""
        _required("address", address)
        _not_future("moved_on", moved_on)
        self.check_not_before_family("moved_on", moved_on)
        self._relocated(kecamatan, kelurahan, address, rt, rw, moved_on, meta)

    @event("HouseholdRelocated")
    def _relocated(
        self,
        kecamatan: str,
        kelurahan: str,
        address: str,
        rt: str,
        rw: str,
        moved_on: str,
        meta: dict[str, Any],
    ) -> None:
        self.kecamatan, self.kelurahan = kecamatan, kelurahan
        self.address, self.rt, self.rw = address, rt, rw

    def record_verification(
        self, outcome: str, visited_on: str, verifier: str, notes: str, meta: dict[str, Any]
    ) -> None:
        if outcome not in VERIFICATION_OUTCOMES:
            raise DomainError("outcome", "verification.outcome_unknown")
        _required("verifier", verifier)
        _not_future("visited_on", visited_on)
        self.check_not_before_family("visited_on", visited_on)
        self._verification_recorded(outcome, visited_on, verifier, notes, meta)

    @event("VerificationRecorded")
    def _verification_recorded(
        self, outcome: str, visited_on: str, verifier: str, notes: str, meta: dict[str, Any]
    ) -> None:
        self.verifications.append(
            {"outcome": outcome, "visited_on": visited_on, "verifier": verifier, "notes": notes}
        )

    # ---- benefits ------------------------------------------------------------------------

    def grant_benefit(
        self,
        nik: str,
        program: str,
        period_start: str,
        period_end: str,
        amount: int,
        meta: dict[str, Any],
    ) -> str:
        """Grant a benefit to a living, active member; answers the new benefit_id."""
        self.living_member(nik)
        _required("program", program)
        if _date(period_end) < _date(period_start):
            raise DomainError("period_end", "period.end_before_start")
        if _date(period_end) > LATEST_DAY:
            raise DomainError("period_end", "date.too_far")
        if amount < 0:
            raise DomainError("amount", "amount.negative")
        benefit_id = self._next_id("benefit")
        self._benefit_granted(benefit_id, nik, program, period_start, period_end, amount, meta)
        return benefit_id

    @event("BenefitGranted")
    def _benefit_granted(
        self,
        benefit_id: str,
        nik: str,
        program: str,
        period_start: str,
        period_end: str,
        amount: int,
        meta: dict[str, Any],
    ) -> None:
        self.benefits[benefit_id] = new_benefit(
            benefit_id, nik, program, period_start, period_end, amount
        )

    def _check_benefit_change(
        self, benefit: dict[str, Any], effective_date: str, reason_code: str | None, meta: dict
    ) -> None:
        """A change of a benefit says why (a code of BENEFIT_CHANGE_REASONS; "other" with the
        free-text reason) and takes effect within the benefit's period, not before a change
        already in force today; the changes still to come after its date it replaces
        (`with_change`)."""
        if reason_code is None:
            raise DomainError("reason_code", "value.required")
        if reason_code not in BENEFIT_CHANGE_REASONS:
            raise DomainError("reason_code", "reason_code.unknown")
        if reason_code == "other":
            _required("reason", meta.get("reason"))
        day = _date(effective_date)
        if not _date(benefit["period_start"]) <= day <= _date(benefit["period_end"]):
            raise DomainError("effective_date", "benefit.date_outside_period")
        if in_force_after(benefit, day):  # what has taken effect stays
            raise DomainError("effective_date", "benefit.date_before_last_change")

    def suspend_benefit(
        self,
        benefit_id: str,
        effective_date: str,
        meta: dict[str, Any],
        reason_code: str | None = None,
    ) -> None:
        benefit = self.benefit(benefit_id)
        status = status_before(benefit, effective_date)
        if status == "terminated":
            raise DomainError("benefit_id", "benefit.terminated")
        if status != "active":
            raise DomainError("benefit_id", "benefit.not_active")
        self._check_benefit_change(benefit, effective_date, reason_code, meta)
        self._benefit_suspended(benefit["benefit_id"], effective_date, meta, reason_code)

    @event("BenefitSuspended")
    def _benefit_suspended(
        self,
        benefit_id: str,
        effective_date: str,
        meta: dict[str, Any],
        reason_code: str | None = None,
    ) -> None:
        self._set_benefit_status(benefit_id, "suspended", effective_date, meta, reason_code)

    def resume_benefit(
        self,
        benefit_id: str,
        effective_date: str,
        meta: dict[str, Any],
        reason_code: str | None = None,
    ) -> None:
        benefit = self.benefit(benefit_id)
        status = status_before(benefit, effective_date)
        if status == "terminated":
            raise DomainError("benefit_id", "benefit.terminated")
        if status != "suspended":
            raise DomainError("benefit_id", "benefit.not_suspended")
        if self.members[benefit["nik"]]["status"] == "deceased":
            raise DomainError("benefit_id", "person.deceased")
        self._check_benefit_change(benefit, effective_date, reason_code, meta)
        self._benefit_resumed(benefit["benefit_id"], effective_date, meta, reason_code)

    @event("BenefitResumed")
    def _benefit_resumed(
        self,
        benefit_id: str,
        effective_date: str,
        meta: dict[str, Any],
        reason_code: str | None = None,
    ) -> None:
        self._set_benefit_status(benefit_id, "active", effective_date, meta, reason_code)

    def terminate_benefit(
        self,
        benefit_id: str,
        effective_date: str,
        meta: dict[str, Any],
        reason_code: str | None = None,
    ) -> None:
        benefit = self.benefit(benefit_id)
        if status_before(benefit, effective_date) == "terminated":
            raise DomainError("benefit_id", "benefit.terminated")
        self._check_benefit_change(benefit, effective_date, reason_code, meta)
        self._benefit_terminated(benefit["benefit_id"], effective_date, meta, reason_code)

    @event("BenefitTerminated")
    def _benefit_terminated(
        self,
        benefit_id: str,
        effective_date: str,
        meta: dict[str, Any],
        reason_code: str | None = None,
    ) -> None:
        self._set_benefit_status(benefit_id, "terminated", effective_date, meta, reason_code)
        for review in self.benefits[benefit_id]["reviews"]:
            if review["status"] == "open":
                review["status"] = "closed"

    def _set_benefit_status(
        self,
        benefit_id: str,
        status: str,
        effective_date: str,
        meta: dict[str, Any],
        reason_code: str | None = None,
    ) -> None:
        benefit = self.benefits[benefit_id]
        if status != "terminated" and any(
            step["status"] == "terminated" and replaced_by(step["effective_date"], effective_date)
            for step in benefit["history"][1:]
        ):
            # the termination recorded ahead never takes effect: the reviews it closed (those
            # closed without a decision) are open again, to be decided
            for review in benefit["reviews"]:
                if review["status"] == "closed" and review.get("decision") is None:
                    review["status"] = "open"
        benefit["status"] = status
        benefit["history"] = with_change(
            benefit["history"],
            {
                "status": status,
                "effective_date": effective_date,
                "reason_code": reason_code,  # None in events recorded before reason codes
                "reason": meta.get("reason"),
            },
        )

    def review(self, review_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """The benefit and the review with that id."""
        for benefit in self.benefits.values():
            for review in benefit["reviews"]:
                if review.get("review_id") == str(review_id):
                    return benefit, review
        raise DomainError("review_id", "review.not_found")

    def open_benefit_review(
        self,
        benefit_id: str,
        cause: str,
        deadline: str,
        meta: dict[str, Any],
        trigger: str | None = None,
    ) -> str:
        """Flag a benefit for a person's review (the policies); answers the review_id.
        An open review for the same benefit and cause is not opened twice, nor a second one
        for the same triggering event (a replayed event after its review was closed)."""
        if cause not in REVIEW_CAUSES:
            raise DomainError("cause", "review.cause_unknown")
        benefit = self.benefit(benefit_id)
        if benefit["status"] == "terminated":
            raise DomainError("benefit_id", "benefit.terminated")
        for review in benefit["reviews"]:
            same_trigger = trigger is not None and review.get("trigger") == trigger
            if same_trigger or (review["cause"] == cause and review["status"] == "open"):
                raise DomainError("benefit_id", "review.already_open")
        review_id = self._next_id("review")
        self._benefit_review_opened(
            benefit["benefit_id"], cause, deadline, review_id, trigger, meta
        )
        return review_id

    class BenefitReviewOpened(upcasting.SchemaVersioned, Aggregate.Event):
        """v2 adds `review_id` (derived from the event's version, as before v2) and `trigger`
        (the event that opened it; None before v2)."""

        class_version = 2
        upcast_v1_v2 = staticmethod(upcasting.benefit_review_opened_v1_v2)

        benefit_id: str
        cause: str
        deadline: str
        review_id: str
        trigger: str | None
        meta: dict[str, Any]

    @event(BenefitReviewOpened)
    def _benefit_review_opened(
        self,
        benefit_id: str,
        cause: str,
        deadline: str,
        review_id: str,
        trigger: str | None,
        meta: dict[str, Any],
    ) -> None:
        self.benefits[benefit_id]["reviews"].append(
            {
                "review_id": review_id,
                "cause": cause,
                "deadline": deadline,
                "status": "open",
                "overdue": False,
                "decision": None,
                "trigger": trigger,
            }
        )

    def _open_review(self, review_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
        benefit, review = self.review(review_id)
        if review["status"] != "open":
            raise DomainError("review_id", "review.not_open")
        return benefit, review

    def check_decision(
        self, review_id: str, decision: str, meta: dict[str, Any] | None = None
    ) -> tuple[dict, dict]:
        """The benefit and the open review a decision is about; refuses what cannot be done.
        A suspension or termination takes effect on the decision's day (`occurred_on`) and
        replaces the changes recorded to take effect after it, as any change does."""
        if decision not in REVIEW_DECISIONS:
            raise DomainError("decision", "review.decision_unknown")
        benefit, review = self._open_review(review_id)
        day = occurred_on(meta or {})
        status = status_before(benefit, day.isoformat())
        if decision in ("suspend", "terminate") and status == "terminated":
            raise DomainError("decision", "benefit.terminated")
        if decision == "suspend" and status != "active":
            raise DomainError("decision", "benefit.not_active")
        if decision != "keep" and in_force_after(benefit, day):
            raise DomainError("decision", "benefit.date_before_last_change")
        return benefit, review

    def decide_review(self, review_id: str, decision: str, meta: dict[str, Any]) -> None:
        """A person's decision (DecideReview): keep closes the review; suspend and terminate
        also suspend or terminate the benefit from the day of the decision, with its reason.
        A terminate reaches here only once a second supervisor approved it."""
        benefit, review = self.check_decision(review_id, decision, meta)
        day = occurred_on(meta).isoformat()
        self._benefit_review_decided(benefit["benefit_id"], review["review_id"], decision, meta)
        code = REVIEW_REASON_CODES.get(review["cause"], "other")
        if decision == "suspend":
            self._benefit_suspended(benefit["benefit_id"], day, meta, code)
        elif decision == "terminate":
            self._benefit_terminated(benefit["benefit_id"], day, meta, code)

    def withdraw_review(self, review_id: str, meta: dict[str, Any]) -> None:
        """A policy closes a review whose cause went away (an NIB revoked again)."""
        benefit, review = self._open_review(review_id)
        self._benefit_review_decided(
            benefit["benefit_id"], review["review_id"], REVIEW_WITHDRAWN, meta
        )

    @event("BenefitReviewDecided")
    def _benefit_review_decided(
        self, benefit_id: str, review_id: str, decision: str, meta: dict[str, Any]
    ) -> None:
        for review in self.benefits[benefit_id]["reviews"]:
            if review["review_id"] == review_id:
                review.update(status="closed", decision=decision)

    def mark_review_overdue(self, review_id: str, meta: dict[str, Any]) -> None:
        """The daily sweep: an open review past its deadline (on the day of meta.occurred_at)
        is marked overdue, once."""
        benefit, review = self._open_review(review_id)
        if review["overdue"]:
            raise DomainError("review_id", "review.not_open")
        if review["deadline"] >= occurred_on(meta).isoformat():
            raise DomainError("review_id", "review.not_due")
        self._benefit_review_overdue(benefit["benefit_id"], review["review_id"], meta)

    @event("BenefitReviewOverdue")
    def _benefit_review_overdue(
        self, benefit_id: str, review_id: str, meta: dict[str, Any]
    ) -> None:
        for review in self.benefits[benefit_id]["reviews"]:
            if review["review_id"] == review_id:
                review["overdue"] = True

    # ---- empowerment ---------------------------------------------------------------------

    def enroll_empowerment(
        self, nik: str, program: str, enrolled_on: str, meta: dict[str, Any]
    ) -> str:
        member = self.living_member(nik)
        _required("program", program)
        _not_future("enrolled_on", enrolled_on)
        if _date(enrolled_on) < _date(member["birth_date"]):
            raise DomainError("enrolled_on", "date.before_birth")
        for enrollment in self.enrollments.values():
            if (enrollment["nik"], enrollment["program"], enrollment["outcome"]) == (
                nik,
                program,
                None,
            ):
                raise DomainError("program", "enrollment.already_open")
        enrollment_id = self._next_id("enrollment")
        self._empowerment_enrolled(enrollment_id, nik, program, enrolled_on, meta)
        return enrollment_id

    @event("EmpowermentEnrolled")
    def _empowerment_enrolled(
        self, enrollment_id: str, nik: str, program: str, enrolled_on: str, meta: dict[str, Any]
    ) -> None:
        self.enrollments[enrollment_id] = {
            "enrollment_id": enrollment_id,
            "nik": nik,
            "program": program,
            "enrolled_on": enrolled_on,
            "outcome": None,
            "completed_on": None,
        }

    def complete_empowerment(
        self, enrollment_id: str, outcome: str, completed_on: str, meta: dict[str, Any]
    ) -> None:
        enrollment = self.enrollments.get(str(enrollment_id))
        if enrollment is None:
            raise DomainError("enrollment_id", "enrollment.not_found")
        if enrollment["outcome"] is not None:
            raise DomainError("enrollment_id", "enrollment.already_completed")
        if outcome not in EMPOWERMENT_OUTCOMES:
            raise DomainError("outcome", "enrollment.outcome_unknown")
        if _date(completed_on) < _date(enrollment["enrolled_on"]):
            raise DomainError("completed_on", "date.before_start")
        self._empowerment_completed(enrollment["enrollment_id"], outcome, completed_on, meta)

    @event("EmpowermentCompleted")
    def _empowerment_completed(
        self, enrollment_id: str, outcome: str, completed_on: str, meta: dict[str, Any]
    ) -> None:
        self.enrollments[enrollment_id].update(outcome=outcome, completed_on=completed_on)

    # ---- casework ------------------------------------------------------------------------

    def add_case_note(self, text: str, meta: dict[str, Any]) -> None:
        _required("text", text)
        self._case_note_added(text, meta)

    @event("CaseNoteAdded")
    def _case_note_added(self, text: str, meta: dict[str, Any]) -> None:
        actor = meta.get("actor") or {}
        self.notes.append(
            {"text": text, "author": actor.get("id"), "written_at": meta.get("occurred_at")}
        )

    def file_objection(
        self,
        objector_nik: str,
        grounds: str,
        filed_on: str,
        photo_reference: str,
        latitude: float,
        longitude: float,
        meta: dict[str, Any],
    ) -> str:
        _required("grounds", grounds)
        _required("photo_reference", photo_reference)
        if not -90 <= latitude <= 90:
            raise DomainError("latitude", "coordinates.out_of_range")
        if not -180 <= longitude <= 180:
            raise DomainError("longitude", "coordinates.out_of_range")
        if not (
            CITY_LATITUDE[0] <= latitude <= CITY_LATITUDE[1]
            and CITY_LONGITUDE[0] <= longitude <= CITY_LONGITUDE[1]
        ):  # the photo of a family of the city, taken where it lives
            raise DomainError("latitude", "coordinates.outside_city")
        _not_future("filed_on", filed_on)
        self.check_not_before_family("filed_on", filed_on)
        objection_id = self._next_id("objection")
        deadline = (_date(filed_on) + dt.timedelta(days=OBJECTION_DAYS)).isoformat()
        self._objection_filed(
            objection_id=objection_id,
            objector_nik=objector_nik,
            grounds=grounds,
            filed_on=filed_on,
            photo_reference=photo_reference,
            latitude=latitude,
            longitude=longitude,
            deadline=deadline,
            meta=meta,
        )
        return objection_id

    @event("ObjectionFiled")
    def _objection_filed(
        self,
        objection_id: str,
        objector_nik: str,
        grounds: str,
        filed_on: str,
        photo_reference: str,
        latitude: float,
        longitude: float,
        deadline: str,
        meta: dict[str, Any],
    ) -> None:
        self.objections[objection_id] = {
            "objection_id": objection_id,
            "objector_nik": objector_nik,
            "grounds": grounds,
            "filed_on": filed_on,
            "photo_reference": photo_reference,
            "latitude": latitude,
            "longitude": longitude,
            "deadline": deadline,
            "status": "open",
            "resolution": None,
            "closed_on": None,
        }

    def _open_objection(self, objection_id: str) -> dict[str, Any]:
        objection = self.objections.get(str(objection_id))
        if objection is None:
            raise DomainError("objection_id", "objection.not_found")
        if objection["status"] != "open":
            raise DomainError("objection_id", "objection.not_open")
        return objection

    def resolve_objection(
        self, objection_id: str, resolution: str, resolved_on: str, meta: dict[str, Any]
    ) -> None:
        objection = self._open_objection(objection_id)
        if resolution not in OBJECTION_RESOLUTIONS:
            raise DomainError("resolution", "objection.resolution_unknown")
        if _date(resolved_on) < _date(objection["filed_on"]):
            raise DomainError("resolved_on", "date.before_start")
        if _date(resolved_on) > _date(objection["deadline"]):
            raise DomainError("resolved_on", "objection.past_deadline")
        self._objection_resolved(objection["objection_id"], resolution, resolved_on, meta)

    @event("ObjectionResolved")
    def _objection_resolved(
        self, objection_id: str, resolution: str, resolved_on: str, meta: dict[str, Any]
    ) -> None:
        self.objections[objection_id].update(
            status="resolved", resolution=resolution, closed_on=resolved_on
        )

    def lapse_objection(self, objection_id: str, meta: dict[str, Any]) -> None:
        """The policy: an objection not resolved by its deadline lapses (the day after)."""
        objection = self._open_objection(objection_id)
        if occurred_on(meta) <= _date(objection["deadline"]):
            raise DomainError("objection_id", "objection.not_due")
        self._objection_lapsed(objection["objection_id"], objection["deadline"], meta)

    @event("ObjectionLapsed")
    def _objection_lapsed(self, objection_id: str, deadline: str, meta: dict[str, Any]) -> None:
        self.objections[objection_id].update(status="lapsed", closed_on=deadline)

    # ---- privacy (UU PDP) ----------------------------------------------------------------

    def restrict_processing(self, nik: str, grounds: str, meta: dict[str, Any]) -> None:
        """Restrict the processing of a member's data: only the registry keeps it; no view
        serving a program or an agency may use it (projections.base) until it is lifted.
        Any member may be restricted, whatever their status."""
        member = self.member(nik)
        _required("grounds", grounds)
        if member.get("restricted"):
            raise DomainError("nik", "restriction.already")
        self._processing_restricted(nik, grounds, meta)

    @event("ProcessingRestricted")
    def _processing_restricted(self, nik: str, grounds: str, meta: dict[str, Any]) -> None:
        self.members[nik]["restricted"] = True

    def lift_restriction(self, nik: str, meta: dict[str, Any]) -> None:
        member = self.member(nik)
        if not member.get("restricted"):
            raise DomainError("nik", "restriction.not_restricted")
        self._restriction_lifted(nik, meta)

    @event("RestrictionLifted")
    def _restriction_lifted(self, nik: str, meta: dict[str, Any]) -> None:
        self.members[nik]["restricted"] = False

    def erase_person(self, nik: str, subject: str, reason: str, meta: dict[str, Any]) -> None:
        """Record the erasure of a member's personal data (UU PDP). The use case destroys the
        person's key right after: from then on the member loads as `erased:<subject>` with
        every personal field marked erased, and benefits and history stay as they were."""
        self.member(nik)
        _required("reason", reason)
        self._personal_data_erased(nik, subject, reason, meta.get("approval_id"), meta)

    @event("PersonalDataErased")
    def _personal_data_erased(
        self,
        nik: str,
        subject: str,
        reason: str,
        approval_id: str | None,
        meta: dict[str, Any],
    ) -> None:
        member = self.members[nik]
        member.update(name=personal_data.ERASED, birth_date=None, erased=True)

    def refuse_erasure(
        self, nik: str, exemption: str, note: str, approval_id: str, meta: dict[str, Any]
    ) -> None:
        """Record that an erasure was refused under UU PDP article 15 (public interest)."""
        self.member(nik)
        if exemption not in ERASURE_EXEMPTIONS:
            raise DomainError("exemption", "exemption.unknown")
        _required("note", note)
        self._erasure_refused(nik, exemption, note, approval_id, meta)

    @event("ErasureRefused")
    def _erasure_refused(
        self, nik: str, exemption: str, note: str, approval_id: str, meta: dict[str, Any]
    ) -> None:
        self.__dict__.setdefault("erasure_refusals", []).append(
            {"nik": nik, "exemption": exemption, "approval_id": approval_id, "meta": meta}
        )

    def is_erased(self, nik: str) -> bool:
        return bool(self.members.get(nik, {}).get("erased"))

    def is_restricted(self, nik: str) -> bool:
        """Whether the member's processing is restricted (members recorded before restriction
        existed have no flag: not restricted)."""
        return bool(self.members.get(nik, {}).get("restricted"))

    # ---- reading -------------------------------------------------------------------------

    def as_dict(self) -> dict[str, Any]:
        """The whole state, JSON-friendly, for the API."""
        by_source: dict[str, list[dict[str, Any]]] = {}
        for record in sorted(self.assessments, key=lambda r: (r["source"], r["period"])):
            by_source.setdefault(record["source"], []).append(
                {k: record[k] for k in ("period", "desil", "reference")}
            )
        return {
            "id": str(self.id),
            "version": self.version,
            "kk_number": self.kk_number,
            "kk_history": [dict(k) for k in self.kk_history],
            "kecamatan": self.kecamatan,
            "kelurahan": self.kelurahan,
            "address": self.address,
            "rt": self.rt,
            "rw": self.rw,
            "head_nik": self.head_nik,
            "members": [
                {
                    **m,
                    "restricted": bool(m.get("restricted")),
                    "provisional_person_ids": list(m["provisional_person_ids"]),
                    # still relative to a former head (ChangeHead): to check and correct
                    "relationship_to_review": m["status"] == "active"
                    and nik in (self.__dict__.get("relationships_to_review") or ()),
                }
                for nik, m in self.members.items()
            ],
            "nibs": [dict(n) for n in self.nibs],
            "assessments": by_source,
            "verifications": [dict(v) for v in self.verifications],
            "benefits": [
                {
                    **b,
                    "history": [dict(h) for h in b["history"]],
                    "reviews": [dict(r) for r in b["reviews"]],
                }
                for b in self.benefits.values()
            ],
            "enrollments": [dict(e) for e in self.enrollments.values()],
            "notes": [dict(n) for n in self.notes],
            "objections": [dict(o) for o in self.objections.values()],
            "split_from": dict(self.split_from) if self.__dict__.get("split_from") else None,
            "splits": [dict(s) for s in self.__dict__.get("splits", [])],
        }


class NikIndex(Aggregate):
    """Claims a NIK for one household, so a person is an active member of at most one.

    Removing a member (other than by death) releases the claim; joining a household
    claims it again. A deceased person's claim is never released.
    """

    @staticmethod
    def create_id(nik_key: str) -> uuid.UUID:
        """`nik_key` is the NIK's keyed hash (`Casework.nik_key`), never the NIK."""
        return uuid.uuid5(_INDEX_NAMESPACE, f"nik:{nik_key}")

    @event("NikClaimed")
    def __init__(self, nik_key: str, household_id: uuid.UUID, meta: dict[str, Any]) -> None:
        self.household_id = household_id
        self.active = True
        self.receipts: list[tuple[str, str]] = []

    def release(self, household_id: uuid.UUID, meta: dict[str, Any]) -> None:
        if not self.active or self.household_id != household_id:
            raise NotFound("nik", "member.not_found")
        self._released(household_id, meta)

    @event("NikReleased")
    def _released(self, household_id: uuid.UUID, meta: dict[str, Any]) -> None:
        self.active = False

    def claim_again(self, household_id: uuid.UUID, meta: dict[str, Any]) -> None:
        if self.active:
            raise Conflict("nik", "nik.taken")
        self._claimed_again(household_id, meta)

    @event("NikClaimedAgain")
    def _claimed_again(self, household_id: uuid.UUID, meta: dict[str, Any]) -> None:
        self.household_id = household_id
        self.active = True

    # ---- receipts: the person's benefits on every KK, for the double-receipt rules --------

    def benefit_received(
        self, household_id: uuid.UUID, benefit_id: str, meta: dict[str, Any]
    ) -> None:
        """A benefit granted to this person (saved with the household: two concurrent
        grants to one person conflict here, whatever their KK)."""
        self._benefit_received(str(household_id), benefit_id, meta)

    @event("BenefitReceived")
    def _benefit_received(self, household_id: str, benefit_id: str, meta: dict[str, Any]) -> None:
        self.receipts.append((household_id, benefit_id))

    def receipts_elsewhere(self, household_id: uuid.UUID) -> list[tuple[str, str]]:
        """(household id, benefit id) of the person's benefits granted on other KKs."""
        return [r for r in self.receipts if r[0] != str(household_id)]


class KkIndex(Aggregate):
    """Claims a KK number for one household (a number is never reused)."""

    @staticmethod
    def create_id(kk_key: str) -> uuid.UUID:
        """`kk_key` is the KK number's keyed hash (`Casework.kk_key`)."""
        return uuid.uuid5(_INDEX_NAMESPACE, f"kk:{kk_key}")

    @event("KkClaimed")
    def __init__(self, kk_key: str, household_id: uuid.UUID, meta: dict[str, Any]) -> None:
        self.household_id = household_id
