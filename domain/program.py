"""Programs: who runs them, who pays, and their eligibility rules, versioned by the date they
take effect. `evaluate` applies one version of the rules to a household's facts; the benefit
grant and the eligibility view share it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from typing import Any

from eventsourcing.domain import Aggregate, event

from domain.errors import Conflict, DomainError
from domain.texts import N_

FUNDINGS = ("APBN", "APBD", "BAZNAS", "OTHER")
KINDS = ("bansos", "empowerment", "insurance")
RECIPIENTS = ("head", "adult_woman", "any_member")

ERROR_CODES = (
    "program.exists",
    "program.not_found",
    "program.code_invalid",
    "program.name_required",
    "program.opd_required",
    "program.funding_unknown",
    "program.kind_unknown",
    "program.yearly_target_invalid",
    "rules.invalid",
    "rules.field_unknown",
    "rules.max_desil_invalid",
    "rules.min_residence_months_invalid",
    "rules.flag_invalid",
    "rules.combinable_with_invalid",
    "rules.combinable_with_unknown",
    "rules.combinable_with_self",
    "rules.recipient_unknown",
    "rules.desil_source_invalid",
    "rules.desil_source_unknown",
    "rules.desil_source_verval_missing",
    "rules.desil_tolerance_invalid",
    "rules.effective_from_invalid",
    "rules.effective_from_before_previous",
    "version.stale",
    "program.version_stale",
)

# The sources of a welfare decile (RecordWelfareAssessment's `source`).
DESIL_SOURCES = ("DTSEN", "VERVAL", "DTKS", "P3KE")
FIELD_VERIFICATION = "VERVAL"

# Which source decides the decile (`desil_source`), when a program does not say:
# - `order`: the sources read, the first deciding: when it has an assessment whose quarter
#   began by that day, its latest one counts (DTSEN, the single source since Inpres 4/2025);
#   else the latest of the others listed (the same quarter: the one listed first). A source
#   left out is not read at all.
# - `verification_overrides`: a field verification (VERVAL) of a later quarter than the one
#   chosen overrides it (VERVAL must be listed).
# - `tolerance`: the most the latest deciles of the listed sources known that day may differ
#   by; beyond it the decile is in question and `max_desil` is left to a person (`review`).
#   None: the sources are not compared.
DEFAULT_DESIL_SOURCE: dict[str, Any] = {
    "order": list(DESIL_SOURCES),
    "verification_overrides": False,
    "tolerance": None,
}
MAX_TOLERANCE = 9

# What a rule set says when a field is left out: no restriction.
DEFAULT_RULES: dict[str, Any] = {
    "max_desil": None,
    "min_residence_months": 0,
    "excludes_nib_holders": False,
    "once_per_kk": False,
    "combinable_with": [],
    "recipient": "any_member",
    # the program may also help people without a NIK yet (GrantProvisionalBenefit)
    "serves_without_nik": False,
    "desil_source": DEFAULT_DESIL_SOURCE,
}

_NAMESPACE = uuid.UUID("5b0f8f7e-2a53-4c4e-8f0e-1d7c2f6a9b31")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def normalize_code(code: Any) -> str:
    text = str(code or "").strip().upper()
    if not text or len(text) > 32 or not all(ch.isalnum() or ch in "-_" for ch in text):
        raise DomainError("code", "program.code_invalid")
    return text


def parse_date(value: Any, field: str = "effective_from") -> str:
    """An ISO date as a `YYYY-MM-DD` string (what events store)."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    try:
        return dt.date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise DomainError(field, "rules.effective_from_invalid") from None


def desil_source_rule(rules: dict[str, Any]) -> dict[str, Any]:
    """The `desil_source` rule of a rule set, with the defaults for what it leaves out (a
    version stored before the rule existed reads as today's default)."""
    given = rules.get("desil_source") or {}
    rule = {key: given.get(key, default) for key, default in DEFAULT_DESIL_SOURCE.items()}
    if isinstance(rule["order"], list | tuple):
        rule["order"] = list(rule["order"])
    return rule


