"""The policies: processes that react to events with commands of their own (source `policy`).

What opens a review of a benefit (a person then decides it: DecideReview). Every review's
deadline is 14 days after the day (in WIB) the triggering fact was RECORDED (the event's
`recorded_at`), not after the day it happened: a death reported two months late still gives
the reviewer 14 days.
- An NIB (NibRegistered): the holder's benefits, and the household-level benefits (recipient
  `head` or `adult_woman`: they serve the whole KK) of the holder's household, of programs
  whose rules in force on the registration day exclude NIB holders (cause `nib`; which
  programs do: docs/nib-rule.md). An NIB revoked again (NibRevoked) withdraws the open `nib`
  reviews that no NIB still held in the household justifies.
- A death (DeathRecorded, or MemberRemoved of kind deceased): the deceased's own benefits
  end on the date of death (TerminateBenefit by the policy, reason "recipient deceased"), so
  they leave the beneficiary lists at once; a household-level benefit with a surviving
  active member is not ended but reviewed (cause `death`: PKH continues after the head dies).
- A field verification not confirming the family (`not_found`, `moved`, `deceased`,
  `invalid`): every running benefit of the household (cause `verification`).
- An objection upheld: every running benefit of the household (cause `objection`).
- A member moving out (MemberRemoved of kind moved_out): the mover's benefits (`moved_out`).
- A family splitting (FamilySplit, SplitFamily): each mover's benefits, household-level ones
  of which a mover is the recipient included (`moved_out`, on the household they left).
- A graduation from empowerment (EmpowermentCompleted `graduated`): the graduate's benefits
  and the household-level ones, the empowerment program's own excepted (`graduation`).
A benefit whose period ended before the fact's date is not touched.

Two periodic sweeps (no event says a day has passed): an objection still open after its
deadline lapses, and an open review past its deadline is marked overdue (BenefitReviewOverdue,
once). The open objections and reviews are learned from their events (from the store when
the process starts, then from the topic).

The core is pure and deterministic: `decide(envelope, view)` answers the actions for one
event, `ObjectionBook.due(day)` and `ReviewBook.due(day)` the sweeps' for one day. Every date
in an action comes from the events (their data and recorded time, never the clock), so a
replay of the same history decides the same actions. Reviews look at the household as it was
at the event's own version.

`PolicyRunner` consumes casework.events.v1 in its own consumer group
(`casework-policies.<topic id>`, renamed like the projection runner's when the topic is
recreated), executes the actions through the Casework application as actor policy/admin, and
commits offsets only after a batch is carried out. A replay is harmless: a review already
opened for the same cause or the same triggering event (`review.already_open`), a review
already closed (`review.not_open`), an objection already closed (`objection.not_open`) or a
benefit terminated meanwhile (`benefit.terminated`) is simply done. Messages that cannot be
decoded or carried out go to the DLQ topic, as the projection runner does.

Messages carry personal fields encrypted (tokens); `PolicyRunner` reveals each with the keys
of the store's key store before deciding, so NIKs compare with the household's as the store
reveals it (an erased person's as the same marker on both sides). Logs name event and review
ids and causes only, never a person.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
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
from consumers.runner import GroupMember, consumer_config, forget_keys, topic_id, verifier
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
DONE = frozenset(
    {"review.already_open", "review.not_open", "objection.not_open", "benefit.terminated"}
)
TRANSIENT = (sqlite3.OperationalError, psycopg.OperationalError)
OBJECTION_EVENTS = ("ObjectionFiled", "ObjectionResolved", "ObjectionLapsed")
REVIEW_EVENTS = (
    "BenefitReviewOpened",
    "BenefitReviewDecided",
    "BenefitReviewOverdue",
    "BenefitTerminated",
)
# recipients of a benefit meant for the whole family (KK), not for one person
HOUSEHOLD_LEVEL = ("head", "adult_woman")
# verification outcomes that do not confirm the family where it was registered
UNCONFIRMED = ("not_found", "moved", "deceased", "invalid")


@dataclass(frozen=True)
class Action:
    """A command a policy wants carried out: the use case, its fields, and its meta's reason
    and occurred_at (the moment of the fact that caused it)."""

    # "open_benefit_review" | "terminate_benefit" | "withdraw_review" | "mark_review_overdue"
    # | "lapse_objection"
    command: str
    cmd: dict[str, Any] = field(hash=False)
    reason: str
    occurred_at: str


class PolicyView(Protocol):
    """What the policies read besides the event itself."""

    def household(self, stream_id: str, version: int) -> dict[str, Any] | None:
        """The household as it was at that version: {"benefits": {id: benefit}, "members":
        {nik: {"status"}}, "nibs": [{"nik", "revoked_on"}], "enrollments": {id: {"program"}}}
        (benefits at least)."""

    def rules_at(self, program: str, day: str) -> dict[str, Any] | None:
        """The rules of a program in force on that day; None if unknown or not yet in force."""


def _plus_days(day: str, days: int) -> str:
    return (dt.date.fromisoformat(day) + dt.timedelta(days=days)).isoformat()


def _start_of(day: str) -> str:
    """00:00 in Kota Jambi (WIB) on that day, as RFC 3339 UTC."""
    moment = dt.datetime.combine(dt.date.fromisoformat(day), dt.time(), tzinfo=WIB)
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _running(household: dict[str, Any], day: str) -> list[dict[str, Any]]:
    """The household's benefits not terminated whose period had not ended by `day`, by id."""
    found = [
        b
        for b in household["benefits"].values()
        if b["status"] != "terminated" and b["period_end"] >= day
    ]
    return sorted(found, key=lambda b: b["benefit_id"])


