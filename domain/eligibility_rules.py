"""Program rules applied when a benefit is granted: the facts of one person in one household on
one day, and the refusal when a rule fails.

`facts_for` computes what `domain.program.evaluate` needs; `check_grant` refuses a grant whose
rules fail, naming EVERY failing rule with its version and detail (RulesFailed). The rules
between benefits are judged on periods, not on today: two periods clash when they intersect.
- double receipt: the same program to the same person over overlapping periods, on whatever
  KK either was recorded (the person's NIK claim keeps their receipts, `NikIndex.receipts`);
- once per KK: a member of this KK, the recipient included, received it over an overlapping
  period;
- combinability is symmetric: two programs combine only when each lists the other in
  `combinable_with` (`combinable`), so the answer never depends on which came first;
- a terminated benefit counts until the day before its termination takes effect.
A rule whose fact is unknown (passed None: no welfare decile, no KTP record) does not block
the grant: the grant waits for a person's approval anyway (maker-checker), and that person
decides. Only a rule that is known to fail (passed False) refuses.

Facts are taken as of `on_date` (a grant uses its `period_start`):
- `desil`: the decile the program's `desil_source` rule chooses among the assessments whose
  period (quarter) began by then (`desil_facts`). By default: the latest DTSEN one, since
  Inpres 4/2025 made DTSEN the single source; else the latest of the other sources (VERVAL,
  DTKS, P3KE; the same period prefers VERVAL, the field visit, then DTKS, then P3KE). A
  program may list other sources, let a later field verification (VERVAL) override, and set
  a tolerance: when the listed sources' latest deciles differ by more, `desil_conflict`
  names each source's value and period and `max_desil` is unknown (a person decides).
  `desil_source` says which source was used.
- `residence_months`: whole months since the member's KTP arrival: born here counts from the
  birth date, `pindah_datang` from `arrived_on`; no KTP record is None (unknown).
- `holds_nib`: an NIB of that person registered by then and not revoked by then.
- the pair rules, for a benefit over a period (a grant's own; the eligibility view's is the
  day it answers for, "could a benefit start that day"), judged by `clashes` for the grant and
  the view alike: `already_receives` (double receipt), `kk_already_received` (once-per-KK
  programs), `other_active_programs` (the person's other programs over the period) and
  `not_combinable` (those of them not combinable both ways).
- `recipient_fits`: head = the head of family; adult_woman = a woman aged 17 or more, or
  married (a spouse); any_member = any active member.
"""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Any

from domain.errors import DomainError, NotFound, RulesFailed
from domain.program import FIELD_VERIFICATION, Detail, desil_source_rule, evaluate
from domain.texts import N_

# rule (as domain.program.evaluate names it) -> the code a refused grant answers
RULE_CODES = {
    "max_desil": "rules.desil_too_high",
    "min_residence_months": "rules.residence_too_short",
    "excludes_nib_holders": "rules.nib_holder",
    "double_receipt": "rules.double_receipt",
    "once_per_kk": "rules.once_per_kk",
    "combinable_with": "rules.not_combinable",
    "recipient": "rules.recipient",
}
ERROR_CODES = (
    "program.not_found",
    "program.not_in_force",
    "rules.residence_unknown",
    *RULE_CODES.values(),
)

# residence_months of a member whose arrival is not recorded (no KTP record)
RESIDENCE_UNKNOWN = "unknown"

_ADULT_AGE = 17
_SPOUSES = ("istri", "suami")


def _day(value: dt.date | str) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def _quarter_start(period: str) -> dt.date:
    year, quarter = period.split("-Q")
    return dt.date(int(year), 3 * int(quarter) - 2, 1)


def months_between(since: dt.date, until: dt.date) -> int:
    """Whole months from `since` to `until` (0 when `until` is earlier)."""
    months = (until.year - since.year) * 12 + until.month - since.month
    if until.day < since.day:
        months -= 1
    return max(months, 0)


def _latest_by_source(household: Any, day: dt.date, order: list[str]) -> dict[str, dict[str, Any]]:
    """source -> its latest assessment whose quarter began by that day, for listed sources."""
    latest: dict[str, dict[str, Any]] = {}
    for record in household.assessments:
        source = record["source"]
        if source not in order or _quarter_start(record["period"]) > day:
            continue
        if source not in latest or record["period"] > latest[source]["period"]:
            latest[source] = record
    return latest


# days before the chosen assessment's quarter beyond which another source's decile is stale
STALE_AFTER_DAYS = 365