def normalize_desil_source(value: Any, field: str) -> dict[str, Any]:
    """A complete, checked `desil_source` rule; keys left out take `DEFAULT_DESIL_SOURCE`."""
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise DomainError(field, "rules.desil_source_invalid")
    unknown = set(value) - set(DEFAULT_DESIL_SOURCE)
    if unknown:
        raise DomainError(f"{field}.{sorted(unknown)[0]}", "rules.field_unknown")
    rule = desil_source_rule({"desil_source": value})
    order = rule["order"]
    if (
        not isinstance(order, list)
        or not order
        or not all(isinstance(source, str) for source in order)
    ):
        raise DomainError(f"{field}.order", "rules.desil_source_unknown")
    order = [source.strip().upper() for source in order]
    if any(source not in DESIL_SOURCES for source in order) or len(set(order)) != len(order):
        raise DomainError(f"{field}.order", "rules.desil_source_unknown")
    if not isinstance(rule["verification_overrides"], bool):
        raise DomainError(f"{field}.verification_overrides", "rules.flag_invalid")
    if rule["verification_overrides"] and FIELD_VERIFICATION not in order:
        raise DomainError(f"{field}.verification_overrides", "rules.desil_source_verval_missing")
    tolerance = rule["tolerance"]
    if tolerance is not None and not (_is_int(tolerance) and 0 <= tolerance <= MAX_TOLERANCE):
        raise DomainError(f"{field}.tolerance", "rules.desil_tolerance_invalid")
    return {
        "order": order,
        "verification_overrides": rule["verification_overrides"],
        "tolerance": tolerance,
    }


def normalize_rules(rules: Any, field: str = "rules") -> dict[str, Any]:
    """A complete, checked rule set; fields left out take `DEFAULT_RULES`."""
    if not isinstance(rules, dict):
        raise DomainError(field, "rules.invalid")
    unknown = set(rules) - set(DEFAULT_RULES)
    if unknown:
        raise DomainError(f"{field}.{sorted(unknown)[0]}", "rules.field_unknown")
    merged = {**DEFAULT_RULES, **rules}
    max_desil = merged["max_desil"]
    if max_desil is not None and not (_is_int(max_desil) and 1 <= max_desil <= 10):
        raise DomainError(f"{field}.max_desil", "rules.max_desil_invalid")
    months = merged["min_residence_months"]
    if months is None:
        months = 0
    if not (_is_int(months) and months >= 0):
        raise DomainError(f"{field}.min_residence_months", "rules.min_residence_months_invalid")
    for flag in ("excludes_nib_holders", "once_per_kk", "serves_without_nik"):
        if not isinstance(merged[flag], bool):
            raise DomainError(f"{field}.{flag}", "rules.flag_invalid")
    combinable = merged["combinable_with"] or []
    if not isinstance(combinable, list | tuple) or not all(
        isinstance(code, str) and code.strip() for code in combinable
    ):
        raise DomainError(f"{field}.combinable_with", "rules.combinable_with_invalid")
    if merged["recipient"] not in RECIPIENTS:
        raise DomainError(f"{field}.recipient", "rules.recipient_unknown")
    return {
        "max_desil": max_desil,
        "min_residence_months": months,
        "excludes_nib_holders": merged["excludes_nib_holders"],
        "once_per_kk": merged["once_per_kk"],
        "combinable_with": sorted({code.strip().upper() for code in combinable}),
        "recipient": merged["recipient"],
        "serves_without_nik": merged["serves_without_nik"],
        "desil_source": normalize_desil_source(merged["desil_source"], f"{field}.desil_source"),
    }


def _with_new_fields(version: dict[str, Any]) -> dict[str, Any]:
    """A rule version with the defaults of fields added after it was recorded."""
    return {"serves_without_nik": DEFAULT_RULES["serves_without_nik"], **version}


