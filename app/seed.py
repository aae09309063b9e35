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

In bulk the batches are shared among worker processes, one per core by default
(`seed_on_cores`): the catalog is defined first, then each process draws every family (the
draws follow one another, so each process draws them all) and plays every `workers`-th batch.
Each batch is still one transaction, so the families are the same as one process stores; only
the order of the batches in the store changes from run to run.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import re
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from typing import Any

from adapters.bootstrap import System, bootstrap, drop_unstored_keys
from adapters.processes import spawned_worker
from adapters.settings import Settings
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


def define_catalog(app: Casework) -> Counter:
    """The program catalog (`domain.catalog.seed_catalog`): what was defined, by command."""
    defined = seed_catalog(app, make_meta(SEEDER, "seed", reason="Katalog program awal"))
    return Counter(DefineProgram=len(defined))


class SeedFailed(RuntimeError):
    """Another process of `seed_on_cores` failed or was killed: this one stops too."""


class Shared:
    """What the processes of `seed_on_cores` share, in shared memory: each process's
    families played and events stored so far (the bar), which families are stored (by their
    number in the draw), and whether one of the processes failed. `index`: this process's
    share of `workers`."""

    def __init__(
        self, tally: Any, stored: Any, failed: Any, index: int = 0, workers: int = 1
    ) -> None:
        self.tally, self.stored, self.failed = tally, stored, failed
        self.index, self.workers = index, workers
        self.gone: Callable[[], bool] = lambda: False  # whether a worker ended without a word

    def mine(self, batch: int) -> bool:
        self.check()
        return batch % self.workers == self.index

    def played(self, families: list[int], played: int, events: int) -> None:
        """These families are stored; this process has played `played` families and stored
        `events` events so far."""
        for family in families:
            self.stored[family] = 1
        self.tally[2 * self.index], self.tally[2 * self.index + 1] = played, events

    def fail(self) -> None:
        self.failed.value = 1

    def check(self) -> None:
        """Raises when another process of the seed failed: what waits for its families would
        wait for ever, and the rest is not wanted."""
        if self.failed.value or self.gone():
            raise SeedFailed("another process of the seed failed or was stopped")

    def families(self) -> int:
        return sum(self.tally[0::2])

    def events(self) -> int:
        return sum(self.tally[1::2])


WAIT_SECONDS = 0.05  # how often families left for later look again at the others' progress
_NUMBER = re.compile(r'"([0-9]{16})"')  # a NIK or KK number in a family's steps (as JSON)
# a drawn family: its number in the draw, its steps, and the earlier families it must follow
Drawn = tuple[int, list[dict], set[int]]


def seed_app(
    app: Casework,
    households: int,
    seed_value: int = 0,
    bar: Progress | None = None,
    history: bool = True,
    batch: int | None = None,
    *,
    shared: Shared | None = None,
    catalog: bool = True,
) -> Counter:
    """Seed the catalog and `households` families with their histories into `app`; answers
    what was stored, by command (and `refused:<code>`, `skipped` families). Without
    `history`, only the registrations and the members (each on its own date).

    With a `batch` (`BATCH` for `casework seed`), that many families at a time are played
    inside one `together()` block, stored in one transaction; a batch that meets families
    already stored is played again one family at a time. Without, one command at a time.
    The keys a refused command or a failed save made are dropped (`drop_unstored_keys`): no
    other thread of this process may write meanwhile.

    `shared` (with a batch): this process plays only its share of the batches (`Shared`),
    every family still drawn (the draws follow one another). A family naming a NIK or KK
    number that an earlier family named (a neighbour objecting: the objector's key is made
    with their family; a number drawn twice) follows it: while that family is not stored yet
    (another process's batch), this one is left for this process's next batch, so each family
    meets the store as it would with one process. `catalog`: define the catalog first
    (`seed_on_cores` does it before)."""
    counts = define_catalog(app) if catalog else Counter()
    events = families = 0  # stored by the batches played so far (the bar shows their rate)
    histories = HistoryGenerator(seed_value)
    waiting: list[Drawn] = []
    later: list[Drawn] = []  # families of this process's batches that wait for others'
    batches = 0
    last: dict[int, int] = {}  # each NIK and KK number: the last family that named it
    for done, family in enumerate(generate_households(households, seed_value), start=1):
        steps = histories.history(family)  # drawn even for a skipped family: the rest stays
        if not history:
            steps = [s for s in steps if s["command"] in ("RegisterHousehold", "AddMember")]
        if batch is None:
            play_history(app, steps, counts)
            drop_unstored_keys(app)  # what its refused commands made (their saves failed)
        else:
            after = follows(steps, done, last) if shared is not None else set()
            waiting.append((done, steps, after))
            if len(waiting) < batch and done < households:
                continue
            current, batches = batches, batches + 1
            if shared is not None and not shared.mine(current):
                waiting = []
                continue
            block, later = ready(later + waiting, shared)
            waiting = []
            events, families = _play(app, block, counts, events, families, shared)
        if bar is not None:
            bar.update(done, None if batch is None else events)
    while later:  # what waited for the others' last batches
        block, later = ready(later, shared)
        if block:
            events, families = _play(app, block, counts, events, families, shared)
        else:  # only with `shared`: nothing is left for later without it
            assert shared is not None
            shared.check()
            time.sleep(WAIT_SECONDS)
    return counts


