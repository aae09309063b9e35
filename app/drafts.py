"""A draft of a program's rules (what-if), checked as ChangeProgramRules checks its rules."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError

from app.api_schemas import WhatIfSchema
from app.context import services
from app.schemas import Invalid, flatten
from domain.errors import DomainError
from domain.program import DEFAULT_RULES, normalize_rules
from domain.program_cases import check_combinable

RULE_FIELDS = tuple(DEFAULT_RULES)


def load_draft(payload: Any) -> dict[str, Any]:
    """A what-if body `{"rules": {...}}` checked; raises Invalid naming the field."""
    try:
        return WhatIfSchema().load(payload)["rules"]
    except ValidationError as error:
        raise Invalid(flatten(error.messages)) from None


def draft_rules(program: Any, rules: dict[str, Any]) -> dict[str, Any]:
    """The complete draft: a field left out keeps the program's current value, as with
    ChangeProgramRules; raises Invalid."""
    current = {k: v for k, v in program.rules.items() if k in DEFAULT_RULES}
    try:
        draft = normalize_rules({**current, **rules})
        # the codes it adds name defined programs, as ChangeProgramRules requires
        added = set(draft["combinable_with"]) - set(current.get("combinable_with") or [])
        defined = {p.code for p in services().casework.list_programs()}
        check_combinable(program.code, sorted(added), defined)
    except DomainError as error:
        raise Invalid({error.field: [error.code]}) from None
    return draft


def rules_from_form(form: Any) -> dict[str, Any]:
    """The what-if form's fields as a draft body's rules: every field is shown, so an
    unticked box is false and an empty decile is "any"."""
    rules: dict[str, Any] = {}
    raw_desil = form.get("rules.max_desil", "").strip()
    rules["max_desil"] = raw_desil or None
    months = form.get("rules.min_residence_months", "").strip()
    rules["min_residence_months"] = months or "0"
    for flag in ("excludes_nib_holders", "once_per_kk"):
        rules[flag] = form.get(f"rules.{flag}") == "true"
    combinable = form.get("rules.combinable_with", "")
    rules["combinable_with"] = [c for c in (p.strip() for p in combinable.split(",")) if c]
    recipient = form.get("rules.recipient", "").strip()
    if recipient:
        rules["recipient"] = recipient
    rules["serves_without_nik"] = form.get("rules.serves_without_nik") == "true"
    if "rules.desil_source.order" in form:  # the decile source rule's three parts
        order = form.get("rules.desil_source.order", "")
        tolerance = form.get("rules.desil_source.tolerance", "").strip()
        rules["desil_source"] = {
            "order": [c for c in (p.strip() for p in order.split(",")) if c],
            "verification_overrides": form.get("rules.desil_source.verification_overrides")
            == "true",
            "tolerance": tolerance or None,
        }
    return rules
