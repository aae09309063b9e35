"""Importing the sources' files from the web (`/impor`): a program manager or an
administrator uploads a DTSEN (family file and member file), DTKS, P3KE or verval file with
the period it describes; the import runs in the background (app/import_jobs.py) as that
person, each command authorised as their own; its page (`/impor/<id>`, polled with htmx
until it ends) shows the rows done, the rate, the time left, then the summary and the
rejected rows' report as CSV.

For program managers and administrators (app/read_policy.py WEB); anyone else gets the
forbidden page. A person sees only their own imports. The files are kept under the data
directory (`IMPORT_DIR`, `var/imports`), readable by the process's owner only; an upload
larger than `IMPORT_MAX_BYTES`, of another kind (extension or content) or without the
layout's columns is refused with the field named, and nothing of it is kept. The uploaded
files are removed when the import ends, and those of an interrupted import after an erasure,
after `import_jobs.KEEP_DAYS` or when its owner asks (`import_jobs.sweep`): every visit here
sweeps (its progress polls do not).
"""

from __future__ import annotations

import csv
import os
import re
import shutil
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from openpyxl.styles import Font
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.utils import secure_filename

from app import import_jobs
from app.auth import web_actor
from app.context import services
from app.csv_export import csv_response, header
from app.import_cli import PeriodError
from app.import_cli import period as parse_period
from app.import_files import IDENTITY_COLUMNS, UnreadableFile, column, header_rows, read_tables
from app.import_jobs import import_root
from app.import_layouts import (
    FAMILY,
    FAMILY_ROW,
    GUIDE,
    HEAD_ROW,
    LAYOUTS,
    MEMBER,
    ROLES,
    SOURCES,
    LayoutError,
    Rejection,
    check_roles,
    duplicated,
    header_found,
)
from app.importer import OWN_CAUSES, REPORT_COLUMNS, read_causes
from app.messages import ERRORS, import_message, message
from app.progress import time_left
from app.web import check_csrf
from app.xlsx_export import workbook_bytes, xlsx_response

bp = Blueprint("imports", __name__, url_prefix="/impor")

DEFAULT_MAX_BYTES = 256 * 1024 * 1024  # a city's DTSEN member file is about 100 MB
EXTENSIONS = (".csv", ".txt", ".xlsx")
# The upload fields of each source: (form field, the index of the column set of the layout
# its header must hold: app/import_layouts.py LAYOUTS)
FILE_FIELDS = {
    "dtks": (("berkas", 0),),
    "p3ke": (("berkas", 0),),
    "verval": (("berkas", 0),),
    "dtsen": (("berkas", 0), ("berkas_anggota", 1)),
}


# The header-only workbooks offered on the form (`template`): file name -> the source and the
# parts of its guide (app/import_layouts.py GUIDE) it holds, one sheet each. DTSEN's two files
# are two uploads, so two workbooks; P3KE's family and individual sheets are one workbook.
TEMPLATES = {
    "templat-dtks.xlsx": ("dtks", ("rows",)),
    "templat-dtsen-keluarga.xlsx": ("dtsen", ("family",)),
    "templat-dtsen-anggota.xlsx": ("dtsen", ("member",)),
    "templat-p3ke.xlsx": ("p3ke", ("family", "member")),
    "templat-verval.xlsx": ("verval", ("rows",)),
}
PART_LABELS = {
    ("dtks", "rows"): _l("DTKS file (SIKS-NG export): one row per person"),
    ("dtsen", "family"): _l("DTSEN family file: one row per family"),
    ("dtsen", "member"): _l("DTSEN member file: one row per person"),
    ("p3ke", "family"): _l("P3KE family sheet: one row per family"),
    ("p3ke", "member"): _l("P3KE individual sheet: one row per person"),
    ("verval", "rows"): _l("Field verification (verval): one row per household visited"),
}
SHEET_NAMES = {"rows": "Data", "family": "Keluarga", "member": "Individu"}


def guide() -> list[dict[str, Any]]:
    """The form's guide: each source's files with the columns they must have and those read
    when present, and the template to download for each."""
    found = []
    for kind, parts in GUIDE.items():
        for part in parts:
            name, held = next(
                (n, held) for n, (k, held) in TEMPLATES.items() if k == kind and part.part in held
            )
            found.append(
                {
                    "kind": kind,
                    "label": str(PART_LABELS[(kind, part.part)]),
                    "required": part.required,
                    "optional": part.optional,
                    "template": name,
                    # the sheet to fill in, when the workbook has more than one
                    "sheet": SHEET_NAMES[part.part] if len(held) > 1 else None,
                }
            )
    return found


