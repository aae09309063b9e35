"""The policies: processes that react to events with commands of their own (source `policy`).

- An NIB registered by a person with a benefit not terminated, of a program whose rules in
  force on the registration day exclude NIB holders: a review of each such benefit (cause
  `nib`, deadline registered_on + 14 days).
- A death (DeathRecorded, or MemberRemoved of kind deceased): a termination review of each of
  that person's benefits not terminated (cause `death`, deadline the date of death + 14 days).
- An objection still open after its deadline lapses. No event says so, so a periodic sweep
  does it: the open objections and their deadlines are learned from ObjectionFiled, -Resolved
  and -Lapsed (from the store when the process starts, then from the topic).

The core is pure and deterministic: `decide(envelope, view)` answers the actions for one
event, `ObjectionBook.due(day)` the lapses for one day. Every date in an action comes from the
events' data (never from the clock or when they were stored), so a replay of the same
history decides the same actions. Reviews look at the household as it was at the event's own
version. A benefit whose period ended before the fact's date is not reviewed.

`PolicyRunner` consumes casework.events.v1 in its own consumer group
(`casework-policies.<topic id>`, renamed like the projection runner's when the topic is
recreated), executes the actions through the Casework application as actor policy/admin, and
commits offsets only after a batch is carried out. A replay is harmless: a review already open
(`review.already_open`), an objection already closed (`objection.not_open`) or a benefit
terminated meanwhile (`benefit.terminated`) is simply done. Messages that cannot be decoded or
carried out go to the DLQ topic, as the projection runner does.

Messages carry personal fields encrypted (tokens); `PolicyRunner` reveals each with the keys
of the store's key store before deciding, so NIKs compare with the household's as the store
reveals it (an erased person's as the same marker on both sides).
"""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import psycopg
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.utils import get_topic
from kafka import KafkaConsumer, KafkaProducer

from adapters import wire
from adapters.bootstrap import System
from adapters.retry import reconnecting, transient
from adapters.topics import EVENTS, ensure_topics
from consumers.dead_letters import park
from consumers.runner import GroupMember, consumer_config, forget_keys, topic_id
from domain.application import Actor, Casework, make_meta
from domain.city import WIB, today
from domain.errors import Conflict, DomainError
from domain.household import Household
from projections.base import DLQ_DDL, ERASURE_EVENT

log = logging.getLogger("casework.policies")

GROUP = "casework-policies"
POLICY = Actor(id="policy", role="admin")
REVIEW_DAYS = 14
SWEEP_SECONDS = 60.0
# answers that mean the action's outcome is already there
DONE = frozenset({"review.already_open", "objection.not_open", "benefit.terminated"})
TRANSIENT = (sqlite3.OperationalError, psycopg.OperationalError)
OBJECTION_EVENTS = ("ObjectionFiled", "ObjectionResolved", "ObjectionLapsed")


@dataclass(frozen=True)
class Action:
    """A command a policy wants carried out: the use case, its fields, and its meta's reason
    and occurred_at (the moment of the fact that caused it)."""

    command: str  # "open_benefit_review" | "lapse_objection"
    cmd: dict[str, Any] = field(hash=False)
    reason: str
    occurred_at: str


class PolicyView(Protocol):
    """What the policies read besides the event itself."""

    def household(self, stream_id: str, version: int) -> dict[str, Any] | None:
        """The household as it was at that version: at least {"benefits": {id: benefit}}."""

    def rules_at(self, program: str, day: str) -> dict[str, Any] | None:
        """The rules of a program in force on that day; None if unknown or not yet in force."""


def _plus_days(day: str, days: int) -> str:
    return (dt.date.fromisoformat(day) + dt.timedelta(days=days)).isoformat()