def _play(
    app: Casework,
    block: list[Drawn],
    counts: Counter,
    events: int,
    families: int,
    shared: Shared | None,
) -> tuple[int, int]:
    """One batch of `seed_app` played (`play_batch`) and counted; answers the events stored
    and the families played so far."""
    played, stored = play_batch(app, [steps for _, steps, _ in block])
    counts.update(played)
    events, families = events + stored, families + len(block)
    if shared is not None:
        shared.played([number for number, _, _ in block], families, events)
    return events, families


def follows(steps: list[dict], family: int, last: dict[int, int]) -> set[int]:
    """The earlier families (by their number in the draw) that family number `family` must
    follow: the last to name each NIK or KK number its steps name; `last` (number -> the last
    family that named it) is brought up to date."""
    after = set()
    for number in {int(n) for n in _NUMBER.findall(json.dumps(steps))}:
        found = last.get(number)
        if found is not None and found != family:
            after.add(found)
        last[number] = family
    return after


def ready(drawn: list[Drawn], shared: Shared | None) -> tuple[list[Drawn], list[Drawn]]:
    """(the families that can be played now, in their order; those left for later): a family
    can when every earlier family it follows is stored or played before it in the same block."""
    if shared is None:
        return drawn, []
    now: list[Drawn] = []
    later: list[Drawn] = []
    chosen: set[int] = set()
    for family in drawn:
        if all(shared.stored[f] or f in chosen for f in family[2]):
            now.append(family)
            chosen.add(family[0])
        else:
            later.append(family)
    return now, later


def play_batch(app: Casework, families: list[list[dict]]) -> tuple[Counter, int]:
    """Play these families' histories and store them in one transaction; when the store
    already holds one of their claims (a seed run again, another process's family), play
    them one family at a time, each family's claims read before they are taken (a family
    already stored is skipped before anything of it is encrypted). Answers what was stored,
    by command, and how many events were stored."""
    counts: Counter = Counter()
    try:
        with app.together() as block:
            for steps in families:
                play_history(app, steps, counts)
        return counts, len(block.events)
    except Conflict:
        log.info("a batch met families already stored: playing it one family at a time")
    drop_unstored_keys(app)  # the failed save's
    counts, stored = Counter(), 0
    for steps in families:
        played: Counter = Counter()
        try:
            with app.together(optimistic=False) as block:
                play_history(app, steps, played)
        except Conflict as conflict:  # another writer took one of its claims meanwhile
            log.debug("a synthetic household met another writer's claim: %s", conflict.code)
            drop_unstored_keys(app)
            counts["skipped"] += 1
            continue
        counts.update(played)
        stored += len(block.events)
    return counts, stored


