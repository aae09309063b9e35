"""Use cases of a household: membership, identity, business, welfare, benefits, casework.

Each use case loads the household, honours `expected_version`, lets the aggregate check
its rules and record the event, and saves it with any uniqueness claims atomically.
Ids of benefits, enrolments and objections are `derived_id(stream_id, kind, version)`
(see domain.household): the answered `Stored.version` gives them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.utils import get_topic

from domain.eligibility_rules import check_grant
from domain.errors import Concurrent, Conflict, DomainError, Erased, NotFound
from domain.homeless import ProvisionalPerson
from domain.household import (
    Household,
    KkIndex,
    NikIndex,
    check_head,
    check_objector_kelurahan,
    identity_facts,
    occurred_on,
)
from domain.identity import kk_problems, nik_problems
from domain.use_case import Stored, UseCases, check_person


def household_change(change: Callable[..., None]) -> Callable[..., Stored]:
    """The use case of a command that changes one household and nothing else: load it,
    honour `expected_version`, let `change(household, **fields, meta=meta)` check its rules and
    record the event, save."""

    def use_case(cases: HouseholdCases, cmd: dict[str, Any], meta: dict[str, Any]) -> Stored:
        household = cases._household_for(cmd)
        fields = {k: v for k, v in cmd.items() if k not in _NOT_CHANGE_FIELDS}
        change(household, **fields, meta=meta)
        return cases._store(household)

    use_case.__name__ = change.__name__
    return use_case


def person_change(change: Callable[..., None]) -> Callable[..., Stored]:
    """The use case of a command that changes one provisional person (someone without a NIK
    yet) and nothing else: load them, honour `expected_version`, change, save."""

    def use_case(cases: HouseholdCases, cmd: dict[str, Any], meta: dict[str, Any]) -> Stored:
        person = cases.get_provisional_person(cmd["person_id"])
        cases._check_expected_version(person, cmd.get("expected_version"))
        fields = {k: v for k, v in cmd.items() if k not in (*_NOT_CHANGE_FIELDS, "person_id")}
        change(person, **fields, meta=meta)
        return cases._store(person)

    use_case.__name__ = change.__name__
    return use_case


# The grounds recorded when a restricted person moves to a new KK (SplitFamily).
RESTRICTION_CARRIED = "restricted on the KK the person left; carried over by the family split"

# Fields of every command that the use case reads, not the aggregate's change.
_NOT_CHANGE_FIELDS = ("household_id", "expected_version", "reason", "occurred_at")


class HouseholdCases(UseCases):
    # ---- loading and saving --------------------------------------------------------------

    def get_household(self, household_id: uuid.UUID | str) -> Household:
        try:
            wanted = uuid.UUID(str(household_id))
            household = self.repository.get(wanted)
        except (AggregateNotFoundError, ValueError):
            raise NotFound("household_id", "household.not_found") from None
        if not isinstance(household, Household):
            raise NotFound("household_id", "household.not_found")
        return household

    def household_at(self, household_id: uuid.UUID | str, version: int) -> Household | None:
        """The household as it was at that version (None before it was registered)."""
        if version < 1:
            return None
        try:
            household = self.repository.get(uuid.UUID(str(household_id)), version=version)
        except (AggregateNotFoundError, ValueError):
            return None
        return household if isinstance(household, Household) else None

    def replaced_changes(self, stored: Stored) -> list[dict[str, Any]]:
        """The benefit changes recorded ahead that a stored command replaced (a change from an
        earlier day, `with_change`): each with its benefit_id, program, status and
        effective_date, in the order they were scheduled; [] for a stream that is no
        household."""
        before = self.household_at(stored.stream_id, stored.first_version - 1)
        after = self.household_at(stored.stream_id, stored.version)
        if before is None or after is None:
            return []
        replaced = []
        for benefit_id, benefit in before.benefits.items():
            kept = (after.benefits.get(benefit_id) or {}).get("history") or []
            replaced += [
                {
                    "benefit_id": benefit_id,
                    "program": benefit["program"],
                    "status": step["status"],
                    "effective_date": step["effective_date"],
                }
                for step in benefit["history"][1:]
                if step not in kept
            ]
        return replaced

    def get_provisional_person(self, person_id: uuid.UUID | str) -> ProvisionalPerson:
        try:
            person = self.repository.get(uuid.UUID(str(person_id)))
        except (AggregateNotFoundError, ValueError):
            raise NotFound("person_id", "person.not_found") from None
        if not isinstance(person, ProvisionalPerson):
            raise NotFound("person_id", "person.not_found")
        return person

    def provisional_persons(self) -> list[ProvisionalPerson]:
        """Every person registered without papers, oldest first (read through the
        notification log by the topic of their registration), for the forms to pick from."""
        topic = get_topic(ProvisionalPerson.HomelessPersonRegistered)
        ids, position = [], 0
        while batch := self.recorder.select_notifications(
            position, 500, topics=[topic], inclusive_of_start=False
        ):
            ids += [n.originator_id for n in batch]
            position = batch[-1].id
        return [self.get_provisional_person(person_id) for person_id in ids]

    def household_id_for_nik(self, nik: str) -> uuid.UUID | None:
        """The household the NIK is an active (or deceased) member of, if any."""
        index = self._nik_index(nik)
        return index.household_id if index is not None and index.active else None

    def nik_known(self, nik: str) -> bool:
        """Whether a household ever claimed the NIK (a member now or before: moved out, died)
        and, its data being encrypted, the person's key was not erased."""
        if self._nik_index(nik) is None:
            return False
        return self.codec is None or self.person_subject(nik) is not None

    def household_id_for_kk(self, kk_number: str) -> uuid.UUID | None:
        """The household holding this KK number, now or before (a KK number stays claimed by
        the household after ChangeHead gives it a new one), if any."""
        index_id = KkIndex.create_id(self.kk_key(kk_number))
        try:
            index = self.repository.get(index_id)
        except AggregateNotFoundError:
            return None
        return index.household_id

    def _nik_index(self, nik: str) -> NikIndex | None:
        index_id = NikIndex.create_id(self.nik_key(nik))
        try:
            return self.repository.get(index_id)
        except AggregateNotFoundError:
            return None

    def _household_for(self, cmd: dict[str, Any]) -> Household:
        household = self.get_household(cmd["household_id"])
        self._check_expected_version(household, cmd.get("expected_version"))
        return household

    def _claim_nik(
        self,
        nik: str,
        household_id: uuid.UUID,
        meta: dict[str, Any],
        field: str,
        optimistic: bool = False,
    ) -> NikIndex:
        """A new claim, or a released one claimed again; a held one is 409 (422 if dead).
        An erased person's NIK is 409 `nik.unavailable` (`domain.errors.Erased`), held or
        released: it is never claimed again, and the answer says neither that it was
        registered nor where (README, "An erased person stays erased").

        `optimistic`: assume the NIK was never claimed and read nothing; if it was, the
        save fails on the claim (nik.taken) and the command runs again without it."""
        if optimistic:
            return NikIndex(nik_key=self.nik_key(nik), household_id=household_id, meta=meta)
        index = self._nik_index(nik)
        if index is None:
            return NikIndex(nik_key=self.nik_key(nik), household_id=household_id, meta=meta)
        if self._claim_erased(nik):
            raise Erased(field)
        if index.active:
            if index.household_id != household_id:
                try:
                    holder = self.get_household(index.household_id)
                except NotFound:
                    holder = None
                if holder is not None and holder.members.get(nik, {}).get("status") == "deceased":
                    raise DomainError(field, "person.deceased")
            raise Conflict(field, "nik.taken")
        index.claim_again(household_id, meta)
        return index

    def _claim_erased(self, nik: str) -> bool:
        """Whether the person of this claimed NIK was erased: the key store's tombstone, or,
        for an erasure made before tombstones were kept, a stored claim whose key is gone (a
        claim is stored with the key of the NIK its events hold; inside a `together()` block
        the keys of the block's claims are not stored yet, so only the tombstone counts)."""
        if self.codec is None:
            return False
        if self.nik_erased(nik):
            return True
        return not self.in_block() and self.person_subject(nik) is None

    def _store(self, aggregate: Any, claims: list | None = None) -> Stored:
        """Save; a claim changed concurrently (it exists, so `_save` says nik.taken) is
        a stale version here, since these claims were loaded, not created."""
        try:
            return self._save(aggregate, claims or [], unique_field="expected_version")
        except Conflict as conflict:
            if conflict.field == "expected_version":
                raise Concurrent() from None
            raise

    # ---- membership ----------------------------------------------------------------------

    def register_household(
        self, cmd: dict[str, Any], meta: dict[str, Any], optimistic: bool = True
    ) -> Stored:
        problems = kk_problems(cmd["kk_number"])
        if problems:
            raise DomainError("kk_number", problems[0].code)
        optimistic = optimistic and self.optimistic_claims()
        head = cmd["head"]
        check_person(head, "head")
        check_head(head, occurred_on(meta))
        household = Household(
            kk_number=cmd["kk_number"],
            kecamatan=cmd["kecamatan"],
            kelurahan=cmd["kelurahan"],
            address=cmd["address"],
            rt=cmd["rt"],
            rw=cmd["rw"],
            head=head,
            meta=meta,
            head_identity=identity_facts(
                None if optimistic else self._identity_elsewhere(head["nik"], None)
            )
            or None,
        )
        claims = [
            KkIndex(kk_key=self.kk_key(cmd["kk_number"]), household_id=household.id, meta=meta),
            self._claim_nik(head["nik"], household.id, meta, "head.nik", optimistic),
        ]
        try:
            return self._save(household, claims, unique_field="head.nik")
        except Erased:
            raise Erased("head.nik") from None  # the key store refused the head's NIK
        except Conflict as conflict:
            if not (optimistic and conflict.code == "nik.taken"):
                raise
        return self.register_household(cmd, meta, optimistic=False)  # a known NIK: check it

    def add_member(
        self, cmd: dict[str, Any], meta: dict[str, Any], optimistic: bool = True
    ) -> Stored:
        household = self._household_for(cmd)
        check_person(cmd["person"], "person")
        nik = cmd["person"]["nik"]
        optimistic = optimistic and self.optimistic_claims()
        if nik in household.members:
            optimistic = False  # rejoining: the claim exists (released)
        identity = None if optimistic else self._identity_elsewhere(nik, household.id)
        household.add_member(cmd["person"], cmd["relationship"], meta, identity)
        claim = self._claim_nik(nik, household.id, meta, "person.nik", optimistic)
        try:
            return self._save(household, [claim], unique_field="person.nik")
        except Erased:
            raise Erased("person.nik") from None  # the key store refused the person's NIK
        except Conflict as conflict:
            if not (optimistic and conflict.code == "nik.taken"):
                raise
        return self.add_member(cmd, meta, optimistic=False)  # a known NIK: check it

    def _identity_elsewhere(
        self, nik: str, household_id: uuid.UUID | None
    ) -> dict[str, Any] | None:
        """The person's KTP facts on the KK they were last claimed by, when it is another one
        (read through the NIK index): a KTP and an arrival follow the person to a new KK."""
        index = self._nik_index(nik)
        if index is None or index.household_id == household_id:
            return None
        try:
            previous = self.get_household(index.household_id)
        except NotFound:
            return None
        return previous.members.get(nik)

    def check_remove_member(self, cmd: dict[str, Any], meta: dict[str, Any]) -> None:
        """Before a removal is kept for approval: it could be carried out now (the head while
        others remain, someone already removed, a date before the birth are refused at once,
        not left for a supervisor to find refused). Nothing is saved."""
        household = self._household_for(cmd)
        household.remove_member(cmd["nik"], cmd["kind"], cmd["effective_date"], meta)

    def remove_member(self, cmd: dict[str, Any], meta: dict[str, Any]) -> Stored:
        """The member becomes inactive; unless deceased, their NIK is free to join another
        household (the NikIndex claim is released in the same save)."""
        household = self._household_for(cmd)
        household.remove_member(cmd["nik"], cmd["kind"], cmd["effective_date"], meta)
        claims = []
        if cmd["kind"] != "deceased":
            index = self._nik_index(cmd["nik"])
            if index is not None and index.active and index.household_id == household.id:
                index.release(household.id, meta)
                claims.append(index)
        return self._store(household, claims)

    def change_head(self, cmd: dict[str, Any], meta: dict[str, Any]) -> Stored:
        """A new head (an active adult member); the family gets a new KK number, claimed
        for it; the old number stays claimed by this household and in its kk_history. The
        others' relationships to the new head: those `relationships` states, else derived."""
        household = self._household_for(cmd)
        problems = kk_problems(cmd["new_kk_number"])
        if problems:
            raise DomainError("new_kk_number", problems[0].code)
        household.change_head(
            cmd["nik"], cmd["new_kk_number"], meta, stated=cmd.get("relationships")
        )
        claim = KkIndex(
            kk_key=self.kk_key(cmd["new_kk_number"]), household_id=household.id, meta=meta
        )
        try:
            return self._save(household, [claim], unique_field="new_kk_number")
        except Conflict as conflict:
            if conflict.code == "kk.taken":
                raise Conflict("new_kk_number", "kk.taken") from None
            raise

    def record_death(self, cmd: dict[str, Any], meta: dict[str, Any]) -> Stored:
        """The member is deceased from `date_of_death` (meta.occurred_at may be weeks
        earlier than the recording). Open benefits stay: a policy flags them for review."""
        household = self._household_for(cmd)
        household.record_death(cmd["nik"], cmd["date_of_death"], meta)
        return self._store(household)

    def check_correct_member(self, cmd: dict[str, Any], meta: dict[str, Any]) -> None:
        """Before a correction is kept for approval: it could be carried out now (a member of
        this household, living or deceased, something to correct that agrees with the NIK).
        Nothing is saved."""
        self._correct_member(cmd, meta)

    def correct_member(self, cmd: dict[str, Any], meta: dict[str, Any]) -> Stored:
        """A member's name, birth date, sex or relationship to the head corrected
        (rectification, UU PDP art. 6), as the document the reason names shows them; the NIK
        stays."""
        return self._store(self._correct_member(cmd, meta))

    def _correct_member(self, cmd: dict[str, Any], meta: dict[str, Any]) -> Household:
        household = self._household_for(cmd)
        household.correct_member(
            cmd["nik"],
            cmd.get("name"),
            cmd.get("birth_date"),
            cmd.get("sex"),
            meta,
            relationship=cmd.get("relationship"),
        )
        return household

    # ---- splitting a family (pecah KK) ---------------------------------------------------

    def _prepare_split(
        self, cmd: dict[str, Any], meta: dict[str, Any]
    ) -> tuple[Household, Household, list[Any]]:
        """The old household with the movers gone, the new one, and the claims (the new KK
        number, each mover's NIK moved to the new household), not saved; raises what the
        request answers (404, 422 naming the field, 409 for a KK number taken)."""
        origin = self._household_for(cmd)
        problems = kk_problems(cmd["new_kk_number"])
        if problems:
            raise DomainError("new_kk_number", problems[0].code)
        kk_claim_id = KkIndex.create_id(self.kk_key(cmd["new_kk_number"]))
        try:
            self.repository.get(kk_claim_id)
        except AggregateNotFoundError:
            pass
        else:
            raise Conflict("new_kk_number", "kk.taken")
        new_id = uuid.uuid4()
        movers = origin.split_family(
            list(cmd["members"]),
            cmd["new_head_nik"],
            cmd["new_kk_number"],
            cmd["effective_date"],
            new_id,
            meta,
        )
        place = {key: cmd.get(key) for key in ("kecamatan", "kelurahan", "address", "rt", "rw")}
        new = Household.split_off(
            origin, new_id, movers, cmd["new_kk_number"], cmd["effective_date"], place, meta
        )
        for mover in movers:  # a restriction of processing (UU PDP) follows the person
            if origin.is_restricted(mover["nik"]):
                new.restrict_processing(mover["nik"], RESTRICTION_CARRIED, meta)
        claims: list[Any] = [
            KkIndex(kk_key=self.kk_key(cmd["new_kk_number"]), household_id=new.id, meta=meta)
        ]
        for mover in movers:
            index = self._nik_index(mover["nik"])
            if index is None:
                claims.append(
                    NikIndex(nik_key=self.nik_key(mover["nik"]), household_id=new.id, meta=meta)
                )
                continue
            if index.active and index.household_id == origin.id:
                index.release(origin.id, meta)
            index.claim_again(new.id, meta)
            claims.append(index)
        return origin, new, claims

    def check_split_family(self, cmd: dict[str, Any], meta: dict[str, Any]) -> None:
        """Before a split is kept for approval: it could be carried out now."""
        self._prepare_split(cmd, meta)

    def split_family(self, cmd: dict[str, Any], meta: dict[str, Any]) -> Stored:
        """SplitFamily (pecah KK): the movers leave the household (FamilySplit) and form a new
        one on the new KK number (HouseholdSplitOff, a new stream linked to the old), keeping
        their KTP facts; the two households, the new KK number's claim and the movers' NIK
        claims are saved atomically. Answers the new household's stream."""
        origin, new, claims = self._prepare_split(cmd, meta)
        try:
            return self._save(new, [*claims, origin], unique_field="expected_version")
        except Conflict as conflict:
            if conflict.code == "kk.taken":
                raise Conflict("new_kk_number", "kk.taken") from None
            raise Concurrent() from None

    # ---- identity ------------------------------------------------------------------------

    def issue_ktp(self, cmd: dict[str, Any], meta: dict[str, Any]) -> Stored:
        household = self._household_for(cmd)
        household.issue_ktp(cmd["nik"], cmd["issued_on"], dict(cmd["arrival"]), meta)
        return self._store(household)

    def register_homeless_person(self, cmd: dict[str, Any], meta: dict[str, Any]) -> Stored:
        """A provisional person (uuid4 id = the answered stream_id)."""
        person = ProvisionalPerson.register(cmd, meta)
        return self._store(person)

    def link_identity(self, cmd: dict[str, Any], meta: dict[str, Any]) -> Stored:
        """The provisional person is the NIK, an active member of the household: the person
        records IdentityLinked, the household ProvisionalIdentityLinked, saved together.
        `expected_version` and the answer are the provisional person's stream."""
        person = self.get_provisional_person(cmd["person_id"])
        self._check_expected_version(person, cmd.get("expected_version"))
        household = self.get_household(cmd["household_id"])
        person.link_identity(cmd["nik"], str(household.id), meta)
        household.link_provisional_identity(str(person.id), cmd["nik"], meta)
        claims: list[Any] = [household]
        index = self._nik_index(cmd["nik"])
        if index is not None and person.benefits:
            # the benefits before the NIK become the NIK's receipts (double receipt)
            for benefit_id in person.benefits:
                index.benefit_received(person.id, benefit_id, meta)
            claims.append(index)
        return self._store(person, claims)

    # ---- business ------------------------------------------------------------------------

    def register_nib(self, cmd: dict[str, Any], meta: dict[str, Any]) -> Stored:
        household = self._household_for(cmd)
        household.register_nib(
            cmd["nik"], cmd["nib"], cmd["business_name"], cmd["registered_on"], meta
        )
        return self._store(household)

    def revoke_nib(self, cmd: dict[str, Any], meta: dict[str, Any]) -> Stored:
        household = self._household_for(cmd)
        household.revoke_nib(cmd["nik"], cmd["nib"], cmd["revoked_on"], meta)
        return self._store(household)

    # ---- welfare -------------------------------------------------------------------------

    def record_welfare_assessment(self, cmd: dict[str, Any], meta: dict[str, Any]) -> Stored:
        household = self._household_for(cmd)
        household.record_welfare_assessment(
            cmd["source"], cmd["desil"], cmd["period"], cmd.get("reference"), meta
        )
        return self._store(household)

    def record_verification(self, cmd: dict[str, Any], meta: dict[str, Any]) -> Stored:
        household = self._household_for(cmd)
        household.record_verification(
            cmd["outcome"], cmd["visited_on"], cmd["verifier"], cmd.get("notes"), meta
        )
        return self._store(household)

    # ---- benefits ------------------------------------------------------------------------

    def _benefits_elsewhere(self, index: NikIndex | None, household: Household) -> list[dict]:
        """The person's benefits recorded on other KKs (they may have moved), through the
        receipts kept on their NIK claim."""
        found = []
        for household_id, benefit_id in index.receipts_elsewhere(household.id) if index else []:
            benefit = self._receipt(household_id, benefit_id)
            if benefit is not None:
                found.append(benefit)
        return found

    def _receipt(self, stream_id: str, benefit_id: str) -> dict[str, Any] | None:
        """A benefit a NIK's receipt names: on a household, or on the provisional person the
        NIK was linked to (a benefit before the NIK, domain.homeless)."""
        try:
            return self.get_household(stream_id).benefits.get(benefit_id)
        except NotFound:
            pass
        try:
            person = self.get_provisional_person(stream_id)
        except NotFound:
            return None
        if person.linked_nik is None or benefit_id not in person.benefits:
            return None
        return {**person.benefits[benefit_id], "nik": person.linked_nik, "person_id": stream_id}

    def benefits_of_nik(self, nik: str) -> list[dict[str, Any]]:
        """Every benefit the NIK ever received, on any KK and before the NIK was known
        (through the receipts on its claim); each names its `household_id` or `person_id`."""
        index = self._nik_index(nik)
        found = []
        for stream_id, benefit_id in index.receipts if index else []:
            benefit = self._receipt(stream_id, benefit_id)
            if benefit is not None:
                found.append(
                    {
                        "household_id": None if "person_id" in benefit else stream_id,
                        "person_id": None,
                        **benefit,
                    }
                )
        return found

    def _find_program_or_none(self, code: str) -> Any:
        try:
            return self.get_program(code)
        except NotFound:
            return None

    def check_program_rules(self, household: Household, cmd: dict[str, Any]) -> None:
        """The program's rules in force on the benefit's first day (domain.eligibility_rules):
        max desil, residence months, NIB exclusion, double receipt on any KK, once per KK,
        combinability (symmetric), recipient. Every rule known to fail refuses the grant
        (RulesFailed); an unknown fact is left to the approver."""
        check_grant(
            household,
            cmd,
            self._find_program_or_none(cmd["program"]),
            cmd["period_start"],
            self._benefits_elsewhere(self._nik_index(cmd["nik"]), household),
            self._find_program_or_none,
        )

    def _prepare_grant(
        self, cmd: dict[str, Any], meta: dict[str, Any]
    ) -> tuple[Household, list[NikIndex]]:
        """The household with the benefit granted and the person's NIK claim with its receipt,
        not saved; raises what the request answers (404, 422 with every failing rule)."""
        household = self._household_for(cmd)
        if cmd["nik"] not in household.members:
            raise NotFound("nik", "member.not_found")
        # Loaded before the rules read the receipts: a grant stored in between makes this
        # save conflict (409) rather than slip past the double-receipt rule.
        index = self._nik_index(cmd["nik"])
        self.check_program_rules(household, cmd)
        benefit_id = household.grant_benefit(
            cmd["nik"],
            cmd["program"],
            cmd["period_start"],
            cmd["period_end"],
            cmd["amount"],
            meta,
        )
        if index is None:
            return household, []
        index.benefit_received(household.id, benefit_id, meta)
        return household, [index]

    def grant_benefit(self, cmd: dict[str, Any], meta: dict[str, Any]) -> Stored:
        """The new benefit_id is derived_id(stream_id, "benefit", answered version), and is
        in the BenefitGranted event's data. Saved with the receipt on the person's NIK claim,
        so a concurrent grant to the same person on any KK answers 409 (version.stale)."""
        household, claims = self._prepare_grant(cmd, meta)
        return self._store(household, claims)

    def suspend_benefit(self, cmd: dict[str, Any], meta: dict[str, Any]) -> Stored:
        household = self._household_for(cmd)
        household.suspend_benefit(
            cmd["benefit_id"], cmd["effective_date"], meta, reason_code=cmd.get("reason_code")
        )
        return self._store(household)

    def resume_benefit(self, cmd: dict[str, Any], meta: dict[str, Any]) -> Stored:
        household = self._household_for(cmd)
        household.resume_benefit(
            cmd["benefit_id"], cmd["effective_date"], meta, reason_code=cmd.get("reason_code")
        )
        return self._store(household)

    def check_terminate_benefit(self, cmd: dict[str, Any], meta: dict[str, Any]) -> None:
        """Before a termination is kept for approval: it could be carried out now (a benefit
        already ended, a date outside its period or before its last change are refused at
        once). Nothing is saved."""
        household = self._household_for(cmd)
        household.terminate_benefit(
            cmd["benefit_id"], cmd["effective_date"], meta, reason_code=cmd.get("reason_code")
        )

    def terminate_benefit(self, cmd: dict[str, Any], meta: dict[str, Any]) -> Stored:
        household = self._household_for(cmd)
        household.terminate_benefit(
            cmd["benefit_id"], cmd["effective_date"], meta, reason_code=cmd.get("reason_code")
        )
        return self._store(household)

    def open_benefit_review(self, cmd: dict[str, Any], meta: dict[str, Any]) -> Stored:
        """For the policies (a cause of domain.household.REVIEW_CAUSES, a deadline, and the
        id of the triggering event). An open review for the same benefit and cause, or any
        review of the same trigger, is not opened again: DomainError("benefit_id",
        "review.already_open"), nothing stored, so a policy that sees the event twice can
        ignore that code. The review_id is derived_id(stream_id, "review", answered version)."""
        household = self._household_for(cmd)
        household.open_benefit_review(
            cmd["benefit_id"], cmd["cause"], cmd["deadline"], meta, trigger=cmd.get("trigger")
        )
        return self._store(household)

    def decide_review(self, cmd: dict[str, Any], meta: dict[str, Any]) -> Stored:
        """DecideReview: keep | suspend | terminate (terminate only once a second supervisor
        approved it: the command path keeps it for approval)."""
        household = self._household_for(cmd)
        household.decide_review(cmd["review_id"], cmd["decision"], meta)
        return self._store(household)

    def check_decide_review(self, cmd: dict[str, Any], meta: dict[str, Any]) -> None:
        """Before a termination is kept for approval: the review exists and is open."""
        household = self._household_for(cmd)
        household.check_decision(cmd["review_id"], cmd["decision"], meta)

    def withdraw_review(self, cmd: dict[str, Any], meta: dict[str, Any]) -> Stored:
        """For the policies: the review's cause went away (an NIB revoked again)."""
        household = self._household_for(cmd)
        household.withdraw_review(cmd["review_id"], meta)
        return self._store(household)

    def mark_review_overdue(self, cmd: dict[str, Any], meta: dict[str, Any]) -> Stored:
        """For the daily sweep: an open review past its deadline is marked overdue once."""
        household = self._household_for(cmd)
        household.mark_review_overdue(cmd["review_id"], meta)
        return self._store(household)

    # ---- empowerment ---------------------------------------------------------------------

    def enroll_empowerment(self, cmd: dict[str, Any], meta: dict[str, Any]) -> Stored:
        """enrollment_id = derived_id(stream_id, "enrollment", answered version). The program
        is a defined one (404 `program.not_found`) of the empowerment kind: a cash or
        insurance program has benefits, not enrolments (`enrollment.not_empowerment`)."""
        household = self._household_for(cmd)
        program = self._find_program_or_none(cmd["program"])
        if program is None:
            raise NotFound("program", "program.not_found")
        if program.kind != "empowerment":
            raise DomainError("program", "enrollment.not_empowerment")
        household.enroll_empowerment(cmd["nik"], cmd["program"], cmd["enrolled_on"], meta)
        return self._store(household)

    def complete_empowerment(self, cmd: dict[str, Any], meta: dict[str, Any]) -> Stored:
        household = self._household_for(cmd)
        household.complete_empowerment(
            cmd["enrollment_id"], cmd["outcome"], cmd["completed_on"], meta
        )
        return self._store(household)

    # ---- casework ------------------------------------------------------------------------

    def add_case_note(self, cmd: dict[str, Any], meta: dict[str, Any]) -> Stored:
        household = self._household_for(cmd)
        household.add_case_note(cmd["text"], meta)
        return self._store(household)

    def file_objection(self, cmd: dict[str, Any], meta: dict[str, Any]) -> Stored:
        """objection_id = derived_id(stream_id, "objection", answered version); the deadline
        (filed_on + 14 days) is in the event. The objector lives in the household's kelurahan:
        one registered in another household by the register, one not in the register by the
        kelurahan they give (`objector_kelurahan`, required then; checked when given)."""
        household = self._household_for(cmd)
        objector = cmd["objector_nik"]
        problems = nik_problems(objector)
        if problems:
            raise DomainError("objector_nik", problems[0].code)
        home_id = self.household_id_for_nik(objector)
        if home_id is not None and home_id != household.id:
            home = self.get_household(home_id)
            if home.kelurahan != household.kelurahan:
                raise DomainError("objector_nik", "objection.other_kelurahan")
        check_objector_kelurahan(
            household.kelurahan, cmd.get("objector_kelurahan"), registered=home_id is not None
        )
        household.file_objection(
            objector,
            cmd["grounds"],
            cmd["filed_on"],
            cmd["photo_reference"],
            cmd["latitude"],
            cmd["longitude"],
            meta,
        )
        return self._store(household)

    def resolve_objection(self, cmd: dict[str, Any], meta: dict[str, Any]) -> Stored:
        household = self._household_for(cmd)
        household.resolve_objection(
            cmd["objection_id"], cmd["resolution"], cmd["resolved_on"], meta
        )
        return self._store(household)

    def lapse_objection(self, cmd: dict[str, Any], meta: dict[str, Any]) -> Stored:
        """For the policy: only an open objection whose deadline is before the day of
        meta.occurred_at lapses."""
        household = self._household_for(cmd)
        household.lapse_objection(cmd["objection_id"], meta)
        return self._store(household)

    # ---- privacy (UU PDP) ----------------------------------------------------------------

    def restrict_processing(self, cmd: dict[str, Any], meta: dict[str, Any]) -> Stored:
        """ProcessingRestricted: the person stays in the registry (marked), and every view
        serving a program or an agency hides them (projections.base) until lifted."""
        household = self._household_for(cmd)
        household.restrict_processing(cmd["nik"], cmd["grounds"], meta)
        return self._store(household)

    def lift_restriction(self, cmd: dict[str, Any], meta: dict[str, Any]) -> Stored:
        """RestrictionLifted: the person is back in every view."""
        household = self._household_for(cmd)
        household.lift_restriction(cmd["nik"], meta)
        return self._store(household)

    def request_erasure(self, cmd: dict[str, Any], meta: dict[str, Any]) -> Stored:
        """PersonalDataErased, then the person's key is destroyed (crypto-shredding): the
        person's fields in every event, snapshot, Kafka message and backup become unreadable
        for good. Runs when a supervisor approves a RequestErasure (maker-checker)."""
        self.at_once("RequestErasure")
        household = self._household_for(cmd)
        member = household.member(cmd["nik"])
        if member.get("erased"):
            raise DomainError("nik", "erasure.already")
        subject = self.person_subject(cmd["nik"])
        if subject is None:
            raise DomainError("nik", "erasure.unavailable")
        reason = cmd.get("reason") or meta.get("reason") or ""  # the API keeps it in meta
        household.erase_person(cmd["nik"], subject, reason, meta)
        stored = self._store(household)
        self.destroy_key(subject)
        approval_id = meta.get("approval_id")
        if approval_id:
            # The request's own record goes with her: its reason (her request and its
            # reference, often her name or NIK) and the decision's note are sealed with the
            # approval stream's key, not hers (`adapters.codec`: a stream's own fields). Who
            # asked, who decided and when stay.
            request_subject = self.codec.subject_of(str(approval_id)) if self.codec else None
            if request_subject is not None:
                self.destroy_key(request_subject)
        return stored

    def refuse_erasure(
        self, pending_cmd: dict[str, Any], exemption: str, note: str, approval_id: str, meta: dict
    ) -> Household:
        """The household with ErasureRefused (article 15) applied, to save with the rejection."""
        household = self.get_household(pending_cmd["household_id"])
        household.refuse_erasure(pending_cmd["nik"], exemption, note, approval_id, meta)
        return household
