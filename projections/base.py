"""How a projection's rows and its tracking position are kept together.

Each projection lives in tables of one *generation* (`<table>_g<N>`). The
current generation is in `projection_state`; a rebuild fills generation N+1
beside it and swaps the pointer in one transaction, so readers never see a
half-built view. Tracking is per stream: the last version applied, so a
duplicate or replayed message (same stream, same or older version) is skipped.

Personal data (UU PDP). Events travel with their personal fields encrypted per person
(`adapters.codec`); `reveal` opens an envelope before any projection sees it. No view
keeps a NIK or a KK number in clear: only its `Identity` (the person's pseudonymous subject,
the keyed hash to find it by, and the token to show it to those allowed). Nor a name, a birth
date or an address: only its `Sealed` form (the token, encrypted with the person's key, that
those allowed open to show it, and for a name the keyed hashes of its words and word
prefixes, `name_terms`, to find it by), so destroying the key leaves nothing readable. When a
person's data is erased (PersonalDataErased, the key destroyed) every view, in every generation
of its tables, replaces that subject's personal data with erasure markers through its required
`on_erasure` hook, keeping the rows so counts stay right.
"""

from __future__ import annotations

import logging
import os
import re
import time
import unicodedata
from collections.abc import Callable, Container, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from adapters.codec import ERASED, ERASED_ID, PREFIX, Codec, Revealed, is_erased
from adapters.db import Cursor, Database
from domain.personal_data import FIELDS

log = logging.getLogger("casework.projections")

Handler = Callable[[Cursor, dict[str, str], dict[str, Any]], None]
# on_restriction(cur, names, household_id, subject, restricted): hide (True) or show again
# (False) every row of that person (by subject, see `identity`) in the projection's tables. It
# must be idempotent: it is also called with True after any other event of a household with a
# restricted person.
RestrictionHook = Callable[[Cursor, dict[str, str], str, str, bool], None]
# on_erasure(cur, names, subject): the person's key is destroyed. Replace every personal field
# of that subject in the projection's tables, whatever household the rows belong to, with its
# erasure marker (ERASED for text, NULL for dates and keyed hashes, `erased:<subject>` for an
# identifier's token) and keep the rows. Called for every generation of the tables that exists
# (a rebuild keeps older ones for a while), so it must touch only the tables in `names`.
ErasureHook = Callable[[Cursor, dict[str, str], str], None]
# batch(cur, names): a context manager around the handlers (and the restriction and erasure
# hooks) of one `apply_envelopes` call. A projection may use it to defer work to the end of the
# batch (e.g. evaluate each household changed by the batch once, not after each of its events):
# its exit, when no handler failed, runs after the batch's last event and before the tracking
# is written, in the same transaction. When a handler fails it must drop what it deferred.
BatchScope = Callable[[Cursor, dict[str, str]], AbstractContextManager[Any]]


@dataclass
class Deferred:
    """In a rebuild (`deferring`), the units (households, families) a view's batches marked
    for their end-of-batch work, left to the rebuild's end (`Finish`): a household whose
    events fall in twenty of the rebuild's batches is then evaluated once, not twenty times.
    `everything`: every unit of the view (a batch marked a program, which every household
    answers)."""

    marked: set[str] = field(default_factory=set)
    everything: bool = False

    def add(self, units: Iterable[str], everything: bool = False) -> None:
        self.marked.update(units)
        self.everything = self.everything or everything


@dataclass(frozen=True)
class Finish:
    """A view's end-of-batch work done once at a rebuild's end, for what its batches left
    (`Deferred`): `units(cur, names, deferred)` the units to finish, in order;
    `apply(cur, names, units)` finishes some of them (the rebuild calls it in chunks, each
    in a transaction of its own). Done once per unit on the final state, it must leave the
    tables as the batches would have, had each done its work at its end."""

    units: Callable[[Cursor, dict[str, str], Deferred], list[str]]
    apply: Callable[[Cursor, dict[str, str], list[str]], None]
    unit: str = "families"  # what a unit is, for the progress line


def left_in_order(cur: Cursor, names: dict[str, str], left: Deferred) -> list[str]:
    """What a rebuild's batches marked, in order: the `Finish.units` of a view that finishes
    exactly what was marked."""
    return sorted(left.marked)


# The rebuild's deferrals (by the tracking table of the generation being built); None
# outside a rebuild.
_DEFERRING: ContextVar[dict[str, Deferred] | None] = ContextVar("rebuild_deferring", default=None)


def deferred(names: dict[str, str]) -> Deferred | None:
    """Where this generation's batches leave their end-of-batch work (a rebuild of it), or
    None: the batch does it at its end."""
    found = _DEFERRING.get()
    return None if found is None else found.get(names["tracking"])


@contextmanager
def deferring(
    projections: Iterable[Projection], names: dict[str, dict[str, str]]
) -> Iterator[dict[str, Deferred]]:
    """Around a rebuild's application of the events to the generations `names` (by
    projection): the batches of each projection with a `finish` leave their end-of-batch work
    to the rebuild's end (`finish_deferred`, after this block); answers the deferrals by
    projection name."""
    chosen = {p.name: Deferred() for p in projections if p.finish is not None}
    token = _DEFERRING.set({names[name]["tracking"]: found for name, found in chosen.items()})
    try:
        yield chosen
    finally:
        _DEFERRING.reset(token)


