"""Maker-checker use cases: request a change, approve it (carrying it out), reject it."""

from __future__ import annotations

import copy
import uuid
from contextvars import ContextVar
from typing import Any, NoReturn

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from domain.agreement import normalize_agency
from domain.approval import Forbidden, PendingChange, PendingIndex
from domain.errors import Concurrent, Conflict, DomainError, Erased, NotFound, Refused, RulesFailed
from domain.personal_data import ERASED_ID
from domain.use_case import Stored, UseCases

_DECISIONS = ("ApproveChange", "RejectChange")
# The requests of which one per agency waits at a time: a second would be decided on the
# terms as they were before the first, which its approval may change (or revoke).
_AGREEMENT_REQUESTS = frozenset(
    {"DefineAgencyAgreement", "ChangeAgencyAgreement", "RevokeAgencyAgreement"}
)
_INDEX_ATTEMPTS = 5

# Aggregates to store in the same transaction as the next `_save` (the approval itself).
_RIDERS: ContextVar[tuple[Any, ...]] = ContextVar("casework_approval_riders", default=())


def _marked_field(value: Any, path: str = "") -> str | None:
    """The dotted path of the first erasure marker (`erased:<subject>`) in a command."""
    if isinstance(value, str):
        return (path or "nik") if value.startswith(ERASED_ID) else None
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list | tuple):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        found = _marked_field(item, f"{path}.{key}" if path else str(key))
        if found is not None:
            return found
    return None


