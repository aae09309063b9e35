"""What every use case shares: the actor and meta on events, what a stored command answers,
and saving with conflicts explained."""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, Mapper

from domain.errors import Conflict, DomainError
from domain.household import KkIndex
from domain.identity import nik_problems
from domain.personal_data import PersonalDataCodec

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Actor:
    id: str
    role: str
    opd: str | None = None


SYSTEM = Actor(id="system", role="admin", opd=None)


@dataclass(frozen=True)
class Stored:
    """What a stored command answers: the stream, its new version, and the events' positions."""

    stream_id: str
    version: int
    position: int
    first_version: int  # the version of the first event this command stored

    @property
    def event_ids(self) -> list[str]:
        """The ids of the events stored (computed when asked: an import never asks)."""
        stream = uuid.UUID(self.stream_id)
        return [event_id(stream, v) for v in range(self.first_version, self.version + 1)]


def make_meta(
    actor: Actor,
    source: str,
    reason: str | None = None,
    occurred_at: str | None = None,
) -> dict[str, Any]:
    return {
        "actor": {"id": actor.id, "role": actor.role, "opd": actor.opd},
        "reason": reason,
        "source": source,
        "occurred_at": occurred_at
        or dt.datetime.now(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z"),
        "schema_version": SCHEMA_VERSION,
    }


def check_person(person: dict[str, Any], field: str) -> None:
    birth_date = dt.date.fromisoformat(person["birth_date"])
    problems = nik_problems(person["nik"], birth_date=birth_date, sex=person["sex"])
    if problems:
        raise DomainError(f"{field}.nik", problems[0].code)


def event_id(stream_id: uuid.UUID, version: int) -> str:
    """A stable UUID for an event: its stream and version identify it forever."""
    return str(uuid.uuid5(stream_id, str(version)))


@dataclass
class Together:
    """The aggregates (and uniqueness claims) that commands carried out inside
    `UseCases.together()` changed: held in memory, in the order first changed, and saved in
    one transaction when the block ends. A command loading a held aggregate gets the held
    object, so the next command sees what the one before changed."""

    optimistic: bool = True  # claims taken without reading (see HouseholdCases._claim_nik)
    held: dict[uuid.UUID, Any] = field(default_factory=dict)
    claims: dict[uuid.UUID, Any] = field(default_factory=dict)
    answered: dict[uuid.UUID, int] = field(default_factory=dict)  # the last version answered

    def hold(self, aggregate: Any, claims: list) -> Stored:
        first = (
            self.answered.get(aggregate.id, aggregate.version - len(aggregate.pending_events)) + 1
        )
        self.answered[aggregate.id] = aggregate.version
        self.held.setdefault(aggregate.id, aggregate)
        for claim in claims:
            self.held.setdefault(claim.id, claim)
            self.claims.setdefault(claim.id, claim)
        answer = Stored(
            stream_id=str(aggregate.id),
            version=aggregate.version,
            position=0,  # not stored yet: known when the block's save returns
            first_version=first,
        )
        return answer


class UseCases(Application):
    """Saving and loading shared by every group of use cases (mixed into `Casework`).

    Personal fields are stored encrypted per person when a `codec` is given (the
    composition root, `adapters.bootstrap`, hands in `adapters.codec.Codec`); without one
    they are stored as they come (unit tests of the rules, and the relay, which passes the
    stored tokens on untouched).
    """

    commands: frozenset[str] = frozenset()  # the names of the commands `execute` carries out

    def __init__(
        self, env: dict[str, str] | None = None, codec: PersonalDataCodec | None = None
    ) -> None:
        self.codec = codec
        self._together = threading.local()  # the open `together()` block of each thread
        super().__init__(env=env)

    @contextmanager
    def together(self, optimistic: bool = True) -> Iterator[Together]:
        """Carry out several commands as one unit: what they change is saved in one
        transaction at the end of the block (with every claim), or not at all when the block
        raises. The commands are the ordinary use cases with their rules; only their saves
        wait. A claim taken meanwhile by another writer fails the whole save (a Conflict: kk.taken,
        nik.taken or version.stale), and nothing of the block is stored. Not `optimistic`: the
        commands read every claim before taking it (a NIK released by another household is
        claimed again, with the KTP facts it brings), as a command does after its optimistic
        save failed. Used by the import (app/importer.py)."""
        if getattr(self._together, "block", None) is not None:
            raise RuntimeError("together() blocks do not nest")
        block = Together(optimistic=optimistic)
        self._together.block = block
        try:
            yield block
        finally:
            self._together.block = None
        if not block.held:
            return
        try:
            self.save(*block.held.values())
        except IntegrityError:
            raise self._explain_conflict(list(block.claims.values()), "nik") from None

    def optimistic_claims(self) -> bool:
        """Whether uniqueness claims may be taken without reading them first: yes, unless a
        careful `together(optimistic=False)` block is open (its save cannot be retried)."""
        block = getattr(self._together, "block", None)
        return block is None or block.optimistic

    def held(self, aggregate_id: uuid.UUID) -> Any | None:
        """The aggregate an open `together()` block holds, changed but not yet saved."""
        block = getattr(self._together, "block", None)
        return None if block is None else block.held.get(aggregate_id)

    def construct_mapper(self) -> Mapper:
        mapper = super().construct_mapper()  # with the configured compressor and cipher
        return mapper if self.codec is None else self.codec.mapper(mapper)

    def nik_key(self, nik: str) -> str:
        """The keyed hash that finds a NIK's uniqueness claim (never the NIK itself)."""
        if self.codec is None:
            return hashlib.sha256(f"nik:{nik}".encode()).hexdigest()  # tokens pass through
        return self.codec.lookup("nik", nik)

    def person_subject(self, nik: str) -> str | None:
        """The pseudonymous subject whose key encrypts this NIK's data (None if none)."""
        if self.codec is None:
            return None
        return self.codec.subject_of(self.codec.lookup("nik", nik))

    def destroy_key(self, subject: str) -> None:
        """Crypto-shredding: the subject's key is gone, its tokens reveal as markers."""
        if self.codec is None:
            raise RuntimeError("erasure needs the personal-data codec (adapters.bootstrap)")
        self.codec.erase(subject)

    def kk_key(self, kk_number: str) -> str:
        if self.codec is None:
            return hashlib.sha256(f"kk:{kk_number}".encode()).hexdigest()
        return self.codec.lookup("kk", kk_number)

    def name_key(self, word: str) -> str:
        """The keyed hash of one normalised word (or word prefix) of a name: what the register
        view's name search looks for (`projections.base.name_words`), never the word itself."""
        if self.codec is None:
            return hashlib.sha256(f"name:{word}".encode()).hexdigest()
        return self.codec.lookup("name", word)

    @staticmethod
    def _check_expected_version(aggregate: Any, expected: int | None) -> None:
        if expected is not None and expected != aggregate.version:
            raise Conflict("expected_version", "version.stale")

    def _save(self, aggregate: Any, claims: list, unique_field: str = "") -> Stored:
        """Save an aggregate with its uniqueness claims atomically; a taken claim is a 409.
        Inside a `together()` block, held to be saved when the block ends."""
        block = getattr(self._together, "block", None)
        if block is not None:
            return block.hold(aggregate, claims)
        try:
            recordings = self.save(aggregate, *claims)
        except IntegrityError:
            raise self._explain_conflict(claims, unique_field) from None
        own = [r for r in recordings if r.domain_event.originator_id == aggregate.id]
        return Stored(
            stream_id=str(aggregate.id),
            version=aggregate.version,
            # no recording: the save was deferred to a later batch (app.seed_bulk): no position,
            # no event ids answered
            position=max((r.notification.id for r in own), default=0),
            first_version=min(
                (r.domain_event.originator_version for r in own), default=aggregate.version + 1
            ),
        )

    def _explain_conflict(self, claims: list, unique_field: str) -> Conflict:
        for claim in claims:
            try:
                self.repository.get(claim.id)
            except AggregateNotFoundError:
                continue
            if isinstance(claim, KkIndex):
                return Conflict("kk_number", "kk.taken")
            return Conflict(unique_field, "nik.taken")
        return Conflict("expected_version", "version.stale")