def _start_of(day: str) -> str:
    """00:00 in Kota Jambi (WIB) on that day, as RFC 3339 UTC."""
    moment = dt.datetime.combine(dt.date.fromisoformat(day), dt.time(), tzinfo=WIB)
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _open_benefits(household: dict[str, Any], nik: str, day: str) -> list[dict[str, Any]]:
    """The person's benefits not terminated whose period had not ended by `day`, by id."""
    found = [
        b
        for b in household["benefits"].values()
        if b["nik"] == nik and b["status"] != "terminated" and b["period_end"] >= day
    ]
    return sorted(found, key=lambda b: b["benefit_id"])


def _review(envelope: dict[str, Any], benefit: dict, cause: str, deadline: str, why: str):
    return Action(
        command="open_benefit_review",
        cmd={
            "household_id": envelope["stream_id"],
            "benefit_id": benefit["benefit_id"],
            "cause": cause,
            "deadline": deadline,
        },
        reason=f"{why} (event {envelope['event_id']})",
        occurred_at=envelope["occurred_at"],
    )


def decide(envelope: dict[str, Any], view: PolicyView) -> list[Action]:
    """The reviews one event calls for (none for most events)."""
    if envelope.get("stream_type") != "Household":
        return []
    kind, data = envelope["type"], envelope["data"]
    if kind == "NibRegistered":
        day = data["registered_on"]
        household = view.household(envelope["stream_id"], envelope["version"])
        if household is None:
            return []
        actions = []
        for benefit in _open_benefits(household, data["nik"], day):
            rules = view.rules_at(benefit["program"], day)
            if rules and rules.get("excludes_nib_holders"):
                why = f"NIB registered; {benefit['program']} excludes NIB holders"
                actions.append(_review(envelope, benefit, "nib", _plus_days(day, REVIEW_DAYS), why))
        return actions
    if kind == "DeathRecorded":
        nik, day = data["nik"], data["date_of_death"]
    elif kind == "MemberRemoved" and data.get("kind") == "deceased":
        nik, day = data["nik"], data["effective_date"]
    else:
        return []
    household = view.household(envelope["stream_id"], envelope["version"])
    if household is None:
        return []
    return [
        _review(envelope, b, "death", _plus_days(day, REVIEW_DAYS), "recipient deceased")
        for b in _open_benefits(household, nik, day)
    ]


class ObjectionBook:
    """The open objections and their deadlines, learned from events; `due` lapses them."""

    def __init__(self) -> None:
        self.open: dict[str, dict[str, str]] = {}
        self.closed: set[str] = set()

    def learn(self, envelope: dict[str, Any]) -> None:
        kind = envelope.get("type")
        if envelope.get("stream_type") != "Household" or kind not in OBJECTION_EVENTS:
            return
        objection_id = envelope["data"]["objection_id"]
        if kind == "ObjectionFiled":
            if objection_id not in self.closed:  # a late duplicate never reopens one
                self.open[objection_id] = {
                    "household_id": envelope["stream_id"],
                    "deadline": envelope["data"]["deadline"],
                }
        else:
            self.settle(objection_id)

    def settle(self, objection_id: str) -> None:
        self.open.pop(objection_id, None)
        self.closed.add(objection_id)

    def due(self, day: dt.date | None = None) -> list[Action]:
        """Lapses of the objections whose deadline is before `day` (default: today in WIB);
        each happens at the start of the day after its deadline."""
        cutoff = (day or today()).isoformat()
        actions = []
        for objection_id, known in sorted(
            self.open.items(), key=lambda i: (i[1]["deadline"], i[0])
        ):
            if known["deadline"] < cutoff:
                actions.append(
                    Action(
                        command="lapse_objection",
                        cmd={"household_id": known["household_id"], "objection_id": objection_id},
                        reason=f"objection not resolved by its deadline {known['deadline']}",
                        occurred_at=_start_of(_plus_days(known["deadline"], 1)),
                    )
                )
        return actions


class StoreView:
    """A PolicyView on the Casework application: households at a version, programs' rules."""

    def __init__(self, app: Casework) -> None:
        self.app = app

    def household(self, stream_id: str, version: int) -> dict[str, Any] | None:
        try:
            household = self.app.repository.get(uuid.UUID(stream_id), version=version)
        except (AggregateNotFoundError, ValueError):
            return None
        return {"benefits": household.benefits} if isinstance(household, Household) else None

    def rules_at(self, program: str, day: str) -> dict[str, Any] | None:
        try:
            return self.app.get_program(program).rules_at(day)
        except DomainError:
            return None