# Restriction of processing (UU PDP): a restricted person's data is kept by the registry only.
# Every projection says whom it serves; one serving a program or an agency must hide the
# person while restricted (and show them again when lifted) through its `on_restriction`.
SERVES = ("registry", "program", "agency")
RESTRICTION_EVENTS = {"ProcessingRestricted": True, "RestrictionLifted": False}
RESTRICTIONS = "restrictions"  # the table of restricted (stream_id, subject), per generation
# Erasure (UU PDP): the event after which the person's key is destroyed (data: nik, subject).
ERASURE_EVENT = "PersonalDataErased"


def no_personal_data(cur: Cursor, names: dict[str, str], subject: str) -> None:
    """The `on_erasure` of a view that keeps nothing about persons: it says so explicitly."""


# --- identities ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    """What a view may keep of a NIK or KK number: never the number itself.

    `subject` is the pseudonymous id of its owner (a row key that survives erasure), `hash`
    the keyed hash to find it by (`Codec.lookup`; None once erased), `token` the encrypted
    number, shown to those allowed through `Codec.open` (`erased:<subject>` once erased).
    """

    subject: str
    hash: str | None
    token: str
    erased: bool


def erased_identity(subject: str) -> Identity:
    return Identity(subject=subject, hash=None, token=f"{ERASED_ID}{subject}", erased=True)


def identity(value: Any) -> Identity:
    """The identity of an identifier in an envelope opened by `reveal`."""
    if isinstance(value, Revealed):
        if is_erased(value):
            return erased_identity(value.subject)
        keyed = getattr(value, "keyed_hash", None)
        if keyed is None:
            raise ValueError("an identifier not prepared by projections.base.reveal")
        return Identity(subject=value.subject, hash=keyed, token=value.token, erased=False)
    if isinstance(value, str) and value.startswith(ERASED_ID):
        return erased_identity(value[len(ERASED_ID) :])
    raise ValueError("an identifier not revealed by projections.base.reveal")


# --- names, birth dates, addresses ------------------------------------------------------------

# A name is found by its words and by their prefixes of at least this many letters.
MIN_PREFIX = 3
# The fields found by the keyed hashes of their words: the names of persons.
SEARCHED_FIELDS = frozenset(name for name, f in FIELDS.items() if f.category == "names")
_APOSTROPHES = str.maketrans("", "", "'\u2019`")


def name_words(text: str) -> list[str]:
    """The words of a name (or of a search for one) as the search compares them: lower case,
    accents and apostrophes dropped, split at anything not a letter or a digit."""
    folded = unicodedata.normalize("NFKD", text.casefold().translate(_APOSTROPHES))
    plain = "".join(c for c in folded if not unicodedata.combining(c))
    return re.findall(r"[^\W_]+", plain)


def name_terms(text: str) -> set[str]:
    """What a name is found by: each of its words, and each word's prefixes of MIN_PREFIX
    letters or more (`Siti Aminah`: siti, sit, aminah, amina, amin, ami)."""
    terms: set[str] = set()
    for word in name_words(text):
        terms.add(word)
        terms.update(word[:size] for size in range(MIN_PREFIX, len(word)))
    return terms


class Opened(str):
    """A personal text or date of an envelope opened by `reveal` that still knows its token;
    a name (SEARCHED_FIELDS) also the keyed hashes of its `name_terms`, computed when a view
    first asks for them (most views never do)."""

    token: str
    _codec: Codec | None = None  # set for a name: `terms` hashes its words with it
    _terms: frozenset[str] | None = None

    @property
    def terms(self) -> frozenset[str]:
        if self._terms is None:
            codec = self._codec
            self._terms = (
                frozenset(codec.lookup("name", term) for term in sorted(name_terms(self)))
                if codec is not None
                else frozenset()
            )
        return self._terms


@dataclass(frozen=True)
class Sealed:
    """What a view may keep of a name, a birth date or an address: never the value itself.

    `token` the encrypted value, shown to those allowed through `Codec.open` (ERASED, or None
    for a missing value or an erased date); `terms` the keyed hashes (`Codec.lookup("name",
    term)`) of a name's words and prefixes, for the search by name (none once erased)."""

    token: str | None
    terms: frozenset[str] = frozenset()


def sealed(value: Any) -> Sealed:
    """The sealed form of a personal text or date in an envelope opened by `reveal`."""
    if isinstance(value, Opened):
        return Sealed(token=value.token, terms=value.terms)
    if value is None:
        return Sealed(token=None)
    if is_erased(value):
        return Sealed(token=ERASED)
    raise ValueError("a personal field not revealed by projections.base.reveal")


def _opened(codec: Codec, stored: Any, key: Any) -> Any:
    """A copy of `stored` with every token opened (`Codec.open`, keys included), each personal
    text or date an `Opened` knowing its token (and, for a name, its terms): what
    `Codec.reveal` gives, wrapped, in one walk."""
    kind = type(stored)
    if kind is str:
        if stored[:4] != PREFIX:
            return stored
        opened = codec.open(stored)
        if type(opened) is not str or opened == ERASED:
            return opened  # an identifier (`Revealed`), a value, or an erasure marker
        found = Opened(opened)
        found.token = stored
        if key in SEARCHED_FIELDS:
            found._codec = codec
        return found
    if kind is dict:
        out = {}
        for name, item in stored.items():
            shown = codec.open(name) if type(name) is str and name[:4] == PREFIX else name
            out[shown] = _opened(codec, item, name) if type(item) in _WALKED else item
        return out
    if kind is list:
        return [_opened(codec, item, key) if type(item) in _WALKED else item for item in stored]
    return stored


_WALKED = (str, dict, list)


