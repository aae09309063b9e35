"""`casework seed`: synthetic Kota Jambi households through the use cases of the write side.

First the program catalog (`domain.catalog.seed_catalog`), then each family: registered with
its members, then its history (`app.seed_data.HistoryGenerator`): KTPs with arrivals, welfare
assessments, benefits, NIBs, deaths, terminations and objections.

The seeder is a system actor (`seed`, admin of DINSOS) calling the use cases of
`domain.application.Casework` directly, the same ones the API calls. Grants, terminations and
removals wait for a second person's approval in the API (maker-checker); that approval is an
API step before the same use case runs, so the seeder, which stands for an already approved
import, calls the use case itself. The program rules still apply (`check_program_rules`): a
grant they refuse is skipped and counted. Each step's meta says when it happened in the world
(09:00 WIB on its date) and why, where the history says.

By default the families are stored in bulk (`Casework.together()`: the same use cases, rules
and encryption, `BATCH` families per transaction, the events in the order the same commands run
one at a time would store them); `--one-at-a-time` stores each command in its own transaction,
as the API does.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from adapters.bootstrap import System
from app.progress import Progress
from app.seed_data import HistoryGenerator, generate_households
from domain.application import Actor, Casework, make_meta
from domain.catalog import seed_catalog
from domain.errors import Conflict, DomainError
from domain.household import derived_id

log = logging.getLogger("casework.seed")
SEEDER = Actor(id="seed", role="admin", opd="DINSOS")
# what a step named by `ref` creates, by command
CREATES = {
    "GrantBenefit": "benefit",
    "FileObjection": "objection",
    "EnrollEmpowerment": "enrollment",
}


def _occurred_at(day: str) -> str:
    """09:00 WIB on that day, as RFC 3339 UTC."""
    return f"{day}T02:00:00.000000Z"


def _resolve(value: Any, made: dict[str, str]) -> Any:
    if isinstance(value, dict):
        if set(value) == {"ref"}:
            return made[value["ref"]]
        return {k: _resolve(v, made) for k, v in value.items()}
    return value


def play_history(app: Casework, steps: list[dict], counts: Counter) -> str | None:
    """Carry out one family's history, from its registration (the first step); a refused
    step is counted (`refused:<code>`), not fatal. Answers the household id, or None when the
    registration itself was refused (the same seed run twice meets its own NIKs: skipped,
    never overwritten)."""
    made: dict[str, str] = {}
    household_id: str | None = None
    for step in steps:
        meta = make_meta(
            SEEDER, "seed", reason=step["reason"], occurred_at=_occurred_at(step["on"])
        )
        if step["command"] == "RegisterHousehold":
            try:
                household_id = str(
                    app.execute("RegisterHousehold", dict(step["cmd"]), meta).stream_id
                )
            except DomainError as error:
                counts["skipped"] += 1
                log.debug("skipped a synthetic household: %s", error.code)
                return None
            counts["RegisterHousehold"] += 1
            continue
        try:
            cmd = {"household_id": household_id, **_resolve(step["cmd"], made)}
        except KeyError:  # what it refers to was refused
            counts["skipped:ref"] += 1
            continue
        try:
            stored = app.execute(step["command"], cmd, meta)
        except DomainError as error:
            counts[f"refused:{error.code}"] += 1
            log.debug("seed step %s refused: %s", step["command"], error.code)
            continue
        counts[step["command"]] += 1
        if step["ref"]:
            made[step["ref"]] = derived_id(household_id, CREATES[step["command"]], stored.version)
    return household_id


BATCH = 250  # families per transaction of the bulk path


def seed_app(
    app: Casework,
    households: int,
    seed_value: int = 0,
    bar: Progress | None = None,
    history: bool = True,
    batch: int | None = None,
) -> Counter:
    """Seed the catalog and `households` families with their histories into `app`; answers
    what was stored, by command (and `refused:<code>`, `skipped` families). Without
    `history`, only the registrations and the members (each on its own date).

    With a `batch` (`BATCH` for `casework seed`), that many families at a time are played
    inside one `together()` block, stored in one transaction; a batch that meets families
    already stored is played again one command at a time. Without, one command at a time."""
    counts: Counter = Counter()
    defined = seed_catalog(app, make_meta(SEEDER, "seed", reason="Katalog program awal"))
    counts["DefineProgram"] += len(defined)
    events = 0  # stored by the batches so far (the progress bar shows their rate)
    histories = HistoryGenerator(seed_value)
    waiting: list[list[dict]] = []
    for done, family in enumerate(generate_households(households, seed_value), start=1):
        steps = histories.history(family)  # drawn even for a skipped family: the rest stays
        if not history:
            steps = [s for s in steps if s["command"] in ("RegisterHousehold", "AddMember")]
        if batch is None:
            play_history(app, steps, counts)
        else:
            waiting.append(steps)
            if len(waiting) < batch and done < households:
                continue
            played, stored = play_batch(app, waiting)
            counts.update(played)
            events += stored
            waiting = []
        if bar is not None:
            bar.update(done, None if batch is None else events)
    return counts


def play_batch(app: Casework, families: list[list[dict]]) -> tuple[Counter, int]:
    """Play these families' histories and store them in one transaction; when the store
    already holds one of their claims (a seed run again), play them one command at a time.
    Answers what was stored, by command, and how many events the transaction stored."""
    counts: Counter = Counter()
    try:
        with app.together() as block:
            for steps in families:
                play_history(app, steps, counts)
        return counts, len(block.events)
    except Conflict:
        log.info("a batch met families already stored: playing it one command at a time")
    counts = Counter()
    for steps in families:
        play_history(app, steps, counts)
    return counts, 0


def seed(
    system: System,
    households: int,
    seed_value: int = 0,
    progress: bool = False,
    bulk: bool = True,
) -> int:
    """Seed the catalog and `households` synthetic families with their histories; returns how
    many families were stored. `bulk`: `BATCH` families per transaction (`seed_app`);
    otherwise one command at a time, as the API stores them."""
    try:
        counts = seed_app(
            system.casework,
            households,
            seed_value,
            Progress(households, "seeding households", progress),
            batch=BATCH if bulk else None,
        )
    finally:
        system.close()
    stored = counts["RegisterHousehold"]
    log.info("seeded %d households (%d skipped as already present)", stored, counts["skipped"])
    history = {k: v for k, v in sorted(counts.items()) if k not in ("RegisterHousehold", "skipped")}
    log.info("seeded history: %s", ", ".join(f"{k} {v}" for k, v in history.items()))
    return stored