def execute(app: Casework, action: Action, retries: int = 5) -> str:
    """Carry out one action: "done" (stored, or already so) or "refused: <code>".

    Someone saving the household meanwhile (Conflict) means loading it again: `retries`
    attempts, then the Conflict is raised."""
    meta = make_meta(POLICY, "policy", reason=action.reason, occurred_at=action.occurred_at)

    def attempt() -> str:
        try:
            getattr(app, action.command)(dict(action.cmd), meta)
        except Conflict:
            raise
        except DomainError as error:
            return "done" if error.code in DONE else f"refused: {error.code}"
        return "done"

    return transient(retries, errors=Conflict, what=None, first=0.02)(attempt)


def store_envelopes(app: Casework, tenant: str, topics: Iterable[str] = ()) -> Iterable[dict]:
    """Every stored event (or those of the given event topics) as its envelope, in order."""
    topics = tuple(topics)
    position = 0
    while batch := app.recorder.select_notifications(
        position, 1000, topics=topics, inclusive_of_start=False
    ):
        for notification in batch:
            yield wire.from_notification(app, notification, tenant)
        position = batch[-1].id


def objection_topics() -> list[str]:
    return [get_topic(getattr(Household, name)) for name in OBJECTION_EVENTS]


def replay(app: Casework, tenant: str = "1571", day: dt.date | None = None) -> list[Action]:
    """What the policies decide over the whole store, in store order, then a sweep on `day`."""
    view, book, actions = StoreView(app), ObjectionBook(), []
    for envelope in store_envelopes(app, tenant):
        actions.extend(decide(envelope, view))
        book.learn(envelope)
    return actions + book.due(day)