def reveal(codec: Codec, envelope: dict[str, Any]) -> dict[str, Any]:
    """The envelope as projections read it: every token opened (or its erasure marker); each
    NIK and KK number a `Revealed` (with subject, token and keyed hash) that `identity` turns
    into what a view may keep, each other personal text or date an `Opened` that `sealed`
    does. Tokens are in `data` and in free-text meta such as `reason`."""
    opened = dict(envelope)
    opened["data"] = _opened(codec, envelope["data"], None)
    reason = envelope.get("reason")  # the only free text of the envelope outside its data
    if type(reason) is str and reason[:4] == PREFIX:
        opened["reason"] = codec.open(reason)
    return opened


@dataclass
class Projection:
    """A read model: its tables (DDL with `{name}` placeholders) and one handler per event type.

    `serves` is required: "registry" (may keep restricted persons, showing them marked), or
    "program" / "agency": then `on_restriction` is required too, and `apply_envelopes` keeps
    the restricted persons in a per-generation table and calls the hook (see RestrictionHook).
    `on_erasure` is required of every view (see ErasureHook; `no_personal_data` for a view
    that keeps nothing about persons). Handlers get envelopes opened by `reveal`; they keep
    identifiers as their `identity`, never in clear.
    """

    name: str
    tables: dict[str, str]
    handlers: dict[str, Handler]
    serves: str
    indexes: list[str] = field(default_factory=list)
    # Indexes only readers use (pages, the API, the daily tick, erasures and restrictions),
    # never the handlers of other events: a rebuild makes them after its events, each sorted
    # at once instead of kept up to date row by row (`create_generation`, `make_read_indexes`;
    # tests/integration/test_rebuild_read_indexes.py checks that no handler's statement
    # would have read one). Live, every generation has them from the start.
    read_indexes: list[str] = field(default_factory=list)
    # For event types without a handler of their own, by stream type (e.g. "Household").
    stream_handlers: dict[str, Handler] = field(default_factory=dict)
    # The same, for handlers that read the envelope's frame only (its stream, version,
    # position, type and `recorded_at`), never its data: a rebuild neither decodes nor
    # reveals those events for this view (`reads`), and hands them over without data.
    stream_touches: dict[str, Handler] = field(default_factory=dict)
    # What the view reads nothing from, said explicitly: event types, or stream types for all
    # their events. Every event type of the domain is handled or ignored by every view
    # (tests/unit/test_declarations.py), so a new event cannot be missed silently...
    ignores: frozenset[str] = frozenset()
    # ...unless the view says it reads its handlers' events and nothing else, whatever comes.
    only_its_handlers: bool = False
    # Its handlers' share of a rebuild's time (seconds per 150,000 events as measured on the
    # 10,000-family store, docs/performance.md, last on 2026-12-05): `casework rebuild`
    # splits the projections among its processes by it.
    rebuild_weight: float = 5.0

    def decides(self, stream_type: str, event_type: str) -> bool:
        """Whether the view handles or explicitly ignores this event type."""
        return (
            self.only_its_handlers
            or event_type in self.handlers
            or event_type in RESTRICTION_EVENTS
            or event_type == ERASURE_EVENT
            or event_type in self.ignores
            or stream_type in self.ignores
        )

    def reads(self, stream_type: str, event_type: str) -> bool:
        """Whether applying this event reads its data (`_apply_one`): a handler of its type or
        stream type, an erasure, or a restriction the view honours. Any other event is only
        tracked: a rebuild need not reveal it for this view."""
        return (
            event_type == ERASURE_EVENT
            or (self.honours_restriction and event_type in RESTRICTION_EVENTS)
            or event_type in self.handlers
            or stream_type in self.stream_handlers
        )

    on_restriction: RestrictionHook | None = None
    on_erasure: ErasureHook | None = None
    # The shape of its tables: raise it when a table changes, so the new shape gets tables of
    # its own (filled by the runner's rebuild of empty views) instead of failing on old ones.
    version: int = 1
    # Optional: work deferred to the end of each batch (see BatchScope).
    batch: BatchScope | None = None
    # Optional, with `batch`: in a rebuild, that work is left to the rebuild's end and done
    # once per unit it marked (`Deferred`, `Finish`).
    finish: Finish | None = None
    # The settings its answers depend on (a tolerance, a number of months), as this process
    # is configured (`projections.catalog.configured`). Each generation keeps those it was
    # built under (`PARAMETERS`, written when the generation is created), and its handlers
    # read them from there (`built_parameters`), so one view is never computed under two;
    # the runner rebuilds a view whose live generation was built under others
    # (`reconfigured`), and readers show the ones the view was built under.
    parameters: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.serves not in SERVES:
            raise ValueError(f"projection {self.name}: serves must be one of {SERVES}")
        if self.on_erasure is None:
            raise TypeError(
                f"projection {self.name} needs an on_erasure hook that replaces an erased"
                " person's data with erasure markers (no_personal_data if it keeps none)"
            )
        if not self.honours_restriction:
            return
        if self.on_restriction is None:
            raise TypeError(
                f"projection {self.name} serves a {self.serves}: it needs an on_restriction hook"
                " that hides a restricted person's rows and shows them again when lifted"
            )
        if RESTRICTIONS in self.tables:
            raise ValueError(f"projection {self.name}: the table name {RESTRICTIONS} is reserved")
        taken = set(RESTRICTION_EVENTS) & set(self.handlers)
        if taken:
            raise ValueError(
                f"projection {self.name}: {', '.join(sorted(taken))} go to on_restriction"
            )

    @property
    def honours_restriction(self) -> bool:
        return self.serves != "registry"

    def table_names(self, generation: int) -> dict[str, str]:
        reserved = {"tracking", PROGRESS, COUNTS, RESTRICTIONS, PARAMETERS} & set(self.tables)
        if reserved:
            # the tables every view gets (tracking, kept counters, restrictions)
            raise ValueError(f"{self.name}: table names reserved by projections.base: {reserved}")
        prefix, suffix = f"{self.name}_v{self.version}", f"g{generation}"
        names = {base: f"{prefix}_{base}_{suffix}" for base in self.tables}
        names["tracking"] = f"{prefix}_tracking_{suffix}"
        names[PROGRESS] = f"{prefix}_{PROGRESS}_{suffix}"
        names[COUNTS] = f"{prefix}_{COUNTS}_{suffix}"
        if self.honours_restriction:
            names[RESTRICTIONS] = f"{prefix}_{RESTRICTIONS}_{suffix}"
        if self.parameters:
            names[PARAMETERS] = f"{prefix}_{PARAMETERS}_{suffix}"
        return names