def desil_facts(
    household: Any, on_date: dt.date | str, rules: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The welfare decile the program's `desil_source` rule chooses on that day
    (`domain.program.DEFAULT_DESIL_SOURCE` explains the rule):
    `desil`, `desil_source`, `desil_period` (None when no listed source is known);
    `desil_shown`: the (source, period) of the assessments the answer names: the chosen one,
    or every listed source's latest when they disagree;
    `desil_conflict`: None, or "DTSEN 3 (2026-Q1), VERVAL 6 (2026-Q2): differ by 3,
    tolerance 1" when the latest deciles of the listed sources differ beyond the tolerance
    (a source last assessed a year or more before the chosen quarter is stale: not compared)."""
    day = _day(on_date)
    rule = desil_source_rule(rules or {})
    order = rule["order"]
    latest = _latest_by_source(household, day, order)
    chosen = latest.get(order[0])
    if chosen is None:
        others = [latest[source] for source in order[1:] if source in latest]
        if others:
            chosen = max(others, key=lambda r: (r["period"], -order.index(r["source"])))
    verification = latest.get(FIELD_VERIFICATION)
    if (
        rule["verification_overrides"]
        and chosen is not None
        and verification is not None
        and verification["period"] > chosen["period"]
    ):
        chosen = verification
    facts: dict[str, Any] = {
        "desil": chosen["desil"] if chosen else None,
        "desil_source": chosen["source"] if chosen else None,
        "desil_period": chosen["period"] if chosen else None,
        "desil_shown": [(chosen["source"], chosen["period"])] if chosen else [],
        "desil_conflict": None,
    }
    tolerance = rule["tolerance"]
    # a source whose latest assessment is a year or more older than the chosen one is stale:
    # it is not set against newer evidence
    current = [
        latest[source]
        for source in order
        if source in latest
        and chosen is not None
        and _quarter_start(latest[source]["period"])
        > _quarter_start(chosen["period"]) - dt.timedelta(days=STALE_AFTER_DAYS)
    ]
    if tolerance is not None and len(current) > 1:
        values = [r["desil"] for r in current]
        spread = max(values) - min(values)
        if spread > tolerance:
            shown = current
            facts["desil_shown"] = [(r["source"], r["period"]) for r in shown]
            facts["desil_conflict"] = Detail(
                N_("%(sources)s: differ by %(spread)s, tolerance %(tolerance)s"),
                sources=", ".join(f"{r['source']} {r['desil']} ({r['period']})" for r in shown),
                spread=spread,
                tolerance=tolerance,
            )
    return facts


def best_desil(
    household: Any, on_date: dt.date | str, rules: dict[str, Any] | None = None
) -> tuple[int | None, str | None]:
    """(desil, source) the program's source rule chooses on that day, or (None, None)."""
    found = desil_facts(household, on_date, rules)
    return found["desil"], found["desil_source"]


def residence_months(member: dict[str, Any], on_date: dt.date | str) -> int | str:
    """Whole months of residence on that day, or RESIDENCE_UNKNOWN without an arrival."""
    arrival = member.get("arrival")
    if not arrival:
        return RESIDENCE_UNKNOWN
    if arrival.get("type") == "pindah_datang":
        since = arrival.get("arrived_on")
    else:
        since = member.get("birth_date")  # None once erased
    return months_between(_day(since), _day(on_date)) if since else RESIDENCE_UNKNOWN


def holds_nib(household: Any, nik: str, on_date: dt.date | str) -> bool:
    day = _day(on_date)
    return any(
        r["nik"] == nik
        and _day(r["registered_on"]) <= day
        and (r["revoked_on"] is None or _day(r["revoked_on"]) > day)
        for r in household.nibs
    )


def _age_on(birth_date: str, day: dt.date) -> int:
    born = _day(birth_date)
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def recipient_fits(household: Any, nik: str, recipient: str, on_date: dt.date | str) -> bool:
    member = household.members.get(nik)
    if member is None or member["status"] != "active":
        return False
    if recipient == "head":
        return nik == household.head_nik
    if recipient == "adult_woman":
        adult = member[
            "relationship"
        ] in _SPOUSES or (  # an erased member's birth date is gone: not known to be adult
            member["birth_date"] is not None
            and _age_on(member["birth_date"], _day(on_date)) >= _ADULT_AGE
        )
        return member["sex"] == "F" and adult
    return True


def candidates(members: dict[str, dict[str, Any]], head: str | None, recipient: str) -> list[str]:
    """The members a program could pay, by key, sorted: the head (`head`), the women
    (`adult_woman`: a girl too, who becomes one at 17) or every active member."""
    active = sorted(key for key, member in members.items() if member["status"] == "active")
    if recipient == "head":
        return [key for key in active if key == head]
    if recipient == "adult_woman":
        return [key for key in active if members[key]["sex"] == "F"]
    return active


def facts_for(
    household: Any,
    nik: str,
    program: Any,
    on_date: dt.date | str,
    app: Any = None,
    *,
    period: tuple[dt.date, dt.date] | None = None,
    elsewhere: list[dict[str, Any]] | None = None,
    programs: Any = None,
    desil: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The facts `evaluate` needs for granting `program` (a Program, or its code looked up
    through `app`) to member `nik` on `on_date`, for a benefit over `period` (default: that
    day alone). Everything else comes from the household; `elsewhere` (the person's benefits
    on other KKs) and `programs(code)` (a Program or None; default: through `app`) feed the
    pair rules, judged exactly as `check_grant` judges them (`clashes`). `desil`: what
    `desil_facts` answers for this household, day and rules, when the caller has it already
    (it is the same for every member, and for every program with the same source rule)."""
    if isinstance(program, str):
        if app is None:
            raise NotFound("program", "program.not_found")
        program = app.get_program(program)
    if programs is None and app is not None:
        programs = _lookup(app)
    day = _day(on_date)
    period = period or (day, day)
    rules = program.rules_at(day) or program.rules
    member = household.members.get(nik) or {}
    household_benefits = list(household.benefits.values())
    pairs = clashes(nik, program, period, household_benefits, elsewhere or [], programs)
    others = sorted(
        {
            b["program"]
            for b in household_benefits + (elsewhere or [])
            if b["nik"] == nik and b["program"] != program.code and _overlaps(b, period)
        }
    )
    received = None
    if rules.get("once_per_kk"):
        received = any(reason["rule"] == "once_per_kk" for reason in pairs)
    return {
        **(desil if desil is not None else desil_facts(household, day, rules)),
        "residence_months": residence_months(member, day) if member else RESIDENCE_UNKNOWN,
        "holds_nib": holds_nib(household, nik, day),
        "already_receives": any(reason["rule"] == "double_receipt" for reason in pairs),
        "kk_already_received": received,
        "other_active_programs": others,
        "not_combinable": sorted(
            {r["detail"]["program"] for r in pairs if r["rule"] == "combinable_with"}
        ),
        "pair_clashes": pairs,
        "recipient_fits": recipient_fits(household, nik, rules.get("recipient", "any_member"), day),
    }


def _lookup(app: Any) -> Any:
    def program_or_none(code: str) -> Any:
        try:
            return app.get_program(code)
        except NotFound:
            return None

    return program_or_none


def _overlaps(benefit: dict[str, Any], period: tuple[dt.date, dt.date]) -> bool:
    received = benefit_period(benefit)
    return received is not None and overlap_start(period, received) is not None


def add_months(since: dt.date, months: int) -> dt.date:
    """The first day on which `months_between(since, day) >= months`."""
    if months > 0:  # the same day `months` later, or the next day when that month is short
        total = since.month - 1 + months
        year, month = since.year + total // 12, total % 12 + 1
        last = calendar.monthrange(year, month)[1]
        if since.day <= last:
            return dt.date(year, month, since.day)
        return dt.date(year, month, last) + dt.timedelta(days=1)
    year, month = divmod(since.month - 1 + months, 12)
    day = dt.date(since.year + year, month + 1, 1)
    while months_between(since, day) < months:
        day += dt.timedelta(days=1)
    return day


def residence_reached_detail(member: dict[str, Any], needed: int) -> Detail | None:
    """The words of a residence rule the member passes, as every answer gives them: for a
    newcomer the day the months were reached (from the arrival); for one born here no day
    (it would tell the birth date to every reader of the answer: a program manager sees no
    birth date). None when no day to count from is known."""
    arrival = member.get("arrival") or {}
    if arrival.get("type") == "pindah_datang":
        since = arrival.get("arrived_on")
        if not since:
            return None
        return Detail(
            N_("the recipient's residence: %(needed)s months reached on %(date)s"),
            needed=needed,
            date=add_months(_day(since), needed).isoformat(),
        )
    if not arrival or not member.get("birth_date"):
        return None
    return Detail(
        N_("the recipient's residence: %(needed)s months reached, resident since birth"),
        needed=needed,
    )


def residence_since(member: dict[str, Any]) -> str | None:
    """The day a member's residence counts from (ISO): a newcomer's arrival (`pindah_datang`),
    the birth date of one born here; None without a KTP arrival recorded (or once erased)."""
    arrival = member.get("arrival")
    if not arrival:
        return None
    if arrival.get("type") == "pindah_datang":
        return arrival.get("arrived_on")
    return member.get("birth_date")


def residence_eligible_from(
    member: dict[str, Any], rules: dict[str, Any], results: list[tuple[str, Any, Any]]
) -> str | None:
    """When the residence rule is the only rule failing (`results`: `evaluate`'s), the day the
    member becomes eligible: the day the months are reached (ISO), as every answer (the
    eligibility view's, the past's) says it; else None."""
    failing = [rule for rule, passed, _detail in results if passed is False]
    since = residence_since(member)
    if failing != ["min_residence_months"] or not since:
        return None
    return add_months(_day(since), rules.get("min_residence_months") or 0).isoformat()


def benefit_period(benefit: dict[str, Any]) -> tuple[dt.date, dt.date] | None:
    """The days a benefit is (or was) received: its period, cut short the day before a
    termination takes effect; None when terminated before it started."""
    start, end = _day(benefit["period_start"]), _day(benefit["period_end"])
    if benefit.get("status") == "terminated":
        ends = [h for h in benefit.get("history", []) if h.get("status") == "terminated"]
        if ends:
            end = min(end, _day(ends[-1]["effective_date"]) - dt.timedelta(days=1))
    return (start, end) if end >= start else None


def overlap_start(a: tuple[dt.date, dt.date], b: tuple[dt.date, dt.date]) -> dt.date | None:
    """The first day two periods share (they intersect), or None; today plays no part."""
    if a[0] <= b[1] and b[0] <= a[1]:
        return max(a[0], b[0])
    return None


def _rules_on(program: Any, day: dt.date) -> dict[str, Any]:
    return program.rules_at(day) or dict(program.rules)


def combinable(a: Any, b: Any, on_date: dt.date) -> bool:
    """Programs a and b may be received together on that day only if each lists the other
    in `combinable_with` (the rules in force that day): a symmetric relation, so the answer
    never depends on which was granted first."""
    return b.code in (_rules_on(a, on_date).get("combinable_with") or []) and a.code in (
        _rules_on(b, on_date).get("combinable_with") or []
    )


def _clash_detail(benefit: dict[str, Any], period: tuple[dt.date, dt.date]) -> dict[str, Any]:
    return {
        "benefit_id": benefit["benefit_id"],
        "program": benefit["program"],
        "period_start": period[0].isoformat(),
        "period_end": period[1].isoformat(),
    }


def clashes(
    nik: str,
    program: Any,
    period: tuple[dt.date, dt.date],
    household_benefits: list[dict[str, Any]],
    elsewhere: list[dict[str, Any]],
    programs: Any,
) -> list[dict[str, Any]]:
    """Reasons a new benefit of `program` to `nik` over `period` cannot coexist with those
    already recorded: `household_benefits` (every member of this KK) and `elsewhere` (this
    person's benefits on other KKs). `programs(code)` answers a Program or None.
    - the same program to the same person over overlapping periods (double receipt), on
      whatever KK it was recorded;
    - a once-per-KK program already received by a member of this KK over an overlapping period;
    - a program of the same person, over an overlapping period, not combinable with it.
    Each pair is judged on the rules in force on the first day the periods share."""
    reasons = []
    own = [(b, True) for b in household_benefits] + [(b, False) for b in elsewhere]
    for benefit, same_kk in own:
        other_period = benefit_period(benefit)
        if other_period is None:
            continue
        shared = overlap_start(period, other_period)
        if shared is None:
            continue
        rules = _rules_on(program, shared)
        detail = _clash_detail(benefit, other_period)
        if benefit["program"] == program.code:
            if benefit["nik"] == nik:
                reasons.append(_reason("double_receipt", rules, detail))
            elif same_kk and rules.get("once_per_kk"):
                reasons.append(_reason("once_per_kk", rules, detail))
        elif benefit["nik"] == nik:
            other = programs(benefit["program"]) if programs else None
            if other is None or not combinable(program, other, shared):
                reasons.append(_reason("combinable_with", rules, detail))
    return reasons


def _reason(rule: str, rules: dict[str, Any], detail: dict[str, Any]) -> dict[str, Any]:
    return {
        "rule": rule,
        "rule_version": rules.get("version"),
        "code": RULE_CODES[rule],
        "detail": detail,
    }


def _rule_details(
    rule: str, rules: dict[str, Any], facts: dict[str, Any], member: dict[str, Any]
) -> dict[str, Any]:
    if rule == "max_desil":
        return {
            "desil": facts["desil"],
            "source": facts["desil_source"],
            "period": facts["desil_period"],
            "max_desil": rules[rule],
        }
    if rule == "min_residence_months":
        needed = rules[rule]
        detail: dict[str, Any] = {"months": facts["residence_months"], "needed": needed}
        arrival = member.get("arrival") or {}
        since = (
            arrival.get("arrived_on")
            if arrival.get("type") == "pindah_datang"
            else member.get("birth_date")
        )
        if since:
            detail["eligible_on"] = add_months(_day(since), needed).isoformat()
        return detail
    if rule == "recipient":
        return {"recipient": rules[rule]}
    return {}


# judged on periods by `clashes`, whose reasons name the benefit clashed with
PAIR_RULES = ("double_receipt", "once_per_kk", "combinable_with")

_RULE_ORDER = (
    "max_desil",
    "min_residence_months",
    "excludes_nib_holders",
    "double_receipt",
    "once_per_kk",
    "combinable_with",
    "recipient",
)


def check_grant(
    household: Any,
    cmd: dict[str, Any],
    program: Any,
    on_date: dt.date | str,
    elsewhere: list[dict[str, Any]] | None = None,
    programs: Any = None,
) -> None:
    """Refuse the grant in `cmd` (nik, program, period_start, period_end) when a rule in force
    on `on_date` fails: RulesFailed with EVERY failing rule (see RULE_CODES), each with its
    rule version and detail (months counted and the day the person becomes eligible, the
    benefit and program it clashes with, ...). `elsewhere`: the person's benefits recorded on
    other KKs; `programs(code)`: a Program or None. Unknown facts do not refuse: the approver
    decides (no decile, or decile sources disagreeing beyond the program's tolerance;
    `open_rules` lists them for the approval page)."""
    member = household.members.get(cmd["nik"])
    if member is None or member["status"] != "active":
        return  # the household answers member.not_found, person.deceased, ...
    if program is None:
        raise NotFound("program", "program.not_found")
    rules = program.rules_at(on_date)
    if rules is None:
        raise DomainError("program", "program.not_in_force")
    start = _day(cmd["period_start"])
    end = _day(cmd.get("period_end") or cmd["period_start"])
    facts = facts_for(
        household,
        cmd["nik"],
        program,
        on_date,
        period=(start, end) if end >= start else None,
        elsewhere=elsewhere,
        programs=programs,
    )
    reasons = [
        _reason(rule, rules, _rule_details(rule, rules, facts, member))
        for rule, passed, _detail in evaluate(rules, facts)
        if passed is False and rule not in PAIR_RULES
    ]
    if end >= start:
        reasons += facts["pair_clashes"]
    if rules.get("min_residence_months") and facts["residence_months"] == RESIDENCE_UNKNOWN:
        # an unknown arrival never passes the city's residence rule: record the KTP first
        reasons.append(
            {
                "rule": "min_residence_months",
                "rule_version": rules.get("version"),
                "code": "rules.residence_unknown",
                "detail": {"months_needed": rules["min_residence_months"]},
            }
        )
    if reasons:
        reasons.sort(key=lambda reason: _RULE_ORDER.index(reason["rule"]))
        raise RulesFailed(reasons)


def open_rules(
    household: Any, cmd: dict[str, Any], program: Any, on_date: dt.date | str, app: Any = None
) -> list[tuple[str, str]]:
    """(rule, detail) of each rule of the grant in `cmd` that `check_grant` leaves to the
    approver because its fact is unknown (no decile, sources disagreeing beyond the
    tolerance, NIB registrations unknown, ...): what the approval page shows them. A residence
    of unknown length is not among them: the grant is refused until the KTP is recorded."""
    member = household.members.get(cmd["nik"])
    rules = program.rules_at(on_date) if program is not None else None
    if member is None or member["status"] != "active" or rules is None:
        return []
    start = _day(cmd["period_start"])
    end = _day(cmd.get("period_end") or cmd["period_start"])
    facts = facts_for(
        household, cmd["nik"], program, on_date, app, period=(start, end) if end >= start else None
    )
    return [
        (rule, detail)
        for rule, passed, detail in evaluate(rules, facts)
        if passed is None and rule != "min_residence_months"
    ]
