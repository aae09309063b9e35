"""The commands of contract v1, each declared once.

A declaration says everything the rest of the system derives from it:
- its fields (the marshmallow schema at the edge, `app/schemas.py`, has exactly these);
- whether it waits for a second person's approval (maker-checker);
- its area rule: which kelurahan a case worker must hold (the household's, a given one, a
  kecamatan holding one, and a target kelurahan it moves a family into) and which OPD a
  program manager must be (the OPD given, or of the program named or behind a benefit);
- its UI group and its title and help (English msgids; the catalogs hold the Indonesian);
- its handler: a use case of `Casework` (called with the command and its meta);
- which of its fields are personal data: `domain.personal_data.FIELDS`, by field name.

Field notes: dates are ISO `YYYY-MM-DD` strings, periods `YYYY-Qn`, amounts whole rupiah.
Every command may also carry `expected_version`, `reason` and `occurred_at`; a command whose
`happened_on` names one of its date fields counts, without an explicit occurred_at, from the
start of that day in WIB (`Casework.execute`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from domain.agreement import TERM_FIELDS
from domain.agreement_cases import AgreementCases
from domain.approval_cases import ApprovalCases
from domain.homeless import ProvisionalPerson
from domain.household import Household
from domain.household_cases import HouseholdCases, household_change, person_change
from domain.program_cases import ProgramCases
from domain.provisional_cases import (
    check_link,
    check_provisional_grant,
    check_provisional_termination,
    grant_provisional_benefit,
    link_identity,
)
from domain.texts import N_

Handler = Callable[[Any, dict[str, Any], dict[str, Any]], Any]
COMMON_FIELDS = ("expected_version", "reason", "occurred_at")


class Group(Enum):
    """The groups of the commands page, in the order case workers meet them."""

    MEMBERSHIP = "membership"
    IDENTITY = "identity"
    BUSINESS = "business"
    WELFARE = "welfare"
    PROGRAMS = "programs"
    BENEFITS = "benefits"
    EMPOWERMENT = "empowerment"
    CASEWORK = "casework"
    APPROVALS = "approvals"
    PRIVACY = "privacy"
    AGENCIES = "agencies"


GROUP_TITLES = {
    Group.MEMBERSHIP: N_("Membership"),
    Group.IDENTITY: N_("Identity"),
    Group.BUSINESS: N_("Business"),
    Group.WELFARE: N_("Welfare"),
    Group.PROGRAMS: N_("Programs"),
    Group.BENEFITS: N_("Benefits"),
    Group.EMPOWERMENT: N_("Empowerment"),
    Group.CASEWORK: N_("Case work"),
    Group.APPROVALS: N_("Approvals"),
    Group.PRIVACY: N_("Privacy"),
    Group.AGENCIES: N_("Agencies"),
}


class Kelurahan(Enum):
    """Which kelurahan a case worker must be assigned to."""

    HOUSEHOLD = "household"  # the kelurahan of the household named by `household_id`
    GIVEN = "given"  # the `kelurahan` field (a new household)
    KECAMATAN = "kecamatan"  # any kelurahan of the `kecamatan` field (a person without papers)
    PERSON = "person"  # any kelurahan of the kecamatan of the provisional person `person_id`
    NONE = "none"  # not a case worker's command


class Opd(Enum):
    """Which OPD a program manager must be."""

    GIVEN = "given"  # the `opd` field (a new program)
    PROGRAM = "program"  # the OPD of the program named by `program` or `code`
    BENEFIT = "benefit"  # the OPD of the program of the benefit or enrolment named
    NONE = "none"  # not a program manager's command


@dataclass(frozen=True)
class Area:
    """Who may send a command beyond supervisors and administrators, and where."""

    kelurahan: Kelurahan = Kelurahan.NONE
    opd: Opd = Opd.NONE
    # a field naming a second kelurahan the command moves the household into
    target_kelurahan: str | None = None
    # the domain decides (ApproveChange, RejectChange: a supervisor who is not the maker)
    decision: bool = False


HOUSEHOLD = Area(kelurahan=Kelurahan.HOUSEHOLD)
BENEFIT = Area(kelurahan=Kelurahan.HOUSEHOLD, opd=Opd.BENEFIT)
SUPERVISORS = Area()  # supervisors and administrators only
# supervisors, administrators and the program's OPD manager; not case workers (DecideReview)
REVIEWERS = Area(opd=Opd.BENEFIT)


@dataclass(frozen=True)
class Command:
    name: str
    fields: tuple[str, ...]
    handler: Handler
    group: Group
    area: Area
    title: str
    help: str
    needs_approval: bool = False
    # waits for a second person's approval only when this field has this value
    # (DecideReview: a termination; keep and suspend are carried out at once)
    approval_when: tuple[str, str] | None = None
    # checks the command against the current state before it is kept for approval, so a
    # request that could never be carried out is refused at once (nothing stored)
    precheck: Handler | None = None
    # the field (a date, YYYY-MM-DD) saying on which day it happened in the world: without an
    # explicit occurred_at the events count from the start of that day, WIB
    # (domain.use_case.dated_meta, applied by Casework.execute)
    happened_on: str | None = None

    def waits_for_approval(self, data: dict[str, Any]) -> bool:
        """Whether this command, with these fields, is kept for a second person's approval."""
        if self.needs_approval:
            return True
        return self.approval_when is not None and (
            data.get(self.approval_when[0]) == self.approval_when[1]
        )