STATE_DDL = (
    "CREATE TABLE IF NOT EXISTS projection_state ("
    " name VARCHAR(100) PRIMARY KEY, generation INTEGER NOT NULL,"
    " rebuilt_at VARCHAR(40))"
)
# Each projection runner's liveness (`consumers.runner.Runner`, read by `projections.status`):
# its heartbeat (`seen_at`, unix seconds, about every second from a thread of its own) and
# when its loop last came back from the broker, having applied what it got or found nothing
# waiting (`progress_at`). One row per runner process; rows of runners gone a day are pruned.
RUNNERS_DDL = (
    "CREATE TABLE IF NOT EXISTS projection_runners ("
    " runner VARCHAR(200) PRIMARY KEY, seen_at DOUBLE PRECISION NOT NULL,"
    " progress_at DOUBLE PRECISION NOT NULL)"
)
DLQ_DDL = (
    "CREATE TABLE IF NOT EXISTS dead_letters ("
    " topic VARCHAR(200) NOT NULL, partition_no INTEGER NOT NULL, record_offset BIGINT NOT NULL,"
    " error TEXT NOT NULL, recorded_at VARCHAR(40) NOT NULL,"
    " PRIMARY KEY (topic, partition_no, record_offset))"
)
# The rebuilds running (`consumers.runner.rebuild_together`): one row per view being built
# into a fresh generation, written when it starts reading the events (`total`: the events it
# reads), its `done` every few seconds, deleted in the transaction that swaps the generation in
# (or when the rebuild fails). What readers are told while a view is filled from the past
# (`Filling`, `fillings`): an added view, or one of a new version, is read empty meanwhile.
FILLING = "projection_filling"
FILLING_DDL = (
    f"CREATE TABLE IF NOT EXISTS {FILLING} ("
    " name VARCHAR(100) PRIMARY KEY, started_at DOUBLE PRECISION NOT NULL,"
    " updated_at DOUBLE PRECISION NOT NULL, done BIGINT NOT NULL, total BIGINT NOT NULL)"
)


# --- counts kept with the rows ----------------------------------------------------------------
#
# What `/healthz`, `/status`, `/metrics` and the home page show is read from a few rows kept
# in the same transaction as the view's rows, never counted over the view per request:
# - `progress` (per generation): the events applied (the sum of the tracked versions) and
#   the highest position, added to by `apply_envelopes` at the end of each batch;
# - `counts` (per generation): named counters per item that a projection's handlers add to
#   through `tally` (the register: `households` per kelurahan), written at the batch's end.
# Both are split into SHARDS rows per name, a process writing to its own (by process id), so
# runners applying batches side by side on PostgreSQL do not wait for each other's commit on
# one hot row; a reader sums at most SHARDS rows. A batch writes its counters in sorted order,
# after its other rows, so two runners never wait for each other in a cycle.
PROGRESS = "kept_progress"
COUNTS = "kept_counts"
# The settings a generation was built under (`Projection.parameters`): one row per name.
PARAMETERS = "kept_parameters"
SHARDS = 16
# The counters of the batch being applied: (counts table, (name, key) -> delta); None outside.
_TALLY: ContextVar[tuple[str, dict[tuple[str, str], int]] | None] = ContextVar(
    "tally", default=None
)


def _shard() -> int:
    return os.getpid() % SHARDS


def _add_counts(cur: Cursor, table: str, deltas: dict[tuple[str, str], int]) -> None:
    rows = [(name, key, _shard(), delta) for (name, key), delta in sorted(deltas.items()) if delta]
    if rows:
        cur.executemany(
            f"INSERT INTO {table} (name, item, shard, value) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (name, item, shard) DO UPDATE"
            f" SET value = {table}.value + excluded.value",
            rows,
        )


def tally(cur: Cursor, names: dict[str, str], name: str, key: str, delta: int) -> None:
    """Add `delta` to the view's counter `name` for `key` (the register: `households` per
    kelurahan): at the end of the batch being applied, or at once outside one; in the rows'
    transaction either way."""
    batch = _TALLY.get()
    if batch is not None and batch[0] == names[COUNTS]:
        batch[1][(name, key)] = batch[1].get((name, key), 0) + delta
    else:
        _add_counts(cur, names[COUNTS], {(name, key): delta})


def counts(db: Database, names: dict[str, str], name: str) -> dict[str, int]:
    """The view's counter `name` per key, summed over its shards (an index range of the
    counts table, never a count over the view); keys counted down to 0 are left out."""
    rows = db.query(
        f"SELECT item, SUM(value) FROM {names[COUNTS]} WHERE name = ? GROUP BY item ORDER BY item",
        (name,),
    )
    return {str(key): int(value) for key, value in rows if value}


