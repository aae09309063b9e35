"""The Casework application: every use case, on one event store."""

from __future__ import annotations

from typing import Any

from domain.account_cases import AccountCases
from domain.agreement_cases import AgreementCases
from domain.approval import PendingIndex
from domain.approval_cases import ApprovalCases
from domain.commands import COMMANDS
from domain.household import Household
from domain.household_cases import HouseholdCases
from domain.program_cases import ProgramCases
from domain.use_case import (  # noqa: F401 - re-exported for the edges
    SCHEMA_VERSION,
    SYSTEM,
    Actor,
    Stored,
    dated_meta,
    event_id,
    make_meta,
)


class Casework(HouseholdCases, ProgramCases, ApprovalCases, AccountCases, AgreementCases):
    """The registry of households and everything recorded about them."""

    name = "Casework"
    commands = frozenset(COMMANDS)
    snapshotting_intervals = {Household: 100, PendingIndex: 100}

    def execute(self, command: str, cmd: dict[str, Any], meta: dict[str, Any]) -> Any:
        """Carry out a command of contract v1 by name (validated at the edge). A command
        carrying the day it happened on (`Command.happened_on`: a date of death, a move's
        `moved_on`, ...) and no explicit occurred_at counts from the start of that day (WIB):
        the one place the API, the web forms, imports and approved changes all pass."""
        declared = COMMANDS[command]
        if declared.happened_on is not None:
            meta = dated_meta(meta, declared.happened_on, cmd.get(declared.happened_on))
        return declared.handler(self, cmd, meta)