def _open_benefits(household: dict[str, Any], nik: str, day: str) -> list[dict[str, Any]]:
    """The person's benefits not terminated whose period had not ended by `day`, by id."""
    return [b for b in _running(household, day) if b["nik"] == nik]


def _recorded_day(envelope: dict[str, Any]) -> str:
    """The day (WIB) the event was stored; a bare envelope (tests) falls back to occurred_at."""
    moment = envelope.get("recorded_at") or envelope["occurred_at"]
    when = dt.datetime.fromisoformat(str(moment).replace("Z", "+00:00"))
    return when.astimezone(WIB).date().isoformat()


def reason_of(why: str, envelope: dict[str, Any]) -> str:
    """The free-text reason an action of the policies is stored with: why, for the audit trail
    (in English, as the code), and the event that called for it."""
    return f"{why} (event {envelope['event_id']})"


_REASON_OF = re.compile(r" \(event [0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}\)$")


def by_policy(reason: str | None) -> bool:
    """Whether a stored reason is one `reason_of` wrote: pages show people the reason code
    and that the system recorded it, not this text."""
    return bool(reason) and _REASON_OF.search(str(reason)) is not None


def _deadline(envelope: dict[str, Any]) -> str:
    return _plus_days(_recorded_day(envelope), REVIEW_DAYS)


def _review(envelope: dict[str, Any], benefit: dict, cause: str, why: str) -> Action:
    return Action(
        command="open_benefit_review",
        cmd={
            "household_id": envelope["stream_id"],
            "benefit_id": benefit["benefit_id"],
            "cause": cause,
            "deadline": _deadline(envelope),
            "trigger": envelope["event_id"],
        },
        reason=reason_of(why, envelope),
        occurred_at=envelope["occurred_at"],
    )


def _rules(view: PolicyView, benefit: dict[str, Any], day: str) -> dict[str, Any]:
    """The benefit's program rules in force on `day` (else on its first day), or {}."""
    return (
        view.rules_at(benefit["program"], day)
        or view.rules_at(benefit["program"], benefit.get("period_start") or day)
        or {}
    )


def _household_level(view: PolicyView, benefit: dict[str, Any], day: str) -> bool:
    return _rules(view, benefit, day).get("recipient") in HOUSEHOLD_LEVEL