def ensure_schema(db: Database, projections: Iterable[Projection]) -> None:
    with db.schema_lock(), db.schema_transaction() as cur:
        cur.execute(STATE_DDL)
        cur.execute(RUNNERS_DDL)
        cur.execute(DLQ_DDL)
        cur.execute(FILLING_DDL)
        for projection in projections:
            row = cur.execute(
                "SELECT generation FROM projection_state WHERE name=?", (projection.name,)
            ).fetchone()
            generation = row[0] if row else 1
            create_generation(cur, projection, generation)
            if row is None:
                cur.execute(
                    "INSERT INTO projection_state (name, generation) VALUES (?, ?)",
                    (projection.name, generation),
                )


def create_generation(
    cur: Cursor, projection: Projection, generation: int, *, read_indexes: bool = True
) -> dict[str, str]:
    """The tables of a generation of the projection (those missing), and their indexes; a
    rebuild's fresh generation without its `read_indexes` (`make_read_indexes` at its end)."""
    names = projection.table_names(generation)
    for base, ddl in projection.tables.items():
        cur.execute(ddl.format(name=names[base]))
    cur.execute(
        f"CREATE TABLE IF NOT EXISTS {names['tracking']} ("
        " stream_id VARCHAR(36) PRIMARY KEY, version INTEGER NOT NULL, position BIGINT NOT NULL)"
    )
    if projection.honours_restriction:
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {names[RESTRICTIONS]} ("
            " stream_id VARCHAR(36) NOT NULL, subject VARCHAR(32) NOT NULL,"
            " PRIMARY KEY (stream_id, subject))"
        )
    cur.execute(
        f"CREATE TABLE IF NOT EXISTS {names[PROGRESS]} ("
        " shard INTEGER PRIMARY KEY, applied BIGINT NOT NULL, position BIGINT NOT NULL)"
    )
    # a generation tracked before its progress table existed is summed up once, here
    cur.execute(
        f"INSERT INTO {names[PROGRESS]} (shard, applied, position) SELECT 0, done, top FROM"
        f" (SELECT COALESCE(SUM(version), 0) AS done, COALESCE(MAX(position), 0) AS top"
        f" FROM {names['tracking']}) AS tracked"
        f" WHERE NOT EXISTS (SELECT 1 FROM {names[PROGRESS]})"
    )
    cur.execute(
        f"CREATE TABLE IF NOT EXISTS {names[COUNTS]} ("
        " name VARCHAR(50) NOT NULL, item VARCHAR(200) NOT NULL, shard INTEGER NOT NULL,"
        " value BIGINT NOT NULL, PRIMARY KEY (name, item, shard))"
    )
    if projection.parameters:
        table = names[PARAMETERS]
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {table} ("
            " name VARCHAR(50) PRIMARY KEY, value BIGINT NOT NULL)"
        )
        # fixed once, when the generation is made: a process configured otherwise later
        # neither changes nor mixes them (it rebuilds, `reconfigured`)
        if cur.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone() is None:
            cur.executemany(
                f"INSERT INTO {table} (name, value) VALUES (?, ?)",
                sorted(projection.parameters.items()),
            )
    for index in projection.indexes:
        cur.execute(index.format(**names))
    if read_indexes:
        make_read_indexes(cur, projection, names)
    return names


_INDEX_NAME = re.compile(r"INDEX IF NOT EXISTS (\w+)")


def make_read_indexes(cur: Cursor, projection: Projection, names: dict[str, str]) -> None:
    """The projection's `read_indexes` on these tables, those missing (none, live). On
    PostgreSQL each is looked up first: CREATE INDEX IF NOT EXISTS would lock its table
    against writes even when the index is there."""
    for index in projection.read_indexes:
        ddl = index.format(**names)
        if cur.db.kind != "sqlite":
            name = _INDEX_NAME.search(ddl).group(1)
            if cur.execute("SELECT to_regclass(?)", (name,)).fetchone()[0] is not None:
                continue
        cur.execute(ddl)


def built_parameters(cur: Cursor, projection: Projection, names: dict[str, str]) -> dict[str, int]:
    """The settings this generation of the projection was built under (`Projection.parameters`;
    {} for a projection without any). A name the generation lacks (kept before it existed)
    reads as the projection's own value."""
    if not projection.parameters:
        return {}
    rows = cur.execute(f"SELECT name, value FROM {names[PARAMETERS]}").fetchall()
    return {**projection.parameters, **{str(name): int(value) for name, value in rows}}


def parameters_in_force(db: Database, projection: Projection) -> dict[str, int]:
    """The settings the live generation was built under: what its answers follow."""
    with db.transaction() as cur:
        names = projection.table_names(current_generation(cur, projection, lock=False))
        return built_parameters(cur, projection, names)


def reconfigured(cur: Cursor, projection: Projection) -> dict[str, int] | None:
    """The settings the live generation was built under when they are not the projection's
    (this process's configuration): it needs a rebuild. None when they agree."""
    names = projection.table_names(current_generation(cur, projection, lock=False))
    built = built_parameters(cur, projection, names)
    return built if built != projection.parameters else None


