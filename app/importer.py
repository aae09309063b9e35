"""`casework import dtsen|dtks|p3ke|verval FILE...`: the sources' files into the register.

The files are read and every row checked first (app/import_layouts.py), in bounded memory:
the checked rows and the rows refused go to a scratch file beside the first file
(`FILE.import.sqlite`, removed at the end; in memory for small files: app/import_spool.py).
Then each family, built from it when its batch comes, goes through the ordinary command
handlers (`Casework.execute`, what the API's command path calls after validating), with
source `import:<kind>`, as the person who started it (the web's import page,
app/import_pages.py) or the system actor (the CLI); each command is authorised as that
person's own (`app.auth.authorize_import`), a refusal rejecting the row or the family:
- a family not yet in the register (by its KK number, or a former one) is registered
  (RegisterHousehold) with its members (AddMember);
- a known family gets only what is new: members not yet on it (a NIK already in another
  household is rejected as a conflict, never duplicated), a decile not yet recorded for this
  source and period (RecordWelfareAssessment), a verification not yet recorded
  (RecordVerification, verval files: the person met must be a member of the household,
  or the row is refused);
- and every family, once per file, what the source says about it (RecordSourceListing).
Each family is one unit: its events are saved together, in batches of families, each
batch in one transaction (`Casework.together`). Batches are first tried optimistically
(no reads: every family assumed new); a batch that meets a known KK number or NIK is done
again family by family, reading what the register holds.

After each batch, `FILE.progress.json` beside the (first) file records the families done,
the files' hash and the importer's version (`importer_version`), so an interrupted import run
again skips what it did (a checkpoint of other files or another version: nothing skipped);
without it, a run again adds nothing either, since facts already present are skipped. The
rejected rows go to `FILE.rejected.csv` beside each file (file, row, column, code, reason in
Indonesian); the web's import keeps beside it the rows refused because of others with the rows
at fault (`FILE.rejected.causes.jsonl`), which its download says in the page's language.
"""

from __future__ import annotations

import ast
import csv
import gc
import hashlib
import json
import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from flask import Flask
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from adapters.bootstrap import drop_unstored_keys
from app import import_files, import_layouts, import_spool, schemas
from app.auth import authorize_import
from app.csv_export import Column, cell, header
from app.import_layouts import (
    FAMILY_ROW,
    HEAD_ROW,
    SOURCES,
    Family,
    Member,
    Parsed,
    Rejection,
    parse,
)
from app.import_spool import MemorySpool, Spool, cause_of
from app.messages import import_message, init_babel
from app.progress import Progress
from domain import identity, regions
from domain.application import SYSTEM, Actor, Casework, make_meta
from domain.errors import DomainError
from domain.household import HEAD, listing_content

log = logging.getLogger("casework.import")
# the codes of rows refused because of others: not among the rows at fault they name
OWN_CAUSES = ("import.family_refused", "import.no_head")
AT_FAULT_SHOWN = 10  # the summary names the rows at fault of this many families at most
BATCH = 100  # families saved in one transaction
# What decides which families the files yield, and in which order (how files are read, the
# layouts, the scratch file's grouping, the checks of a row and this module): a checkpoint
# written while any of them was another version counts other families, and is not trusted.
DECIDING_MODULES = (import_files, import_layouts, import_spool, schemas, identity, regions)
# the report's columns: its file beside the imported one is headed by the keys (README), the
# import page's download by the labels, in the page's language
REPORT_COLUMNS = (
    Column("berkas", _l("File")),
    Column("baris", _l("Row")),
    Column("kolom", _l("Column")),
    Column("kode", _l("Error code")),
    Column("alasan", _l("Reason")),
)
REPORT_HEADER = header(REPORT_COLUMNS)
REPORT = ".rejected.csv"  # the report's name: the file's and this