class Program(Aggregate):
    """A program of one OPD; its id derives from its code, so a code is defined once."""

    @staticmethod
    def create_id(code: str) -> uuid.UUID:
        return uuid.uuid5(_NAMESPACE, f"program:{code}")

    @event("ProgramDefined")
    def __init__(
        self,
        code: str,
        name: str,
        opd: str,
        funding: str,
        kind: str,
        rules: dict[str, Any],
        effective_from: str,
        meta: dict[str, Any],
        yearly_target: int | None = None,
    ) -> None:
        """`yearly_target`: how many families the program means to reach in a year (optional:
        the cross-OPD view shows the progress towards it; events before it have none)."""
        self.code = code
        self.name = name
        self.opd = opd
        self.funding = funding
        self.kind = kind
        self.yearly_target = yearly_target
        self.rule_versions: list[dict[str, Any]] = [
            {"version": 1, "effective_from": effective_from, **rules}
        ]

    @property
    def rules(self) -> dict[str, Any]:
        """The latest version of the rules (possibly not yet in force)."""
        return _with_new_fields(self.rule_versions[-1])

    def rules_at(self, on: dt.date | str) -> dict[str, Any] | None:
        """The version in force on that date; None before the first took effect."""
        day = parse_date(on, "as_of")
        in_force = [r for r in self.rule_versions if r["effective_from"] <= day]
        return _with_new_fields(in_force[-1]) if in_force else None

    def change_rules(
        self,
        rules: dict[str, Any],
        effective_from: str,
        meta: dict[str, Any],
        yearly_target: int | None = None,
    ) -> None:
        """A new version of the rules; a `yearly_target` given replaces the target (None keeps
        it)."""
        if effective_from < self.rules["effective_from"]:
            raise DomainError("effective_from", "rules.effective_from_before_previous")
        self._rules_changed(len(self.rule_versions) + 1, rules, effective_from, meta, yearly_target)

    @event("ProgramRulesChanged")
    def _rules_changed(
        self,
        version: int,
        rules: dict[str, Any],
        effective_from: str,
        meta: dict[str, Any],
        yearly_target: int | None = None,
    ) -> None:
        self.rule_versions.append({"version": version, "effective_from": effective_from, **rules})
        if yearly_target is not None:
            self.yearly_target = yearly_target


class ProgramCatalog(Aggregate):
    """The codes of every defined program, so listing them reads one small stream."""

    ID = uuid.uuid5(_NAMESPACE, "program-catalog")

    @staticmethod
    def create_id() -> uuid.UUID:
        return ProgramCatalog.ID

    @event("ProgramCatalogOpened")
    def __init__(self, meta: dict[str, Any]) -> None:
        self.codes: list[str] = []

    def add(self, code: str, meta: dict[str, Any]) -> None:
        if code in self.codes:
            raise Conflict("code", "program.exists")
        self._program_listed(code, meta)

    @event("ProgramListed")
    def _program_listed(self, code: str, meta: dict[str, Any]) -> None:
        self.codes.append(code)


# --- the rules evaluator -------------------------------------------------------------------


class Detail(str):
    """A rule's detail: the English text (what the API and the logs keep), and the gettext
    `msgid` with its `params` it was made from, for the interface to show in its language.
    Parameters are numbers, codes and ISO dates (`YYYY-MM-DD`), never personal data."""

    msgid: str
    params: dict[str, Any]

    def __new__(cls, msgid: str, **params: Any) -> Detail:
        text = super().__new__(cls, msgid % params if params else msgid)
        text.msgid = msgid
        text.params = params
        return text

    def as_text(self) -> dict[str, Any]:
        """`{"msgid": ..., "params": {...}}`: what a stored reason keeps beside its detail."""
        return {"msgid": self.msgid, "params": dict(self.params)}


def text_of(detail: str) -> dict[str, Any]:
    """The localisable form of a detail (a plain string: itself as the msgid)."""
    if isinstance(detail, Detail):
        return detail.as_text()
    return {"msgid": str(detail), "params": {}}


Result = tuple[str, bool | None, str]


