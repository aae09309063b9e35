"""What every use case shares: the actor and meta on events, what a stored command answers,
and saving with conflicts explained."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass
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
    event_ids: list[str]


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
        super().__init__(env=env)

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
        """Save an aggregate with its uniqueness claims atomically; a taken claim is a 409."""
        try:
            recordings = self.save(aggregate, *claims)
        except IntegrityError:
            raise self._explain_conflict(claims, unique_field) from None
        own = [r for r in recordings if r.domain_event.originator_id == aggregate.id]
        return Stored(
            stream_id=str(aggregate.id),
            version=aggregate.version,
            # no recording: the save was deferred to a later batch (app.seed_bulk)
            position=max((r.notification.id for r in own), default=0),
            event_ids=[
                event_id(r.domain_event.originator_id, r.domain_event.originator_version)
                for r in own
            ],
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