def drop_generation(cur: Cursor, projection: Projection, generation: int) -> None:
    """Drop a generation of the view's tables (of its current `version`).

    On SQLite the views' connections zero what they free (`secure_delete`, for erasures);
    the pages of a dropped generation are freed without it (`FAST`: their cells are not
    rewritten): each erasure was applied to every generation of the view as it came
    (`consumers.runner.erased_tables`), so what they still hold was never erased, and the
    zeroing cost as much as writing the whole generation again (10.7 s of a 16 s swap at
    40,000 families). Tables of an earlier `version`, which erasures did not reach, are still
    dropped with zeroing (`drop_older_versions`)."""
    sqlite = cur.db.kind == "sqlite"
    if sqlite:
        zeroing = cur.execute("PRAGMA secure_delete").fetchone()[0]
        cur.execute("PRAGMA secure_delete=FAST")
    try:
        for table in projection.table_names(generation).values():
            cur.execute(f"DROP TABLE IF EXISTS {table}")
    finally:
        if sqlite:
            cur.execute(f"PRAGMA secure_delete={int(zeroing)}")


def current_generation(cur: Cursor, projection: Projection, *, lock: bool) -> int:
    statement = "SELECT generation FROM projection_state WHERE name=?"
    if lock and cur.db.kind == "postgresql":
        statement += " FOR SHARE"
    row = cur.execute(statement, (projection.name,)).fetchone()
    if row is None:
        raise LookupError(f"projection {projection.name} has no state; run ensure_schema first")
    return row[0]


def apply_envelopes(
    cur: Cursor,
    projection: Projection,
    names: dict[str, str],
    envelopes: Iterable[dict[str, Any]],
    untracked: Container[str] = (),
    tracking: str | None = None,
    writes_tracking: bool = True,
) -> int:
    """Apply what is new for this projection; returns how many events were applied.

    The tracking is read once per stream of the batch and written once per stream at its
    end, in the same transaction as the rows (after the projection's `batch` scope, if any,
    has done its end-of-batch work), and with it the counters the handlers added to
    (`tally`) and the generation's progress (events applied, highest position).
    `untracked`: streams the caller knows this generation has no tracking of (a rebuild
    into empty tables, for the streams none of its earlier batches had): not looked up.
    `tracking`: the table the tracking is read from (and written to, unless not
    `writes_tracking`) instead of the generation's own: views rebuilt together from the same
    events track the same, so one table serves them all (`consumers.runner._apply_in_chunks`)."""
    tracked_in = tracking or names["tracking"]
    applied = 0
    # stream_id -> (tracked in the table before this batch, last version, its position)
    seen: dict[str, tuple[bool, int | None, int]] = {}
    before: dict[str, int] = {}  # stream_id -> the version tracked before this batch (0: none)
    deltas: dict[tuple[str, str], int] = {}
    envelopes = envelopes if type(envelopes) is list else list(envelopes)
    # the batch's households with a restricted person (`_hide_restricted` looks only there)
    restricted = _restricted_streams(cur, projection, names, envelopes)
    scope = projection.batch(cur, names) if projection.batch is not None else nullcontext()
    token = _TALLY.set((names[COUNTS], deltas))
    try:
        with scope:  # the projection's end-of-batch work runs at its exit, before the tracking
            for envelope in envelopes:
                applied += _apply_one(
                    cur, projection, tracked_in, names, envelope, seen, before, untracked,
                    restricted,
                )
    finally:
        _TALLY.reset(token)
    inserts, updates = [], []
    added, top = 0, 0
    for stream_id, (tracked, last, position) in seen.items():
        if not position:
            continue  # nothing new applied for this stream
        added += (last or 0) - before[stream_id]
        top = max(top, position)
        if tracked:
            updates.append((last, position, stream_id))
        else:
            inserts.append((stream_id, last, position))
    if inserts and writes_tracking:
        cur.executemany(
            f"INSERT INTO {tracked_in} (stream_id, version, position) VALUES (?, ?, ?)", inserts
        )
    if updates and writes_tracking:
        cur.executemany(f"UPDATE {tracked_in} SET version=?, position=? WHERE stream_id=?", updates)
    _add_counts(cur, names[COUNTS], deltas)
    if top:
        table = names[PROGRESS]
        cur.execute(
            f"INSERT INTO {table} (shard, applied, position) VALUES (?, ?, ?)"
            f" ON CONFLICT (shard) DO UPDATE SET applied = {table}.applied + excluded.applied,"
            f" position = CASE WHEN {table}.position < excluded.position"
            f" THEN excluded.position ELSE {table}.position END",
            (_shard(), added, top),
        )
    return applied


def _apply_one(
    cur: Cursor,
    projection: Projection,
    tracking: str,
    names: dict[str, str],
    envelope: dict[str, Any],
    seen: dict[str, tuple[bool, int | None, int]],
    before: dict[str, int],
    untracked: Container[str] = (),
    restricted: set[str] | None = None,
) -> int:
    """One envelope of `apply_envelopes`: 1 when applied, 0 when already applied.
    `restricted`: the streams of the batch that may have a restricted person (None: any)."""
    stream_id, version = envelope["stream_id"], envelope["version"]
    if stream_id in seen:
        tracked, last, _ = seen[stream_id]
    elif stream_id in untracked:
        tracked, last = False, None
        seen[stream_id] = (tracked, last, 0)
        before[stream_id] = 0
    else:
        row = cur.execute(
            f"SELECT version FROM {tracking} WHERE stream_id=?", (stream_id,)
        ).fetchone()
        tracked, last = row is not None, (row[0] if row is not None else None)
        seen[stream_id] = (tracked, last, 0)
        before[stream_id] = last or 0
    if last is not None and version <= last:
        return 0
    if last is not None and version > last + 1:
        log.warning(
            "projection %s: stream %s jumps from version %s to %s",
            projection.name,
            stream_id,
            last,
            version,
        )
    if envelope["type"] == ERASURE_EVENT:
        # every generation first; then the projection's own handler, if any (its version)
        _apply_erasure(cur, projection, names, envelope)
    if projection.honours_restriction and envelope["type"] in RESTRICTION_EVENTS:
        _apply_restriction(cur, projection, names, envelope)
        if restricted is not None:
            restricted.add(stream_id)
    else:
        handler = (
            projection.handlers.get(envelope["type"])
            or projection.stream_handlers.get(envelope["stream_type"])
            or projection.stream_touches.get(envelope["stream_type"])
        )
        if handler is not None:
            handler(cur, names, envelope)
            if projection.honours_restriction and (restricted is None or stream_id in restricted):
                _hide_restricted(cur, projection, names, stream_id)
    seen[stream_id] = (tracked, version, envelope["position"])
    return 1


