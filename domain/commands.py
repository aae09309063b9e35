"""The commands of contract v1: their fields, the use case that carries each out, and which
ones wait for a second person's approval (maker-checker).

Field notes: dates are ISO `YYYY-MM-DD` strings, periods `YYYY-Qn`, amounts whole rupiah.
Every command may also carry `expected_version`, `reason` and `occurred_at`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CommandSpec:
    name: str
    method: str
    fields: tuple[str, ...]
    needs_approval: bool = False


PERSON = ("nik", "name", "birth_date", "sex")

SPECS = (
    # membership
    CommandSpec(
        "RegisterHousehold",
        "register_household",
        ("kk_number", "kecamatan", "kelurahan", "address", "rt", "rw", "head"),
    ),
    CommandSpec("AddMember", "add_member", ("household_id", "person", "relationship")),
    # kind: moved_out | deceased | other
    CommandSpec(
        "RemoveMember",
        "remove_member",
        ("household_id", "nik", "kind", "effective_date"),
        needs_approval=True,
    ),
    CommandSpec("ChangeHead", "change_head", ("household_id", "nik", "new_kk_number")),
    CommandSpec("RecordDeath", "record_death", ("household_id", "nik", "date_of_death")),
    # identity; arrival: {"type": born_here | pindah_datang, "arrived_on", "origin_region_code"}
    CommandSpec("IssueKtp", "issue_ktp", ("household_id", "nik", "issued_on", "arrival")),
    CommandSpec(
        "RegisterHomelessPerson",
        "register_homeless_person",
        ("name", "estimated_birth_year", "sex", "found_at", "kecamatan", "notes"),
    ),
    CommandSpec(
        "LinkIdentity", "link_identity", ("person_id", "household_id", "nik"), needs_approval=True
    ),
    # business
    CommandSpec(
        "RegisterNib",
        "register_nib",
        ("household_id", "nik", "nib", "business_name", "registered_on"),
    ),
    CommandSpec("RevokeNib", "revoke_nib", ("household_id", "nik", "nib", "revoked_on")),
    # welfare; source: DTSEN | DTKS | P3KE | VERVAL; desil 1..10; period like 2025-Q3
    CommandSpec(
        "RecordWelfareAssessment",
        "record_welfare_assessment",
        ("household_id", "source", "desil", "period", "reference"),
    ),
    # outcome: valid | invalid | moved | not_found | deceased
    CommandSpec(
        "RecordVerification",
        "record_verification",
        ("household_id", "outcome", "visited_on", "verifier", "notes"),
    ),
    # programs; funding: APBN | APBD | BAZNAS | OTHER; kind: bansos | empowerment | insurance
    # rules: {"max_desil", "min_residence_months", "excludes_nib_holders", "once_per_kk",
    #         "combinable_with": [codes], "recipient": head | adult_woman | any_member}
    CommandSpec(
        "DefineProgram",
        "define_program",
        ("code", "name", "opd", "funding", "kind", "rules", "effective_from"),
    ),
    CommandSpec(
        "ChangeProgramRules",
        "change_program_rules",
        ("code", "rules", "effective_from"),
        needs_approval=True,
    ),
    # benefits: a benefit is identified by its `benefit_id` (answered by GrantBenefit)
    CommandSpec(
        "GrantBenefit",
        "grant_benefit",
        ("household_id", "nik", "program", "period_start", "period_end", "amount"),
        needs_approval=True,
    ),
    CommandSpec(
        "SuspendBenefit", "suspend_benefit", ("household_id", "benefit_id", "effective_date")
    ),
    CommandSpec(
        "ResumeBenefit", "resume_benefit", ("household_id", "benefit_id", "effective_date")
    ),
    CommandSpec(
        "TerminateBenefit",
        "terminate_benefit",
        ("household_id", "benefit_id", "effective_date"),
        needs_approval=True,
    ),
    CommandSpec(
        "EnrollEmpowerment", "enroll_empowerment", ("household_id", "nik", "program", "enrolled_on")
    ),
    # outcome: completed | graduated | dropped_out
    CommandSpec(
        "CompleteEmpowerment",
        "complete_empowerment",
        ("household_id", "enrollment_id", "outcome", "completed_on"),
    ),
    # casework
    CommandSpec("AddCaseNote", "add_case_note", ("household_id", "text")),
    CommandSpec(
        "FileObjection",
        "file_objection",
        (
            "household_id",
            "objector_nik",
            "grounds",
            "filed_on",
            "photo_reference",
            "latitude",
            "longitude",
        ),
    ),
    # resolution: upheld | rejected
    CommandSpec(
        "ResolveObjection",
        "resolve_objection",
        ("household_id", "objection_id", "resolution", "resolved_on"),
    ),
    # privacy (UU PDP): restriction of processing; supervisor/admin only (app/auth.py)
    CommandSpec("RestrictProcessing", "restrict_processing", ("household_id", "nik", "grounds")),
    CommandSpec("LiftRestriction", "lift_restriction", ("household_id", "nik")),
    # erasure destroys the person's key (crypto-shredding): always a second person's decision
    CommandSpec(
        "RequestErasure", "request_erasure", ("household_id", "nik", "reason"), needs_approval=True
    ),
    CommandSpec("ApproveChange", "approve_change", ("approval_id", "note")),
    # exemption: an article 15 ground (domain.household.ERASURE_EXEMPTIONS), to refuse an erasure
    CommandSpec("RejectChange", "reject_change", ("approval_id", "note", "exemption")),
)

COMMANDS: dict[str, CommandSpec] = {spec.name: spec for spec in SPECS}
NEEDS_APPROVAL = frozenset(spec.name for spec in SPECS if spec.needs_approval)
# Later issues: DefineAgencyAgreement.