class ApprovalCases(UseCases):
    def request_approval(self, command: str, cmd: dict[str, Any], meta: dict[str, Any]) -> Stored:
        """Keep the command until a supervisor decides; its stream id is the approval id."""
        if command not in self.commands or command in _DECISIONS:
            raise DomainError("command", "approval.command_unknown")
        for _ in range(_INDEX_ATTEMPTS):
            pending = PendingChange(command=command, cmd=copy.deepcopy(cmd), meta=meta)
            index = self._pending_index() or PendingIndex(meta=meta)
            self._check_none_waiting(command, cmd, index)
            index.opened(pending.id, meta)
            try:
                return self._save(pending, [index])
            except Erased:
                raise  # it names an erased person: no key for them, nothing kept
            except Conflict:
                continue  # another request updated the queue first: retry on the new version
        raise Concurrent()

    def _check_none_waiting(self, command: str, cmd: dict[str, Any], index: PendingIndex) -> None:
        """An agreement request while another for the same agency waits is refused (422 at
        `agency`). Read from the queue this request is saved with: of two asked at the same
        moment, the second to save retries on the queue the first updated, and is refused."""
        if command not in _AGREEMENT_REQUESTS:
            return
        agency = normalize_agency(cmd.get("agency"))
        for approval_id in index.open_ids:
            other = self.repository.get(approval_id)
            if (
                other.status == "pending"
                and other.command in _AGREEMENT_REQUESTS
                and normalize_agency(other.cmd.get("agency")) == agency
            ):
                raise DomainError("agency", "agreement.request_pending")

    def approve_change(self, cmd: dict[str, Any], meta: dict[str, Any]) -> Any:
        """Carry out the change as the maker's, approved by this supervisor; answers what the
        command answers. When the command can no longer be carried out on the facts of this
        moment (a program's rules fail, or its own checks: a member already removed...), the
        change is closed as refused with the reasons and Refused is raised. When the maker
        pinned an `expected_version` the household has since left, the change cannot be
        approved (409 approval.outdated) and stays pending, for a supervisor to reject it or the
        maker to ask again. A concurrent write (Concurrent) leaves it pending: the command path
        tries again. If the person it is about was erased meanwhile, it is closed as refused
        (`approval.person_erased`, 409 naming the person's field) and nothing of it is stored."""
        pending = self.get_pending_change(cmd["approval_id"])
        self._check_expected_version(pending, cmd.get("expected_version"))
        erased = self._erased_field(pending)
        if erased is not None:
            self._refuse_erased(pending.id, erased, meta)
        pending.approve(cmd.get("note"), meta)
        executed_meta = {
            **pending.requester_meta,
            "approved_by": meta["actor"],
            "approval_id": str(pending.id),
        }
        token = _RIDERS.set((pending,))
        try:
            result = self.execute(pending.command, copy.deepcopy(pending.cmd), executed_meta)
            unsaved = _RIDERS.get()
        except (Concurrent, Forbidden):
            raise
        except Erased as erased_now:
            # the key store refused a key for an erased person (erased by another process
            # while this one still had them in its caches): closed as refused, nothing stored
            _RIDERS.reset(token)
            token = None
            self._refuse_erased(pending.id, erased_now.field, meta)
        except DomainError as failed:
            _RIDERS.reset(token)
            token = None
            if _pinned_stale(failed, pending):
                raise Conflict("approval_id", "approval.outdated") from None
            if isinstance(failed, RulesFailed):
                reasons = failed.reasons
            else:
                reasons = [{"field": failed.field, "code": failed.code, "detail": {}}]
            stored = self._refuse(pending.id, reasons, meta)
            raise Refused(reasons, stored) from None
        finally:
            if token is not None:
                _RIDERS.reset(token)
        if unsaved:
            # The command stored nothing through `_save`: record the approval right after.
            try:
                self.save(*unsaved)
            except IntegrityError:
                raise Conflict("approval_id", "approval.decided") from None
        self._close_pending(pending.id, meta)
        return result

    def _erased_field(self, pending: PendingChange) -> str | None:
        """The field of the pending command naming a person whose data was erased since it
        was asked for (their NIK now reads as its erasure marker, or the household records
        them as erased), if any."""
        marked = _marked_field(pending.cmd)
        if marked is not None:
            return marked
        nik, household_id = pending.cmd.get("nik"), pending.cmd.get("household_id")
        if isinstance(nik, str) and household_id is not None:
            cases: Any = self
            try:
                household = cases.get_household(household_id)
            except NotFound:
                return None
            if household.is_erased(nik):
                return "nik"
        return None

    def _refuse_erased(self, approval_id: uuid.UUID, field: str, meta: dict[str, Any]) -> NoReturn:
        """Close the change as refused because the person it names was erased, and answer so
        (409, naming the person's field; the field's name only, never its value)."""
        reason = {
            "rule": "personal_data_erased",
            "rule_version": None,
            "code": "approval.person_erased",
            "detail": {"field": field},
        }
        self._refuse(approval_id, [reason], meta)
        raise Conflict(field, "approval.person_erased")

    def _refuse(
        self, approval_id: uuid.UUID, reasons: list[dict[str, Any]], meta: dict[str, Any]
    ) -> Stored:
        """Close the change as refused (ChangeRefused with the reasons): never left pending
        once it can no longer be carried out at approval."""
        pending = self.get_pending_change(approval_id)
        pending.refuse(reasons, meta)
        try:
            stored = self._save(pending, [])
        except Conflict:
            raise Conflict("approval_id", "approval.decided") from None
        self._close_pending(pending.id, meta)
        return stored

    # The stream each command that needs approval names, checked when it is asked for.
    def check_request(self, command: str, cmd: dict[str, Any], meta: dict[str, Any]) -> None:
        """Before a change is queued: what it names must exist (NotFound, 404) and a grant
        must pass its program's rules on today's facts (RulesFailed, 422 with every failing
        rule). Nothing is stored."""
        cases: Any = self
        if command == "GrantBenefit":
            cases._prepare_grant(copy.deepcopy(cmd), meta)
        elif command in ("RemoveMember", "RequestErasure"):
            household = cases.get_household(cmd["household_id"])
            if cmd["nik"] not in household.members:
                raise NotFound("nik", "member.not_found")
        elif command == "TerminateBenefit":
            household = cases.get_household(cmd["household_id"])
            if str(cmd["benefit_id"]) not in household.benefits:
                raise NotFound("benefit_id", "benefit.not_found")
        elif command == "LinkIdentity":
            cases.get_provisional_person(cmd["person_id"])
            household = cases.get_household(cmd["household_id"])
            if cmd["nik"] not in household.members:
                raise NotFound("nik", "member.not_found")
        elif command == "ChangeProgramRules":
            cases.get_program(cmd["code"])

    def reject_change(self, cmd: dict[str, Any], meta: dict[str, Any]) -> Stored:
        pending = self.get_pending_change(cmd["approval_id"])
        self._check_expected_version(pending, cmd.get("expected_version"))
        pending.reject(cmd.get("note"), meta, reason_code=cmd.get("reason_code"))
        riders = []
        if cmd.get("exemption"):
            # UU PDP article 15: a refused erasure and its ground are recorded on the household.
            if pending.command != "RequestErasure":
                raise DomainError("exemption", "exemption.not_erasure")
            riders.append(
                self.refuse_erasure(
                    pending.cmd, cmd["exemption"], pending.note or "", str(pending.id), meta
                )
            )
        try:
            stored = self._save(pending, riders)
        except Conflict:
            raise Conflict("approval_id", "approval.decided") from None
        self._close_pending(pending.id, meta)
        return stored

    def get_pending_change(self, approval_id: uuid.UUID | str) -> PendingChange:
        try:
            pending = self.repository.get(uuid.UUID(str(approval_id)))
        except (AggregateNotFoundError, ValueError):
            pending = None
        if not isinstance(pending, PendingChange):
            raise NotFound("approval_id", "approval.not_found")
        return pending

    def pending_approvals(self) -> list[PendingChange]:
        """The changes still waiting for a decision, oldest first."""
        index = self._pending_index()
        if index is None:
            return []
        changes = [self.repository.get(approval_id) for approval_id in index.open_ids]
        return [change for change in changes if change.status == "pending"]

    def pending_approval_ids(self) -> list[uuid.UUID]:
        """The ids of the changes on the queue (the pending index), oldest first; a change
        decided a moment ago may still be among them: its status says."""
        index = self._pending_index()
        return list(index.open_ids) if index is not None else []

    def _save(self, aggregate: Any, claims: list, unique_field: str = "") -> Stored:
        riders = _RIDERS.get()
        if not riders:
            return super()._save(aggregate, claims, unique_field)
        _RIDERS.set(())
        try:
            return super()._save(aggregate, [*claims, *riders], unique_field)
        except Erased:
            raise  # a person erased meanwhile (approve_change closes the change)
        except Conflict:
            for rider in riders:
                # Each rider holds one new event: the stored version must be the one before.
                if self.repository.get(rider.id).version != rider.version - 1:
                    raise Conflict("approval_id", "approval.decided") from None
            raise self._explain_conflict(claims, unique_field) from None

    def _pending_index(self) -> PendingIndex | None:
        try:
            return self.repository.get(PendingIndex.ID)
        except AggregateNotFoundError:
            return None

    def _close_pending(self, approval_id: uuid.UUID, meta: dict[str, Any]) -> None:
        """Take a decided change off the queue (the queue re-checks status when read)."""
        for _ in range(_INDEX_ATTEMPTS):
            index = self._pending_index()
            if index is None or approval_id not in index.open_ids:
                return
            index.close(approval_id, meta)
            try:
                self.save(index)
                return
            except IntegrityError:
                continue


def _pinned_stale(failed: DomainError, pending: PendingChange) -> bool:
    """Whether the command failed because the maker pinned an `expected_version` that the
    stream has left (a Conflict, not a lost race: that is Concurrent)."""
    return (
        isinstance(failed, Conflict)
        and not isinstance(failed, Concurrent)
        and failed.code == "version.stale"
        and pending.cmd.get("expected_version") is not None
    )