_STREAMS_AT_ONCE = 500  # streams per statement of `_restricted_streams`


def _restricted_streams(
    cur: Cursor, projection: Projection, names: dict[str, str], envelopes: list[dict[str, Any]]
) -> set[str] | None:
    """Of the batch's streams, those whose household has a restricted person in this
    generation (read once per batch rather than once per event); None for a view that keeps
    no restrictions. `_apply_one` adds the streams the batch restricts someone of."""
    if not projection.honours_restriction:
        return None
    streams = list({envelope["stream_id"] for envelope in envelopes})
    found: set[str] = set()
    for at in range(0, len(streams), _STREAMS_AT_ONCE):
        part = streams[at : at + _STREAMS_AT_ONCE]
        rows = cur.execute(
            f"SELECT DISTINCT stream_id FROM {names[RESTRICTIONS]}"
            f" WHERE stream_id IN ({', '.join('?' for _ in part)})",
            part,
        ).fetchall()
        found.update(row[0] for row in rows)
    return found


def restricted_subjects(cur: Cursor, names: dict[str, str], stream_id: str) -> list[str]:
    """The restricted persons (subjects) of one household, as a projection serving a program
    or an agency has learned them (for handlers that want to skip them up front)."""
    rows = cur.execute(
        f"SELECT subject FROM {names[RESTRICTIONS]} WHERE stream_id=? ORDER BY subject",
        (stream_id,),
    ).fetchall()
    return [row[0] for row in rows]


def _apply_restriction(
    cur: Cursor, projection: Projection, names: dict[str, str], envelope: dict[str, Any]
) -> None:
    stream_id, subject = envelope["stream_id"], identity(envelope["data"]["nik"]).subject
    restricted = RESTRICTION_EVENTS[envelope["type"]]
    make_read_indexes(cur, projection, names)  # a rebuild's: the hook reads by subject
    cur.execute(
        f"DELETE FROM {names[RESTRICTIONS]} WHERE stream_id=? AND subject=?", (stream_id, subject)
    )
    if restricted:
        cur.execute(
            f"INSERT INTO {names[RESTRICTIONS]} (stream_id, subject) VALUES (?, ?)",
            (stream_id, subject),
        )
    _hook(projection)(cur, names, stream_id, subject, restricted)


def erased_subject(envelope: dict[str, Any]) -> str:
    """The subject a PersonalDataErased names (in clear: its NIK may still reveal until the
    key is destroyed, just after the event is stored)."""
    data = envelope["data"]
    return data.get("subject") or identity(data["nik"]).subject


def _apply_erasure(
    cur: Cursor, projection: Projection, names: dict[str, str], envelope: dict[str, Any]
) -> None:
    """The erased person's data leaves every generation of the projection's tables."""
    if projection.on_erasure is None:  # __post_init__ refuses this; a later edit may not
        raise TypeError(f"projection {projection.name} has no on_erasure hook")
    subject = erased_subject(envelope)
    make_read_indexes(cur, projection, names)  # a rebuild's: the hook reads by subject
    for generation_names in [names, *other_generations(cur, projection, names)]:
        projection.on_erasure(cur, generation_names, subject)


def _hide_restricted(
    cur: Cursor, projection: Projection, names: dict[str, str], stream_id: str
) -> None:
    """After any other event of a household: whatever its handler wrote about a restricted
    person is hidden again, so a handler cannot bring a restricted person back by mistake."""
    hook = _hook(projection)
    for subject in restricted_subjects(cur, names, stream_id):
        hook(cur, names, stream_id, subject, True)


def _hook(projection: Projection) -> RestrictionHook:
    if projection.on_restriction is None:  # __post_init__ refuses this; a later edit may not
        raise TypeError(f"projection {projection.name} has no on_restriction hook")
    return projection.on_restriction


def apply_batch(db: Database, projection: Projection, envelopes: list[dict[str, Any]]) -> int:
    """Rows and tracking in one transaction of the read-model database."""
    with db.transaction() as cur:
        generation = current_generation(cur, projection, lock=True)
        return apply_envelopes(cur, projection, projection.table_names(generation), envelopes)


def progress(db: Database, projection: Projection) -> tuple[int, int]:
    """(events applied, highest position applied) of the current generation: its progress
    rows (at most SHARDS), kept by `apply_envelopes` with the tracking."""
    row = db.query_one("SELECT generation FROM projection_state WHERE name=?", (projection.name,))
    if row is None:
        return 0, 0
    table = projection.table_names(row[0])[PROGRESS]
    applied, top = db.query_one(
        f"SELECT COALESCE(SUM(applied), 0), COALESCE(MAX(position), 0) FROM {table}"
    )
    return int(applied), int(top)


# The views a web request read (`reading_views`), by name; None outside one.
_READ: ContextVar[set[str] | None] = ContextVar("views_read", default=None)