class PolicyRunner(GroupMember):
    """Consumes casework.events.v1 and carries out what the policies decide."""

    def __init__(
        self,
        system: System,
        clock: Callable[[], dt.date] = today,
        sweep_seconds: float = SWEEP_SECONDS,
    ) -> None:
        self.system = system
        self.settings = system.settings
        self.clock = clock
        self.sweep_seconds = sweep_seconds
        self.app = system.casework
        self.codec = system.casework.codec
        if self.codec is None:
            raise RuntimeError("the policies read the store through the revealing mapper")
        self.view = StoreView(self.app)
        self.book = ObjectionBook()
        self.views = system.views
        with self.views.transaction() as cur:
            cur.execute(DLQ_DDL)
        self.consumer: KafkaConsumer | None = None
        self.dlq: KafkaProducer | None = None
        self.topic_id = ""
        self.next_topic_check = 0.0
        self.next_sweep = 0.0
        self.carried_out = 0

    # -- Kafka, as consumers.runner does it ----------------------------------------------

    def connect(self) -> None:
        ensure_topics(self.system.kafka, self.settings.partitions)
        self.topic_id = topic_id(self.system)
        config = consumer_config(self.topic_id)
        config.update(group_id=f"{GROUP}.{self.topic_id}", client_id=GROUP, max_poll_records=200)
        self.consumer = self.system.consumer(EVENTS, **config)

    def close(self) -> None:
        self.disconnect()
        self.views.close()
        self.app.close()

    # -- the loop ------------------------------------------------------------------------

    def learn_from_store(self) -> None:
        """Open objections stored before this process started (the group may be past them)."""
        for envelope in store_envelopes(self.app, self.settings.tenant, objection_topics()):
            self.book.learn(envelope)
        log.info("policies: %d open objections known", len(self.book.open))

    def run(self, stop: threading.Event) -> None:
        log.info("policies starting")
        self.retrying(stop, self.learn_from_store)
        retrying = reconnecting(stop, after=lambda _: self.disconnect())
        while not stop.is_set():
            retrying(self.step, stop)
        self.close()
        log.info("policies stopped after carrying out %d actions", self.carried_out)

    def step(self, stop: threading.Event) -> None:
        """One turn of the service loop: connect when not connected, one poll, a due sweep."""
        if stop.is_set():
            return
        if self.consumer is None:
            self.connect()
        self.poll_once(stop)
        if time.monotonic() >= self.next_sweep:
            self.retrying(stop, self.sweep)
            self.next_sweep = time.monotonic() + self.sweep_seconds

    def retrying(self, stop: threading.Event, step: Callable[[], Any]) -> Any:
        """Run a step that reads or writes the store, waiting out a busy or absent database
        (or a household saved meanwhile); None when stopped first."""

        def attempt() -> Any:
            return None if stop.is_set() else step()

        return transient(
            None, errors=(*TRANSIENT, Conflict), what="event store busy or down", stop=stop
        )(attempt)

    def poll_once(self, stop: threading.Event | None = None) -> int:
        """Handle one poll's messages in order, then commit (not when stopped half-way)."""
        if self.consumer is None:
            raise RuntimeError("poll_once before connect()")
        stop = stop or threading.Event()
        self.check_topic()
        batches = self.consumer.poll(timeout_ms=200)
        if not batches:
            return 0
        handled = 0
        for records in batches.values():
            for record in records:
                done = self.retrying(stop, lambda r=record: self.handle(r))
                if done is None:
                    return handled  # stopped while the store was down: redelivered later
                handled += done
        self.consumer.commit()
        return handled

    def handle(self, record: Any) -> int:
        try:
            envelope = wire.decode(record.value)
        except wire.BadMessage as error:
            self.dead_letter(record, f"undecodable: {error}")
            return 0
        try:
            envelope = self.codec.reveal(envelope)
        except TRANSIENT:
            raise  # the key store is busy or down: `retrying` waits
        except Exception as error:  # noqa: BLE001 - a token that does not open: park it
            self.dead_letter(record, f"unrevealable: {type(error).__name__}")
            return 0
        if envelope["type"] == ERASURE_EVENT:
            forget_keys(self.codec)
        self.book.learn(envelope)
        try:
            actions = decide(envelope, self.view)
            for action in actions:
                outcome = execute(self.app, action)
                if outcome != "done":
                    raise DomainError("policy", outcome.split(": ", 1)[-1])
                self.carried_out += 1
                log.info(
                    "policies: %s %s for event %s",
                    action.command,
                    action.cmd.get("cause", ""),
                    envelope["event_id"],
                )
        except (*TRANSIENT, Conflict):
            raise  # the store is busy or the household changed meanwhile: try again
        except Exception as error:  # noqa: BLE001 - a poison message must not stop the policies
            self.dead_letter(record, f"{type(error).__name__}: {error}")
            return 0
        return len(actions)

    def sweep(self, day: dt.date | None = None) -> int:
        """Lapse the objections past their deadline; answers how many were carried out."""
        lapsed = 0
        for action in self.book.due(day or self.clock()):
            try:
                outcome = execute(self.app, action)
            except Conflict:
                continue  # busy household: the next sweep tries again
            objection_id = action.cmd["objection_id"]
            if outcome == "done":
                lapsed += 1
                self.book.settle(objection_id)
            else:
                log.warning("objection %s not lapsed: %s", objection_id, outcome)
                self.book.settle(objection_id)  # not_found / household gone: nothing to retry
        self.carried_out += lapsed
        if lapsed:
            log.info("policies: %d objections lapsed", lapsed)
        return lapsed

    def dead_letter(self, record: Any, error: str) -> None:
        if self.dlq is None:
            self.dlq = self.system.producer(acks="all", linger_ms=0)
        park(self.dlq, self.views, record, error, GROUP)


def run(system: System, stop: threading.Event | None = None) -> None:
    if not system.settings.kafka:
        raise SystemExit("casework policies: set CASEWORK_KAFKA to the Kafka bootstrap servers")
    PolicyRunner(system).run(stop or threading.Event())
