"""The shapes the API answers and the queries it reads, as marshmallow schemas.

They document the answers (app/openapi.py turns them into the OpenAPI document); the routes
build their answers themselves and never dump through them. The commands' request schemas
are app/schemas.py's.
"""

from __future__ import annotations

from marshmallow import EXCLUDE, RAISE, Schema, fields, validate

from app.command_path import CREATED_IDS
from app.schemas import RulesSchema
from domain.program import FUNDINGS, KINDS
from projections import reconciliation

MAX_LIMIT = 100


class _Answer(Schema):
    """An answer may carry more than what is listed here (no additionalProperties: false)."""

    class Meta:
        unknown = EXCLUDE


def _codes(description: str) -> fields.Dict:
    return fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        required=True,
        metadata={"description": description},
    )


class ErrorsSchema(_Answer):
    """An error: the field at fault by its dot path (head.nik), with messages and codes."""

    errors = _codes("messages by field (dot paths such as head.nik), in the Accept-Language")
    codes = _codes(
        "the same errors as stable codes, each listed with its English message in the"
        " document's x-error-codes"
    )


# --- commands ------------------------------------------------------------------------------


class ReplacedChangeSchema(_Answer):
    """A benefit change recorded ahead that a change from an earlier day replaced."""

    benefit_id = fields.UUID(required=True)
    program = fields.String(required=True)
    status = fields.String(
        required=True, validate=validate.OneOf(["suspended", "active", "terminated"])
    )
    effective_date = fields.Date(required=True)


class StoredSchema(_Answer):
    """The command was stored: its stream, the stream's new version and the events' ids."""

    stream_id = fields.UUID(required=True)
    version = fields.Integer(required=True)
    position = fields.Integer(
        required=True, metadata={"description": "the last event's position in the store"}
    )
    event_ids = fields.List(fields.UUID(), required=True)
    replaced = fields.List(
        fields.Nested(ReplacedChangeSchema),
        metadata={
            "description": "SuspendBenefit, ResumeBenefit, TerminateBenefit, DecideReview (and "
            "ApproveChange carrying one out) only: the changes recorded to take effect after "
            "this one's effective_date that it replaced (they never take effect); [] when none"
        },
    )


class RefusedSchema(_Answer):
    """ApproveChange only: the change could no longer be carried out (a program's rule fails on
    today's facts, or what it was made for is gone), so it was closed as refused; the refusal
    (ChangeRefused) is what was stored, on the approval's stream."""

    approval_id = fields.UUID(required=True)
    status = fields.String(required=True, validate=validate.OneOf(["refused"]))
    stream_id = fields.UUID(required=True, metadata={"description": "the approval's stream"})
    version = fields.Integer(required=True)
    position = fields.Integer(required=True)
    event_ids = fields.List(fields.UUID(), required=True)
    errors = fields.Dict(
        required=True,
        metadata={"description": "approval_id: approval.refused, then each reason on its field"},
    )
    codes = fields.Dict(required=True)
    reasons = fields.List(
        fields.Dict(),
        required=True,
        metadata={
            "description": "a program rule's {rule, rule_version, code, detail} or the "
            "command's own check {field, code, detail}"
        },
    )


class PendingSchema(_Answer):
    """The command is kept until a supervisor other than the caller approves or rejects it."""

    approval_id = fields.UUID(required=True)


# The id a command's answer adds to the stored stream's (app/command_path.py stored_body).
ANSWERED_IDS = {
    **{command: name for command, (name, _) in CREATED_IDS.items()},
    "RegisterHomelessPerson": "person_id",
}


def _stored_with(command: str, name: str) -> type[Schema]:
    return Schema.from_dict(
        {
            **StoredSchema().declared_fields,
            name: fields.UUID(required=True, metadata={"description": f"the new {name}"}),
        },
        name=f"{command}StoredSchema",
    )


STORED_SCHEMAS: dict[str, type[Schema]] = {
    command: _stored_with(command, name) for command, name in ANSWERED_IDS.items()
}


def stored_schema(command: str) -> type[Schema]:
    """What a command answers once stored (201)."""
    return STORED_SCHEMAS.get(command, StoredSchema)


# --- households ----------------------------------------------------------------------------


class MemberSchema(_Answer):
    nik = fields.String(allow_none=True, metadata={"description": "null once erased"})
    name = fields.String(allow_none=True, metadata={"description": "null once erased"})
    birth_date = fields.Date(allow_none=True, metadata={"description": "null once erased"})
    sex = fields.String(validate=validate.OneOf(["M", "F"]))
    relationship = fields.String()
    relationship_to_review = fields.Boolean(
        metadata={
            "description": "the relationship is still the one to a former head (ChangeHead"
            " could not restate it): to check against the new KK and correct (CorrectMember)"
        }
    )
    status = fields.String()
    restricted = fields.Boolean(
        metadata={"description": "processing restricted (UU PDP): only the registry uses it"}
    )
    erased = fields.Boolean(
        metadata={
            "description": "the person's data was erased (UU PDP): no NIK, name or birth date"
        }
    )


