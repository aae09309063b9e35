"""What every use case shares: the actor and meta on events, what a stored command answers,
and saving with conflicts explained."""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.application import (
    AggregateNotFoundError,
    Application,
    Repository,
    project_aggregate,
)
from eventsourcing.persistence import IntegrityError, Mapper

from domain.city import WIB
from domain.errors import Concurrent, Conflict, DomainError
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


def _utc_text(moment: dt.datetime) -> str:
    """RFC 3339 UTC with microseconds and `Z`, as occurred_at is stored."""
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def make_meta(
    actor: Actor,
    source: str,
    reason: str | None = None,
    occurred_at: str | None = None,
) -> dict[str, Any]:
    """The meta of a command's events. `occurred_at` is when it happened in the world; when
    none is given it is now, and `occurred_at_given` is false, so that a command carrying the
    date it happened on counts from that day instead (`dated_meta`, `Casework.execute`)."""
    return {
        "actor": {"id": actor.id, "role": actor.role, "opd": actor.opd},
        "reason": reason,
        "source": source,
        "occurred_at": occurred_at or _utc_text(dt.datetime.now(dt.UTC)),
        "occurred_at_given": bool(occurred_at),
        "schema_version": SCHEMA_VERSION,
    }


# occurred_at is from 1900 on (the contract); a date before that is not a moment anyone meant
_EARLIEST_MOMENT = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)


def dated_meta(meta: dict[str, Any], field_name: str, day: Any) -> dict[str, Any]:
    """The meta of a command that says on which day it happened (`day`, YYYY-MM-DD, from its
    field `field_name`: a date of death, a move's `moved_on`, ...): when no occurred_at was
    given (`occurred_at_given` false), its occurred_at is the start of that day in Kota Jambi
    (00:00 WIB, as RFC 3339 UTC) and `occurred_at_from` names the field. An explicit
    occurred_at wins; a day later than the recording (a change taking effect in the future)
    or before 1900 leaves the recording moment, so occurred_at is never in the future."""
    if meta.get("occurred_at_given", True) or not isinstance(day, str):
        return meta
    try:
        start = dt.datetime.combine(dt.date.fromisoformat(day), dt.time(), WIB)
        recorded = dt.datetime.fromisoformat(str(meta["occurred_at"]).replace("Z", "+00:00"))
    except (KeyError, ValueError):
        return meta
    if recorded.tzinfo is None or not _EARLIEST_MOMENT <= start <= recorded:
        return meta
    return {**meta, "occurred_at": _utc_text(start), "occurred_at_from": field_name}


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
    """What the commands carried out inside `UseCases.together()` saved: their events, in the
    order the commands recorded them (the order the same commands run one at a time would
    store them), and the latest state of every aggregate they changed, stored in one
    transaction when the block ends.

    A command loading an aggregate the block holds gets the held object, so the next command
    sees what the one before saved. A command refused half-way (after the aggregate recorded
    a first event) leaves that event pending on it, never saved: the next load, and the end of
    the block, rebuild the aggregate from what the block saved (`current`), so the refused
    command leaves nothing, as it leaves nothing in the store outside a block."""

    optimistic: bool = True  # claims taken without reading (see HouseholdCases._claim_nik)
    held: dict[uuid.UUID, Any] = field(default_factory=dict)
    events: list[Any] = field(default_factory=list)
    claims: dict[uuid.UUID, Any] = field(default_factory=dict)

    def hold(self, aggregate: Any, claims: list) -> Stored:
        """Keep a command's save; an aggregate created twice in the block (two new claims of
        one number) or saved from a stale state is refused as the store refuses it."""
        changed = [obj for obj in (aggregate, *claims) if obj.pending_events]
        for obj in changed:
            held = self.held.get(obj.id)
            first = obj.pending_events[0].originator_version
            if held is not None and first != held.version - len(held.pending_events) + 1:
                raise IntegrityError(f"version {first} is taken")  # what the store says
        own: list[Any] = []
        for obj in changed:
            events = obj.collect_events()
            if obj is aggregate:
                own = events
            self.events.extend(events)
            self.held[obj.id] = obj
        for claim in claims:
            self.claims.setdefault(claim.id, claim)
        return Stored(
            stream_id=str(aggregate.id),
            version=aggregate.version,
            position=0,  # not stored yet: known when the block's save returns
            first_version=own[0].originator_version if own else aggregate.version + 1,
        )

    def current(self, aggregate_id: uuid.UUID, stored: Callable[..., Any]) -> Any:
        """The held aggregate as the block saved it: when a refused command left events
        pending on it, a new object rebuilt from the stored version before the block
        (`stored`) and the block's events (the refused command's object stays as it is)."""
        held = self.held[aggregate_id]
        if not held.pending_events:
            return held
        events = [e for e in self.events if e.originator_id == aggregate_id]
        first = events[0].originator_version
        base = None if first == 1 else stored(aggregate_id, version=first - 1)
        held = self.held[aggregate_id] = project_aggregate(base, events)
        return held


@dataclass(frozen=True)
class _Recorded:
    """The events of a `together()` block, in their order, as one object for
    `Application.save` (what it takes: events, or objects with `collect_events()`): the
    library checks the kind of every object it is given, and these checks (runtime
    `Protocol` checks) cost more than the rest of saving an event."""

    events: list[Any]
    id: uuid.UUID = field(default_factory=uuid.uuid4)  # no aggregate's: nothing snapshotted

    def collect_events(self) -> list[Any]:
        return self.events