def _clash_period(facts: dict[str, Any], rule: str) -> dict[str, str] | None:
    """The period of the first benefit clashing under a pair rule (`pair_clashes`), if known."""
    for clash in facts.get("pair_clashes") or []:
        if clash.get("rule") == rule and isinstance(clash.get("detail"), dict):
            detail = clash["detail"]
            if detail.get("period_start") and detail.get("period_end"):
                return {"start": detail["period_start"], "end": detail["period_end"]}
    return None


def _desil_detail(conflict: Any, max_desil: int) -> Detail:
    needed = {"sources", "spread", "tolerance"}
    if isinstance(conflict, Detail) and needed <= conflict.params.keys():
        return Detail(
            N_(
                "%(sources)s: differ by %(spread)s, tolerance %(tolerance)s; needs desil <= %(max)s"
            ),
            **conflict.params,
            max=max_desil,
        )
    return Detail(N_("%(conflict)s; needs desil <= %(max)s"), conflict=str(conflict), max=max_desil)


def evaluate(rules: dict[str, Any], facts: dict[str, Any]) -> list[Result]:
    """Each rule that restricts this program, applied to the facts: (rule, passed, detail).

    `passed` is True or False, or None when a fact it needs is unknown (a person must review).
    `detail` is a `Detail`: English text with the msgid and parameters it came from.
    Facts: `desil` (the one the program's `desil_source` chose, or None), `desil_conflict`
    (the sources disagree beyond the program's tolerance: each source's value, or None),
    `residence_months`, `holds_nib`, `already_receives` (this program, over the period; the
    rule is left out without it), `kk_already_received`, `other_active_programs` (codes of the
    person's other programs over the period), `not_combinable` (those of them that do not
    combine both ways; without it, those this program does not list), `recipient_fits`,
    `pair_clashes` (`eligibility_rules.clashes`: the clashing benefits' periods, named in the
    details); a fact left out or None is unknown.
    """
    results: list[Result] = []
    max_desil = rules.get("max_desil")
    if max_desil is not None:
        desil = facts.get("desil")
        conflict = facts.get("desil_conflict")
        if conflict:
            results.append(("max_desil", None, _desil_detail(conflict, max_desil)))
        elif desil is None:
            detail = Detail(
                N_("no welfare decile known for the family; needs desil <= %(max)s"), max=max_desil
            )
            results.append(("max_desil", None, detail))
        else:
            detail = Detail(
                N_("the family's desil %(desil)s, needs <= %(max)s"), desil=desil, max=max_desil
            )
            results.append(("max_desil", desil <= max_desil, detail))
    months_needed = rules.get("min_residence_months") or 0
    if months_needed:
        months = facts.get("residence_months")
        if not isinstance(months, int):  # None or "unknown": no arrival recorded
            detail = Detail(
                N_("the recipient's arrival date unknown; needs %(needed)s months"),
                needed=months_needed,
            )
            results.append(("min_residence_months", None, detail))
        else:
            detail = Detail(
                N_("the recipient's residence: %(months)s months, needs %(needed)s"),
                months=months,
                needed=months_needed,
            )
            results.append(("min_residence_months", months >= months_needed, detail))
    if rules.get("excludes_nib_holders"):
        holds = facts.get("holds_nib")
        if holds is None:
            results.append(
                (
                    "excludes_nib_holders",
                    None,
                    Detail(N_("the recipient's NIB registrations unknown")),
                )
            )
        elif holds:
            results.append(
                ("excludes_nib_holders", False, Detail(N_("the recipient holds an NIB")))
            )
        else:
            results.append(("excludes_nib_holders", True, Detail(N_("the recipient holds no NIB"))))
    if "already_receives" in facts:
        receives = facts["already_receives"]
        if receives is None:
            results.append(
                ("double_receipt", None, Detail(N_("the recipient's current receipts unknown")))
            )
        elif receives:
            period = _clash_period(facts, "double_receipt")
            detail = (
                Detail(N_("the recipient already receives it, %(start)s to %(end)s"), **period)
                if period
                else Detail(N_("the recipient already receives it"))
            )
            results.append(("double_receipt", False, detail))
        else:
            results.append(
                ("double_receipt", True, Detail(N_("the recipient does not receive it yet")))
            )
    if rules.get("once_per_kk"):
        received = facts.get("kk_already_received")
        if received is None:
            results.append(("once_per_kk", None, Detail(N_("this KK's earlier receipts unknown"))))
        elif received:
            period = _clash_period(facts, "once_per_kk")
            detail = (
                Detail(N_("this KK already received it, %(start)s to %(end)s"), **period)
                if period
                else Detail(N_("this KK already received it"))
            )
            results.append(("once_per_kk", False, detail))
        else:
            results.append(("once_per_kk", True, Detail(N_("first receipt for this KK"))))
    others = facts.get("other_active_programs")
    if others is None:
        detail = Detail(N_("the recipient's other active programs unknown"))
        results.append(("combinable_with", None, detail))
    else:
        if "not_combinable" in facts:  # judged both ways (eligibility_rules.combinable)
            clashes = sorted(set(facts["not_combinable"] or []))
        else:
            allowed = set(rules.get("combinable_with") or [])
            clashes = sorted({code for code in others if code not in allowed})
        if clashes:
            detail = Detail(
                N_("the recipient receives %(programs)s, not combinable with it"),
                programs=", ".join(clashes),
            )
            results.append(("combinable_with", False, detail))
        else:
            results.append(
                (
                    "combinable_with",
                    True,
                    Detail(N_("the recipient receives no conflicting program")),
                )
            )
    recipient = rules.get("recipient", "any_member")
    if recipient != "any_member":
        fits = facts.get("recipient_fits")
        results.append(("recipient", fits, _RECIPIENT_DETAILS[recipient == "head"][fits]))
    return results