class HouseholdSchema(_Answer):
    """A household with its members. One household (GET /households/{id}) answers its whole
    state: head_nik, kk_history, nibs, assessments, verifications, benefits, enrollments,
    notes and objections too."""

    id = fields.UUID(required=True)
    kk_number = fields.String(required=True, allow_none=True)
    kecamatan = fields.String(required=True)
    kelurahan = fields.String(required=True)
    address = fields.String()
    rt = fields.String()
    rw = fields.String()
    version = fields.Integer(required=True)
    registered_at = fields.AwareDateTime()
    members = fields.List(fields.Nested(MemberSchema), required=True)
    head_nik = fields.String(allow_none=True)
    kk_history = fields.List(fields.Dict())
    nibs = fields.List(fields.Dict())
    assessments = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.Dict()),
        metadata={"description": "welfare assessments by source"},
    )
    verifications = fields.List(fields.Dict())
    benefits = fields.List(
        fields.Dict(),
        metadata={
            "description": "each benefit with its `history`; `status` in force on the day (today,"
            " or the day of `as_of`), the steps of its history recorded to take effect later in"
            " `scheduled`; `running` (boolean): received that day, `status` active and the day"
            " within its period (false once the period has ended, though no event says so and"
            " `status` stays active, or before it begins)"
        },
    )
    enrollments = fields.List(fields.Dict())
    notes = fields.List(fields.Dict())
    objections = fields.List(fields.Dict())
    as_of = fields.AwareDateTime(metadata={"description": "with as_of: the moment asked"})
    mode = fields.String(metadata={"description": "with as_of: known or effective"})
    skipped = fields.List(
        fields.Dict(),
        metadata={
            "description": "mode=effective: the events (version, type) that could not apply to"
            " the state as it was then"
        },
    )
    evidence = fields.Dict(
        metadata={
            "description": "with as_of: what the state rests on, to cite: `position`, the store"
            " position of the last of the household's events it was folded from, and `link`,"
            " the event chain's link there (`casework audit verify` checks that the chain"
            " still passes through it)"
        },
    )


def _mode() -> fields.String:
    return fields.String(
        validate=validate.OneOf(("known", "effective")),
        metadata={
            "description": "with as_of: known (as known then: what had been recorded by that"
            " moment, the default) or effective (as it was: what had happened by then, including"
            " facts recorded later, such as a death reported late); only auditors, supervisors"
            " and administrators read the past"
        },
    )


def _as_of() -> fields.String:
    return fields.String(
        metadata={
            "description": "a past moment: an RFC 3339 time with its offset, or a date (the end"
            " of that day in WIB); malformed: 422 as_of.invalid"
        }
    )


class AsOfQuerySchema(Schema):
    as_of = _as_of()
    mode = _mode()


class HouseholdsSchema(_Answer):
    results = fields.List(fields.Nested(HouseholdSchema), required=True)


class PageQuerySchema(Schema):
    limit = fields.Integer(
        validate=validate.Range(1, MAX_LIMIT), metadata={"description": "default 50"}
    )
    offset = fields.Integer(
        validate=validate.Range(0, 10**9), metadata={"description": "default 0"}
    )


class HouseholdQuerySchema(PageQuerySchema):
    nik = fields.String(
        metadata={"description": "a member's NIK (exact): 16 digits, else 422 nik.format"}
    )
    kk = fields.String(
        metadata={"description": "the KK number (exact): 16 digits, else 422 kk.format"}
    )
    q = fields.String(metadata={"description": "part of a member's name"})


# --- history -------------------------------------------------------------------------------


class HistoryEventSchema(_Answer):
    event_id = fields.UUID(required=True)
    version = fields.Integer(required=True)
    type = fields.String(required=True, metadata={"description": "the event's class"})
    occurred_at = fields.AwareDateTime(
        required=True, metadata={"description": "when it happened in the world"}
    )
    recorded_at = fields.AwareDateTime(required=True)
    actor = fields.Dict(allow_none=True, metadata={"description": "who gave the command"})
    reason = fields.String(allow_none=True)
    source = fields.String(allow_none=True, metadata={"description": "api, ui, seed, ..."})
    data = fields.Dict(required=True, metadata={"description": "the event's own fields"})
    approved_by = fields.Dict(metadata={"description": "the supervisor who approved it"})


class HouseholdHistorySchema(_Answer):
    household_id = fields.UUID(required=True)
    events = fields.List(fields.Nested(HistoryEventSchema), required=True)
    as_of = fields.AwareDateTime(metadata={"description": "with as_of: the moment asked"})
    mode = fields.String(metadata={"description": "with as_of: known or effective"})


class DiffQuerySchema(Schema):
    from_ = fields.String(
        data_key="from",
        required=True,
        metadata={"description": "the earlier moment (RFC 3339 with offset, or a date)"},
    )
    to = fields.String(
        required=True,
        metadata={"description": "the later moment (RFC 3339 with offset, or a date)"},
    )
    mode = _mode()


class ChangeSchema(_Answer):
    field = fields.String(
        required=True,
        metadata={
            "description": "a household field, members.<nik>[.<field>] or"
            " benefits.<benefit_id>[.<field>]"
        },
    )
    from_ = fields.Raw(data_key="from", allow_none=True)
    to = fields.Raw(allow_none=True)


class HouseholdDiffSchema(_Answer):
    household_id = fields.UUID(required=True)
    from_ = fields.AwareDateTime(data_key="from", required=True)
    to = fields.AwareDateTime(required=True)
    mode = fields.String(required=True)
    events = fields.List(
        fields.Nested(HistoryEventSchema),
        required=True,
        metadata={"description": "the events recorded (or happened) after from and by to"},
    )
    changes = fields.List(fields.Nested(ChangeSchema), required=True)