class HeldRepository(Repository):
    """eventsourcing's repository, answering the aggregate that the open `together()` block
    holds (`Together.current`), the store's otherwise."""

    def __init__(self, *args: Any, block: threading.local, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.block = block

    def get(self, aggregate_id: Any, *, version: int | None = None, **kwargs: Any) -> Any:
        block = getattr(self.block, "block", None)
        if block is None or aggregate_id not in block.held:
            return super().get(aggregate_id, version=version, **kwargs)
        if version is not None:
            raise RuntimeError("a past version of an aggregate not stored yet was asked for")
        return block.current(aggregate_id, super().get)


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
        super().__init__(env=env)  # constructs the repository (construct_repository)

    @contextmanager
    def together(self, optimistic: bool = True) -> Iterator[Together]:
        """Carry out several commands as one unit: what they save is stored in one
        transaction at the end of the block (with every claim, the events in the order the
        commands recorded them), or not at all when the block raises. The commands are the
        ordinary use cases with their rules; only their saves wait (a held save answers
        position 0), and a command refused inside the block leaves nothing of itself (see
        `Together`). A claim taken meanwhile by another writer fails the whole save (a
        Conflict: kk.taken, nik.taken or version.stale), and nothing of the block is stored.
        Not `optimistic`: the commands read every claim before taking it (a NIK released by
        another household is claimed again, with the KTP facts it brings), as a command does
        after its optimistic save failed. A command whose effect reaches past the aggregates
        saved (RequestErasure destroys a key at once) is refused inside a block.
        Used by the import (app/importer.py) and the seed (app/seed.py)."""
        if getattr(self._together, "block", None) is not None:
            raise RuntimeError("together() blocks do not nest")
        block = Together(optimistic=optimistic)
        self._together.block = block
        try:
            yield block
        finally:
            self._together.block = None
        if not block.events:
            return
        loaded = self.repository.get  # the block is closed: from the store
        # the aggregates (their events already collected) that the save snapshots (one of
        # their events falls on their type's interval), or all of them when the repository
        # has a cache to put them in: the library checks the kind of each object it is given
        # (runtime `Protocol` checks, see `_Recorded`), so none is given for nothing
        if self.repository.cache is not None:
            wanted: Iterable[uuid.UUID] = block.held
        else:
            wanted = self._snapshots_due(block)
        aggregates = [block.current(aggregate_id, loaded) for aggregate_id in wanted]
        try:
            self.save(_Recorded(block.events), *aggregates)
        except IntegrityError:
            raise self._explain_conflict(list(block.claims.values()), "nik") from None

    def _snapshots_due(self, block: Together) -> list[uuid.UUID]:
        """The aggregates the block's save takes a snapshot of: those with an event whose
        version is a multiple of their type's snapshotting interval (as the library decides)."""
        intervals = self.snapshotting_intervals
        if not intervals:
            return []
        due: dict[uuid.UUID, None] = {}
        for event in block.events:
            interval = intervals.get(type(block.held[event.originator_id]))
            if interval is not None and event.originator_version % interval == 0:
                due[event.originator_id] = None
        return list(due)

    def optimistic_claims(self) -> bool:
        """Whether uniqueness claims may be taken without reading them first: yes, unless a
        careful `together(optimistic=False)` block is open (its save cannot be retried)."""
        block = getattr(self._together, "block", None)
        return block is None or block.optimistic

    def at_once(self, command: str) -> None:
        """Refuse a command whose effect cannot wait for the end of a `together()` block."""
        if getattr(self._together, "block", None) is not None:
            raise RuntimeError(f"{command} is not carried out inside together()")

    def construct_repository(self) -> Repository:
        return HeldRepository(
            event_store=self.events, snapshot_store=self.snapshots, block=self._together
        )

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

    def nik_erased(self, nik: str) -> bool:
        """Whether this NIK's person was erased, as the key store's tombstone says (a NIK
        erased before tombstones were kept: `HouseholdCases` tells it by its claim)."""
        return self.codec is not None and self.codec.erased(self.codec.lookup("nik", nik))

    def in_block(self) -> bool:
        """Whether a `together()` block is open in this thread (its saves wait for its end)."""
        return getattr(self._together, "block", None) is not None

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
        try:
            if block is not None:
                return block.hold(aggregate, claims)
            recordings = self.save(aggregate, *claims)
        except IntegrityError:
            raise self._explain_conflict(claims, unique_field) from None
        own = [r for r in recordings if r.domain_event.originator_id == aggregate.id]
        return Stored(
            stream_id=str(aggregate.id),
            version=aggregate.version,
            position=max(r.notification.id for r in own),
            first_version=min(r.domain_event.originator_version for r in own),
        )

    def _explain_conflict(self, claims: list, unique_field: str) -> Conflict:
        """Why a save failed: a claim taken (kk.taken, nik.taken), or else another write to
        one of the streams saved (Concurrent: the command may run again on the new state)."""
        for claim in claims:
            try:
                self.repository.get(claim.id)
            except AggregateNotFoundError:
                continue
            if isinstance(claim, KkIndex):
                return Conflict("kk_number", "kk.taken")
            return Conflict(unique_field, "nik.taken")
        return Concurrent()  # nothing claimed is taken: another write to the stream came first
