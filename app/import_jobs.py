"""Imports started from the web (app/import_pages.py): the uploaded files and the state of
each import, kept under the data directory, and the import itself run in the background.

Each import is a folder `<IMPORT_DIR>/<job id>/` (mode 0700) holding the uploaded files
(mode 0600), `job.json` (who started it, the source, the period, the progress, and at the end
the summary; no personal data) and what app/importer.py writes beside the files: the
checkpoint `FILE.progress.json`, the rejected rows' report `FILE.rejected.csv` with
`FILE.rejected.causes.jsonl` (its rows refused because of others and the rows at fault, for
the download in the page's language), and while a large file is imported its scratch file
`FILE.import.sqlite` (mode 0600, removed at the end).

The uploaded files hold every row's personal data in clear, outside the store's per-person
encryption, so they are kept only while an import may still need them (`remove_uploads`,
`sweep`): an import that ended (done or failed) removes them, with its scratch file and
checkpoint, keeping `job.json` and the rejected rows' reports (no personal data). An
interrupted import keeps them for "Continue" until its owner removes them, `KEEP_DAYS` after
its last progress, or as soon as anyone's personal data is erased after its last start (an
erasure must reach every file of the data directory): the erasure's own request sweeps
(`app.command_path`), and so does every visit to the imports' pages.

The import runs in a thread of the web process that received the upload. The trade-off: no
extra process or queue to deploy, and the progress page of any web worker reads `job.json`;
but the import shares the worker's CPU with its pages, and it stops when that process
stops (a deploy, a crash, gunicorn recycling the worker). Nothing is lost then: the importer
saves each batch of families in one transaction and records the batches done in its
checkpoint, so the page shows the import as interrupted and "Continue" runs it again on the
same files, skipping what was done (a family's facts already present are skipped anyway).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import current_app

from adapters.bootstrap import keystore_of
from app.import_layouts import LayoutError
from app.importer import AT_FAULT_SHOWN, Importer
from app.progress import Progress
from domain.application import Actor, Casework

log = logging.getLogger("casework.import")

JOB_FILE = "job.json"
DEFAULT_DIR = "var/imports"  # IMPORT_DIR, where the imports from the web are kept
KEEP_DAYS = 7  # an interrupted import's files are kept this long after its last progress
# why an import's uploaded files were removed (`remove_uploads`)
ENDED, ERASURE, DISCARDED, EXPIRED = "ended", "erasure", "discarded", "expired"
# beside each uploaded file: a large file's scratch file (its checkpoint holds no personal data)
_BESIDE = (".import.sqlite", ".import.sqlite-journal")
_JOB_ID = re.compile(r"[0-9a-f]{32}")
RUNNING, DONE, FAILED, INTERRUPTED = "running", "done", "failed", "interrupted"
_THREADS: dict[str, threading.Thread] = {}  # the imports this process runs, by job id
_LOCK = threading.Lock()


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def private_write(path: Path, data: bytes) -> None:
    """Write a file readable and writable by its owner only, atomically."""
    partial = path.with_name(path.name + ".tmp")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(partial, path)


def new_job(root: Path, actor: Actor, kind: str, period: str) -> dict[str, Any]:
    """A new import's folder and its state (not saved until `save`)."""
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    job_id = uuid.uuid4().hex
    (root / job_id).mkdir(mode=0o700)
    return {
        "id": job_id,
        "owner": actor.id,
        "kind": kind,
        "period": period,
        "files": [],
        "state": RUNNING,
        "rows_done": 0,
        "rows_total": None,
        "rate": 0.0,
        "created_at": _now(),
        "updated_at": _now(),
        "summary": None,
        "error": None,
        "pid": os.getpid(),
    }


def import_root() -> Path:
    """The web app's imports folder (its `IMPORT_DIR`)."""
    return Path(current_app.config.get("IMPORT_DIR", DEFAULT_DIR))


def erasures_now(casework: Casework) -> int:
    """The key store's count of erasures now (`KeyStore.erasures`, for `sweep`)."""
    return keystore_of(casework).erasures()


def folder(root: Path, job: dict[str, Any]) -> Path:
    return root / job["id"]


