"""Checking an import's rows on both cores.

The first pass of an import (`app.import_layouts.parse`) reads every row and checks it with
the command schemas; those checks (marshmallow loads: a person, a family's place, a decile)
are about two thirds of the pass. When the import is its process's only work (the CLI) and
its files are large enough, `CheckAhead.start` forks a child that runs the same reader over
every other chunk of `CHUNK` rows and sends back, chunk by chunk, what the schemas answered
for the payloads it met (`Answers`). The parent still reads and checks every row itself, in
order, with every rule and every duplicate check; on a child's chunk it takes the schema's
answer for a payload from what the child sent instead of loading the same payload again.

What the parent does with a row is therefore what it does without the child; only where a
schema's answer comes from changes, and a schema answers the same for the same payload. A
payload the child did not meet (its reader saw other rows before it, as its scratch file is
its own and keeps nothing), a child that failed or is slow to answer: the parent loads the
payload itself. The child touches no database and exits without running any clean-up.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from marshmallow import Schema, ValidationError

log = logging.getLogger(__name__)

CHUNK = 100  # rows per chunk: the child checks the odd ones (`_child_owns`), the parent the rest
MIN_BYTES = 64 * 1024  # smaller files: the fork would cost more than the child saves
WAIT_SECONDS = 120.0  # a child that sends nothing for this long is given up on

Answer = tuple[dict[str, Any] | None, Any]  # (what the schema loaded, None) or (None, errors)


class Answers:
    """The schemas' answers by (schema name, payload): recorded in the child, taken (each
    once) in the parent while it reads one of the child's chunks."""

    def __init__(self) -> None:
        self.recording = False  # the child: keep every answer
        self.taking = False  # the parent, on a child's chunk: look answers up
        self.found: dict[tuple[str, Any], Answer] = {}
        self.taken = 0  # the parent: answers taken from the child (`CheckAhead.close` logs it)


ANSWERS = Answers()


def frozen(value: Any) -> Any:
    """A payload as a key: dicts and lists by their contents, scalars but text with their
    type (a flag `True` and a count `1` are different payloads)."""
    if type(value) is dict:
        return ("{}", tuple([(k, v if type(v) is str else frozen(v)) for k, v in value.items()]))
    if type(value) is list:
        return ("[]", tuple([frozen(item) for item in value]))
    if type(value) is str:
        return value
    return (type(value).__name__, value)


def loaded(name: str, schema: Schema, payload: dict[str, Any]) -> Answer:
    """The schema's answer for the payload: (what it loaded, None) or (None, its errors);
    the child's answer when it sent one for this payload."""
    answers = ANSWERS
    key = None
    if answers.taking or answers.recording:
        key = (name, frozen(payload))
        if answers.taking and (found := answers.found.pop(key, None)) is not None:
            answers.taken += 1
            return found
    try:
        answer: Answer = (schema.load(payload), None)
    except ValidationError as error:
        answer = (None, error.messages)
    if answers.recording and key is not None:
        answers.found[key] = answer
    return answer


def may_fork() -> bool:
    """Whether this process may fork a child that checks rows: the system forks, and no
    other thread runs here (a lock one holds would stay held in the child forever)."""
    return threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods()


def _child_owns(chunk: int) -> bool:
    return chunk % 2 == 1


class CheckAhead:
    """The parent's side: `rows(...)` passes a table's rows through, taking the child's
    answers for each of its chunks when the parent reaches it; `close()` ends the child."""

    def __init__(self, process: Any, conn: Any) -> None:
        self.process, self.conn = process, conn
        self.calls = 0  # rows(...) calls so far: a table's place in the reader's order
        self.pending: dict[tuple[int, int], dict] = {}
        self.live = True

    @classmethod
    def start(cls, paths: list[Path], run_child: Callable[[ChildSide], None]) -> CheckAhead | None:
        """A child checking ahead, or None when it would not pay (small files) or cannot be
        forked safely (no fork on this system, or other threads running here)."""
        if sum(Path(p).stat().st_size for p in paths) < MIN_BYTES:
            return None
        if not may_fork():
            return None
        context = multiprocessing.get_context("fork")
        receive, send = context.Pipe(duplex=False)
        process = context.Process(target=_child, args=(send, run_child), daemon=True)
        try:
            process.start()
        except OSError:
            log.warning("import: the rows are checked in one process (no fork)")
            return None
        send.close()
        ANSWERS.taken = 0
        return cls(process, receive)

    def rows(self, rows: Iterator[Any]) -> Iterator[Any]:
        call = self.calls
        self.calls += 1
        try:
            for index, item in enumerate(rows):
                if index % CHUNK == 0:
                    self._leave()
                    if _child_owns(index // CHUNK):
                        self._enter((call, index // CHUNK))
                yield item
        finally:
            self._leave()

    def _enter(self, tag: tuple[int, int]) -> None:
        answers = self.pending.pop(tag, None)
        while answers is None and self.live:
            message = self._receive()
            if message is None:
                break
            got, found = message
            if got == tag:
                answers = found
            elif got > tag:  # a chunk the parent reaches later
                self.pending[got] = found
                break
        if answers:
            ANSWERS.found, ANSWERS.taking = answers, True

    @staticmethod
    def _leave() -> None:
        ANSWERS.found, ANSWERS.taking = {}, False

    def _receive(self) -> Any:
        try:
            if self.conn.poll(WAIT_SECONDS):
                return self.conn.recv()
            log.warning("import: the child checking rows ahead did not answer; going on alone")
        except (EOFError, OSError):
            pass
        self.live = False
        return None

    def close(self) -> None:
        log.info(
            "import: %d of the rows' checks were answered by the second process", ANSWERS.taken
        )
        self._leave()
        self.pending.clear()
        self.conn.close()
        self.process.join(timeout=5 if self.live else 0)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


class ChildSide:
    """The child's side: `rows(...)` yields only the rows of the child's chunks and sends
    the answers of each chunk once its last row is done."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.calls = 0

    def rows(self, rows: Iterator[Any]) -> Iterator[Any]:
        call = self.calls
        self.calls += 1
        chunk = -1
        for index, item in enumerate(rows):
            if index % CHUNK == 0:
                self._send(call, chunk)
                chunk = index // CHUNK
            if _child_owns(chunk):
                yield item
        self._send(call, chunk)

    def _send(self, call: int, chunk: int) -> None:
        if chunk >= 0 and _child_owns(chunk):
            self.conn.send(((call, chunk), ANSWERS.found))
            ANSWERS.found = {}


def _child(conn: Any, run_child: Callable[[ChildSide], None]) -> None:
    """In the forked child: the reader over the child's chunks, then exit at once (nothing
    of the parent's, its databases included, is touched or closed here)."""
    code = 0
    try:
        ANSWERS.recording, ANSWERS.taking, ANSWERS.found = True, False, {}
        run_child(ChildSide(conn))
    except BaseException:  # noqa: BLE001 - the parent checks alone what the child did not
        code = 1
    finally:
        try:
            conn.close()
        finally:
            os._exit(code)
