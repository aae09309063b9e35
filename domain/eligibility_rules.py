"""Program rules applied when a benefit is granted: the facts of one person in one household on
one day, and the refusal when a rule fails.

`facts_for` computes what `domain.program.evaluate` needs; `check_grant` refuses a grant whose
rules fail. A rule whose fact is unknown (passed None: no welfare decile, no KTP record)
does not block the grant: the grant waits for a person's approval anyway (maker-checker), and
that person decides. Only a rule that is known to fail (passed False) refuses.

Facts are taken as of `on_date` (a grant uses its `period_start`):
- `desil`: the best decile available, from assessments whose period (quarter) began by then:
  the latest DTSEN one, since Inpres 4/2025 made DTSEN the single source; else the latest of
  the other sources (DTKS, P3KE, VERVAL; the same period prefers VERVAL, the field visit,
  then DTKS, then P3KE). `desil_source` says which one was used.
- `residence_months`: whole months since the member's KTP arrival: born here counts from the
  birth date, `pindah_datang` from `arrived_on`; no KTP record is RESIDENCE_UNKNOWN
  ("unknown"): evaluate treats it as an unknown fact (review), and a grant of a program with a
  minimum residence is refused with `rules.residence_unknown` until the arrival is recorded
  (IssueKtp): an unknown arrival never passes the city's residence rule.
- `holds_nib`: an NIB of that person registered by then and not revoked by then.
- `kk_already_received` (once-per-KK programs): another member of the household has or had
  a benefit of this program, whatever its status.
- `other_active_programs`: the codes of that person's other benefits not terminated and not
  ended by then.
- `recipient_fits`: head = the head of family; adult_woman = a woman aged 17 or more, or
  married (a spouse); any_member = any active member.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from domain.errors import DomainError, NotFound
from domain.program import evaluate

# rule (as domain.program.evaluate names it) -> the code a refused grant answers
RULE_CODES = {
    "max_desil": "rules.desil_too_high",
    "min_residence_months": "rules.residence_too_short",
    "excludes_nib_holders": "rules.nib_holder",
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

# the same period: the field visit first, then the older national sources
_OTHER_SOURCES = {"VERVAL": 0, "DTKS": 1, "P3KE": 2}
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


def best_desil(household: Any, on_date: dt.date | str) -> tuple[int | None, str | None]:
    """(desil, source) of the best assessment known on that day, or (None, None)."""
    day = _day(on_date)
    known = [r for r in household.assessments if _quarter_start(r["period"]) <= day]
    dtsen = [r for r in known if r["source"] == "DTSEN"]
    if dtsen:
        latest = max(dtsen, key=lambda r: r["period"])
        return latest["desil"], "DTSEN"
    others = [r for r in known if r["source"] in _OTHER_SOURCES]
    if not others:
        return None, None
    latest = max(others, key=lambda r: (r["period"], -_OTHER_SOURCES[r["source"]]))
    return latest["desil"], latest["source"]


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


def facts_for(
    household: Any, nik: str, program: Any, on_date: dt.date | str, app: Any = None
) -> dict[str, Any]:
    """The facts `evaluate` needs for granting `program` (a Program, or its code looked up
    through `app`) to member `nik` on `on_date`. Everything else comes from the household."""
    if isinstance(program, str):
        if app is None:
            raise NotFound("program", "program.not_found")
        program = app.get_program(program)
    day = _day(on_date)
    rules = program.rules_at(day) or program.rules
    member = household.members.get(nik) or {}
    desil, source = best_desil(household, day)
    others = sorted(
        {
            b["program"]
            for b in household.benefits.values()
            if b["nik"] == nik
            and b["program"] != program.code
            and b["status"] != "terminated"
            and _day(b["period_end"]) >= day
        }
    )
    received = None
    if rules.get("once_per_kk"):
        received = any(
            b["program"] == program.code and b["nik"] != nik for b in household.benefits.values()
        )
    return {
        "desil": desil,
        "desil_source": source,
        "residence_months": residence_months(member, day) if member else RESIDENCE_UNKNOWN,
        "holds_nib": holds_nib(household, nik, day),
        "kk_already_received": received,
        "other_active_programs": others,
        "recipient_fits": recipient_fits(household, nik, rules.get("recipient", "any_member"), day),
    }


def check_grant(household: Any, cmd: dict[str, Any], program: Any, on_date: dt.date | str) -> None:
    """Refuse the grant in `cmd` (nik, program) when a rule in force on `on_date` fails:
    DomainError("program", code) with the first failing rule's code (see RULE_CODES).
    Unknown facts do not refuse (the approver decides), except an unknown arrival for a
    program with a minimum residence: `rules.residence_unknown`, record the KTP first."""
    member = household.members.get(cmd["nik"])
    if member is None or member["status"] != "active":
        return  # the household answers member.not_found, person.deceased, ...
    if program is None:
        raise DomainError("program", "program.not_found")
    rules = program.rules_at(on_date)
    if rules is None:
        raise DomainError("program", "program.not_in_force")
    facts = facts_for(household, cmd["nik"], program, on_date)
    for rule, passed, _detail in evaluate(rules, facts):
        if passed is False:
            raise DomainError("program", RULE_CODES[rule])
    if rules.get("min_residence_months") and facts["residence_months"] == RESIDENCE_UNKNOWN:
        raise DomainError("program", "rules.residence_unknown")
