"""Program catalog use cases: define a program, change its rules, read them."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from eventsourcing.application import AggregateNotFoundError

from domain.errors import Concurrent, Conflict, DomainError, NotFound
from domain.program import (
    DEFAULT_RULES,
    FUNDINGS,
    KINDS,
    Program,
    ProgramCatalog,
    desil_source_rule,
    normalize_code,
    normalize_rules,
    parse_date,
)
from domain.use_case import Stored, UseCases


def _effective_from(cmd: dict[str, Any], meta: dict[str, Any]) -> str:
    """The date given, or the day the change happened."""
    return parse_date(cmd.get("effective_from") or str(meta["occurred_at"])[:10])


def _yearly_target(cmd: dict[str, Any]) -> int | None:
    """The families a program means to reach in a year: a whole number of 1 or more, or none."""
    target = cmd.get("yearly_target")
    if target is None:
        return None
    if isinstance(target, bool) or not isinstance(target, int) or target < 1:
        raise DomainError("yearly_target", "program.yearly_target_invalid")
    return target


def check_combinable(code: str, codes: list[str], defined: Collection[str]) -> None:
    """`combinable_with` names other programs, each defined: a program is never combined
    with itself (a second benefit of the same program is a double receipt), and a code no
    program has (a typo) would combine with nothing, silently."""
    if code in codes:
        raise DomainError("rules.combinable_with", "rules.combinable_with_self")
    if any(other not in defined for other in codes):
        raise DomainError("rules.combinable_with", "rules.combinable_with_unknown")


class ProgramCases(UseCases):
    def define_program(
        self, cmd: dict[str, Any], meta: dict[str, Any], *, alongside: Collection[str] = ()
    ) -> Stored:
        """A new program. Its `combinable_with` names programs already defined, never itself
        (`check_combinable`); `alongside`: the codes of programs defined together with it
        (the seed catalog, whose programs list one another), which it may name too."""
        code = normalize_code(cmd["code"])
        name = str(cmd.get("name") or "").strip()
        opd = str(cmd.get("opd") or "").strip().upper()
        if not name:
            raise DomainError("name", "program.name_required")
        if not opd:
            raise DomainError("opd", "program.opd_required")
        if cmd.get("funding") not in FUNDINGS:
            raise DomainError("funding", "program.funding_unknown")
        if cmd.get("kind") not in KINDS:
            raise DomainError("kind", "program.kind_unknown")
        rules = normalize_rules(cmd.get("rules") or {})
        effective_from = _effective_from(cmd, meta)
        if self._find_program(code) is not None:
            raise Conflict("code", "program.exists")
        catalog = self._catalog() or ProgramCatalog(meta=meta)
        check_combinable(code, rules["combinable_with"], {*catalog.codes, *alongside})
        catalog.add(code, meta)
        program = Program(
            code=code,
            name=name,
            opd=opd,
            funding=cmd["funding"],
            kind=cmd["kind"],
            rules=rules,
            effective_from=effective_from,
            meta=meta,
            yearly_target=_yearly_target(cmd),
        )
        try:
            return self._save(program, [catalog], unique_field="code")
        except Conflict:
            # Someone defined this code, or another program, at the same moment.
            if self._find_program(code) is not None:
                raise Conflict("code", "program.exists") from None
            raise Concurrent() from None

    def change_program_rules(self, cmd: dict[str, Any], meta: dict[str, Any]) -> Stored:
        """A new version of the rules; fields left out keep their current value."""
        return self._save(self._changed_program(cmd, meta), [])

    def check_change_program_rules(self, cmd: dict[str, Any], meta: dict[str, Any]) -> None:
        """Before a change of rules waits for approval: it could be carried out now (an
        `expected_version` the program has left, a code it may not combine with, an
        effective date before the version in force are refused at once, not left for a
        supervisor to find refused). Nothing is saved."""
        try:
            self._changed_program(cmd, meta)
        except Conflict as conflict:
            if conflict.code != "version.stale":
                raise
            # said of the program (version.stale speaks of a household)
            raise Conflict("expected_version", "program.version_stale") from None

    def _changed_program(self, cmd: dict[str, Any], meta: dict[str, Any]) -> Program:
        """The program with its new rules version, not saved."""
        program = self.get_program(cmd["code"])
        self._check_expected_version(program, cmd.get("expected_version"))
        current = {key: program.rules.get(key, DEFAULT_RULES[key]) for key in DEFAULT_RULES}
        given = dict(cmd.get("rules") or {})
        if isinstance(given.get("desil_source"), dict):
            # within the source rule too, what is left out keeps its current value
            given["desil_source"] = {
                **desil_source_rule(current),
                **given["desil_source"],
            }
        rules = normalize_rules({**current, **given})
        # a code listed already stays (a program named before this check existed)
        added = set(rules["combinable_with"]) - set(current["combinable_with"] or [])
        catalog = self._catalog()
        check_combinable(program.code, sorted(added), catalog.codes if catalog else ())
        program.change_rules(rules, _effective_from(cmd, meta), meta, _yearly_target(cmd))
        return program

    def get_program(self, code: str) -> Program:
        try:
            program = self._find_program(normalize_code(code))
        except DomainError:
            program = None
        if program is None:
            raise NotFound("code", "program.not_found")
        return program

    def list_programs(self) -> list[Program]:
        """Every defined program, by code."""
        catalog = self._catalog()
        codes = sorted(catalog.codes) if catalog else []
        return [self.repository.get(Program.create_id(code)) for code in codes]

    def _find_program(self, code: str) -> Program | None:
        try:
            return self.repository.get(Program.create_id(code))
        except AggregateNotFoundError:
            return None

    def _catalog(self) -> ProgramCatalog | None:
        try:
            return self.repository.get(ProgramCatalog.ID)
        except AggregateNotFoundError:
            return None
