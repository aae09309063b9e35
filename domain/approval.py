"""Maker-checker: a change that waits for a second person, a supervisor, to approve it.

The pending change keeps the command and the maker's meta; on approval the command is
carried out as the maker's, with `approved_by` added to its meta.
"""

from __future__ import annotations

import uuid
from typing import Any

from eventsourcing.domain import Aggregate, event

from domain.errors import Conflict, DomainError

APPROVER_ROLE = "supervisor"

ERROR_CODES = (
    "approval.not_found",
    "approval.decided",
    "approval.refused",
    "approval.outdated",
    "approval.self",
    "approval.supervisor_only",
    "approval.command_unknown",
    "approval.note_required",
    "approval.person_erased",
    "rejection.reason_unknown",
    "version.stale",
)

# Why a change is rejected (RejectChange): the code list, declared once; the note says more.
REJECTION_REASONS = (
    "insufficient_evidence",  # bukti tidak cukup
    "rules_not_met",  # tidak memenuhi ketentuan program
    "data_incorrect",  # data tidak benar
    "duplicate",  # permintaan ganda
    "wrong_dates",  # tanggal atau periode tidak sesuai
    "legal_exemption",  # pengecualian menurut undang-undang (UU PDP pasal 15)
    "other",  # lainnya: the note says what
)

_NAMESPACE = uuid.UUID("8c1d2a4e-5f6b-4d7c-9e0a-3b2c1d4e5f60")


class Forbidden(DomainError):
    """The actor may not do this (answered as 403)."""


class PendingChange(Aggregate):
    """One command waiting for approval; its id is the approval id."""

    @event("ChangeRequested")
    def __init__(self, command: str, cmd: dict[str, Any], meta: dict[str, Any]) -> None:
        self.command = command
        self.cmd = cmd
        self.requester_meta = meta
        self.status = "pending"
        self.decided_by: dict[str, Any] | None = None
        self.note: str | None = None
        self.reasons: list[dict[str, Any]] = []  # refused: the checks that failed at approval

    @property
    def requester(self) -> dict[str, Any]:
        return self.requester_meta["actor"]

    def check_decider(self, meta: dict[str, Any]) -> None:
        actor = meta["actor"]
        if actor["role"] != APPROVER_ROLE:
            raise Forbidden("actor", "approval.supervisor_only")
        if actor["id"] == self.requester["id"]:
            raise Forbidden("actor", "approval.self")
        if self.status != "pending":
            raise Conflict("approval_id", "approval.decided")

    def approve(self, note: str | None, meta: dict[str, Any]) -> None:
        self.check_decider(meta)
        self._approved(meta["actor"], note, meta)

    @event("ChangeApproved")
    def _approved(self, approver: dict[str, Any], note: str | None, meta: dict[str, Any]) -> None:
        self.status = "approved"
        self.decided_by = approver
        self.note = note

    def reject(
        self, note: str | None, meta: dict[str, Any], reason_code: str | None = None
    ) -> None:
        self.check_decider(meta)
        if not (note or "").strip():
            raise DomainError("note", "approval.note_required")
        if reason_code is None:
            raise DomainError("reason_code", "value.required")
        if reason_code not in REJECTION_REASONS:
            raise DomainError("reason_code", "rejection.reason_unknown")
        self._rejected(meta["actor"], note.strip(), meta, reason_code)

    @event("ChangeRejected")
    def _rejected(
        self,
        approver: dict[str, Any],
        note: str,
        meta: dict[str, Any],
        reason_code: str | None = None,  # None in events recorded before reason codes
    ) -> None:
        self.status = "rejected"
        self.decided_by = approver
        self.note = note
        self.reason_code = reason_code

    def refuse(self, reasons: list[dict[str, Any]], meta: dict[str, Any]) -> None:
        """At approval the command, run again on the facts of that moment, failed (a program's
        rules, or its own checks: what it was made for is gone): the change is closed as
        refused with the reasons (it leaves the queue)."""
        self.check_decider(meta)
        self._refused(meta["actor"], reasons, meta)

    @event("ChangeRefused")
    def _refused(
        self, approver: dict[str, Any], reasons: list[dict[str, Any]], meta: dict[str, Any]
    ) -> None:
        self.status = "refused"
        self.decided_by = approver
        self.reasons = reasons


class PendingIndex(Aggregate):
    """The ids of changes still waiting, so the supervisors' queue reads one stream."""

    ID = uuid.uuid5(_NAMESPACE, "pending-approvals")

    @staticmethod
    def create_id() -> uuid.UUID:
        return PendingIndex.ID

    @event("PendingIndexOpened")
    def __init__(self, meta: dict[str, Any]) -> None:
        self.open_ids: list[uuid.UUID] = []

    @event("ApprovalOpened")
    def opened(self, approval_id: uuid.UUID, meta: dict[str, Any]) -> None:
        self.open_ids.append(approval_id)

    def close(self, approval_id: uuid.UUID, meta: dict[str, Any]) -> None:
        if approval_id in self.open_ids:
            self._closed(approval_id, meta)

    @event("ApprovalClosed")
    def _closed(self, approval_id: uuid.UUID, meta: dict[str, Any]) -> None:
        self.open_ids.remove(approval_id)
