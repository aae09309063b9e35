"""The write side in bulk, for `casework seed`: the same use cases, many families per transaction.

`BulkCasework` is `domain.application.Casework` with its saves deferred: each use case runs
as for one command (it loads the aggregates, checks the rules, records the events, "saves"
them with their uniqueness claims), but the save only keeps the aggregates in memory
(`deferred`) and appends their events, in command order, to `unsaved`; loading an aggregate held
answers a copy of it (as eventsourcing's repository copies what it caches, so a refused
command changes nothing), anything else is read from the store. `flush()` then stores every
unsaved event with eventsourcing's `Application.save`: one transaction, the events in the
order the commands recorded them (so the store's positions are those of the same commands
run one at a time), encrypted by the same codec, their new personal keys and their links of
the hash chain written with them, snapshots taken as usual.

Uniqueness: a claim created twice within a batch is refused at the deferred save, as the
store refuses it (`IntegrityError`, explained by the use case as `nik.taken` or `kk.taken`);
a claim the store already holds is only found by the flush, which then fails as a whole:
the caller (`app.seed.seed_app`) plays that batch again one command at a time
(`one_at_a_time()`), where each such family is skipped as the ordinary path skips it.

Not for the API or any other concurrent writer: nothing is stored until `flush()`, and
nothing held is re-read. `RequestErasure` (which destroys a key in the store at once) is
refused while deferring.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from eventsourcing.application import Repository
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from domain.application import Casework
from domain.personal_data import PersonalDataCodec

# Commands whose effect reaches past the aggregates saved: run them one at a time.
NOT_DEFERRABLE = frozenset({"RequestErasure"})


class HeldRepository(Repository):
    """eventsourcing's repository, answering a copy of an aggregate held for the next flush."""

    def __init__(self, *args: Any, deferred: dict[uuid.UUID, Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.deferred = deferred

    def get(self, aggregate_id: Any, *, version: int | None = None, **kwargs: Any) -> Any:
        held = self.deferred.get(aggregate_id)
        if held is not None:
            if version is not None:
                raise RuntimeError("a past version of an aggregate not stored yet was asked for")
            return copy.deepcopy(held)
        return super().get(aggregate_id, version=version, **kwargs)


class BulkCasework(Casework):
    """Casework whose saves wait for `flush()` (see the module's docstring)."""

    name = "Casework"  # the same store: eventsourcing names PostgreSQL's tables after it

    def __init__(
        self, env: dict[str, str] | None = None, codec: PersonalDataCodec | None = None
    ) -> None:
        self.deferred: dict[uuid.UUID, Any] = {}
        self.unsaved: list[Any] = []
        self.deferring = True
        self.events_stored = 0
        super().__init__(env=env, codec=codec)

    def construct_repository(self) -> Repository:
        return HeldRepository(
            event_store=self.events, snapshot_store=self.snapshots, deferred=self.deferred
        )

    def execute(self, command: str, cmd: dict[str, Any], meta: dict[str, Any]) -> Any:
        if self.deferring and command in NOT_DEFERRABLE:
            raise RuntimeError(f"{command} is not carried out in bulk")
        return super().execute(command, cmd, meta)

    def save(self, *objs: Any, **kwargs: Any) -> list:
        if not self.deferring or kwargs:
            recordings = super().save(*objs, **kwargs)
            self.events_stored += len(recordings)
            return recordings
        aggregates = [obj for obj in objs if obj is not None]
        for aggregate in aggregates:
            if not isinstance(aggregate, Aggregate):
                raise TypeError("a deferred save takes aggregates only")
            held = self.deferred.get(aggregate.id)
            pending = aggregate.pending_events
            if held is not None and pending and pending[0].originator_version != held.version + 1:
                # what the store answers for a version taken (a claim created twice)
                raise IntegrityError(f"version {pending[0].originator_version} is taken")
        for aggregate in aggregates:
            self.unsaved.extend(aggregate.collect_events())
            self.deferred[aggregate.id] = aggregate
        return []  # nothing recorded yet: no positions (Stored.position 0)

    def flush(self) -> int:
        """Store every event saved since the last flush in one transaction; answers how many.
        On an IntegrityError (a claim the store already holds) nothing of them is stored and
        nothing is held any more."""
        events, aggregates = self.unsaved, list(self.deferred.values())
        self.unsaved = []
        self.deferred.clear()
        if not events:
            return 0
        super().save(*events, *aggregates)  # the aggregates: for their snapshots
        self.events_stored += len(events)
        return len(events)

    def discard(self) -> None:
        """Forget what was saved since the last flush."""
        self.unsaved = []
        self.deferred.clear()

    @contextmanager
    def one_at_a_time(self) -> Iterator[None]:
        """Every save stored at once, as `Casework` does, inside this block."""
        self.flush()
        self.deferring = False
        try:
            yield
        finally:
            self.deferring = True