class ApprovalHistorySchema(_Answer):
    approval_id = fields.UUID(required=True)
    events = fields.List(fields.Nested(HistoryEventSchema), required=True)


# --- programs ------------------------------------------------------------------------------


class ProgramSchema(_Answer):
    code = fields.String(required=True)
    name = fields.String(required=True)
    opd = fields.String(required=True)
    funding = fields.String(required=True, validate=validate.OneOf(FUNDINGS))
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    version = fields.Integer(required=True)
    rules = fields.Dict(required=True, metadata={"description": "the rules in force now"})
    rule_versions = fields.List(
        fields.Dict(), required=True, metadata={"description": "every version of the rules"}
    )
    yearly_target = fields.Integer(
        required=True,
        allow_none=True,
        metadata={"description": "families the program means to reach in a year; null: none"},
    )


class ProgramsSchema(_Answer):
    programs = fields.List(fields.Nested(ProgramSchema), required=True)


class BeneficiarySchema(_Answer):
    benefit_id = fields.UUID(required=True)
    household_id = fields.UUID(
        required=True, metadata={"description": "the household the benefit is recorded on"}
    )
    lives_in = fields.UUID(
        required=True,
        metadata={"description": "the household the recipient belongs to now (SplitFamily)"},
    )
    nik = fields.String(
        required=True, allow_none=True, metadata={"description": "null once erased"}
    )
    program = fields.String(required=True)
    period_start = fields.Date(required=True)
    period_end = fields.Date(required=True)
    amount = fields.Integer(required=True, metadata={"description": "whole rupiah"})
    status = fields.String(required=True)
    erased = fields.Boolean(required=True)


class BeneficiariesSchema(_Answer):
    program = fields.String(required=True)
    results = fields.List(fields.Nested(BeneficiarySchema), required=True)


class BenefitStepSchema(_Answer):
    change = fields.String(
        required=True,
        validate=validate.OneOf(("granted", "suspended", "resumed", "terminated")),
    )
    status = fields.String(required=True)
    effective_date = fields.Date(required=True)
    reason_code = fields.String(required=True, allow_none=True)
    reason = fields.String(required=True, allow_none=True)


class PersonBenefitSchema(_Answer):
    benefit_id = fields.UUID(required=True)
    household_id = fields.UUID(
        required=True, allow_none=True, metadata={"description": "the KK it was granted on"}
    )
    person_id = fields.UUID(
        required=True,
        allow_none=True,
        metadata={"description": "granted before the NIK was known: the provisional person"},
    )
    program = fields.String(required=True)
    period_start = fields.Date(required=True)
    period_end = fields.Date(required=True)
    amount = fields.Integer(required=True, metadata={"description": "whole rupiah"})
    status = fields.String(
        required=True,
        metadata={
            "description": "in force today (WIB): active, suspended or terminated; a change"
            " recorded to take effect later is in `scheduled`, not here yet. A benefit whose"
            " period has ended stays `active` when nothing ended it: see `running`"
        },
    )
    running = fields.Boolean(
        required=True,
        metadata={
            "description": "received today (WIB): `status` active and today within the"
            " period; false once the period has ended (no event says so) or before it begins"
        },
    )
    before_nik = fields.Boolean(
        required=True, metadata={"description": "granted to the person before their NIK was known"}
    )
    opd = fields.String(
        required=True, allow_none=True, metadata={"description": "the OPD running the program"}
    )
    program_name = fields.String(required=True, allow_none=True)
    history = fields.List(
        fields.Nested(BenefitStepSchema),
        required=True,
        metadata={"description": "granted, then each suspension, resumption and termination"},
    )
    scheduled = fields.List(
        fields.Nested(BenefitStepSchema),
        required=True,
        metadata={
            "description": "the steps of `history` recorded to take effect after today (a"
            " suspension or termination recorded ahead), in order; empty when none"
        },
    )


class PersonBenefitsSchema(_Answer):
    results = fields.List(fields.Nested(PersonBenefitSchema), required=True)


# --- eligibility ---------------------------------------------------------------------------


class EligibilityQuerySchema(Schema):
    as_of = _as_of()
    mode = _mode()


class ReasonTextSchema(_Answer):
    msgid = fields.String(
        required=True,
        metadata={
            "description": "the detail's gettext message id (English, with %(name)s"
            " placeholders): the interface shows it translated"
        },
    )
    params = fields.Dict(
        keys=fields.String(),
        required=True,
        metadata={"description": "the placeholders' values: numbers, codes, ISO dates"},
    )


class EligibilityReasonSchema(_Answer):
    rule = fields.String(
        required=True,
        metadata={
            "description": "max_desil, min_residence_months, excludes_nib_holders,"
            " double_receipt, once_per_kk, combinable_with, recipient, in_force"
        },
    )
    rule_version = fields.Integer(required=True)
    passed = fields.Boolean(
        required=True,
        allow_none=True,
        metadata={"description": "whether the rule passed; null: a fact is unknown (review)"},
    )
    detail = fields.String(required=True, metadata={"description": "in English"})
    text = fields.Nested(
        ReasonTextSchema,
        required=True,
        metadata={"description": "the detail as a message id and parameters, to translate"},
    )
    positions = fields.List(
        fields.Integer(),
        required=True,
        metadata={"description": "store positions of the events behind the answer"},
    )


