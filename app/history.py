"""The history reader: every event of one stream, in order, as the audit trail shows it
(the API's history routes and the subject-access report)."""

from __future__ import annotations

import uuid
from typing import Any

from adapters.wire import EVENT_FRAME, plain, rfc3339
from domain.application import Casework, event_id
from domain.texts import N_


def stream_history(casework: Casework, stream_id: uuid.UUID) -> list[dict[str, Any]]:
    """Every event of one stream, in order, as the audit trail shows it."""
    history = []
    for stored in casework.recorder.select_events(stream_id):
        event = casework.mapper.to_domain_event(stored)
        meta = getattr(event, "meta", None) or {}
        entry = {
            "event_id": event_id(event.originator_id, event.originator_version),
            "version": event.originator_version,
            "type": type(event).__qualname__.rsplit(".", 1)[-1],
            "occurred_at": meta.get("occurred_at") or rfc3339(event.timestamp),
            "recorded_at": rfc3339(event.timestamp),
            "actor": meta.get("actor"),
            "reason": meta.get("reason"),
            "source": meta.get("source"),
            "data": {k: plain(v) for k, v in event.__dict__.items() if k not in EVENT_FRAME},
        }
        if "approved_by" in meta:
            entry["approved_by"] = meta["approved_by"]
        history.append(entry)
    return history


# What each event means, as the household page's timeline and the audit log say it (English
# msgids; the pages translate them). Every event type of the domain has one
# (tests/unit/test_event_labels.py).
EVENT_LABELS = {
    "HouseholdRegistered": N_("Household registered"),
    "MemberAdded": N_("Member added"),
    "MemberRemoved": N_("Member removed"),
    "MemberRejoined": N_("Member rejoined"),
    "MemberCorrected": N_("Member's data corrected"),
    "DeathRecorded": N_("Death recorded"),
    "HeadChanged": N_("Head of family changed"),
    "HouseholdRelocated": N_("Household moved"),
    "KtpIssued": N_("KTP issued"),
    "ProvisionalIdentityLinked": N_("Provisional identity linked"),
    "NibRegistered": N_("NIB registered"),
    "NibRevoked": N_("NIB revoked"),
    "WelfareAssessed": N_("Welfare assessed"),
    "SourceListingRecorded": N_("Data source listing recorded"),
    "VerificationRecorded": N_("Field verification recorded"),
    "BenefitGranted": N_("Benefit granted"),
    "BenefitSuspended": N_("Benefit suspended"),
    "BenefitResumed": N_("Benefit resumed"),
    "BenefitTerminated": N_("Benefit terminated"),
    "BenefitReviewOpened": N_("Benefit review opened"),
    "BenefitReviewDecided": N_("Benefit review decided"),
    "BenefitReviewOverdue": N_("Benefit review overdue"),
    "EmpowermentEnrolled": N_("Enrolled in empowerment"),
    "EmpowermentCompleted": N_("Empowerment completed"),
    "CaseNoteAdded": N_("Case note added"),
    "ObjectionFiled": N_("Objection filed"),
    "ObjectionResolved": N_("Objection resolved"),
    "ObjectionLapsed": N_("Objection lapsed"),
    "ProcessingRestricted": N_("Processing restricted"),
    "RestrictionLifted": N_("Restriction lifted"),
    "PersonalDataErased": N_("Personal data erased"),
    "ErasureRefused": N_("Erasure refused"),
    "HouseholdSplitOff": N_("New family split off"),
    "FamilySplit": N_("Family split"),
    "PersonNoteAdded": N_("Note on a person added"),
    "ServiceRecorded": N_("Service recorded"),
    # a person helped before their NIK was known
    "HomelessPersonRegistered": N_("Person without NIK registered"),
    "ProvisionalBenefitGranted": N_("Benefit granted (before the NIK)"),
    "ProvisionalBenefitSuspended": N_("Benefit suspended (before the NIK)"),
    "ProvisionalBenefitResumed": N_("Benefit resumed (before the NIK)"),
    "ProvisionalBenefitTerminated": N_("Benefit terminated (before the NIK)"),
    "IdentityLinked": N_("NIK linked"),
    # the uniqueness indexes of NIK and KK numbers
    "NikClaimed": N_("NIK recorded in the index"),
    "NikClaimedAgain": N_("NIK recorded in the index again"),
    "NikReleased": N_("NIK released from the index"),
    "KkClaimed": N_("KK number recorded in the index"),
    "BenefitReceived": N_("Benefit noted on the NIK"),
    # programs
    "ProgramCatalogOpened": N_("Program catalog opened"),
    "ProgramDefined": N_("Program defined"),
    "ProgramListed": N_("Program listed"),
    "ProgramRulesChanged": N_("Program rules changed"),
    # maker-checker
    "PendingIndexOpened": N_("Approval queue opened"),
    "ChangeRequested": N_("Change requested"),
    "ApprovalOpened": N_("Approval requested"),
    "ChangeApproved": N_("Change approved"),
    "ChangeRejected": N_("Change rejected by a supervisor"),
    "ChangeRefused": N_("Change refused at approval: it could no longer be carried out"),
    "ApprovalClosed": N_("Approval closed"),
    # accounts and agencies
    "UserAdded": N_("Account added"),
    "UserDeactivated": N_("Account deactivated"),
    "UserReactivated": N_("Account reactivated"),
    "UserChanged": N_("Account's role or area changed"),
    "PasswordSet": N_("Password set"),
    "TokenIssued": N_("API token issued"),
    "TokenClaimed": N_("API token recorded"),
    "TokenRevoked": N_("API token revoked"),
    "AgreementDefined": N_("Data-sharing agreement made"),
    "AgreementChanged": N_("Data-sharing agreement changed"),
    "AgreementRevoked": N_("Data-sharing agreement revoked"),
}


def timeline(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A household's events in the order they were recorded (its stream's order), for its
    page: its version (its number in the stream), the type, its label (an English msgid, None
    when unknown), when it happened and when it was recorded (RFC 3339) and its data."""
    return [
        {
            "version": entry["version"],
            "type": entry["type"],
            "label": EVENT_LABELS.get(entry["type"]),
            "occurred_at": entry["occurred_at"],
            "recorded_at": entry["recorded_at"],
            "reason": entry.get("reason"),
            "data": entry["data"],
        }
        for entry in history
    ]