# (recipient is the head) -> the recipient fact (True, False, unknown) -> its detail
_RECIPIENT_DETAILS: dict[bool, dict[bool | None, Detail]] = {
    True: {
        True: Detail(N_("recipient is the head of family")),
        False: Detail(N_("recipient must be the head of family")),
        None: Detail(N_("recipient must be the head of family; unknown")),
    },
    False: {
        True: Detail(N_("recipient is an adult woman")),
        False: Detail(N_("recipient must be an adult woman")),
        None: Detail(N_("recipient must be an adult woman; unknown")),
    },
}


def nobody_detail(recipient: str) -> Detail:
    """The detail of a program that can pay no member of the household
    (`eligibility_rules.candidates` found none): what its recipient rule asked for."""
    if recipient == "head":
        return Detail(N_("no active member is the head of family"))
    if recipient == "adult_woman":
        return Detail(N_("no active member is an adult woman"))
    return Detail(N_("no member is active"))


# a person's answer, best first (`verdict`)
ANSWERS = ("eligible", "review", "ineligible")


def answer_rank(status: str, passed: Iterable[bool | None]) -> tuple[int, int, int]:
    """How near one person's answer is to eligible, smallest first: its verdict (`ANSWERS`),
    then how many of its rules fail, then how many are unknown (`passed` of each reason).
    A household's answer for a program is its best person's: among those the program refuses
    alike, the one refused for fewest reasons (a mother refused for the decile alone, not her
    young daughter also refused as recipient), so every reader of the answer (the view, a
    draft of the rules, an answer as of a past day) shows the same person's reasons for the
    same facts and rules."""
    outcomes = list(passed)
    return (
        ANSWERS.index(status),
        sum(1 for p in outcomes if p is False),
        sum(1 for p in outcomes if p is None),
    )


def verdict(results: list[Result]) -> str:
    """`ineligible` if any rule fails, `review` if any is unknown, else `eligible`."""
    if any(passed is False for _, passed, _ in results):
        return "ineligible"
    if any(passed is None for _, passed, _ in results):
        return "review"
    return "eligible"