class ProgramEligibilitySchema(_Answer):
    program = fields.String(required=True)
    status = fields.String(
        required=True, validate=validate.OneOf(("eligible", "ineligible", "review"))
    )
    reasons = fields.List(fields.Nested(EligibilityReasonSchema), required=True)
    eligible_from = fields.Date(
        metadata={"description": "when only the residence months are short: the day they are not"}
    )


class HouseholdEligibilitySchema(_Answer):
    household_id = fields.UUID(required=True)
    as_of = fields.Date(required=True, metadata={"description": "the day answered for (WIB)"})
    as_of_time = fields.AwareDateTime(metadata={"description": "with as_of: the moment asked"})
    mode = fields.String(metadata={"description": "with as_of: known or effective"})
    programs = fields.List(fields.Nested(ProgramEligibilitySchema), required=True)


class EligibleQuerySchema(PageQuerySchema):
    kelurahan = fields.String(
        metadata={"description": "only this kelurahan (required of a caseworker: one of theirs)"}
    )


class EligibleHouseholdSchema(_Answer):
    household_id = fields.UUID(required=True)
    kelurahan = fields.String(required=True)


class EligibleHouseholdsSchema(_Answer):
    program = fields.String(required=True)
    kelurahan = fields.String(required=True, allow_none=True)
    results = fields.List(fields.Nested(EligibleHouseholdSchema), required=True)


class ErrorQuerySchema(Schema):
    kelurahan = fields.String(
        metadata={"description": "only this kelurahan (required of a caseworker: one of theirs)"}
    )


class ErrorFamilySchema(_Answer):
    household_id = fields.UUID(required=True)
    kelurahan = fields.String(required=True)
    benefits = fields.Integer(
        metadata={"description": "its active benefits of the program (inclusion, review)"}
    )
    reasons = fields.List(
        fields.Nested(EligibilityReasonSchema),
        metadata={"description": "inclusion: the rules that failed; review: those unknown"},
    )


class ErrorCountsSchema(_Answer):
    kelurahan = fields.String(required=True)
    inclusion = fields.Integer(required=True)
    exclusion = fields.Integer(required=True)
    review = fields.Integer(required=True)


class ErrorTotalsSchema(_Answer):
    inclusion = fields.Integer(required=True)
    exclusion = fields.Integer(required=True)
    review = fields.Integer(required=True)


class ProgramErrorsSchema(_Answer):
    """Inclusion errors: receiving an active benefit of the program while ineligible.
    Exclusion errors: eligible, with no active benefit of it. Review: receiving while a fact
    the rules need is unknown. Families by household id and kelurahan only."""

    program = fields.String(required=True)
    kelurahan = fields.String(required=True, allow_none=True)
    as_of = fields.Date(required=True)
    totals = fields.Nested(ErrorTotalsSchema, required=True)
    by_kelurahan = fields.List(fields.Nested(ErrorCountsSchema), required=True)
    inclusion = fields.List(fields.Nested(ErrorFamilySchema), required=True)
    exclusion = fields.List(fields.Nested(ErrorFamilySchema), required=True)
    review = fields.List(fields.Nested(ErrorFamilySchema), required=True)


class WhatIfSchema(Schema):
    """A draft of the program's rules, as ChangeProgramRules takes them: a field left out keeps
    its current value. Evaluated against today's data; nothing is stored."""

    class Meta:
        unknown = RAISE

    error_messages = {"unknown": "field.unknown", "type": "field.object"}
    rules = fields.Nested(
        RulesSchema,
        required=True,
        error_messages={"required": "field.required", "null": "field.required"},
    )


class WhatIfCountsSchema(_Answer):
    kelurahan = fields.String(required=True)
    eligible_now = fields.Integer(required=True)
    eligible_draft = fields.Integer(required=True)
    gaining = fields.Integer(required=True)
    losing = fields.Integer(required=True)


class WhatIfTotalsSchema(_Answer):
    families = fields.Integer(required=True)
    eligible_now = fields.Integer(required=True)
    eligible_draft = fields.Integer(required=True)
    gaining = fields.Integer(required=True)
    losing = fields.Integer(required=True)


class WhatIfAnswerSchema(_Answer):
    program = fields.String(required=True)
    as_of = fields.Date(required=True)
    rules = fields.Dict(required=True, metadata={"description": "the complete draft evaluated"})
    totals = fields.Nested(WhatIfTotalsSchema, required=True)
    by_kelurahan = fields.List(fields.Nested(WhatIfCountsSchema), required=True)
    gaining = fields.List(fields.Nested(ErrorFamilySchema), required=True)
    losing = fields.List(
        fields.Nested(ErrorFamilySchema),
        required=True,
        metadata={"description": "with the draft's rules they fail or that are unknown"},
    )


# --- reviews -------------------------------------------------------------------------------


class ReviewQuerySchema(PageQuerySchema):
    kelurahan = fields.String(metadata={"description": "the household's kelurahan (exact)"})
    program = fields.String(metadata={"description": "a program code, e.g. KJB"})
    overdue = fields.Boolean(
        metadata={"description": "true: only past their deadline; false: only not yet"}
    )


class ReviewSchema(_Answer):
    review_id = fields.UUID(required=True, metadata={"description": "for DecideReview"})
    household_id = fields.UUID(required=True)
    benefit_id = fields.UUID(required=True)
    program = fields.String(required=True)
    kecamatan = fields.String(required=True)
    kelurahan = fields.String(required=True)
    cause = fields.String(
        required=True,
        metadata={"description": "nib, death, verification, objection, moved_out, graduation"},
    )
    deadline = fields.Date(
        required=True, metadata={"description": "14 days after the fact was recorded"}
    )
    opened_at = fields.String(required=True, metadata={"description": "RFC 3339"})
    overdue = fields.Boolean(required=True)