def save(root: Path, job: dict[str, Any]) -> None:
    job["updated_at"] = _now()
    private_write(folder(root, job) / JOB_FILE, json.dumps(job).encode())


def load(root: Path, job_id: str) -> dict[str, Any] | None:
    """The import's state; None for an id that is not one (or not a readable import)."""
    if not _JOB_ID.fullmatch(job_id):
        return None
    job = _read(root / job_id / JOB_FILE)
    if job is not None and job.get("state") == RUNNING and not _alive(job):
        # Read again: an import that ended between the read and the check saved its end
        # before it stopped (the progress page would otherwise show a finished import as
        # interrupted, and stop asking).
        job = _read(root / job_id / JOB_FILE)
        if job is not None and job.get("state") == RUNNING:
            job["state"] = INTERRUPTED
    return job


def _read(path: Path) -> dict[str, Any] | None:
    try:
        job = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return job if isinstance(job, dict) else None


def recent(root: Path, owner: str, limit: int = 20) -> list[dict[str, Any]]:
    """The person's imports, the latest first."""
    if not root.is_dir():
        return []
    found = [job for entry in root.iterdir() if (job := load(root, entry.name)) is not None]
    mine = [job for job in found if job.get("owner") == owner]
    return sorted(mine, key=lambda job: job["created_at"], reverse=True)[:limit]


def _alive(job: dict[str, Any]) -> bool:
    """Whether a process still runs this import: this one (its thread), or another web worker
    (its process still exists)."""
    pid = job.get("pid")
    if pid == os.getpid():
        thread = _THREADS.get(job["id"])
        return thread is not None and thread.is_alive()
    try:
        os.kill(int(pid), 0)
    except (OSError, TypeError, ValueError):
        return False
    return True


def uploads(root: Path, job: dict[str, Any]) -> list[Path]:
    """The import's files that hold personal data and are still there: the uploaded files and
    a large file's scratch file."""
    directory = folder(root, job)
    found = []
    for name in job.get("files") or []:
        path = directory / Path(name).name
        found += [path, *(path.with_name(path.name + suffix) for suffix in _BESIDE)]
    return [path for path in found if path.is_file()]


def remove_uploads(root: Path, job: dict[str, Any], why: str) -> None:
    """Overwrite the import's uploaded files (and what lies beside them) with zeros and remove
    them, and say in `job.json` why and when; the summary and the rejected rows' reports stay."""
    for path in uploads(root, job):
        try:
            _shred(path)
        except OSError as error:
            log.warning("import %s: a file was not removed (%s)", job["id"], type(error).__name__)
    job["uploads_removed"] = {"why": why, "at": _now()}
    save(root, job)


def _shred(path: Path) -> None:
    """Overwrite the file with zeros, to its length, then remove it."""
    size = path.stat().st_size
    zeros = bytes(min(size, 1 << 20))
    with path.open("r+b") as handle:
        for offset in range(0, size, len(zeros) or 1):
            handle.write(zeros[: size - offset])
        handle.flush()
        os.fsync(handle.fileno())
    path.unlink()


def sweep(root: Path, erasures: int, now: dt.datetime | None = None) -> int:
    """Remove the uploaded files no import needs any more (`remove_uploads`); answers of how
    many imports. `erasures`: the key store's count of erasures now (`KeyStore.erasures`)."""
    if not root.is_dir():
        return 0
    now = now or dt.datetime.now(dt.UTC)
    removed = 0
    for entry in root.iterdir():
        job = load(root, entry.name)
        if job is None or not uploads(root, job):
            continue
        why = _why_remove(job, erasures, now)
        if why is not None:
            remove_uploads(root, job, why)
            removed += 1
    return removed


def _why_remove(job: dict[str, Any], erasures: int, now: dt.datetime) -> str | None:
    if job["state"] in (DONE, FAILED):
        return ENDED  # its process stopped between saying so and removing them
    if job["state"] != INTERRUPTED:
        return None  # running: it removes them at its end
    if job.get("erasures", erasures) != erasures:  # (an import from before they were counted:
        return ERASURE  # only its age removes its files)
    return EXPIRED if now > kept_until(job) else None