PERSON = ("nik", "name", "birth_date", "sex")  # a nested person (`head`, `person`)
AGREEMENT_TERMS = TERM_FIELDS  # an agency agreement's terms (domain/agreement.py)

CATALOGUE = (
    # membership
    Command(
        "RegisterHousehold",
        ("kk_number", "kecamatan", "kelurahan", "address", "rt", "rw", "head"),
        HouseholdCases.register_household,
        Group.MEMBERSHIP,
        Area(kelurahan=Kelurahan.GIVEN),
        N_("Register a household"),
        N_("A new family, as on its family card."),
    ),
    Command(
        "AddMember",
        ("household_id", "person", "relationship"),
        HouseholdCases.add_member,
        Group.MEMBERSHIP,
        HOUSEHOLD,
        N_("Add a member"),
        N_("A new member of a household."),
    ),
    # kind: moved_out | deceased | other
    Command(
        "RemoveMember",
        ("household_id", "nik", "kind", "effective_date"),
        HouseholdCases.remove_member,
        Group.MEMBERSHIP,
        HOUSEHOLD,
        N_("Remove a member"),
        N_("A member moves out, dies or leaves for another reason."),
        needs_approval=True,
        precheck=HouseholdCases.check_remove_member,
        happened_on="effective_date",
    ),
    # rectification (UU PDP art. 6): name, birth date and sex as the document in `reason`
    # shows them; at least one; the NIK stays (a birth date or sex must agree with it)
    Command(
        "CorrectMember",
        ("household_id", "nik", "name", "birth_date", "sex", "relationship", "reason"),
        HouseholdCases.correct_member,
        Group.MEMBERSHIP,
        HOUSEHOLD,
        N_("Correct a member's data"),
        N_(
            "A member's name, birth date, sex or relationship to the head typed wrong (or left"
            " from before a change of head), corrected as the KTP or family card shows it;"
            " another supervisor approves. The NIK is corrected through Dukcapil, not here."
        ),
        needs_approval=True,
        precheck=HouseholdCases.check_correct_member,
    ),
    Command(
        "ChangeHead",
        ("household_id", "nik", "new_kk_number", "relationships"),
        HouseholdCases.change_head,
        Group.MEMBERSHIP,
        HOUSEHOLD,
        N_("Change the head"),
        N_(
            "A new head of family, with the new KK number and the other members'"
            " relationships to the new head as the new family card shows them (filled in"
            " where the former card leaves no doubt)."
        ),
    ),
    Command(
        "RecordDeath",
        ("household_id", "nik", "date_of_death"),
        HouseholdCases.record_death,
        Group.MEMBERSHIP,
        HOUSEHOLD,
        N_("Record a death"),
        N_("When a member died."),
        happened_on="date_of_death",
    ),
    Command(
        "RelocateHousehold",
        ("household_id", "kecamatan", "kelurahan", "address", "rt", "rw", "moved_on"),
        household_change(Household.relocate),
        Group.MEMBERSHIP,
        Area(kelurahan=Kelurahan.HOUSEHOLD, target_kelurahan="kelurahan"),
        N_("Relocate a household"),
        N_("The family moves to another address in the city, possibly another kelurahan."),
        happened_on="moved_on",
    ),
    # pecah KK: members (NIKs) leave with a new head among them for a new KK; the new family
    # lives at the old address unless a new one is given whole (kecamatan ... rw)
    Command(
        "SplitFamily",
        (
            "household_id",
            "members",
            "new_head_nik",
            "new_kk_number",
            "effective_date",
            "kecamatan",
            "kelurahan",
            "address",
            "rt",
            "rw",
        ),
        HouseholdCases.split_family,
        Group.MEMBERSHIP,
        Area(kelurahan=Kelurahan.HOUSEHOLD, target_kelurahan="kelurahan"),
        N_("Split a family"),
        N_(
            "Members leave to form a new family on its own KK (pecah KK), with a new head"
            " among them; their benefits are reviewed."
        ),
        needs_approval=True,
        precheck=HouseholdCases.check_split_family,
        happened_on="effective_date",
    ),
    # identity; arrival: {"type": born_here | pindah_datang, "arrived_on", "origin_region_code"}
    Command(
        "IssueKtp",
        ("household_id", "nik", "issued_on", "arrival"),
        HouseholdCases.issue_ktp,
        Group.IDENTITY,
        HOUSEHOLD,
        N_("Record a KTP issued"),
        N_("A KTP issued, with how the person arrived (born here or moved in)."),
        happened_on="issued_on",
    ),
    Command(
        "RegisterHomelessPerson",
        ("name", "estimated_birth_year", "sex", "found_at", "kecamatan", "notes"),
        HouseholdCases.register_homeless_person,
        Group.IDENTITY,
        Area(kelurahan=Kelurahan.KECAMATAN),
        N_("Register a person without papers"),
        N_("A homeless person or someone without documents, under a provisional identity."),
    ),
    Command(
        "LinkIdentity",
        ("person_id", "household_id", "nik"),
        link_identity,
        Group.IDENTITY,
        HOUSEHOLD,
        N_("Link an identity"),
        N_("A provisional person turns out to be a NIK in a household."),
        needs_approval=True,
        precheck=check_link,
    ),
    # help before a NIK: a provisional person's case notes and services (shown under the
    # person once LinkIdentity joins them to a NIK)
    Command(
        "AddPersonNote",
        ("person_id", "text"),
        person_change(ProvisionalPerson.add_note),
        Group.IDENTITY,
        Area(kelurahan=Kelurahan.PERSON),
        N_("Add a note on a person without papers"),
        N_("A case note about someone registered before their NIK is known."),
    ),
    # service: shelter | meal | health_check | clothing | transport_home | document_help | ...
    Command(
        "RecordService",
        ("person_id", "service", "delivered_on", "notes"),
        person_change(ProvisionalPerson.record_service),
        Group.IDENTITY,
        Area(kelurahan=Kelurahan.PERSON),
        N_("Record a service to a person without papers"),
        N_("Shelter, a meal, a health check or other help given before a NIK is known."),
        happened_on="delivered_on",
    ),
    # benefits before a NIK: only programs whose rules say `serves_without_nik`; the
    # benefit_id is answered; after LinkIdentity they are the NIK's receipts
    Command(
        "GrantProvisionalBenefit",
        ("person_id", "program", "period_start", "period_end", "amount"),
        grant_provisional_benefit,
        Group.BENEFITS,
        Area(kelurahan=Kelurahan.PERSON, opd=Opd.PROGRAM),
        N_("Grant a benefit to a person without papers"),
        N_(
            "A benefit of a program that serves people without a NIK (social rehabilitation),"
            " before the NIK is known."
        ),
        needs_approval=True,
        precheck=check_provisional_grant,
    ),
    Command(
        "SuspendProvisionalBenefit",
        ("person_id", "benefit_id", "effective_date", "reason_code"),
        person_change(ProvisionalPerson.suspend_benefit),
        Group.BENEFITS,
        Area(kelurahan=Kelurahan.PERSON, opd=Opd.BENEFIT),
        N_("Suspend a benefit of a person without papers"),
        N_("A benefit granted before the NIK was known pauses, with a reason and a date."),
        happened_on="effective_date",
    ),
    Command(
        "ResumeProvisionalBenefit",
        ("person_id", "benefit_id", "effective_date", "reason_code"),
        person_change(ProvisionalPerson.resume_benefit),
        Group.BENEFITS,
        Area(kelurahan=Kelurahan.PERSON, opd=Opd.BENEFIT),
        N_("Resume a benefit of a person without papers"),
        N_("A suspended benefit granted before the NIK was known runs again."),
        happened_on="effective_date",
    ),
    Command(
        "TerminateProvisionalBenefit",
        ("person_id", "benefit_id", "effective_date", "reason_code"),
        person_change(ProvisionalPerson.terminate_benefit),
        Group.BENEFITS,
        Area(kelurahan=Kelurahan.PERSON, opd=Opd.BENEFIT),
        N_("Terminate a benefit of a person without papers"),
        N_("A benefit granted before the NIK was known ends, with a reason and a date."),
        needs_approval=True,
        precheck=check_provisional_termination,
        happened_on="effective_date",
    ),
    # business
    Command(
        "RegisterNib",
        ("household_id", "nik", "nib", "business_name", "registered_on"),
        HouseholdCases.register_nib,
        Group.BUSINESS,
        HOUSEHOLD,
        N_("Record an NIB"),
        N_("A member's business licence (OSS)."),
        happened_on="registered_on",
    ),
    Command(
        "RevokeNib",
        ("household_id", "nik", "nib", "revoked_on"),
        HouseholdCases.revoke_nib,
        Group.BUSINESS,
        HOUSEHOLD,
        N_("Revoke an NIB"),
        N_("An NIB no longer applies."),
        happened_on="revoked_on",
    ),
    # welfare; source: DTSEN | DTKS | P3KE | VERVAL; desil 1..10; period like 2025-Q3
    Command(
        "RecordWelfareAssessment",
        ("household_id", "source", "desil", "period", "reference"),
        HouseholdCases.record_welfare_assessment,
        Group.WELFARE,
        HOUSEHOLD,
        N_("Record a welfare decile"),
        N_("A decile from DTSEN, DTKS, P3KE or field verification."),
    ),
    # what a source lists about the family, as imported (a fact about the source only);
    # members: [{"nik", "relationship" (incl. kepala_keluarga), "deceased"}];
    # benefits: flags of domain.household.LISTING_BENEFITS; the same (source, period,
    # reference) again is a duplicate (409 listing.duplicate)
    Command(
        "RecordSourceListing",
        (
            "household_id",
            "source",
            "period",
            "reference",
            "kk_number",
            "members",
            "desil",
            "benefits",
        ),
        household_change(Household.record_source_listing),
        Group.WELFARE,
        HOUSEHOLD,
        N_("Record what a data source lists"),
        N_(
            "What DTSEN, DTKS, P3KE or field verification lists about this family: its KK"
            " number, members, decile and the aid it marks. Compared with the register; it"
            " changes nothing else."
        ),
    ),
    # outcome: valid | invalid | moved | not_found | deceased
    Command(
        "RecordVerification",
        ("household_id", "outcome", "visited_on", "verifier", "notes"),
        HouseholdCases.record_verification,
        Group.WELFARE,
        HOUSEHOLD,
        N_("Record a field verification"),
        N_("The outcome of a verval visit."),
        happened_on="visited_on",
    ),
    # programs; funding: APBN | APBD | BAZNAS | OTHER; kind: bansos | empowerment | insurance
    # rules: {"max_desil", "min_residence_months", "excludes_nib_holders", "once_per_kk",
    #         "combinable_with": [codes], "recipient": head | adult_woman | any_member}
    Command(
        "DefineProgram",
        ("code", "name", "opd", "funding", "kind", "rules", "effective_from", "yearly_target"),
        ProgramCases.define_program,
        Group.PROGRAMS,
        Area(opd=Opd.GIVEN),
        N_("Define a program"),
        N_("A new program with its OPD, funding and eligibility rules."),
    ),
    Command(
        "ChangeProgramRules",
        ("code", "rules", "effective_from", "yearly_target"),
        ProgramCases.change_program_rules,
        Group.PROGRAMS,
        Area(opd=Opd.PROGRAM),
        N_("Change program rules"),
        N_("A new version of the rules; fields left empty keep their current value."),
        needs_approval=True,
        precheck=ProgramCases.check_change_program_rules,
    ),
    # benefits: a benefit is identified by its `benefit_id` (answered by GrantBenefit)
    Command(
        "GrantBenefit",
        ("household_id", "nik", "program", "period_start", "period_end", "amount"),
        HouseholdCases.grant_benefit,
        Group.BENEFITS,
        Area(kelurahan=Kelurahan.HOUSEHOLD, opd=Opd.PROGRAM),
        N_("Grant a benefit"),
        N_("A benefit for a member."),
        needs_approval=True,
    ),
    Command(
        "SuspendBenefit",
        ("household_id", "benefit_id", "effective_date", "reason_code"),
        HouseholdCases.suspend_benefit,
        Group.BENEFITS,
        BENEFIT,
        N_("Suspend a benefit"),
        N_("A benefit pauses."),
        happened_on="effective_date",
    ),
    Command(
        "ResumeBenefit",
        ("household_id", "benefit_id", "effective_date", "reason_code"),
        HouseholdCases.resume_benefit,
        Group.BENEFITS,
        BENEFIT,
        N_("Resume a benefit"),
        N_("A suspended benefit runs again."),
        happened_on="effective_date",
    ),
    Command(
        "TerminateBenefit",
        ("household_id", "benefit_id", "effective_date", "reason_code"),
        HouseholdCases.terminate_benefit,
        Group.BENEFITS,
        BENEFIT,
        N_("Terminate a benefit"),
        N_("A benefit ends, with a reason and a date."),
        needs_approval=True,
        precheck=HouseholdCases.check_terminate_benefit,
        happened_on="effective_date",
    ),
    # reviews (opened by the policies): decision keep | suspend | terminate. Supervisors, and
    # program managers for their OPD's programs; not case workers. A termination waits for
    # a second supervisor (maker-checker, as TerminateBenefit does).
    Command(
        "DecideReview",
        ("household_id", "review_id", "decision", "reason"),
        HouseholdCases.decide_review,
        Group.BENEFITS,
        REVIEWERS,
        N_("Decide a review"),
        N_(
            "Keep the benefit, suspend it, or terminate it (a second supervisor approves a"
            " termination), with the reason."
        ),
        approval_when=("decision", "terminate"),
        precheck=HouseholdCases.check_decide_review,
    ),
    Command(
        "EnrollEmpowerment",
        ("household_id", "nik", "program", "enrolled_on"),
        HouseholdCases.enroll_empowerment,
        Group.EMPOWERMENT,
        Area(kelurahan=Kelurahan.HOUSEHOLD, opd=Opd.PROGRAM),
        N_("Enrol in empowerment"),
        N_("A member joins a training or capital program."),
        happened_on="enrolled_on",
    ),
    # outcome: completed | graduated | dropped_out
    Command(
        "CompleteEmpowerment",
        ("household_id", "enrollment_id", "outcome", "completed_on"),
        HouseholdCases.complete_empowerment,
        Group.EMPOWERMENT,
        BENEFIT,
        N_("Complete empowerment"),
        N_("How it ended: completed, graduated or dropped out."),
        happened_on="completed_on",
    ),
    # casework
    Command(
        "AddCaseNote",
        ("household_id", "text"),
        HouseholdCases.add_case_note,
        Group.CASEWORK,
        HOUSEHOLD,
        N_("Add a case note"),
        N_("A caseworker's note."),
    ),
    Command(
        "FileObjection",
        (
            "household_id",
            "objector_nik",
            "objector_kelurahan",
            "grounds",
            "filed_on",
            "photo_reference",
            "latitude",
            "longitude",
        ),
        HouseholdCases.file_objection,
        Group.CASEWORK,
        HOUSEHOLD,
        N_("File an objection"),
        N_(
            "An objection by a resident of the same kelurahan, with photo and coordinates;"
            " decided within 14 days."
        ),
        happened_on="filed_on",
    ),
    # resolution: upheld | rejected
    Command(
        "ResolveObjection",
        ("household_id", "objection_id", "resolution", "resolved_on"),
        HouseholdCases.resolve_objection,
        Group.CASEWORK,
        HOUSEHOLD,
        N_("Resolve an objection"),
        N_("An objection upheld or rejected."),
        happened_on="resolved_on",
    ),
    # approvals
    Command(
        "ApproveChange",
        ("approval_id", "note"),
        ApprovalCases.approve_change,
        Group.APPROVALS,
        Area(decision=True),
        N_("Approve a change"),
        N_("A supervisor approves someone else's request; its command runs at once."),
    ),
    # exemption: an article 15 ground (domain.household.ERASURE_EXEMPTIONS), to refuse an erasure
    Command(
        "RejectChange",
        ("approval_id", "reason_code", "note", "exemption"),
        ApprovalCases.reject_change,
        Group.APPROVALS,
        Area(decision=True),
        N_("Reject a change"),
        N_("A supervisor rejects a request, saying why."),
    ),
    # privacy (UU PDP): restriction of processing, by a supervisor or an administrator
    Command(
        "RestrictProcessing",
        ("household_id", "nik", "grounds"),
        HouseholdCases.restrict_processing,
        Group.PRIVACY,
        SUPERVISORS,
        N_("Restrict processing"),
        N_(
            "Only the register keeps this person's data (marked restricted); no program, view"
            " or agency feed uses it until the restriction is lifted."
        ),
    ),
    Command(
        "LiftRestriction",
        ("household_id", "nik"),
        HouseholdCases.lift_restriction,
        Group.PRIVACY,
        SUPERVISORS,
        N_("Lift a restriction"),
        N_("Programs and agencies may use this person's data again."),
    ),
    # erasure destroys the person's key (crypto-shredding): always a second person's decision
    Command(
        "RequestErasure",
        ("household_id", "nik", "reason"),
        HouseholdCases.request_erasure,
        Group.PRIVACY,
        HOUSEHOLD,
        N_("Erase personal data"),
        N_(
            "At the data subject's request (UU PDP): once another supervisor approves, the"
            " person's key is destroyed, so their NIK, name and personal data can no longer be"
            " read anywhere; benefits and history stay recorded."
        ),
        needs_approval=True,
    ),
    # agencies: data-sharing agreements (domain/agreement.py), by supervisors and
    # administrators, each under maker-checker. personal: pseudonym | opened;
    # fields: {event type: [data field paths, `parent.child` inside a nested person]}
    Command(
        "DefineAgencyAgreement",
        ("agency", *AGREEMENT_TERMS),
        AgreementCases.define_agency_agreement,
        Group.AGENCIES,
        SUPERVISORS,
        N_("Define an agency agreement"),
        N_(
            "A data-sharing agreement with an agency: its purpose and legal basis, the events"
            " and fields it receives, personal fields opened or as pseudonyms, the area and"
            " the period. Another supervisor approves it."
        ),
        needs_approval=True,
        precheck=AgreementCases.check_define_agency_agreement,
    ),
    Command(
        "ChangeAgencyAgreement",
        ("agency", *AGREEMENT_TERMS),
        AgreementCases.change_agency_agreement,
        Group.AGENCIES,
        SUPERVISORS,
        N_("Change an agency agreement"),
        N_(
            "A new version of an agreement's terms, applied to the events stored after it;"
            " fields left empty keep their current value. Another supervisor approves it."
        ),
        needs_approval=True,
        precheck=AgreementCases.check_change_agency_agreement,
    ),
    Command(
        "RevokeAgencyAgreement",
        ("agency", "reason"),
        AgreementCases.revoke_agency_agreement,
        Group.AGENCIES,
        SUPERVISORS,
        N_("Revoke an agency agreement"),
        N_(
            "The agency receives nothing more: its topic, feed, webhooks and registry access"
            " stop. Another supervisor approves it."
        ),
        needs_approval=True,
        precheck=AgreementCases.check_revoke_agency_agreement,
    ),
)

COMMANDS: dict[str, Command] = {command.name: command for command in CATALOGUE}
# the commands that wait (or may wait) for a second person's approval
NEEDS_APPROVAL = frozenset(c.name for c in CATALOGUE if c.needs_approval or c.approval_when)