class ReviewsSchema(_Answer):
    results = fields.List(fields.Nested(ReviewSchema), required=True)


# --- approvals -----------------------------------------------------------------------------


class ApprovalSchema(_Answer):
    approval_id = fields.UUID(required=True)
    version = fields.Integer(required=True)
    status = fields.String(required=True)
    command = fields.String(required=True, metadata={"description": "the command kept"})
    cmd = fields.Dict(required=True, metadata={"description": "the command's validated fields"})
    requested_by = fields.Dict(allow_none=True)
    requested_at = fields.AwareDateTime(allow_none=True)
    reason = fields.String(allow_none=True)
    decided_by = fields.Dict(allow_none=True)
    note = fields.String(allow_none=True)
    reasons = fields.List(
        fields.Dict(),
        metadata={
            "description": "status refused: what failed at approval, each a program rule's "
            "{rule, rule_version, code, detail} or the command's own check {field, code, detail}"
        },
    )


class ApprovalsSchema(_Answer):
    approvals = fields.List(fields.Nested(ApprovalSchema), required=True)


class MyApprovalSchema(ApprovalSchema):
    decided_at = fields.String(
        allow_none=True, metadata={"description": "when it was decided; null while pending"}
    )


class MyApprovalsSchema(_Answer):
    approvals = fields.List(fields.Nested(MyApprovalSchema), required=True)


# --- privacy (UU PDP) ----------------------------------------------------------------------


class ActivitySchema(_Answer):
    program = fields.String(required=True)
    name = fields.String(required=True)
    opd = fields.String(required=True)
    funding = fields.String(required=True)
    kind = fields.String(required=True)
    purpose = fields.String(required=True)
    legal_basis = fields.List(fields.String(), required=True)


class DataCategorySchema(_Answer):
    category = fields.String(required=True)
    label = fields.String(required=True)
    specific = fields.Boolean(
        required=True, metadata={"description": "specific personal data (UU PDP Pasal 4)"}
    )
    fields_ = fields.List(fields.String(), data_key="fields", required=True)
    collected_by = fields.List(
        fields.String(), required=True, metadata={"description": "the commands that record it"}
    )
    retention = fields.String(required=True)


class RecordOfProcessingSchema(_Answer):
    """The record of processing activities, generated from the program catalog and the
    agencies' data-sharing agreements (`recipients.agency_agreements`)."""

    controller = fields.String(required=True)
    generated_at = fields.AwareDateTime(required=True)
    activities = fields.List(fields.Nested(ActivitySchema), required=True)
    data_categories = fields.List(fields.Nested(DataCategorySchema), required=True)
    data_subjects = fields.List(fields.String(), required=True)
    recipients = fields.Dict(required=True)
    safeguards = fields.List(fields.String(), required=True)
    legal_review_note = fields.String(required=True)
    fundings = fields.List(fields.String(), required=True)
    kinds = fields.List(fields.String(), required=True)


class BreachQuerySchema(Schema):
    actor = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "account ids (repeat it, or separate them with commas)"},
    )
    from_ = fields.AwareDateTime(
        data_key="from", required=True, metadata={"description": "start (RFC 3339), included"}
    )
    to = fields.AwareDateTime(
        required=True, metadata={"description": "end (RFC 3339), excluded; after from"}
    )


class BreachHouseholdSchema(_Answer):
    household_id = fields.UUID(required=True)
    reads = fields.Integer(required=True)
    actors = fields.List(fields.String(), required=True)
    first = fields.String(required=True)
    last = fields.String(required=True)


class BreachPersonSchema(_Answer):
    nik_hash = fields.String(required=True, metadata={"description": "the NIK's HMAC"})
    reads = fields.Integer(required=True)


class BreachReportSchema(_Answer):
    """What the accounts read in the window: households and persons (by NIK hash), counted."""

    from_ = fields.String(data_key="from", required=True)
    to = fields.String(required=True)
    actors = fields.List(fields.String(), required=True)
    reads = fields.Integer(required=True)
    households = fields.List(fields.Nested(BreachHouseholdSchema), required=True)
    persons = fields.List(fields.Nested(BreachPersonSchema), required=True)
    notify_within_hours = fields.Integer(required=True)
    notify_by_if_discovered_at_window_end = fields.AwareDateTime(required=True)


class SubjectAccessReportSchema(_Answer):
    """Everything held about one person and the processing trail (UU PDP Pasal 7 and 32)."""

    report = fields.String(required=True, validate=validate.OneOf(["subject_access"]))
    generated_at = fields.AwareDateTime(required=True)
    controller = fields.String(required=True)
    legal_basis = fields.List(fields.String(), required=True)
    legal_review_note = fields.String(required=True)
    nik = fields.String(required=True)
    nik_hash = fields.String(required=True)
    person = fields.Dict(required=True, allow_none=True)
    households = fields.List(fields.Dict(), required=True)
    provisional_identities = fields.List(fields.Dict(), required=True)
    benefits = fields.List(fields.Dict(), required=True)
    nibs = fields.List(fields.Dict(), required=True)
    empowerment = fields.List(fields.Dict(), required=True)
    objections_filed = fields.List(fields.Dict(), required=True)
    welfare_assessments = fields.List(fields.Dict(), required=True)
    events = fields.List(fields.Dict(), required=True)
    reads = fields.List(
        fields.Dict(), required=True, metadata={"description": "the access log's reads of it"}
    )
    disclosures = fields.Dict(
        required=True,
        metadata={"description": "published events and agency reads: data that left the system"},
    )
    generation_ms = fields.Float(required=True)