def _nib_affected(view: PolicyView, household: dict, holders: set[str], day: str) -> list[dict]:
    """The running benefits an NIB of one of `holders` touches: the holders' own and the
    household-level ones, of programs excluding NIB holders on `day`."""
    if not holders:
        return []
    found = []
    for benefit in _running(household, day):
        rules = _rules(view, benefit, day)
        if not rules.get("excludes_nib_holders"):
            continue
        if benefit["nik"] in holders or rules.get("recipient") in HOUSEHOLD_LEVEL:
            found.append(benefit)
    return found


def _nib_revoked(envelope: dict[str, Any], view: PolicyView, household: dict) -> list[Action]:
    """Withdraw the open `nib` reviews no NIB still held in the household justifies."""
    day = envelope["data"]["revoked_on"]
    holders = {n["nik"] for n in household.get("nibs", []) if not n.get("revoked_on")}
    still = {b["benefit_id"] for b in _nib_affected(view, household, holders, day)}
    actions = []
    for benefit in sorted(household["benefits"].values(), key=lambda b: b["benefit_id"]):
        for review in benefit.get("reviews", []):
            if (review["cause"], review["status"]) != ("nib", "open"):
                continue
            if benefit["benefit_id"] in still or not review.get("review_id"):
                continue
            actions.append(
                Action(
                    command="withdraw_review",
                    cmd={"household_id": envelope["stream_id"], "review_id": review["review_id"]},
                    reason=reason_of("NIB revoked; no NIB held any more", envelope),
                    occurred_at=envelope["occurred_at"],
                )
            )
    return actions


def _death(envelope: dict[str, Any], view: PolicyView, household: dict, nik: str, day: str):
    """The deceased's own benefits (recipient `any_member`) end on the date of death; any
    other (household-level, or of a program whose rules are unknown) is reviewed instead
    while an active member survives, and ends too when nobody does."""
    members = household.get("members", {})
    surviving = any(
        other != nik and member.get("status") == "active" for other, member in members.items()
    )
    actions = []
    for benefit in _open_benefits(household, nik, day):
        personal = _rules(view, benefit, day).get("recipient") == "any_member"
        if surviving and not personal:  # household-level, or rules unknown: a person decides
            why = f"recipient deceased; {benefit['program']} may serve the household"
            actions.append(_review(envelope, benefit, "death", why))
            continue
        actions.append(
            Action(
                command="terminate_benefit",
                cmd={
                    "household_id": envelope["stream_id"],
                    "benefit_id": benefit["benefit_id"],
                    # not before it starts nor before its last change (a death reported late)
                    "effective_date": max(
                        day,
                        benefit.get("period_start") or day,
                        *(h["effective_date"] for h in benefit.get("history", [])),
                    ),
                    "reason_code": "deceased",
                },
                reason=reason_of("recipient deceased on the date of death", envelope),
                occurred_at=envelope["occurred_at"],
            )
        )
    return actions