@dataclass
class Summary:
    kind: str
    rows: int = 0
    # imported, updated, unchanged, rejected (refused as stored, or every row of it refused
    # while the files were read)
    families: Counter = field(default_factory=Counter)
    rejected_rows: int = 0  # rows refused (a row refused for several reasons counts once)
    families_seen: int = 0  # the families the files' rows belong to (by KK number)
    families_with_rejected_rows: int = 0  # those with a row in the rejected rows' report
    seconds: float = 0.0
    skipped: int = 0  # families skipped by the checkpoint
    encodings: dict[str, str] = field(default_factory=dict)
    reports: list[str] = field(default_factory=list)
    # the rows at fault of the families refused because of other rows, each family's once:
    # whose they are (HEAD_ROW, FAMILY_ROW or "") and (file, row) each
    at_fault: list[tuple[str, list[tuple[str, int]]]] = field(default_factory=list)

    @property
    def rows_per_second(self) -> float:
        return self.rows / max(self.seconds, 1e-6)

    def lines(self) -> list[str]:
        f = self.families
        return [
            f"rows read: {self.rows} ({', '.join(f'{k}: {v}' for k, v in self.encodings.items())})",
            f"families imported: {f['imported']}, updated: {f['updated']},"
            f" unchanged: {f['unchanged']}, refused: {f['rejected']}"
            + (f", skipped (done before): {self.skipped}" if self.skipped else ""),
            f"families in the files: {self.families_seen},"
            f" with rejected rows: {self.families_with_rejected_rows}",
            f"rows rejected: {self.rejected_rows}"
            + (f" (see {', '.join(self.reports)})" if self.reports else ""),
            f"rows/s: {self.rows_per_second:.0f} ({self.seconds:.1f} s)",
        ] + (
            [
                f"families refused because of other rows: {len(self.at_fault)} (rows at fault:"
                f" {'; '.join(at_fault_text(*a) for a in self.at_fault[:AT_FAULT_SHOWN])}"
                + ("; ..." if len(self.at_fault) > AT_FAULT_SHOWN else "")
                + ")"
            ]
            if self.at_fault
            else []
        )


class Refused(Exception):
    """A family that cannot be stored (its head is refused, or a command failed after it had
    changed the household): every row of it is rejected with this code."""

    def __init__(self, code: str, member: Member | None = None, column: str = "") -> None:
        super().__init__(code)
        self.code, self.member, self.column = code, member, column