# --- operations ----------------------------------------------------------------------------


class HealthSchema(_Answer):
    """Positions and lag of the store, the relay, every projection and the DLQ."""

    status = fields.String(required=True, validate=validate.OneOf(["ok", "degraded"]))
    components = fields.Dict(
        keys=fields.String(),
        values=fields.Dict(),
        required=True,
        metadata={
            "description": (
                "by component: its position, lag or count, or an error; the relay and each"
                " projection its state (running, stuck or stopped, since when); a projection"
                " being rebuilt the state rebuilding and its rebuild: done, total, percent,"
                " seconds_left (null until known); agencies: how many agency topics and the"
                " lag of the furthest behind (each by its code, agency:CODE, only to a"
                " supervisor, auditor or administrator signed in or by bearer token)"
            )
        },
    )


# --- the cross-OPD view (app/overview_api.py) ----------------------------------------------


class AreaQuerySchema(Schema):
    kecamatan = fields.String(metadata={"description": "a kecamatan of Kota Jambi (name or code)"})
    kelurahan = fields.String(
        metadata={"description": "a kelurahan (name or code; required of a caseworker: theirs)"}
    )


class OverviewQuerySchema(AreaQuerySchema):
    opd = fields.String(metadata={"description": "only this OPD's programs, e.g. DINSOS"})


class MonthlyQuerySchema(AreaQuerySchema):
    program = fields.String(metadata={"description": "one program's series; none: every one"})


class _Counts(_Answer):
    families = fields.Integer(
        required=True,
        metadata={
            "description": "with a benefit running today (WIB): its period covers today and it"
            " is not suspended or terminated"
        },
    )
    persons = fields.Integer(required=True, metadata={"description": "their recipients"})
    amount = fields.Integer(
        required=True,
        metadata={"description": "the amounts of the benefits running today, whole rupiah"},
    )
    monthly_amount = fields.Integer(
        required=True, metadata={"description": "the same per month of their periods"}
    )


class OverviewProgramSchema(_Counts):
    opd = fields.String(required=True)
    program = fields.String(required=True)
    name = fields.String(required=True)
    yearly_target = fields.Integer(required=True, allow_none=True)
    city_families = fields.Integer(required=True, metadata={"description": "in the whole city"})
    progress = fields.Float(
        required=True,
        allow_none=True,
        metadata={"description": "city_families / yearly_target; null without a target"},
    )


class OverviewOpdSchema(_Counts):
    opd = fields.String(required=True)


class OverviewRowSchema(_Counts):
    opd = fields.String(required=True)
    program = fields.String(required=True)
    kecamatan = fields.String(required=True)
    kelurahan = fields.String(required=True)


class OverviewSchema(_Answer):
    filters = fields.Dict(required=True)
    programs = fields.List(fields.Nested(OverviewProgramSchema), required=True)
    opds = fields.List(
        fields.Nested(OverviewOpdSchema),
        required=True,
        metadata={
            "description": "distinct families per OPD (a family in two of its programs once)"
        },
    )
    rows = fields.List(
        fields.Nested(OverviewRowSchema),
        required=True,
        metadata={"description": "per OPD, program, kecamatan and kelurahan"},
    )


class MonthSchema(_Answer):
    month = fields.String(required=True, metadata={"example": "2026-01"})
    families = fields.Integer(required=True)
    persons = fields.Integer(required=True)
    amount = fields.Integer(required=True)


class SeriesSchema(_Answer):
    program = fields.String(required=True)
    opd = fields.String(required=True)
    months = fields.List(fields.Nested(MonthSchema), required=True)


class MonthlySchema(_Answer):
    filters = fields.Dict(required=True)
    series = fields.List(fields.Nested(SeriesSchema), required=True)


class OverlapPairSchema(_Answer):
    program_a = fields.String(required=True)
    program_b = fields.String(required=True)
    families = fields.Integer(
        required=True,
        metadata={"description": "with a benefit of each program running today"},
    )


class OverlapsSchema(_Answer):
    filters = fields.Dict(required=True)
    programs = fields.List(fields.String(), required=True)
    pairs = fields.List(fields.Nested(OverlapPairSchema), required=True)
    matrix = fields.List(
        fields.List(fields.Integer()),
        required=True,
        metadata={"description": "families per pair, rows and columns in `programs` order"},
    )


# --- reconciliation ------------------------------------------------------------------------


class ReconciliationQuerySchema(PageQuerySchema):
    kecamatan = fields.String(
        metadata={
            "description": "only this kecamatan of Kota Jambi (name in any case, or code);"
            " not of a caseworker"
        }
    )
    kelurahan = fields.String(
        metadata={
            "description": "only this kelurahan (name in any case, code or accepted spelling);"
            " a caseworker one of theirs, none named: their first"
        }
    )
    reason = fields.String(
        validate=validate.OneOf(reconciliation.REASONS),
        metadata={"description": "only the families with this disagreement"},
    )