def decide(envelope: dict[str, Any], view: PolicyView) -> list[Action]:
    """The reviews (and the deceased's terminations) one event calls for; none for most."""
    if envelope.get("stream_type") != "Household":
        return []
    kind, data = envelope["type"], envelope["data"]
    relevant = (
        kind in ("NibRegistered", "NibRevoked", "DeathRecorded")
        or (kind == "MemberRemoved" and data.get("kind") in ("deceased", "moved_out"))
        or (kind == "VerificationRecorded" and data.get("outcome") in UNCONFIRMED)
        or (kind == "ObjectionResolved" and data.get("resolution") == "upheld")
        or (kind == "EmpowermentCompleted" and data.get("outcome") == "graduated")
        or kind == "FamilySplit"
    )
    if not relevant:
        return []
    household = view.household(envelope["stream_id"], envelope["version"])
    if household is None:
        return []
    if kind == "NibRegistered":
        day = data["registered_on"]
        return [
            _review(envelope, b, "nib", f"NIB registered; {b['program']} excludes NIB holders")
            for b in _nib_affected(view, household, {data["nik"]}, day)
        ]
    if kind == "NibRevoked":
        return _nib_revoked(envelope, view, household)
    if kind == "DeathRecorded":
        return _death(envelope, view, household, data["nik"], data["date_of_death"])
    if kind == "MemberRemoved" and data["kind"] == "deceased":
        return _death(envelope, view, household, data["nik"], data["effective_date"])
    if kind == "MemberRemoved":
        return [
            _review(envelope, b, "moved_out", "recipient moved out of the household")
            for b in _open_benefits(household, data["nik"], data["effective_date"])
        ]
    if kind == "FamilySplit":
        movers = set(data["members"])
        return [
            _review(envelope, b, "moved_out", "recipient left in a family split")
            for b in _running(household, data["effective_date"])
            if b["nik"] in movers
        ]
    if kind == "VerificationRecorded":
        why = f"field verification: {data['outcome']}"
        return [
            _review(envelope, b, "verification", why)
            for b in _running(household, data["visited_on"])
        ]
    if kind == "ObjectionResolved":
        return [
            _review(envelope, b, "objection", "objection upheld")
            for b in _running(household, data["resolved_on"])
        ]
    enrollment = household.get("enrollments", {}).get(data["enrollment_id"], {})
    graduate, day = enrollment.get("nik"), data["completed_on"]
    return [
        _review(envelope, b, "graduation", "graduated from empowerment")
        for b in _running(household, day)
        if b["program"] != enrollment.get("program")
        and (b["nik"] == graduate or _household_level(view, b, day))
    ]


class DeadlineBook:
    """Open cases (objections, reviews) with their deadlines, learned from events; `due` acts
    on those whose deadline passed. Subclasses say what they learn and what `due` records."""

    command = ""  # the use case `due` asks for, with the household and the case's id
    id_field = ""
    overdue_reason = ""  # why, with the deadline filled in

    def __init__(self) -> None:
        self.open: dict[str, dict[str, str]] = {}
        self.closed: set[str] = set()

    def settle(self, case_id: str) -> None:
        self.open.pop(case_id, None)
        self.closed.add(case_id)

    def due(self, day: dt.date | None = None) -> list[Action]:
        """The actions for the open cases whose deadline is before `day` (default: today in
        WIB); each happens at the start of the day after its deadline."""
        cutoff = (day or today()).isoformat()
        return [
            Action(
                command=self.command,
                cmd={"household_id": known["household_id"], self.id_field: case_id},
                reason=self.overdue_reason.format(deadline=known["deadline"]),
                occurred_at=_start_of(_plus_days(known["deadline"], 1)),
            )
            for case_id, known in sorted(self.open.items(), key=lambda i: (i[1]["deadline"], i[0]))
            if known["deadline"] < cutoff
        ]


class ObjectionBook(DeadlineBook):
    """The open objections and their deadlines; `due` lapses them."""

    command = "lapse_objection"
    id_field = "objection_id"
    overdue_reason = "objection not resolved by its deadline {deadline}"

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


class ReviewBook(DeadlineBook):
    """The open reviews not yet marked overdue; `due` marks them."""

    command = "mark_review_overdue"
    id_field = "review_id"
    overdue_reason = "review not decided by its deadline {deadline}"

    def learn(self, envelope: dict[str, Any]) -> None:
        kind = envelope.get("type")
        if envelope.get("stream_type") != "Household" or kind not in REVIEW_EVENTS:
            return
        data = envelope["data"]
        if kind == "BenefitTerminated":  # its open reviews close with it
            for review_id, known in list(self.open.items()):
                if known["benefit_id"] == data["benefit_id"]:
                    self.settle(review_id)
        elif kind == "BenefitReviewOpened":
            if data.get("review_id") and data["review_id"] not in self.closed:
                self.open[data["review_id"]] = {
                    "household_id": envelope["stream_id"],
                    "benefit_id": data["benefit_id"],
                    "deadline": data["deadline"],
                }
        else:
            self.settle(data["review_id"])