def reading_views() -> set[str]:
    """From now on in this context, the names of the views `live_tables` is asked for are
    added to the set answered (the web: which views a page or an answer read, to say so when
    one is being filled, `fillings`)."""
    read: set[str] = set()
    _READ.set(read)
    return read


def live_tables(db: Database, projection: Projection) -> dict[str, str]:
    read = _READ.get()
    if read is not None:
        read.add(projection.name)
    row = db.query_one("SELECT generation FROM projection_state WHERE name=?", (projection.name,))
    return projection.table_names(row[0] if row else 1)


# --- rebuilds running ----------------------------------------------------------------------


@dataclass(frozen=True)
class Filling:
    """A rebuild of a view in progress (`FILLING`): the events applied of those it reads,
    and when it started and last said so (unix seconds)."""

    name: str
    started_at: float
    updated_at: float
    done: int
    total: int

    @property
    def percent(self) -> int:
        return min(100 * self.done // max(self.total, 1), 99)

    @property
    def seconds_left(self) -> int | None:
        """At the rate so far, None before any progress."""
        spent = self.updated_at - self.started_at
        if self.done <= 0 or spent <= 0:
            return None
        return int(max(self.total - self.done, 0) * spent / self.done)

    def as_json(self) -> dict[str, Any]:
        return {
            "done": self.done,
            "total": self.total,
            "percent": self.percent,
            "seconds_left": self.seconds_left,
        }


# A rebuild updates its rows at least every few seconds while it reads the events and while
# it finishes (consumers.runner.PROGRESS_SECONDS); its indexes and its copy into the views take
# well under a minute at the city's size. A row not updated for this long is a rebuild that was
# killed: it is left in the table (until the next rebuild of that view), not shown as running.
FILLING_STALE_SECONDS = 600.0


def fillings(db: Database, now: float | None = None) -> dict[str, Filling]:
    """The rebuilds running, by view: a read of the few rows of `FILLING` (none when nothing
    is rebuilt), leaving out the rows of rebuilds killed (`FILLING_STALE_SECONDS`; `now`:
    unix seconds, the clock by default)."""
    now = time.time() if now is None else now
    rows = db.query(f"SELECT name, started_at, updated_at, done, total FROM {FILLING}")
    return {
        str(name): Filling(str(name), float(started), float(updated), int(done), int(total))
        for name, started, updated, done, total in rows
        if now - float(updated) < FILLING_STALE_SECONDS
    }


def start_filling(db: Database, names: Iterable[str], total: int, now: float) -> None:
    with db.transaction() as cur:
        for name in names:
            cur.execute(f"DELETE FROM {FILLING} WHERE name=?", (name,))
            cur.execute(
                f"INSERT INTO {FILLING} (name, started_at, updated_at, done, total)"
                " VALUES (?, ?, ?, 0, ?)",
                (name, now, now, total),
            )


def filled_so_far(db: Database, names: Iterable[str], done: int, now: float) -> None:
    with db.transaction() as cur:
        for name in names:
            cur.execute(
                f"UPDATE {FILLING} SET done=?, updated_at=? WHERE name=?", (done, now, name)
            )


def end_filling(cur: Cursor, name: str) -> None:
    cur.execute(f"DELETE FROM {FILLING} WHERE name=?", (name,))


# --- the tables a database holds ----------------------------------------------------------


def _tables_like(cur: Cursor, prefix: str) -> list[str]:
    """Names of the tables starting with `prefix` (LIKE wildcards in it match themselves
    after the regex checks the callers do)."""
    if cur.db.kind == "sqlite":
        statement = "SELECT name FROM sqlite_master WHERE type='table' AND name LIKE ?"
    else:
        statement = (
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = current_schema() AND table_name LIKE ?"
        )
    return [row[0] for row in cur.execute(statement, (f"{prefix}%",)).fetchall()]


def generations(cur: Cursor, projection: Projection) -> list[int]:
    """Every generation of the projection's tables that exists (current, kept, being built)."""
    prefix = f"{projection.name}_v{projection.version}_tracking_g"
    pattern = re.compile(rf"^{re.escape(prefix)}([0-9]+)$")
    found = (pattern.match(name) for name in _tables_like(cur, prefix))
    return sorted(int(match.group(1)) for match in found if match)


def other_generations(
    cur: Cursor, projection: Projection, names: dict[str, str]
) -> list[dict[str, str]]:
    """The table names of every other generation that exists."""
    others = (projection.table_names(g) for g in generations(cur, projection))
    return [other for other in others if other["tracking"] != names["tracking"]]


def older_version_tables(cur: Cursor, projection: Projection) -> list[str]:
    """Tables of the projection's earlier shapes (another `version`): they may keep personal
    data as the old code did (a NIK in clear), and nothing reads them any more."""
    pattern = re.compile(rf"^{re.escape(projection.name)}_v([0-9]+)_[a-z0-9_]+_g[0-9]+$")
    found = []
    for name in _tables_like(cur, f"{projection.name}_v"):
        match = pattern.match(name)
        if match and int(match.group(1)) != projection.version:
            found.append(name)
    return sorted(found)


def drop_older_versions(db: Database, projections: Iterable[Projection]) -> list[str]:
    """Drop the tables of earlier shapes of these projections; the names dropped."""
    dropped: list[str] = []
    with db.schema_lock(), db.transaction() as cur:
        for projection in projections:
            for table in older_version_tables(cur, projection):
                cur.execute(f"DROP TABLE IF EXISTS {table}")
                dropped.append(table)
    if dropped:
        log.info("dropped %d tables of earlier view shapes", len(dropped))
    return dropped