class ReconciliationCountsSchema(_Answer):
    kecamatan = fields.String(required=True)
    kelurahan = fields.String()
    listed = fields.Integer(required=True, metadata={"description": "families a source lists"})
    any = fields.Integer(required=True, metadata={"description": "families with a disagreement"})
    membership = fields.Integer(required=True)
    desil = fields.Integer(required=True)
    benefit = fields.Integer(required=True)
    deceased = fields.Integer(required=True)
    missing_in_source = fields.Integer(required=True)
    stale = fields.Integer(
        required=True, metadata={"description": "families with a source's data left out as stale"}
    )


class ReconciliationRuleSchema(_Answer):
    """The rule the view's answers follow: the one it was built under."""

    desil_tolerance = fields.Integer(
        required=True, metadata={"description": "deciles the sources may differ by"}
    )
    stale_months = fields.Integer(
        required=True,
        metadata={
            "description": "a source's listing or decile more than this many months older than"
            " the family's newest one is left out of the comparison (reason `stale`)"
        },
    )
    matches_settings = fields.Boolean(
        required=True,
        metadata={
            "description": "false: the settings (CASEWORK_RECONCILE_*) now state another rule;"
            " the view is rebuilt under it when the projection runner next starts"
        },
    )
    settings = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        required=True,
        metadata={"description": "the rule the settings state"},
    )


class ReconciliationFamilySchema(_Answer):
    household_id = fields.UUID(required=True)
    kecamatan = fields.String(required=True)
    kelurahan = fields.String(required=True)
    reasons = fields.List(fields.String(), required=True)
    link = fields.String(required=True, metadata={"description": "the case's page"})


class ReconciliationSchema(_Answer):
    """Counts per kecamatan and kelurahan, and a page of the families where the sources
    disagree (`results`: not answered to program managers, who read the counts only)."""

    kecamatan = fields.String(
        allow_none=True,
        metadata={"description": "the kecamatan answered, as the register names it (null: all)"},
    )
    kelurahan = fields.String(
        allow_none=True,
        metadata={"description": "the kelurahan answered, as the register names it (null: all)"},
    )
    reason = fields.String(allow_none=True, metadata={"description": "the reason asked"})
    tolerance = fields.Integer(
        required=True, metadata={"description": "deciles the sources may differ by"}
    )
    stale_months = fields.Integer(
        required=True, metadata={"description": "months after which a source's data is stale"}
    )
    rule = fields.Nested(ReconciliationRuleSchema, required=True)
    reasons = fields.List(fields.String(), required=True)
    by_kelurahan = fields.List(fields.Nested(ReconciliationCountsSchema), required=True)
    by_kecamatan = fields.List(fields.Nested(ReconciliationCountsSchema), required=True)
    results = fields.List(fields.Nested(ReconciliationFamilySchema))


class ReconciliationHouseholdSchema(_Answer):
    """What the register and each source (DTSEN, DTKS, P3KE, VERVAL) say side by side: per
    source its latest listing (period, reference, decile, aid flags), the register's active
    members it misses, the persons only it lists, those it marks deceased who are alive here,
    and those it lists as living whose death the register has (`alive_in_source`) (each by
    keyed hash and masked NIK; `members`, how many it lists, is null for a source that
    lists no members, VERVAL, which is not compared on them), and the reasons they disagree. A
    source whose listing (`stale`) or decile (`desil_stale`) is more than `stale_months` older
    than the family's `newest_period` is left out of the comparison."""

    household_id = fields.UUID(required=True)
    kecamatan = fields.String(required=True)
    kelurahan = fields.String(required=True)
    reasons = fields.List(fields.String(), required=True)
    listed = fields.Boolean(required=True)
    desil_spread = fields.Integer(required=True)
    tolerance = fields.Integer(required=True)
    stale_months = fields.Integer(required=True)
    newest_period = fields.String(
        allow_none=True, metadata={"description": "the family's newest period of any source"}
    )
    rule = fields.Nested(ReconciliationRuleSchema, required=True)
    register = fields.Dict(required=True)
    sources = fields.Dict(keys=fields.String(), values=fields.Dict(), required=True)


# --- agencies: the feed and webhooks (app/agency_api.py) -----------------------------------


class AgreementRefSchema(_Answer):
    agency = fields.String(required=True, metadata={"description": "the agency's code"})
    version = fields.Integer(
        required=True, metadata={"description": "the agreement's terms version applied"}
    )


class AgencyEventSchema(_Answer):
    """One event as the agency's agreement lets it through: the envelope of
    casework.events.v1 with `data` reduced to the allowed fields (personal fields opened or as
    pseudonyms, as the agreement says), signed as a message of casework.agency.CODE.v1 keyed by
    its stream id (check it with /api/v1/keys: the document without signature and key_id is
    the message's value)."""

    event_id = fields.UUID(required=True, metadata={"description": "stable: the delivery id"})
    tenant = fields.String(required=True)
    position = fields.Integer(required=True, metadata={"description": "the store position"})
    stream_id = fields.String(required=True)
    stream_type = fields.String(required=True)
    version = fields.Integer(required=True)
    type = fields.String(required=True, metadata={"description": "the event type"})
    schema_version = fields.Integer(required=True)
    occurred_at = fields.String(required=True)
    recorded_at = fields.String(required=True)
    actor = fields.Dict(required=True)
    reason = fields.String(allow_none=True)
    source = fields.String(required=True)
    data = fields.Dict(
        required=True, metadata={"description": "only the fields the agreement allows"}
    )
    agreement = fields.Nested(AgreementRefSchema, required=True)
    signature = fields.String(required=True, metadata={"description": "base64 Ed25519"})
    key_id = fields.String(required=True, metadata={"description": "a kid of /api/v1/keys"})