def seed(
    system: System,
    households: int,
    seed_value: int = 0,
    progress: bool = False,
    bulk: bool = True,
    workers: int = 1,
) -> int:
    """Seed the catalog and `households` synthetic families with their histories; returns how
    many families were stored. `bulk`: `BATCH` families per transaction (`seed_app`), shared
    among `workers` processes (`seed_on_cores`); otherwise one command at a time, as the API
    stores them."""
    bar = Progress(households, "seeding households", progress)
    workers = min(workers, -(-households // BATCH)) if bulk else 1
    try:
        if workers > 1:
            counts = seed_on_cores(system, households, seed_value, workers, BATCH, bar)
        else:
            counts = seed_app(
                system.casework, households, seed_value, bar, batch=BATCH if bulk else None
            )
    finally:
        system.close()
    stored = counts["RegisterHousehold"]
    log.info("seeded %d households (%d skipped as already present)", stored, counts["skipped"])
    history = {k: v for k, v in sorted(counts.items()) if k not in ("RegisterHousehold", "skipped")}
    log.info("seeded history: %s", ", ".join(f"{k} {v}" for k, v in history.items()))
    return stored


PROGRESS_SECONDS = 1.0  # how often the parent's bar counts the workers' batches


def seed_on_cores(
    system: System,
    households: int,
    seed_value: int,
    workers: int,
    batch: int,
    bar: Progress | None = None,
) -> Counter:
    """`seed_app` in bulk on `workers` processes: the catalog here first, then this process
    plays batch 0, `workers`, ... and each spawned worker i plays batch i, i + `workers`, ...
    into the same store (`system.settings`'), as `Shared` says. Answers what was stored, by
    command, summed over the processes; a worker's failure is raised here."""
    counts = define_catalog(system.casework)
    context = multiprocessing.get_context("spawn")  # never fork a process with threads
    tally = context.Array("q", 2 * workers, lock=False)  # (families, events) per process
    stored = context.Array("b", households + 1, lock=False)  # by the family's number in the draw
    failed = context.Value("b", 0, lock=False)
    shared = Shared(tally, stored, failed, 0, workers)
    shown = _SharedBar(bar, shared) if bar is not None else None
    with ProcessPoolExecutor(
        max_workers=workers - 1,
        mp_context=context,
        initializer=_seed_worker_started,
        initargs=(system.settings.log_level, tally, stored, failed),
    ) as pool:
        futures = [
            pool.submit(_seed_share, system.settings, households, seed_value, i, workers, batch)
            for i in range(1, workers)
        ]
        # a worker killed (its pool broken) says nothing in the shared memory
        shared.gone = lambda: any(f.done() and f.exception() is not None for f in futures)
        try:
            counts += seed_app(
                system.casework,
                households,
                seed_value,
                shown,
                batch=batch,
                shared=shared,
                catalog=False,
            )
        except BaseException:
            shared.fail()  # the workers stop at their next batch instead of going on
            raise
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=PROGRESS_SECONDS, return_when=FIRST_EXCEPTION)
            if shown is not None:
                shown.update()
            for future in done:
                counts += future.result()  # a worker's failure: raised here
    return counts


class _SharedBar:
    """The bar of `seed_on_cores`' first process: every process's families and events."""

    def __init__(self, bar: Progress, shared: Shared) -> None:
        self.bar, self.shared = bar, shared

    def update(self, _done: int = 0, _events: int | None = None) -> None:
        """`seed_app`'s call (its own count, ignored), or the parent's while it waits."""
        self.bar.update(self.shared.families(), self.shared.events())


_ARRAYS: tuple[Any, Any, Any] | None = None  # a worker's view of `seed_on_cores`' shared memory


def _seed_worker_started(level: str, tally: Any, stored: Any, failed: Any) -> None:
    global _ARRAYS
    spawned_worker(level, "seed worker")
    _ARRAYS = (tally, stored, failed)


def _seed_share(
    settings: Settings, households: int, seed_value: int, index: int, workers: int, batch: int
) -> Counter:
    """Worker `index` of `seed_on_cores`: its batches, into the store of `settings`."""
    assert _ARRAYS is not None, "started by seed_on_cores"
    shared = Shared(*_ARRAYS, index, workers)
    try:
        system = bootstrap(settings)
        try:
            return seed_app(
                system.casework,
                households,
                seed_value,
                batch=batch,
                shared=shared,
                catalog=False,
            )
        finally:
            system.close()
    except BaseException as error:
        if not isinstance(error, SeedFailed):
            log.error("seed worker %d failed: %s", index, type(error).__name__)
        shared.fail()  # the other processes stop instead of waiting for this one's families
        raise