class Importer:
    """One import of one source's files into `app`."""

    def __init__(
        self,
        app: Casework,
        kind: str,
        period: str,
        actor: Actor = SYSTEM,
        batch: int = BATCH,
        max_rate: float | None = None,
        own_process: bool = False,
        keep_causes: bool = False,
    ) -> None:
        self.app, self.kind, self.source, self.period = app, kind, SOURCES[kind], period
        self.actor, self.batch, self.max_rate = actor, max(batch, 1), max_rate
        # the import is the process's only work (the CLI): the collector may be tuned for it
        self.own_process = own_process
        # the rows refused because of others kept with their causes beside the reports (the
        # web's import: its download says them in the page's language)
        self.keep_causes = keep_causes
        self.meta_source = f"import:{kind}"
        self.optimistic = True
        self.family_meta: dict[str, Any] | None = None
        # where a word to the person running the import goes (the CLI: stderr)
        self.notice: Callable[[str], None] = log.warning
        self.spool: Spool | MemorySpool | None = None  # the files' scratch file, as stored

    # ---- one family ------------------------------------------------------------------------

    def _meta(self) -> dict[str, Any]:
        """The meta of the family being imported: its commands are carried out together,
        at one moment (`apply` makes it once per family)."""
        if self.family_meta is None:
            self.family_meta = make_meta(self.actor, self.meta_source)
        return self.family_meta

    def _run(self, name: str, cmd: dict[str, Any]) -> Any:
        """A command as the actor's own: authorised as an import's (`app.auth.authorize_import`:
        an importer records the import's commands, anyone else as the command path decides;
        Forbidden, a DomainError, when refused), then carried out."""
        authorize_import(self.app, self.actor, name, cmd)
        return self.app.execute(name, cmd, self._meta())

    def _try(
        self,
        name: str,
        cmd: dict[str, Any],
        household_id: str,
        before: int,
        member: Member,
        out: list,
    ) -> int:
        """A member's command on the household at version `before`; answers its version
        after. Refused by a rule checked before anything changed, the row is rejected and the
        family goes on; refused after a change, the family is refused."""
        try:
            return self._run(name, cmd).version
        except DomainError as error:
            if self.app.get_household(household_id).version != before:
                raise Refused(error.code, member) from None
            out.append(Rejection(member.table, member.row, member.column(error.field), error.code))
            return before

    def apply(self, family: Family, out: list[Rejection]) -> str:
        """Carry out one family's commands (inside a `together()` block); answers imported,
        updated or unchanged. Optimistic: assume a new family and new NIKs (no reads)."""
        self.family_meta = None
        household_id = None
        if not self.optimistic:
            if family.kk_number:
                household_id = self.app.household_id_for_kk(family.kk_number)
            if household_id is None and family.kk_number is None and family.nik:
                household_id = self.app.household_id_for_nik(family.nik)
        if household_id is None:
            return self._register(family, out)
        return self._update(family, str(household_id), out)

    def _elsewhere(self, member: Member, household_id: str | None) -> bool:
        if self.optimistic:
            return False
        found = self.app.household_id_for_nik(member.person["nik"])
        return found is not None and str(found) != household_id

    def _register(self, family: Family, out: list[Rejection]) -> str:
        head = family.head
        if family.met is not None and family.kk_number is None:  # its NIK found no household
            raise Refused("import.nik_not_member", family.met, family.met.column("nik"))
        if family.kk_number is None or family.place is None:
            raise Refused(
                "import.household_unknown" if self.kind == "verval" else "import.kk_missing"
            )
        if head is None:
            raise Refused("import.no_head")
        if head.deceased:
            raise Refused("import.head_deceased", head)
        if self._elsewhere(head, None):
            raise Refused("import.nik_elsewhere", head, head.column("nik"))
        try:
            stored = self._run(
                "RegisterHousehold",
                {"kk_number": family.kk_number, **family.place, "head": head.person},
            )
        except DomainError as error:
            raise Refused(error.code, head, head.column(error.field)) from None
        household_id = stored.stream_id
        self._members(family, household_id, out)
        self._facts(family, household_id)
        return "imported"

    def _members(self, family: Family, household_id: str, out: list[Rejection]) -> int:
        household = self.app.get_household(household_id)
        known, version = household.members, household.version
        added = 0
        for member in family.members:
            if member.person["nik"] in known or member.deceased:
                continue  # a known person: nothing duplicated; the dead are only listed
            if member.relationship == HEAD:  # the source's head, on a KK with another head
                column = member.column("relationship")
                out.append(Rejection(member.table, member.row, column, "import.second_head"))
                continue
            if self._elsewhere(member, household_id):
                column = member.column("nik")
                out.append(Rejection(member.table, member.row, column, "import.nik_elsewhere"))
                continue
            cmd = {
                "household_id": household_id,
                "person": member.person,
                "relationship": member.relationship,
            }
            after = self._try("AddMember", cmd, household_id, version, member, out)
            added += after != version
            version = after
        return added

    def _facts(self, family: Family, household_id: str) -> int:
        """The decile, the verification and the listing, when not recorded yet."""
        household = self.app.get_household(household_id)
        done = 0
        if family.desil is not None and not any(
            a["source"] == self.source and a["period"] == self.period and a["desil"] == family.desil
            for a in household.assessments
        ):
            self._run(
                "RecordWelfareAssessment",
                {
                    "household_id": household_id,
                    "source": self.source,
                    "desil": family.desil,
                    "period": self.period,
                    "reference": family.reference,
                },
            )
            done += 1
        if family.verification is not None and family.verification not in household.verifications:
            self._run("RecordVerification", {"household_id": household_id, **family.verification})
            done += 1
        listing = {"source": self.source, "period": self.period, "reference": family.reference}
        said = listing_of(family, household.kk_number)
        content = listing_content(self.source, self.period, **said)
        if listing not in getattr(household, "source_listings", []) and content not in getattr(
            household, "listing_contents", []
        ):  # neither this row again nor the same listing under another file's name
            self._run("RecordSourceListing", {"household_id": household_id, **said, **listing})
            done += 1
        return done

    def _update(self, family: Family, household_id: str, out: list[Rejection]) -> str:
        household = self.app.get_household(household_id)
        met = family.met
        if met is not None and not is_member(household, met.person["nik"]):
            # the person met (verval) is no member of the household of that KK number
            raise Refused("import.nik_not_member", met, met.column("nik"))
        before = household.version
        self._members(family, household_id, out)
        self._facts(family, household_id)
        return "updated" if self.app.get_household(household_id).version != before else "unchanged"

    # ---- batches -----------------------------------------------------------------------------

    def _refuse(self, family: Family, refused: Refused, out: list[Rejection]) -> None:
        """Every row of the family rejected: the row at fault with the reason, the others as
        refused because of it (naming it); a family without a head names its rows refused
        as the files were read (the head's may be among them)."""
        member = refused.member
        causes: tuple[tuple[str, int, str], ...] = ()
        whose = ""
        if member is not None:
            causes = ((member.table, member.row, refused.code),)
            whose = HEAD_ROW if member.relationship == HEAD else ""
        elif refused.code == "import.no_head" and self.spool is not None and family.kk_number:
            causes = tuple(self.spool.refused_of(family.kk_number, OWN_CAUSES))
        for table, row in family.rows:
            at_fault = member is not None and (member.table, member.row) == (table, row)
            if at_fault or member is None:
                column = refused.column if at_fault else ""
                out.append(Rejection(table, row, column, refused.code, () if at_fault else causes))
            else:
                out.append(Rejection(table, row, "", "import.family_refused", causes, whose))

    def _drop_unstored_keys(self) -> None:
        """After a save that failed: in its own process (the CLI, one writing thread) the keys
        it made are dropped from memory. In the web process they stay (another thread's
        save may need them); a save stores only the keys its own events use, so they reach
        the key store only with an event that uses them."""
        if self.own_process:
            drop_unstored_keys(self.app)

    def _batch(self, families: list[Family], counts: Counter, out: list[Rejection]) -> None:
        if self.optimistic:
            found: list[Rejection] = []
            outcomes: Counter = Counter()
            try:
                with self.app.together():
                    for family in families:
                        outcomes[self.apply(family, found)] += 1
            except (Refused, DomainError):
                self.optimistic = False  # a known family or NIK: read from now on
                self._drop_unstored_keys()
            else:
                counts.update(outcomes)
                out.extend(found)
                return
        known = 0
        for family in families:
            found = []
            try:
                with self.app.together(optimistic=False):
                    outcome = self.apply(family, found)
            except Refused as refused:
                self._refuse(family, refused, out)
                counts["rejected"] += 1
                continue
            except DomainError as error:
                # another writer claimed a number meanwhile (Conflict), or a fact of a known
                # family refused (Forbidden: the actor may not record it): nothing of it kept
                self._drop_unstored_keys()
                self._refuse(family, Refused(error.code), out)
                counts["rejected"] += 1
                continue
            counts[outcome] += 1
            out.extend(found)
            known += outcome != "imported"
        self.optimistic = known == 0  # a batch of new families only: try the next optimistically

    def run(
        self,
        paths: list[Path],
        progress: Callable[[int], Progress] | None = None,
    ) -> Summary:
        started = time.monotonic()
        paths = [Path(p) for p in paths]
        # In its own process (the CLI), what lives when the import starts outlives the rows
        # and the batches: kept out of the collector's passes, which would otherwise walk all
        # of it again each time the rows' and the batches' short-lived objects trigger a full
        # one; put back when done. Not in the web process, where freezing would hold back
        # every other thread's garbage too. (The files, their rows and their families are
        # never held whole: nothing of them to freeze.)
        if not self.own_process:
            return self._run_files(paths, started, progress)
        gc.freeze()
        try:
            return self._run_files(paths, started, progress)
        finally:
            gc.unfreeze()

    def _run_files(
        self, paths: list[Path], started: float, progress: Callable[[int], Progress] | None
    ) -> Summary:
        parsed = parse(self.kind, paths, both_cores=self.own_process)
        try:
            return self._store(parsed, paths, started, progress)
        finally:
            parsed.close()

    def _store(
        self,
        parsed: Parsed,
        paths: list[Path],
        started: float,
        progress: Callable[[int], Progress] | None,
    ) -> Summary:
        summary = Summary(self.kind, rows=parsed.rows, encodings=parsed.encodings)
        self.spool = parsed.spool
        checkpoint = Checkpoint(
            paths[0], import_files.file_hash(paths) + f":{self.kind}:{self.period}"
        )
        # the counts of the families done before (the checkpoint's) are not this run's: the
        # summary says what this run did, and the families it skipped
        done, before, late = checkpoint.load()
        if checkpoint.distrusted:
            self.notice(checkpoint.distrusted)
        done = min(done, parsed.family_count)
        summary.skipped = done
        counts: Counter = Counter()
        # the families every row of which was refused while the files were read: never
        # built, so the batches below do not count them; they are refused all the same (a
        # resumed run reads the files again, and counts them again)
        refused_reading = Counter(rejected=parsed.spool.families_refused())
        bar = progress(parsed.rows_total) if progress else None
        rows_done = parsed.rows_until(done)
        # one batch of families in memory at a time: each built from the scratch file when
        # its batch comes (`Parsed.families`, a generator); the rows refused as a family is
        # built go with those refused as it is stored, into the checkpoint
        for chunk in batches(parsed.families(after=done, out=late), self.batch):
            self._batch(chunk, counts, late)
            done += len(chunk)
            rows_done += sum(f.read for f in chunk)
            checkpoint.save(done, before + counts, late)
            if bar is not None:
                bar.update(rows_done)
            if self.max_rate:
                ahead = rows_done / self.max_rate - (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(ahead)
        if bar is not None and not parsed.family_count:
            bar.update(0)
        parsed.spool.extend(late)
        summary.families = counts + refused_reading
        summary.rejected_rows = parsed.spool.rejected_rows()
        summary.families_seen = parsed.spool.families_seen()
        summary.families_with_rejected_rows = parsed.spool.families_with_rejections()
        summary.seconds = time.monotonic() - started
        summary.reports = write_reports(parsed, self.keep_causes)
        summary.at_fault = [at_fault(cause) for cause in parsed.spool.causes()]
        summary.at_fault.sort(key=lambda fault: fault[1])
        return summary


def at_fault(cause: str) -> tuple[str, list[tuple[str, int]]]:
    """The rows at fault of a kept cause: whose they are, and (file, row) each."""
    whose, causes = cause_of(cause)
    return whose, list(dict.fromkeys((table, row) for table, row, _ in causes))


def at_fault_text(whose: str, rows: list[tuple[str, int]]) -> str:
    """The rows at fault as the summary on stdout names them: `FILE row N`, with whose they
    are (the head's, the family's row)."""
    prefix = {HEAD_ROW: "the head's ", FAMILY_ROW: "the family's "}.get(whose, "")
    return prefix + ", ".join(f"{table} row {row}" for table, row in rows)


def batches(families: Iterator[Family], size: int) -> Iterator[list[Family]]:
    """The families, `size` at a time, each batch made when asked for."""
    chunk: list[Family] = []
    for family in families:
        chunk.append(family)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def is_member(household: Any, nik: str) -> bool:
    """Whether the NIK is a member of the household, as the register finds a household by
    a NIK (`household_id_for_nik`): an active member, or one who died in it."""
    member = household.members.get(nik)
    return member is not None and member["status"] in ("active", "deceased")


def listing_of(family: Family, kk_number: str) -> dict[str, Any]:
    """What the source says about the family (RecordSourceListing's fields); the household's
    KK number when the source gives none (P3KE without `no_kk`)."""
    return {
        "kk_number": family.kk_number or kk_number,
        "members": [
            {
                "nik": m.person["nik"],
                "relationship": m.relationship,
                "deceased": m.deceased,
            }
            for m in family.members
        ],
        "desil": family.desil,
        "benefits": family.benefits,
    }


@cache
def importer_version() -> str:
    """A digest of the code of DECIDING_MODULES and of this module (`code_digest`): another
    version of the code that decides which families the files yield."""
    digest = hashlib.sha256()
    for source in (*(m.__file__ for m in DECIDING_MODULES), __file__):
        digest.update(code_digest(Path(str(source)).read_text(encoding="utf-8")))
    return digest.hexdigest()[:16]


def code_digest(source: str) -> bytes:
    """A digest of what a module's source does: its syntax tree without its docstrings (or any
    other lone string statement), so that a comment, a docstring or the layout of the lines
    leaves it as it is, while any change to the code changes it."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        for name, value in ast.iter_fields(node):
            if isinstance(value, list) and any(_lone_string(s) for s in value):
                setattr(node, name, [s for s in value if not _lone_string(s)])
    return hashlib.sha256(ast.dump(tree).encode()).digest()


def _lone_string(statement: ast.AST) -> bool:
    """A statement that is only a string (a docstring): it does nothing."""
    return (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Constant)
        and isinstance(statement.value.value, str)
    )


class Checkpoint:
    """`FILE.progress.json`: how many families of these files (by their hash, source and
    period) are done, by which version of the importer (`importer_version`), the counts of
    every run so far and the rows rejected while building and storing them (a run that skips
    those families reports them from here). A checkpoint of other files or of another
    version of the importer is not trusted: the files are imported from their start again
    (which adds nothing for the families already imported), and `distrusted` says why."""

    def __init__(self, first: Path, identity: str) -> None:
        self.path = first.with_name(first.name + ".progress.json")
        self.identity = identity
        self.distrusted = ""

    def load(self) -> tuple[int, Counter, list[Rejection]]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return 0, Counter(), []
        if not isinstance(data, dict):
            return 0, Counter(), []
        if data.get("hash") != self.identity or data.get("importer") != importer_version():
            if data.get("families_done"):
                what = (
                    "other files, source or period"
                    if data.get("hash") != self.identity
                    else "another version of the importer"
                )
                self.distrusted = (
                    f"{self.path.name} was written for {what}: the files are imported from"
                    " their start again (the families already imported add nothing)"
                )
            return 0, Counter(), []
        rejected = [Rejection.of(r) for r in data.get("rejected", [])]
        return int(data.get("families_done", 0)), Counter(data.get("counts", {})), rejected

    def save(self, families_done: int, counts: Counter, rejected: list[Rejection]) -> None:
        data = {
            "hash": self.identity,
            "importer": importer_version(),
            "families_done": families_done,
            "counts": dict(counts),
            "rejected": [
                [r.table, r.row, r.column, r.code, [list(c) for c in r.causes], r.whose]
                for r in rejected
            ],
        }
        partial = self.path.with_name(self.path.name + ".tmp")
        partial.write_text(json.dumps(data))
        os.replace(partial, self.path)


_BABEL = Flask("casework.import")
init_babel(_BABEL)


def reason(code: str) -> str:
    """The message of an error code in Bahasa Indonesia (outside any request)."""
    with _BABEL.app_context(), force_locale("id"):
        return import_message(code)


def write_reports(parsed: Parsed, keep_causes: bool = False) -> list[str]:
    """`FILE.rejected.csv` beside each file with rejected rows (UTF-8 with a BOM, for
    spreadsheets), by table, row and column; an older report of a file now without
    rejections is removed. With `keep_causes`, beside each report its rows refused because of
    others with the rows at fault (`FILE.rejected.causes.jsonl`: `read_causes`), so that they
    can be said again in another language."""
    files = {t.name: t.file for t in parsed.tables}
    paths = list(dict.fromkeys(t.file for t in parsed.tables))
    handles: dict[Path, Any] = {}
    writers: dict[Path, Any] = {}
    kept: dict[Path, Any] = {}
    try:
        with _BABEL.app_context(), force_locale("id"):
            for table, row, column, code, cause in parsed.spool.rejections():
                path = files.get(table, paths[0])
                writer = writers.get(path)
                if writer is None:
                    report = path.with_name(path.name + REPORT)
                    handles[path] = report.open("w", encoding="utf-8-sig", newline="")
                    writer = writers[path] = csv.writer(handles[path], lineterminator="\r\n")
                    writer.writerow(REPORT_HEADER)
                    if keep_causes:
                        kept[path] = causes_path(report).open("w", encoding="utf-8")
                whose, causes = cause_of(cause)
                writer.writerow(
                    [
                        cell(table),
                        row,
                        cell(column),
                        code,
                        cell(import_message(code, whose, causes, table)),
                    ]
                )
                if causes and keep_causes:
                    at_fault = [list(c) for c in causes]
                    kept[path].write(json.dumps([table, row, column, code, at_fault, whose]) + "\n")
    finally:
        for handle in (*handles.values(), *kept.values()):
            handle.close()
    for path in paths:
        report = path.with_name(path.name + REPORT)
        if path not in writers:
            report.unlink(missing_ok=True)
        if path not in kept:
            causes_path(report).unlink(missing_ok=True)
    return [str(path.with_name(path.name + REPORT)) for path in paths if path in writers]


def causes_path(report: Path) -> Path:
    """Where the rows of a report refused because of others are kept with their causes."""
    return report.with_name(report.name.removesuffix(REPORT) + ".rejected.causes.jsonl")


def read_causes(report: Path) -> dict[tuple[str, str, str, str], Rejection] | None:
    """The rows of a report (`FILE.rejected.csv`) refused because of others, with the rows at
    fault, by the report's cells (file, row, column, code); None when they were not kept
    (the CLI's report, or one written before they were)."""
    try:
        with causes_path(report).open(encoding="utf-8") as handle:
            found = [Rejection.of(json.loads(line)) for line in handle if line.strip()]
    except (OSError, ValueError, TypeError):  # none kept, or not whole: the report's reasons
        return None
    return {(cell(r.table), str(r.row), cell(r.column), r.code): r for r in found}