class FeedSchema(_Answer):
    events = fields.List(fields.Nested(AgencyEventSchema), required=True)
    next = fields.Integer(
        required=True,
        metadata={
            "description": "the last position looked at: continue with after=next (a page"
            " without events still moves on; equal to after when nothing is new)"
        },
    )


class FeedQuerySchema(Schema):
    after = fields.Integer(
        validate=validate.Range(0, 10**18),
        metadata={"description": "the position to continue after (default 0: the start)"},
    )
    limit = fields.Integer(
        validate=validate.Range(1, MAX_LIMIT), metadata={"description": "events (default 50)"}
    )
    wait = fields.Integer(
        validate=validate.Range(0, 30),
        metadata={
            "description": "seconds to wait for an event when nothing is new (long polling;"
            " default 0)"
        },
    )


class WebhookRequestSchema(Schema):
    url = fields.String(
        required=True,
        metadata={
            "description": "the endpoint: https, not this server's own address (loopback:"
            " only where CASEWORK_LOOPBACK_ENDPOINTS=allow, then http too); at most 2048"
            " characters"
        },
    )


class WebhookSchema(_Answer):
    """The registered endpoint. Each event is POSTed as JSON (an AgencyEvent) with the headers
    X-Casework-Timestamp (unix seconds), X-Casework-Signature (`sha256=` + hex HMAC-SHA256
    of `timestamp + "." + body` keyed with the secret) and X-Casework-Delivery (the event_id,
    the same on every attempt); in order within each stream; retried with exponential
    back-off and dead-lettered after the last attempt (its stream's later events wait until an
    administrator redelivers). Reject a request whose timestamp is more than 300 s away or
    that was accepted before (consumers/webhook_signature.py)."""

    id = fields.UUID(required=True)
    agency = fields.String()
    url = fields.String(required=True)
    created_at = fields.String(required=True)
    active = fields.Boolean(required=True)


class WebhookCreatedSchema(WebhookSchema):
    secret = fields.String(
        required=True, metadata={"description": "the HMAC key: shown this once, keep it"}
    )


class WebhookQueueSchema(_Answer):
    pending = fields.Integer(required=True)
    dead = fields.Integer(required=True)


class WebhookStateSchema(_Answer):
    webhook = fields.Nested(WebhookSchema, allow_none=True, required=True)
    queue = fields.Nested(WebhookQueueSchema, required=True)


class DeactivatedSchema(_Answer):
    deactivated = fields.Integer(required=True, metadata={"description": "0 or 1"})


class DeadLetterSchema(_Answer):
    agency = fields.String(required=True)
    position = fields.Integer(required=True)
    stream_id = fields.String(required=True)
    attempts = fields.Integer(required=True)
    error = fields.String(allow_none=True, metadata={"description": "the last failure's kind"})
    waiting = fields.Integer(
        required=True, metadata={"description": "later events of the stream parked behind it"}
    )


class DeadLettersSchema(_Answer):
    dead_letters = fields.List(fields.Nested(DeadLetterSchema), required=True)


class DeadLetterQuerySchema(Schema):
    agency = fields.String(metadata={"description": "only this agency's"})


class RedeliverSchema(Schema):
    agency = fields.String(required=True)
    stream_id = fields.String(metadata={"description": "only this stream's dead letters"})


class RedeliveredSchema(_Answer):
    redelivered = fields.Integer(required=True)


# --- the DCI social registry interface (app/dci.py): SPDCI social_api v1.0.0 -----------------
# The shapes of `header` and `message` are the specification's (its OpenAPI document,
# social_api_v1.0.0.yaml, against which tests/integration/test_dci.py checks every request and
# answer); here only the envelope every request and answer shares.


class DciEnvelopeSchema(Schema):
    class Meta:
        unknown = RAISE

    signature = fields.String(
        metadata={
            "description": "the sender's signature (accepted, not verified: the bearer token"
            " authenticates the agency)"
        }
    )
    header = fields.Dict(
        required=True,
        metadata={
            "description": "SPDCI MsgHeader: version, message_id, message_ts, action,"
            " sender_id, sender_uri (where callbacks go: https, not this server's own address),"
            " receiver_id, total_count, is_msg_encrypted (false)"
        },
    )
    message = fields.Dict(
        required=True,
        metadata={
            "description": "the action's request: SearchRequest, SubscribeRequest,"
            " UnSubscribeRequest or TxnStatusRequest (social_api v1.0.0)"
        },
    )


class DciAnswerSchema(_Answer):
    signature = fields.String(
        metadata={"description": "the system's Ed25519 signature (sync answers)"}
    )
    key_id = fields.String(metadata={"description": "a kid of /api/v1/keys (sync answers)"})
    header = fields.Dict(metadata={"description": "SPDCI MsgCallbackHeader (sync answers)"})
    message = fields.Dict(
        required=True,
        metadata={
            "description": "sync: the action's response (SearchResponse, TxnStatusResponse);"
            " async: the acknowledgement {ack_status: ACK, timestamp, correlation_id}, the"
            " answer following as a callback to <sender_uri>/registry/on-<action>"
        },
    )