def max_bytes() -> int:
    return int(current_app.config.get("IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES))


def _mebibytes(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MB"


def erasures() -> int:
    return import_jobs.erasures_now(services().casework)


def sweep() -> None:
    """The uploaded files no import needs any more removed (`import_jobs.sweep`)."""
    import_jobs.sweep(import_root(), erasures())


def _form_page(values: dict[str, str], errors: dict[str, list[str]], status: int = 200):
    actor = web_actor()
    sweep()
    jobs = [_view(job) for job in import_jobs.recent(import_root(), actor.id)]
    return render_template(
        "imports/index.html",
        active="imports",
        values=values,
        errors=errors,
        sources=SOURCES,
        jobs=jobs,
        limit=_mebibytes(max_bytes()),
        guide=guide(),
    ), status


@bp.before_request
def _upload_limits():
    """An upload may be larger than the other forms' 1 MiB, up to IMPORT_MAX_BYTES: a larger
    one is answered on the form (413, the file field named), then the CSRF check as every
    form has."""
    if request.method != "POST":
        return None
    request.max_content_length = max_bytes()
    try:
        request.form  # noqa: B018 - parsing the body here meets its size limit
    except RequestEntityTooLarge:
        message = gettext(
            "The file is larger than %(limit)s. Split it (by kecamatan) and import the parts.",
            limit=_mebibytes(max_bytes()),
        )
        return _form_page({}, {"berkas": [message]}, 413)
    return check_csrf()


@bp.get("")
def index():
    return _form_page({"jenis": "dtks", "periode": ""}, {})


def _check_upload(
    field: str, storage: FileStorage | None, errors: dict[str, list[str]]
) -> str | None:
    """The upload's file name (made safe), or None with the field's error."""
    if storage is None or not storage.filename:
        errors.setdefault(field, []).append(gettext("Choose the file to import."))
        return None
    # the name alone (some browsers send the whole path), made safe for the file system
    name = secure_filename(re.split(r"[/\\]", storage.filename)[-1])[-100:]
    if not name.lower().endswith(EXTENSIONS) or name.startswith("."):
        errors.setdefault(field, []).append(
            gettext("Only CSV (.csv, .txt) and Excel (.xlsx) files can be imported.")
        )
        return None
    return name


def _check_layout(kind: str, field: str, wanted: int, path: Path) -> str | None:
    """None when the file's header has the layout's columns; otherwise the field's error."""
    columns = LAYOUTS[kind][1][wanted]
    if path.stat().st_size == 0:  # not "the columns are missing": there is nothing at all
        return gettext("The file is empty: choose the file the source sent.")
    rows = header_rows(path)
    if not rows:
        return gettext("The file is not a CSV or Excel (.xlsx) file.")
    header = next((names for names in rows if columns <= set(names)), None)
    if header is not None:
        if kind == "p3ke":  # its individual sheet may call the family id id_keluarga
            header = ["id_keluarga_p3ke" if n == "id_keluarga" else n for n in header]
        twice = duplicated(header)
        if twice:
            return gettext(
                "The file names the column %(columns)s more than once: which one to read is"
                " ambiguous. Keep one and upload the file again.",
                columns=", ".join(twice),
            )
        if kind in ROLES and len(FILE_FIELDS[kind]) == 1:  # both sheets in one workbook
            try:
                check_roles(kind, [path], read_tables(path, LAYOUTS[kind][1]))
            except LayoutError as error:
                return layout_text(kind, error)
            except UnreadableFile:
                return gettext("The file is not a CSV or Excel (.xlsx) file.")
        return None
    closest = min(rows, key=lambda names: len(columns - set(names)))
    return (
        gettext(
            "This is not a %(source)s file: the columns %(columns)s are missing (each source's"
            " columns are listed under the form, with a template).",
            source=SOURCES[kind],
            columns=", ".join(sorted(columns - set(closest))),
        )
        + " "
        + found_text(header_found(closest))
    )


def found_text(found: list[str]) -> str:
    """What a file's header has instead (no value of a row: `header_found`)."""
    if not found:
        return gettext("No header row was found in it.")
    return gettext("Its header has: %(names)s.", names=", ".join(found))


def at_fault_words(whose: str, rows: list[list], one_file: bool = False) -> str:
    """The rows at fault of a family refused because of them, in the page's language; the
    file named only when the import had more than one."""
    said = ", ".join(
        gettext("row %(row)s", row=row)
        if one_file
        else gettext("row %(row)s of %(file)s", row=row, file=table)
        for table, row in rows
    )
    if whose == HEAD_ROW:
        return gettext("the head's row: %(rows)s", rows=said)
    if whose == FAMILY_ROW:
        return gettext("the family row: %(rows)s", rows=said)
    return said


def layout_text(kind: str, error: LayoutError) -> str:
    """A file (of a source of two, which of them it was meant to be) not of its layout."""
    source, columns = SOURCES[kind], ", ".join(error.missing)
    if error.role == FAMILY and not error.file:
        return gettext(
            "None of the files is the %(source)s family file or sheet (columns %(columns)s).",
            source=source,
            columns=columns,
        )
    if error.role == FAMILY:
        said = gettext(
            "%(file)s is not the %(source)s family file or sheet: the columns %(columns)s are"
            " missing.",
            file=error.file,
            source=source,
            columns=columns,
        )
    elif error.role == MEMBER:
        said = gettext(
            "%(file)s is not the %(source)s member file or sheet: the columns %(columns)s are"
            " missing.",
            file=error.file,
            source=source,
            columns=columns,
        )
    else:
        return gettext(
            "%(file)s is not a %(source)s file: the columns %(columns)s are missing (each"
            " source's columns are listed under the form, with a template).",
            file=error.file,
            source=source,
            columns=columns,
        )
    return f"{said} {found_text(error.found)}"


@bp.get("/templat/<name>")
def template(name: str):
    """A header-only workbook of a source's layout (`TEMPLATES`): the columns a file must
    have (in bold), then those read when present; the NIK and KK number columns formatted as
    text, so that a spreadsheet keeps all 16 digits of what is typed there (as a number it
    keeps 15, and the import refuses the row)."""
    if name not in TEMPLATES:
        abort(404)
    kind, held = TEMPLATES[name]
    book = Workbook()
    book.remove(book.active)
    for part in GUIDE[kind]:
        if part.part not in held:
            continue
        sheet = book.create_sheet(SHEET_NAMES[part.part])
        names = [*part.required, *part.optional]
        sheet.append(names)
        for at, title in enumerate(names, start=1):
            cell = sheet.cell(row=1, column=at)
            cell.font = Font(bold=title in part.required)
            letter = cell.column_letter
            sheet.column_dimensions[letter].width = max(12, len(title) + 2)
            if column(title) in IDENTITY_COLUMNS:
                sheet.column_dimensions[letter].number_format = "@"
        sheet.freeze_panes = "A2"
    return xlsx_response(name, workbook_bytes(book))


@bp.post("")
def upload():
    values = {
        "jenis": (request.form.get("jenis") or "").strip()[:20],
        "periode": (request.form.get("periode") or "").strip()[:20],
    }
    errors: dict[str, list[str]] = {}
    kind = values["jenis"]
    if kind not in SOURCES:
        errors["jenis"] = [gettext("Choose the source of the file.")]
        return _form_page(values, errors, 422)
    try:
        period = parse_period(values["periode"])
    except PeriodError as refused:
        errors["periode"] = [
            gettext("Enter the period as YYYY-Qn, for example 2026-Q1.")
            if refused.code == "period.format"
            else message(refused.code)
        ]
    names = {
        field: _check_upload(field, request.files.get(field), errors)
        for field, _ in FILE_FIELDS[kind]
    }
    if len({n for n in names.values() if n}) < len([n for n in names.values() if n]):
        errors.setdefault("berkas_anggota", []).append(
            gettext("The member file must have another name than the family file.")
        )
    if errors:
        return _form_page(values, errors, 422)
    root = import_root()
    actor = web_actor()
    job = import_jobs.new_job(root, actor, kind, period)
    directory = import_jobs.folder(root, job)
    for field, wanted in FILE_FIELDS[kind]:
        path = directory / names[field]
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            request.files[field].save(handle)
        problem = _check_layout(kind, field, wanted, path)
        if problem:
            errors.setdefault(field, []).append(problem)
        job["files"].append(names[field])
    if errors:
        shutil.rmtree(directory)  # nothing of a refused upload is kept
        return _form_page(values, errors, 422)
    import_jobs.start(services().casework, root, job, actor, erasures())
    return redirect(url_for("imports.job_page", job_id=job["id"]), 303)


def _own_job(job_id: str) -> dict[str, Any]:
    """The import, if it is the signed-in person's (another's, or none: 404)."""
    job = import_jobs.load(import_root(), job_id)
    if job is None or job.get("owner") != web_actor().id:
        abort(404)
    return job


def _view(job: dict[str, Any]) -> dict[str, Any]:
    """What the pages show of an import."""
    total = job.get("rows_total")
    done = job.get("rows_done") or 0
    rate = job.get("rate") or 0.0
    running = job["state"] == import_jobs.RUNNING
    error = job.get("error") or {}
    summary = job.get("summary") or {}
    return {
        **job,
        "at_fault": [
            at_fault_words(whose, rows, len(job.get("files") or ()) == 1)
            for whose, rows in summary.get("at_fault", [])
        ],
        "error_text": layout_text(
            job["kind"],
            LayoutError(
                error.get("file", ""),
                error.get("missing", []),
                error.get("role", ""),
                error.get("found", []),
            ),
        )
        if error.get("code") == "layout"
        else None,
        "source": SOURCES[job["kind"]],
        "percent": round(100 * done / total) if total else 0,
        "files_kept": bool(import_jobs.uploads(import_root(), job)),
        "kept_until": import_jobs.kept_until(job).isoformat(),
        "keep_days": import_jobs.KEEP_DAYS,
        "time_left": time_left(done, total, rate) if running and total else None,
    }


@bp.get("/<job_id>")
def job_page(job_id: str):
    polled = request.headers.get("HX-Request")  # every 2 s while the import runs
    if not polled:
        sweep()
    job = _view(_own_job(job_id))
    template = "imports/_progress.html" if polled else "imports/job.html"
    return render_template(template, active="imports", job=job)


@bp.post("/<job_id>/lanjutkan")
def resume(job_id: str):
    """An interrupted import run again on the same files: its checkpoint skips what was done
    (nothing, when its files were removed: its page says why)."""
    sweep()
    job = _own_job(job_id)
    if job["state"] == import_jobs.INTERRUPTED and import_jobs.uploads(import_root(), job):
        import_jobs.start(services().casework, import_root(), job, web_actor(), erasures())
    return redirect(url_for("imports.job_page", job_id=job_id), 303)


@bp.post("/<job_id>/hapus-berkas")
def discard(job_id: str):
    """An interrupted import's uploaded files removed at its owner's asking (it can no longer
    be continued; what was imported stays)."""
    sweep()
    job = _own_job(job_id)
    if job["state"] == import_jobs.INTERRUPTED and import_jobs.uploads(import_root(), job):
        import_jobs.remove_uploads(import_root(), job, import_jobs.DISCARDED)
    return redirect(url_for("imports.job_page", job_id=job_id), 303)


@bp.get("/<job_id>/ditolak.csv")
def rejected_csv(job_id: str):
    """The rejected rows of every file of the import, as one CSV (file, row, column, code,
    reason: no personal data), headed and with the reasons in the page's language (the reports
    beside the files say them in Bahasa Indonesia)."""
    job = _own_job(job_id)
    directory = import_jobs.folder(import_root(), job)
    rows: list[list[str]] = []
    for report in (job.get("summary") or {}).get("reports", []):
        path = directory / Path(report).name
        if path.is_file():
            causes = read_causes(path)
            with path.open(encoding="utf-8-sig", newline="") as handle:
                rows.extend(_in_words(row, causes) for row in list(csv.reader(handle))[1:])
    return csv_response(f"impor-{job_id[:8]}-ditolak.csv", header(REPORT_COLUMNS, True), rows)


def _in_words(
    row: list[str], causes: dict[tuple[str, str, str, str], Rejection] | None
) -> list[str]:
    """A report's row with its reason said again from its code, in the request's language;
    one refused because of other rows names them (row, file when another, whose they are,
    their reasons) from the causes kept beside the report. An import whose causes were not
    kept (before they were) keeps the report's reason for it, which names them."""
    if len(row) != len(REPORT_COLUMNS) or row[3] not in ERRORS:
        return row
    if row[3] not in OWN_CAUSES:
        return [*row[:4], import_message(row[3])]
    if causes is None:
        return row
    refused = causes.get((row[0], row[1], row[2], row[3]))
    if refused is None:  # none at fault named (a family without a head, none of its rows refused)
        return [*row[:4], import_message(row[3])]
    return [*row[:4], import_message(refused.code, refused.whose, refused.causes, refused.table)]