class StoreView:
    """A PolicyView on the Casework application: households at a version, programs' rules."""

    def __init__(self, app: Casework) -> None:
        self.app = app

    def household(self, stream_id: str, version: int) -> dict[str, Any] | None:
        try:
            household = self.app.repository.get(uuid.UUID(stream_id), version=version)
        except (AggregateNotFoundError, ValueError):
            return None
        if not isinstance(household, Household):
            return None
        return {
            "benefits": household.benefits,
            "members": household.members,
            "nibs": household.nibs,
            "enrollments": household.enrollments,
        }

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


def sweep_topics() -> list[str]:
    """The event topics the sweeps learn from: objections and reviews."""
    return [get_topic(getattr(Household, name)) for name in (*OBJECTION_EVENTS, *REVIEW_EVENTS)]


def replay(app: Casework, tenant: str = "1571", day: dt.date | None = None) -> list[Action]:
    """What the policies decide over the whole store, in store order, then a sweep on `day`."""
    view, book, reviews, actions = StoreView(app), ObjectionBook(), ReviewBook(), []
    for envelope in store_envelopes(app, tenant):
        actions.extend(decide(envelope, view))
        book.learn(envelope)
        reviews.learn(envelope)
    return actions + book.due(day) + reviews.due(day)


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
        self.verify = verifier(system)
        self.view = StoreView(self.app)
        self.book = ObjectionBook()
        self.reviews = ReviewBook()
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
        ensure_topics(
            self.system.kafka, self.settings.partitions, client_config=self.system.kafka_config
        )
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
        """Open objections and reviews stored before this process started (the group may be
        past them)."""
        for envelope in store_envelopes(self.app, self.settings.tenant, sweep_topics()):
            self.book.learn(envelope)
            self.reviews.learn(envelope)
        log.info(
            "policies: %d open objections, %d open reviews known",
            len(self.book.open),
            len(self.reviews.open),
        )

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
        envelope = self.admit(record)  # only this system's messages of this tenant
        if envelope is None:
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
        self.reviews.learn(envelope)
        try:
            actions = decide(envelope, self.view)
            for action in actions:
                outcome = execute(self.app, action)
                if outcome != "done":
                    raise DomainError("policy", outcome.split(": ", 1)[-1])
                self.carried_out += 1
                cause = action.cmd.get("cause")  # a review's cause; a termination has none
                log.info(
                    "policies: %s%s for event %s",
                    action.command,
                    f" {cause}" if cause else "",
                    envelope["event_id"],
                )
        except (*TRANSIENT, Conflict):
            raise  # the store is busy or the household changed meanwhile: try again
        except Exception as error:  # noqa: BLE001 - a poison message must not stop the policies
            self.dead_letter(record, f"{type(error).__name__}: {error}")
            return 0
        return len(actions)

    def sweep(self, day: dt.date | None = None) -> int:
        """Lapse the objections past their deadline and mark the reviews past theirs overdue;
        answers how many were carried out."""
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
        marked = 0
        for action in self.reviews.due(day or self.clock()):
            try:
                outcome = execute(self.app, action)
            except Conflict:
                continue  # busy household: the next sweep tries again
            review_id = action.cmd["review_id"]
            if outcome == "done":
                marked += 1
            else:
                log.warning("review %s not marked overdue: %s", review_id, outcome)
            self.reviews.settle(review_id)
        self.carried_out += lapsed + marked
        if lapsed or marked:
            log.info("policies: %d objections lapsed, %d reviews overdue", lapsed, marked)
        return lapsed + marked

    def dead_letter(self, record: Any, error: str) -> None:
        if self.dlq is None:
            self.dlq = self.system.producer(acks="all", linger_ms=0)
        park(self.dlq, self.views, record, error, GROUP)


def run(system: System, stop: threading.Event | None = None) -> None:
    if not system.settings.kafka:
        raise SystemExit("casework policies: set CASEWORK_KAFKA to the Kafka bootstrap servers")
    PolicyRunner(system).run(stop or threading.Event())
