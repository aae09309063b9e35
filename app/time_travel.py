"""Time travel: a household, its eligibility and its history as of a past moment, and what
changed between two moments (`?as_of=`, `mode=`, `/diff`).

Two modes, both read from the event store (never from the views):
- `known` (the default), *as known then*: the events recorded at or before the moment (their
  eventsourcing timestamp). The household is the aggregate at the last version recorded by
  then (`repository.get(id, version=N)`), so the answer equals what the live endpoint
  answered at that moment, but for persons erased since: erasure is for ever, and an erased
  person shows erased in the past too (their keys are gone).
- `effective`, *as it was*: the events whose `occurred_at` is at or before the moment,
  whatever their recording time (a death reported late counts from the day it happened: a
  command carrying the date it happened on, given no occurred_at, counts from the start of
  that day, WIB; `domain.use_case.dated_meta`), in store order. The subset is folded with
  the aggregate's own event methods (`apply`), the version check left out since the subset
  has gaps. Limits: an event whose method cannot
  apply to the reduced state (e.g. a change to a member added by an event that happened
  later) is left out and listed in `skipped`; no command rule is checked again, so the state
  is what the events say, not what a command would have allowed in that order.

Eligibility as of a moment evaluates the programs' rules (`domain.eligibility_rules.facts_for`,
`domain.program.evaluate`, `verdict`) on the household as of then, on the day of the moment
(WIB): in `known` mode with the rule versions recorded by then, in `effective` mode with every
rule version recorded since (a version recorded later but in force that day counts). The pair
rules (double receipt, once per KK, combinability) read, as the live view does, each member's
benefits on the other KKs they are or were in: the households their NIK claim's stream names
(`_households_of`), each as of the same moment in the same mode; and the benefits they
received before their NIK was known, of the provisional person that claim names, when
LinkIdentity had joined that person to the NIK by then. Given the store, each reason
names the store positions of the events behind it, as the view's reasons do, a benefit
clashed with on another KK included; without it `positions` is empty.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from adapters.chain import link_at
from adapters.codec import is_erased
from adapters.db import Database
from adapters.stream_events import stream_notifications
from adapters.wire import from_notification, rfc3339
from app.disclosure import public_state
from app.history import stream_history
from app.schemas import EARLIEST_MOMENT
from domain.application import Casework
from domain.city import WIB
from domain.eligibility_rules import (
    candidates,
    facts_for,
    residence_eligible_from,
    residence_reached_detail,
)
from domain.homeless import ProvisionalPerson
from domain.household import LATEST_DAY, Household, NikIndex
from domain.program import (
    Detail,
    Program,
    answer_rank,
    evaluate,
    nobody_detail,
    text_of,
    verdict,
)
from domain.texts import N_
from projections.base import reveal
from projections.eligibility import household_facts, positions_behind, provisional_facts

MODES = ("known", "effective")
DEFAULT_MODE = "known"
# The roles that may read the past (auditors replay history; supervisors check it).
TIME_TRAVELLERS = ("auditor", "supervisor", "admin")
# The calendar every moment the system takes lies in: from EARLIEST_MOMENT (1900, as an
# event's occurred_at) to the end of LATEST_DAY in WIB (2100-12-31, as a benefit's or a rule's
# last day); outside it a moment is malformed (`<field>.invalid`), on the API, the timeline and
# the audit pages alike.
LATEST_MOMENT = dt.datetime.combine(LATEST_DAY, dt.time.max, WIB).astimezone(dt.UTC)


class BadMoment(ValueError):
    """A malformed moment or mode: the field and its error code."""

    def __init__(self, field_name: str, code: str) -> None:
        super().__init__(code)
        self.field = field_name
        self.code = code


# A date, or a date and time (seconds and their fraction optional, as a datetime-local field
# sends it) with an optional `Z` or `+HH:MM` offset: the forms the contract names. Python's
# `fromisoformat` takes more (week dates `2026-W50-1`, ordinal dates, `+0700`), which an
# auditor's typo could hit and be read as another day.
_MOMENT_FORM = re.compile(
    r"\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?([Zz]|[+-]\d{2}:\d{2})?)?",
    re.ASCII,
)


def parse_moment(
    raw: str, field_name: str = "as_of", *, naive_is_wib: bool = False, date_starts: bool = False
) -> dt.datetime:
    """An RFC 3339 time (with its offset), or a date (the end of that day in Jambi, WIB; its
    start with `date_starts`, for the first moment of a window: "since 1 March" takes in what
    was recorded on 1 March, from EARLIEST_MOMENT for the calendar's first day), as an aware
    UTC datetime. `naive_is_wib`: a time without offset is read as WIB (the web's
    datetime-local). Anything else, or a moment with no date in UTC or in WIB (the calendar's
    ends), or a moment outside EARLIEST_MOMENT..LATEST_MOMENT, raises
    BadMoment(field, "<field>.invalid")."""
    text = (raw or "").strip()
    code = f"{field_name}.invalid"
    if not text or len(text) > 40 or not _MOMENT_FORM.fullmatch(text):
        raise BadMoment(field_name, code)
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            moment = dt.datetime.combine(day, dt.time.min if date_starts else dt.time.max, WIB)
            if date_starts and day == EARLIEST_MOMENT.date():
                moment = EARLIEST_MOMENT  # its first hours in WIB are before the calendar
        else:
            moment = dt.datetime.fromisoformat(text.replace("z", "Z"))
            if moment.tzinfo is None:
                if not naive_is_wib:
                    raise BadMoment(field_name, code)
                moment = moment.replace(tzinfo=WIB)
    except ValueError:
        raise BadMoment(field_name, code) from None
    try:
        # A moment is answered in UTC and judged and shown in WIB: near the ends of the
        # calendar (9999-12-31T23:59:59-12:00, or ...Z in WIB) one of them is no date.
        utc = moment.astimezone(dt.UTC)
        utc.astimezone(WIB)
    except OverflowError:
        raise BadMoment(field_name, code) from None
    if not EARLIEST_MOMENT <= utc <= LATEST_MOMENT:
        raise BadMoment(field_name, code)
    return utc


def end_of_today() -> dt.datetime:
    """The end of the current day in WIB (UTC): the latest moment time travel answers for."""
    today = dt.datetime.now(WIB).date()
    return dt.datetime.combine(today, dt.time.max, WIB).astimezone(dt.UTC)


def parse_past_moment(
    raw: str, field_name: str = "as_of", *, naive_is_wib: bool = False
) -> dt.datetime:
    """`parse_moment` for time travel (`as_of`, `from`, `to`): the past, up to the end of today
    (WIB; a date of today is its end). A later moment raises BadMoment(field,
    "<field>.future"): nothing is known of it yet, and what the API will answer then is no
    answer of today's."""
    moment = parse_moment(raw, field_name, naive_is_wib=naive_is_wib)
    if moment > end_of_today():
        raise BadMoment(field_name, f"{field_name}.future")
    return moment


def parse_mode(raw: str | None) -> str:
    mode = (raw or "").strip() or DEFAULT_MODE
    if mode not in MODES:
        raise BadMoment("mode", "mode.invalid")
    return mode


def _occurred(event: Any) -> dt.datetime:
    """When the event happened in the world (its meta's occurred_at), else when recorded."""
    raw = (getattr(event, "meta", None) or {}).get("occurred_at")
    if raw:
        try:
            moment = dt.datetime.fromisoformat(str(raw))
        except ValueError:
            moment = None
        if moment is not None:
            return moment if moment.tzinfo else moment.replace(tzinfo=WIB)
    return event.timestamp


def _counts(event: Any, at: dt.datetime, mode: str) -> bool:
    """Whether the event belongs to the past as of `at` in that mode."""
    return (event.timestamp if mode == "known" else _occurred(event)) <= at


def _events(casework: Casework, stream_id: uuid.UUID) -> list[Any]:
    return [casework.mapper.to_domain_event(s) for s in casework.recorder.select_events(stream_id)]


@dataclass
class Past:
    """An aggregate as of a moment, the versions of the events it was folded from, and the
    events left out of it."""

    aggregate: Any
    kept: set[int] = field(default_factory=set)
    skipped: list[dict[str, Any]] = field(default_factory=list)


def aggregate_as_of(
    casework: Casework, stream_id: uuid.UUID, at: dt.datetime, mode: str
) -> Past | None:
    """The aggregate of one stream as of `at` (None: nothing of it by then)."""
    events = _events(casework, stream_id)
    if mode == "known":
        versions = [e.originator_version for e in events if _counts(e, at, mode)]
        if not versions:
            return None
        return Past(casework.repository.get(stream_id, version=max(versions)), set(versions))
    past = Past(None)
    for event in events:
        if not _counts(event, at, mode):
            continue
        if past.aggregate is None:
            if event.originator_version != 1:  # the creation happened later
                return None
            past.aggregate = event.mutate(None)
            past.kept.add(event.originator_version)
            continue
        try:
            event.apply(past.aggregate)
        except (KeyError, ValueError, TypeError, AttributeError, IndexError):
            past.skipped.append(
                {
                    "version": event.originator_version,
                    "type": type(event).__qualname__.rsplit(".", 1)[-1],
                }
            )
            continue
        past.aggregate.version = event.originator_version
        past.aggregate.modified_on = event.timestamp
        past.kept.add(event.originator_version)
    return past if past.aggregate is not None else None


def household_as_of(
    casework: Casework,
    household_id: str,
    at: dt.datetime,
    mode: str,
    store: Database | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """(the household as the API answers it, as of then; the events left out), or None when
    it was not recorded (or had not happened) by then. Raises NotFound for no household.
    Given the `store`, the household carries the `evidence` it rests on (`_evidence`)."""
    now = casework.get_household(household_id)  # NotFound for an unknown id
    past = aggregate_as_of(casework, now.id, at, mode)
    if past is None or not isinstance(past.aggregate, Household):
        return None
    state = public_state(past.aggregate.as_dict())
    shown = {**state, "registered_at": rfc3339(past.aggregate.created_on)}
    if store is not None and (found := _evidence(store, now.id, past)) is not None:
        shown["evidence"] = found
    return shown, past.skipped


def history_as_of(
    casework: Casework, household_id: str, at: dt.datetime, mode: str
) -> list[dict[str, Any]] | None:
    """The household's events (as the history route shows them) recorded, or happened, by
    then, in store order; None when the household was not recorded (or its registration had
    not happened) by then, as `household_as_of` says. Raises NotFound for no household."""
    household = casework.get_household(household_id)
    kept = {e.originator_version for e in _events(casework, household.id) if _counts(e, at, mode)}
    if 1 not in kept:
        return None
    return [entry for entry in stream_history(casework, household.id) if entry["version"] in kept]


# --- eligibility -----------------------------------------------------------------------------


def programs_as_of(casework: Casework, at: dt.datetime, mode: str) -> list[Program]:
    """The programs with the rule versions recorded by then (`known`), or every version
    recorded since (`effective`: the rules in force on a day may have been recorded later)."""
    found = []
    for program in casework.list_programs():
        if mode == "effective":
            found.append(program)
            continue
        past = aggregate_as_of(casework, program.id, at, "known")
        if past is not None:
            found.append(past.aggregate)
    return found


def _without_own(household: Household, nik: str, code: str) -> SimpleNamespace:
    """What `facts_for` reads of the household, the person's own benefits of this program
    left out: a family served is asked whether it still qualifies (as the view asks)."""
    return SimpleNamespace(
        head_nik=household.head_nik,
        members=household.members,
        assessments=household.assessments,
        nibs=household.nibs,
        benefits={
            key: benefit
            for key, benefit in household.benefits.items()
            if not (benefit["nik"] == nik and benefit["program"] == code)
        },
    )


def _households_of(casework: Casework, nik: str) -> list[uuid.UUID]:
    """Every household the person's NIK claim names in its stream (claimed by, released from,
    a benefit received on), first named first: the KKs the person is or was in (as
    `app.subject_access.report` finds them; the view's `persons` table holds the same)."""
    named: dict[str, None] = {}
    for event in _events(casework, NikIndex.create_id(casework.nik_key(nik))):
        household_id = getattr(event, "household_id", None)
        if household_id is not None:
            named[str(household_id)] = None
    return [uuid.UUID(household_id) for household_id in named]


def _others_as_of(
    casework: Casework, household_id: uuid.UUID, niks: list[str], at: dt.datetime, mode: str
) -> dict[uuid.UUID, Past]:
    """The other households these persons are or were in, each as of the same moment in the
    same mode (those not recorded, or not happened, by then left out), by household id as the
    view reads them (`projections.eligibility._benefits_elsewhere`); then, by id, the
    provisional persons one of them had been linked to by then (LinkIdentity: their benefits
    before the NIK are the NIK's receipts, whose claim names them as it names a KK)."""
    found: dict[uuid.UUID, Past] = {}
    seen = {household_id}
    for nik in niks:
        for other in _households_of(casework, nik):
            if other in seen:
                continue
            seen.add(other)
            past = aggregate_as_of(casework, other, at, mode)
            if past is None:
                continue
            if isinstance(past.aggregate, Household) or (
                isinstance(past.aggregate, ProvisionalPerson)
                and past.aggregate.linked_nik is not None
            ):
                found[other] = past
    return dict(
        sorted(
            found.items(),
            key=lambda item: (isinstance(item[1].aggregate, ProvisionalPerson), str(item[0])),
        )
    )


def _benefits_of(past: Past) -> list[dict[str, Any]]:
    """The benefits of another KK as of then, or of a provisional person linked by then
    (each under the NIK they were linked to)."""
    other = past.aggregate
    if isinstance(other, ProvisionalPerson):
        return other.benefits_under(other.linked_nik) if other.linked_nik is not None else []
    return list(other.benefits.values())


def _reason(rule: str, version: Any, passed: bool | None, detail: Detail) -> dict[str, Any]:
    return {
        "rule": rule,
        "rule_version": version,
        "passed": passed,
        "detail": str(detail),
        "text": text_of(detail),
        "positions": [],
    }


def _worded(
    rule: str, passed: bool | None, detail: Detail, member: dict[str, Any], rules: dict[str, Any]
) -> Detail:
    """A reason's words as the view words them: a residence passed says when it was reached,
    never how many months (for one born here that would tell the birth date)."""
    if rule == "min_residence_months" and passed:
        return residence_reached_detail(member, rules[rule]) or detail
    return detail


@dataclass
class Behind:
    """What finds the events behind a past answer, as the view's reasons name them
    (`positions`): the view's facts of the household folded from the events kept then
    (`projections.eligibility.household_facts`), each program's rule versions' positions, and
    the view's facts of each member's other KKs then (`elsewhere_of`)."""

    facts: dict[str, Any]
    subject_of: Callable[[str], str]
    rule_positions: Callable[[Program], dict[int, int]]
    # a subject's benefits on their other KKs, as the view's facts of those KKs hold them
    elsewhere_of: Callable[[str], list[dict[str, Any]]] = lambda _subject: []

    def positions(
        self,
        program: Program,
        version: int,
        rule: str | None = None,
        nik: str | None = None,
        day: dt.date | None = None,
        facts_now: dict[str, Any] | None = None,
    ) -> list[int]:
        """The rule version's own event, and those behind the rule's answer for `nik`."""
        found = set()
        own = self.rule_positions(program).get(version)
        if own is not None:
            found.add(own)
        if rule is not None and nik is not None and day is not None and facts_now is not None:
            subject = self.subject_of(nik)
            found.update(
                positions_behind(
                    rule,
                    self.facts,
                    subject,
                    program.code,
                    day,
                    facts_now,
                    self.elsewhere_of(subject),
                )
            )
        return sorted(found)


def _answer(
    household: Household,
    program: Program,
    day: dt.date,
    hidden: set[str],
    catalog: dict[str, Program],
    subject_of: Callable[[str], str],
    behind: Behind | None = None,
    elsewhere: dict[str, list[dict[str, Any]]] | None = None,
) -> dict[str, Any] | None:
    """One program's answer: its best visible member among those it could pay
    (`domain.eligibility_rules.candidates`), as the view answers; None when each of them is
    hidden (the view shows no answer then). `elsewhere`: each member's benefits on their
    other KKs then, for the pair rules (the same program there a double receipt, as the
    view counts it). `behind`: each reason names the store positions of the events behind it,
    as the view's do; else none. Short only of the residence months, the answer says the day
    they are reached (`eligible_from`), as the view's does."""
    rules = program.rules_at(day)
    if rules is None:
        first = program.rule_versions[0]
        detail = Detail(N_("the program takes effect on %(date)s"), date=first["effective_from"])
        reason = _reason("in_force", first["version"], False, detail)
        if behind is not None:
            reason["positions"] = behind.positions(program, first["version"])
        return {"program": program.code, "status": "ineligible", "reasons": [reason]}
    recipient = rules.get("recipient", "any_member")
    possible = candidates(household.members, household.head_nik, recipient)
    if not possible:
        reasons = [_reason("recipient", rules["version"], False, nobody_detail(recipient))]
        if behind is not None:
            reasons[0]["positions"] = behind.positions(program, rules["version"])
        return {"program": program.code, "status": "ineligible", "reasons": reasons}
    rows = []
    for nik in possible:
        if nik in hidden:  # left out, as the view leaves out a restricted person's row
            continue
        facts = facts_for(
            _without_own(household, nik, program.code),
            nik,
            program,
            day,
            elsewhere=(elsewhere or {}).get(nik, []),
            programs=catalog.get,
        )
        results = evaluate(rules, facts)
        reasons = [
            _reason(r, rules["version"], p, _worded(r, p, d, household.members[nik], rules))
            for r, p, d in results
        ]
        status = verdict(results)
        rank = answer_rank(status, (p for _r, p, _d in results))
        eligible_from = residence_eligible_from(household.members[nik], rules, results)
        rows.append((rank, nik, status, reasons, facts, eligible_from))
    if not rows:
        return None
    # the best person's answer, as the view chooses it (`domain.program.answer_rank`)
    _rank, nik, status, reasons, facts, eligible_from = min(
        rows, key=lambda row: (row[0], subject_of(row[1]))
    )
    if behind is not None:
        for reason in reasons:
            reason["positions"] = behind.positions(
                program, rules["version"], reason["rule"], nik, day, facts
            )
    answer = {"program": program.code, "status": status, "reasons": reasons}
    if eligible_from:  # short only of the residence months: the day they are reached
        answer["eligible_from"] = eligible_from
    return answer


def eligibility_as_of(
    casework: Casework,
    household_id: str,
    at: dt.datetime,
    mode: str,
    store: Database | None = None,
) -> list[dict[str, Any]] | None:
    """Per program, the household's answer as of then (None: the household did not exist
    then). Persons restricted (then or now) and erased are left out, as the view leaves
    them out. The pair rules read each member's benefits on their other KKs as of then
    (`_others_as_of`), as the view reads them. Given the `store`, each reason names the store
    positions of the events behind it (the rule version's, the household's events kept then,
    and a benefit clashed with on another KK), as the view's do."""
    now = casework.get_household(household_id)
    past = aggregate_as_of(casework, now.id, at, mode)
    if past is None or not isinstance(past.aggregate, Household):
        return None
    household = past.aggregate
    hidden = {
        nik
        for nik, member in household.members.items()
        if is_erased(nik)
        or member.get("erased")
        or member.get("restricted")
        or now.members.get(nik, {}).get("restricted")
    }
    day = at.astimezone(WIB).date()
    programs = sorted(programs_as_of(casework, at, mode), key=lambda p: p.code)
    catalog = {p.code: p for p in programs}

    def subject_of(nik: str) -> str:
        """The person's pseudonymous subject: the view's order among equal answers."""
        return casework.person_subject(nik) or nik

    visible = sorted(household.members.keys() - hidden)
    others = _others_as_of(casework, now.id, visible, at, mode)
    elsewhere = {
        nik: [
            benefit
            for other in others.values()
            for benefit in _benefits_of(other)
            if benefit["nik"] == nik
        ]
        for nik in visible
    }
    behind = None
    if store is not None:
        read: dict[uuid.UUID, dict[int, int]] = {}  # each program's stream read once

        def rule_positions(program: Program) -> dict[int, int]:
            if program.id not in read:
                read[program.id] = _rule_positions(casework, store, program.id)
            return read[program.id]

        # the view's facts of the other KKs (and of the provisional persons), read once
        folded: list[dict[str, Any]] = []

        def elsewhere_of(subject: str) -> list[dict[str, Any]]:
            if not folded and others:
                folded.extend(_view_facts(casework, store, i, p) for i, p in others.items())
            return [
                benefit
                for facts in folded
                for benefit in facts.get("benefits", {}).values()
                if benefit["nik"] == subject
            ]

        behind = Behind(
            _view_facts(casework, store, now.id, past), subject_of, rule_positions, elsewhere_of
        )
    answers = [
        _answer(household, program, day, hidden, catalog, subject_of, behind, elsewhere)
        for program in programs
    ]
    return [answer for answer in answers if answer is not None]


def _view_facts(
    casework: Casework, store: Database, household_id: uuid.UUID, past: Past
) -> dict[str, Any]:
    """The eligibility view's facts of the household (or of the provisional person) as of
    then: the events `past` was folded from, each as the view reads it, folded as the view
    folds them."""
    envelopes = (
        reveal(casework.codec, from_notification(casework, notification, "", sealed=True))
        for notification in stream_notifications(store, household_id)
        if notification.originator_version in past.kept
    )
    if isinstance(past.aggregate, ProvisionalPerson):
        return provisional_facts(envelopes)
    return household_facts(envelopes) or {}


def _evidence(store: Database, household_id: uuid.UUID, past: Past) -> dict[str, Any] | None:
    """What a past state of the household rests on, for an auditor to cite: the store position
    of the last of its events it was folded from and the hash chain's link there, which
    certifies every event up to it (`casework audit verify` checks the chain still passes
    through it)."""
    positions = [
        n.id for n in stream_notifications(store, household_id) if n.originator_version in past.kept
    ]
    if not positions:
        return None
    position = max(positions)
    return {"position": position, "link": link_at(store, position)}


def _rule_positions(casework: Casework, store: Database, program_id: uuid.UUID) -> dict[int, int]:
    """A program's rule versions and the store positions of the events that set them."""
    found = {}
    for notification in stream_notifications(store, program_id):
        envelope = from_notification(casework, notification, "", sealed=True)
        if envelope["type"] == "ProgramDefined":
            found[1] = envelope["position"]
        elif envelope["type"] == "ProgramRulesChanged":
            found[int(envelope["data"]["version"])] = envelope["position"]
    return found


# --- diff ------------------------------------------------------------------------------------

_SCALARS = ("kk_number", "kecamatan", "kelurahan", "address", "rt", "rw", "head_nik")
_MEMBER_FIELDS = ("name", "birth_date", "sex", "relationship", "status", "restricted", "erased")
_BENEFIT_FIELDS = ("program", "nik", "status", "period_start", "period_end", "amount")


def _keyed(items: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    return {str(item.get(key) or f"#{i}"): item for i, item in enumerate(items)}


def state_changes(
    before: dict[str, Any] | None, after: dict[str, Any] | None
) -> list[dict[str, Any]]:
    """The fields that differ between two states of a household (each {field, from, to}):
    its own fields, each member's (by NIK) and each benefit's (by benefit_id)."""
    before, after = before or {}, after or {}
    changes = []
    for name in _SCALARS:
        if before.get(name) != after.get(name):
            changes.append({"field": name, "from": before.get(name), "to": after.get(name)})
    for kind, key, names in (
        ("members", "nik", _MEMBER_FIELDS),
        ("benefits", "benefit_id", _BENEFIT_FIELDS),
    ):
        old, new = _keyed(before.get(kind, []), key), _keyed(after.get(kind, []), key)
        for ident in sorted(old.keys() | new.keys()):
            if ident not in old:
                changes.append({"field": f"{kind}.{ident}", "from": None, "to": "added"})
                continue
            if ident not in new:
                changes.append({"field": f"{kind}.{ident}", "from": "present", "to": None})
                continue
            for name in names:
                was, now = old[ident].get(name), new[ident].get(name)
                if was != now:
                    changes.append({"field": f"{kind}.{ident}.{name}", "from": was, "to": now})
    return changes


def diff(
    casework: Casework, household_id: str, start: dt.datetime, end: dt.datetime, mode: str
) -> dict[str, Any]:
    """What changed between two moments: the events recorded (or happened) after `start`
    and by `end`, and the fields that differ between the two states."""
    found = diff_with_states(casework, household_id, start, end, mode)
    return {"events": found["events"], "changes": found["changes"]}


def diff_with_states(
    casework: Casework, household_id: str, start: dt.datetime, end: dt.datetime, mode: str
) -> dict[str, Any]:
    """`diff`, with the two states compared (`before`, `after`: the household as the API
    answers it, or None), from which a page names the members and benefits changed."""
    before = household_as_of(casework, household_id, start, mode)
    after = household_as_of(casework, household_id, end, mode)
    earlier = {e["version"] for e in history_as_of(casework, household_id, start, mode) or []}
    events = [
        entry
        for entry in history_as_of(casework, household_id, end, mode) or []
        if entry["version"] not in earlier
    ]
    before_state, after_state = (before[0] if before else None), (after[0] if after else None)
    return {
        "events": events,
        "changes": state_changes(before_state, after_state),
        "before": before_state,
        "after": after_state,
    }
