"""`casework import dtsen|dtks|p3ke|verval FILE... --period YYYY-Qn`: the arguments, the run
with a progress bar, and the summary on stdout (app/importer.py does the work)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from adapters.bootstrap import System
from app.import_layouts import SOURCES, AmbiguousLayout, LayoutError, Unreadable
from app.importer import BATCH, Importer
from app.progress import Progress
from domain.city import today
from domain.household import EARLIEST_PERIOD_YEAR, period_problem


class PeriodError(argparse.ArgumentTypeError):
    """A period refused: `code` is the domain's (`period.format`, `period.out_of_range`)."""

    def __init__(self, code: str) -> None:
        super().__init__(
            "a period is YYYY-Qn, e.g. 2026-Q1"
            if code == "period.format"
            else f"a period lies from {EARLIEST_PERIOD_YEAR}-Q1 to the current quarter"
        )
        self.code = code


def period(text: str) -> str:
    """The period the files describe, checked as every fact's is (`period_problem`), today."""
    value = text.strip().upper()
    problem = period_problem(value, today())
    if problem:
        raise PeriodError(problem)
    return value


MAX_BATCH = 100_000


def batch_size(text: str) -> int:
    """`--batch`: families per transaction, a whole number from 1 to MAX_BATCH."""
    try:
        number = int(text)
    except ValueError:
        number = 0
    if not 1 <= number <= MAX_BATCH:
        raise argparse.ArgumentTypeError(f"{text!r}: give a whole number from 1 to {MAX_BATCH}")
    return number


def rows_per_second(text: str) -> float:
    """`--max-rate`: rows per second, a number above 0."""
    try:
        rate = float(text)
    except ValueError:
        rate = 0.0
    if not 0 < rate < float("inf"):  # NaN fails too
        raise argparse.ArgumentTypeError(f"{text!r}: give a number of rows per second above 0")
    return rate


def arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("kind", choices=tuple(SOURCES), help="the source the files come from")
    parser.add_argument(
        "files",
        nargs="+",
        type=Path,
        metavar="FILE",
        help="CSV (pipe-delimited) or XLSX; DTSEN: the family file and the member file",
    )
    parser.add_argument(
        "--period",
        type=period,
        required=True,
        help="the period the source's data describe (YYYY-Qn), kept on every fact",
    )
    parser.add_argument(
        "--batch",
        type=batch_size,
        default=BATCH,
        metavar="N",
        help=f"families per transaction ({BATCH})",
    )
    parser.add_argument(
        "--max-rate",
        type=rows_per_second,
        default=None,
        metavar="ROWS",
        help="at most this many rows per second (to spare a busy store)",
    )
    return parser


def layout_problem(kind: str, error: LayoutError) -> str:
    """One line: which file is not of the layout (of a source of two files, which of the two
    it was meant to be), the columns it lacks, and what its header has instead."""
    missing = ", ".join(error.missing)
    if not error.role:
        return f"{error.file} is not a {kind} file: missing columns {missing} (README, Importing)"
    source = f"{SOURCES[kind]} {error.role} file"
    if not error.file:
        return f"none of the files is the {source} (columns {missing}) (README, Importing)"
    found = (
        f"its header has {', '.join(error.found)}"
        if error.found
        else "no header row was found in it"
    )
    return (
        f"{error.file} is not the {source}: it lacks the columns {missing}; {found}"
        " (README, Importing)"
    )


def run(system: System, args: argparse.Namespace) -> int:
    missing = [str(f) for f in args.files if not f.is_file()]
    if missing:
        print(f"casework import: no such file: {', '.join(missing)}", file=sys.stderr)
        return 2
    app = system.casework
    importer = Importer(
        app, args.kind, args.period, batch=args.batch, max_rate=args.max_rate, own_process=True
    )
    importer.notice = lambda line: print(f"casework import: {line}", file=sys.stderr)
    interactive = sys.stderr.isatty()
    try:
        summary = importer.run(
            args.files,
            progress=lambda total: Progress(total, f"importing {args.kind}", interactive, "rows"),
        )
    except Unreadable as error:
        print(f"casework import: {error.file}: {error.reason}", file=sys.stderr)
        return 2
    except AmbiguousLayout as error:
        print(
            f"casework import: {error.file} names the column {', '.join(error.duplicated)}"
            " more than once: which one to read is ambiguous; keep one (README, Importing)",
            file=sys.stderr,
        )
        return 2
    except LayoutError as error:
        print(f"casework import: {layout_problem(args.kind, error)}", file=sys.stderr)
        return 2
    finally:
        app.close()
    for line in summary.lines():
        print(line)
    return 0