def kept_until(job: dict[str, Any]) -> dt.datetime:
    """Until when an interrupted import's files are kept: `KEEP_DAYS` after its last progress."""
    last = dt.datetime.fromisoformat(job["updated_at"].replace("Z", "+00:00"))
    return last + dt.timedelta(days=KEEP_DAYS)


def start(casework: Casework, root: Path, job: dict[str, Any], actor: Actor, erasures: int) -> None:
    """Run the import in a thread of this process, as `actor`. `erasures`: the key store's
    count of erasures now, kept with the import (`sweep`)."""
    with _LOCK:
        running = _THREADS.get(job["id"])
        if running is not None and running.is_alive():
            return
        job.update(state=RUNNING, pid=os.getpid(), error=None, erasures=erasures)
        save(root, job)
        thread = threading.Thread(
            target=run, args=(casework, root, job, actor), name=f"import-{job['id'][:8]}"
        )
        thread.daemon = True  # a stopping web process does not wait: the checkpoint resumes
        _THREADS[job["id"]] = thread
        thread.start()


def listener(root: Path, job: dict[str, Any]) -> Callable[[int, int, float], None]:
    def update(done: int, total: int, rate: float) -> None:
        job.update(rows_done=done, rows_total=total, rate=round(rate, 1))
        save(root, job)

    return update


def run(casework: Casework, root: Path, job: dict[str, Any], actor: Actor) -> None:
    """The import itself; its end (done, or failed with a reason) is saved in `job.json`.
    The log names the import and its counts, never a row's content."""
    directory = folder(root, job)
    paths = [directory / name for name in job["files"]]
    log.info("import %s (%s, %s) started by %s", job["id"], job["kind"], job["period"], actor.id)
    importer = Importer(casework, job["kind"], job["period"], actor=actor, keep_causes=True)

    def restarted(line: str) -> None:
        """A resumed import whose progress was not trusted starts over: the page says so."""
        log.warning("import %s: %s", job["id"], line)
        job.update(restarted=True)
        save(root, job)

    importer.notice = restarted
    try:
        summary = importer.run(
            paths,
            progress=lambda total: Progress(
                total, f"import {job['id'][:8]}", False, "rows", listener(root, job)
            ),
        )
    except LayoutError as error:
        job.update(
            state=FAILED,
            error={
                "code": "layout",
                "file": error.file,
                "missing": error.missing,
                "role": error.role,
                "found": error.found,  # header names only (import_layouts.header_found)
            },
        )
        save(root, job)
        remove_uploads(root, job, ENDED)
        log.info("import %s refused: not a %s file", job["id"], job["kind"])
        return
    except Exception as error:  # noqa: BLE001 - the page says it failed; the log says why
        job.update(state=FAILED, error={"code": "failed"})
        save(root, job)
        remove_uploads(root, job, ENDED)
        log.error("import %s failed: %s", job["id"], type(error).__name__)
        return
    families = dict(summary.families)
    job.update(
        state=DONE,
        rows_done=job["rows_total"] or summary.rows,
        summary={
            "rows": summary.rows,
            "families": families,
            "families_seen": summary.families_seen,
            "families_with_rejected_rows": summary.families_with_rejected_rows,
            "skipped": summary.skipped,
            "rejected_rows": summary.rejected_rows,
            "seconds": round(summary.seconds, 1),
            "rate": round(summary.rows_per_second, 1),
            "reports": [Path(report).name for report in summary.reports],
            "encodings": dict(summary.encodings),
            # the families refused because of other rows, and the first ones' rows at fault
            # (file names and row numbers only)
            "refused_for_others": len(summary.at_fault),
            "at_fault": [
                [whose, [list(at) for at in rows]]
                for whose, rows in summary.at_fault[:AT_FAULT_SHOWN]
            ],
        },
    )
    save(root, job)
    remove_uploads(root, job, ENDED)
    log.info(
        "import %s done: %d rows, %s, %d rows rejected",
        job["id"],
        summary.rows,
        families,
        job["summary"]["rejected_rows"],
    )
