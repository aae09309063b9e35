"""Importing from the web (`/impor`): an upload runs in the background as the person who sent
it, its page follows the rows to the end, the rejected rows come as CSV; the commands are
authorised as that person's own; other roles are refused; a file too large or of another
kind is refused with the field named and nothing kept (SQLite store)."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
import time

import pytest
from openpyxl import load_workbook

from app import import_jobs
from app.auth import authorize_import
from app.seed_data import generate_households
from app.source_samples import (
    DTKS_HEADER,
    DTSEN_FAMILY_HEADER,
    VERVAL_HEADER,
    dtks_rows,
    dtsen_rows,
    write_csv,
    write_dtsen,
    write_p3ke,
)
from domain.application import Actor
from domain.approval import Forbidden
from tests.integration.conftest import add_users, bearer
from tests.support.signin import csrf_of, ensure_account

pytestmark = [
    pytest.mark.integration,
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
]
FAMILIES = list(generate_households(4, 31))
PERIOD = "2026-Q1"


@pytest.fixture
def importing(web, tmp_path):
    web.config["IMPORT_DIR"] = str(tmp_path / "imports")
    return tmp_path / "imports"


@pytest.fixture
def dtks_file(tmp_path):
    """Four families; the last row has an impossible birth date (row 2 is the first)."""
    rows = dtks_rows(FAMILIES)
    rows[-1][12] = "30-02-1990"
    return write_csv(tmp_path / "dtks_jambi.csv", DTKS_HEADER, rows), len(rows) + 1


def upload(client, path, kind="dtks", period=PERIOD, field="berkas"):
    token = csrf_of(client.get("/impor").text)
    with open(path, "rb") as handle:
        return client.post(
            "/impor",
            data={"csrf_token": token, "jenis": kind, "periode": period, field: handle},
            content_type="multipart/form-data",
        )


def finished(client, location: str) -> str:
    """The progress fragment the page polls, once it no longer asks to be polled again."""
    deadline = time.monotonic() + 60
    while True:
        fragment = client.get(location, headers={"HX-Request": "true"}).text
        if 'hx-trigger="every' not in fragment or time.monotonic() > deadline:
            return fragment
        time.sleep(0.05)


def registrations(web) -> list[tuple[str, str, dict]]:
    """The households registered in the store: KK number, id and the registration's meta."""
    app = web.extensions["casework"].casework
    found, after = [], 0
    while batch := app.recorder.select_notifications(after, 500, inclusive_of_start=False):
        for notification in batch:
            if notification.topic.endswith("HouseholdRegistered"):
                event = app.mapper.to_domain_event(notification)
                found.append((event.kk_number, str(event.originator_id), event.meta))
        after = batch[-1].id
    return found


def registered(web) -> list[tuple[str, dict]]:
    """The households registered in the store, with the meta of their registration."""
    return [(kk, meta) for kk, _, meta in registrations(web)]


def test_an_import_from_the_web_runs_to_its_end_as_the_person_who_sent_it(
    web, importing, dtks_file
):
    path, bad_row = dtks_file
    client = web.test_client()  # the administrator web-admin
    sent = upload(client, path)
    assert sent.status_code == 303
    location = sent.headers["Location"]
    page = client.get(location).text
    assert "<h1>Impor DTKS 2026-Q1</h1>" in page and "<progress" in page

    done = finished(client, location)
    assert "Selesai" in done and 'hx-trigger="every' not in done
    assert re.search(r"Keluarga didaftarkan</th><td class=\"num\">4<", done), done
    assert re.search(r"Baris ditolak</th><td class=\"num\">1<", done), done
    # the time in the page's language: "0,4 detik", not "0.4 s"
    assert re.search(r"Waktu</th><td class=\"num\">\d+(,\d+)? detik \(", done), done
    # and leads on to where the sources now disagree
    assert 'href="/rekonsiliasi">Di mana sumber data berbeda (rekonsiliasi)</a>' in done

    stored = registered(web)
    assert sorted(kk for kk, _ in stored) == sorted(f["register"]["kk_number"] for f in FAMILIES)
    assert {meta["source"] for _, meta in stored} == {"import:dtks"}
    assert {meta["actor"]["id"] for _, meta in stored} == {"web-admin"}

    answer = client.get(f"{location}/ditolak.csv")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(answer.text.lstrip("\ufeff"))))
    # headed and with its reason in the page's language (Bahasa Indonesia by default)
    assert rows[0] == ["Berkas", "Baris", "Kolom", "Kode kesalahan", "Alasan"]
    assert [r[:4] for r in rows[1:]] == [
        ["dtks_jambi.csv", str(bad_row), "tanggal_lahir", "birth_date.impossible"]
    ]
    assert rows[1][4].startswith("Tanggal lahir ini tidak ada di kalender")
    # in English when the person chose English
    client.get("/impor?lang=en")
    english = client.get(f"{location}/ditolak.csv").text
    rows = list(csv.reader(io.StringIO(english.lstrip("\ufeff"))))
    assert rows[0] == ["File", "Row", "Column", "Error code", "Reason"]
    assert rows[1][3] == "birth_date.impossible"
    assert rows[1][4].startswith("This birth date does not exist in the calendar")
    client.get("/impor?lang=id")
    # the report beside the file keeps its names (README) and says the reason in Indonesian
    [report] = importing.glob("*/dtks_jambi.csv.rejected.csv")
    kept = list(csv.reader(io.StringIO(report.read_text(encoding="utf-8-sig"))))
    assert kept[0] == ["berkas", "baris", "kolom", "kode", "alasan"]
    assert kept[1][4].startswith("Tanggal lahir ini tidak ada di kalender")
    # the person's list of imports links to it; the uploaded file, which holds every row's
    # personal data in clear, was removed when the import ended, and the page says so
    assert location in client.get("/impor").text
    left = sorted(p.name for p in importing.glob("*/dtks_jambi.csv*"))
    assert left == [  # no personal data in these
        "dtks_jambi.csv.progress.json",
        "dtks_jambi.csv.rejected.causes.jsonl",
        "dtks_jambi.csv.rejected.csv",
    ]
    assert "Berkas yang diunggah dihapus saat impor berakhir" in client.get(location).text
    # another person does not see it
    other = web.test_client(user="pm_dinsos")
    assert other.get(location).status_code == 404
    assert location not in other.get("/impor").text


def fact(fragment: str, label: str) -> str | None:
    """The number the summary shows beside `label` (None: no such line)."""
    found = re.search(rf"{re.escape(label)}</th><td class=\"num\">([^<]*)<", fragment)
    return found.group(1) if found else None


def test_a_family_every_row_of_which_is_refused_is_counted_in_the_summary(web, importing, tmp_path):
    """A KK every row of which has a bad NIK never becomes a family to store: the summary
    still counts it, among the families in the file and the refused ones, as the rejected
    rows' report lists its rows (it was left out: 4 families in the file, 3 registered and
    none refused)."""
    rows = dtks_rows(FAMILIES)
    nik, kk = DTKS_HEADER.index("NOMOR_NIK"), DTKS_HEADER.index("NOMOR_KK")
    lost = FAMILIES[1]["register"]["kk_number"]
    refused_lines = []
    for line, row in enumerate(rows, start=2):
        if row[kk] == lost:
            row[nik] = "1234"  # no NIK
            refused_lines.append(str(line))
    rows[-1][12] = "30-02-1990"  # and one bad row in another family, which is registered
    path = write_csv(tmp_path / "dtks_jambi.csv", DTKS_HEADER, rows)
    client = web.test_client()
    sent = upload(client, path)
    done = finished(client, sent.headers["Location"])
    assert fact(done, "Keluarga dalam berkas") == "4", done
    assert fact(done, "Keluarga didaftarkan") == "3"
    assert fact(done, "Keluarga ditolak") == "1"
    assert fact(done, "Keluarga dengan baris ditolak") == "2"
    assert fact(done, "Baris ditolak") == str(len(refused_lines) + 1)
    report = client.get(f"{sent.headers['Location']}/ditolak.csv").text
    listed = [r["Baris"] for r in csv.DictReader(io.StringIO(report.lstrip("\ufeff")))]
    assert set(refused_lines) <= set(listed)
    assert lost not in {kk for kk, _ in registered(web)}


def test_an_import_its_web_process_lost_is_shown_interrupted_and_continues_to_its_end(
    web, importing, dtks_file
):
    """An import whose web process stopped (a deploy, a crash) is shown interrupted with a
    button to continue; continuing runs it again on the kept files, to its end, as the
    person who continues it."""
    path, _ = dtks_file
    gone = subprocess.Popen(["true"])
    gone.wait()  # a process id that no longer runs
    job = import_jobs.new_job(importing, Actor("web-admin", "admin", None), "dtks", PERIOD)
    shutil.copy(path, import_jobs.folder(importing, job) / path.name)
    job.update(files=[path.name], rows_done=2, rows_total=5, pid=gone.pid)
    import_jobs.save(importing, job)
    client = web.test_client()
    location = f"/impor/{job['id']}"

    page = client.get(location, headers={"HX-Request": "true"}).text
    assert "Terhenti" in page and "Lanjutkan impor" in page and 'hx-trigger="every' not in page
    assert "disimpan untuk melanjutkan sampai" in page and "Hapus berkas yang diunggah" in page
    assert registered(web) == []
    token = csrf_of(client.get(location).text)
    resumed = client.post(f"{location}/lanjutkan", data={"csrf_token": token})
    assert resumed.status_code == 303 and resumed.headers["Location"].endswith(location)
    done = finished(client, location)
    assert "Selesai" in done and re.search(r"Keluarga didaftarkan</th><td class=\"num\">4<", done)
    assert len(registered(web)) == 4
    assert not (import_jobs.folder(importing, job) / path.name).exists()
    # continuing a finished import does nothing more
    client.post(f"{location}/lanjutkan", data={"csrf_token": token})
    assert "Selesai" in finished(client, location) and len(registered(web)) == 4


def test_a_continued_import_whose_progress_is_not_trusted_says_it_started_over(
    web, importing, dtks_file
):
    """Continuing an import whose kept progress was written by another version of the
    importer imports the files from their start (nothing twice), and its page says so."""
    path, _ = dtks_file
    gone = subprocess.Popen(["true"])
    gone.wait()
    job = import_jobs.new_job(importing, Actor("web-admin", "admin", None), "dtks", PERIOD)
    kept = import_jobs.folder(importing, job) / path.name
    shutil.copy(path, kept)
    job.update(files=[path.name], rows_done=2, rows_total=5, pid=gone.pid)
    import_jobs.save(importing, job)
    older = {"hash": "x", "importer": "0123456789abcdef", "families_done": 3, "counts": {}}
    kept.with_name(kept.name + ".progress.json").write_text(json.dumps(older))
    client = web.test_client()
    location = f"/impor/{job['id']}"
    token = csrf_of(client.get(location).text)
    assert client.post(f"{location}/lanjutkan", data={"csrf_token": token}).status_code == 303
    done = finished(client, location)
    assert "dimulai lagi dari awal berkasnya" in done
    assert re.search(r"Keluarga didaftarkan</th><td class=\"num\">4<", done), done
    assert len(registered(web)) == 4


def test_an_import_that_ends_while_its_page_is_read_is_shown_done(importing, monkeypatch):
    """The page reads the import's state, then asks whether its thread still runs: an import
    that saved its end and stopped in between is done, not interrupted (a race that showed
    finished imports as interrupted on a busy server, and stopped the page's polling)."""
    job = import_jobs.new_job(importing, Actor("web-admin", "admin", None), "dtks", PERIOD)
    import_jobs.save(importing, job)  # running, as its progress last said

    def ends_meanwhile(_job):
        ended = {**job, "state": import_jobs.DONE}
        (import_jobs.folder(importing, job) / import_jobs.JOB_FILE).write_text(json.dumps(ended))
        return False

    monkeypatch.setattr(import_jobs, "_alive", ends_meanwhile)
    assert import_jobs.load(importing, job["id"])["state"] == import_jobs.DONE
    monkeypatch.setattr(import_jobs, "_alive", lambda _job: False)
    import_jobs.save(importing, job)  # running, and no process runs it
    assert import_jobs.load(importing, job["id"])["state"] == import_jobs.INTERRUPTED


def test_a_program_managers_import_lands_as_their_own_commands(web, importing, dtks_file):
    """A program manager imports the sources' files (app.auth.IMPORTERS): the families are
    registered as the manager's own commands, the bad row reported."""
    path, bad_row = dtks_file
    client = web.test_client(user="pm_dinsos")
    sent = upload(client, path)
    assert sent.status_code == 303
    done = finished(client, sent.headers["Location"])
    assert re.search(r"Keluarga didaftarkan</th><td class=\"num\">4<", done), done
    stored = registered(web)
    assert sorted(kk for kk, _ in stored) == sorted(f["register"]["kk_number"] for f in FAMILIES)
    assert {(meta["actor"]["id"], meta["actor"]["role"]) for _, meta in stored} == {
        ("pm_dinsos", "program_manager")
    }
    answer = client.get(f"{sent.headers['Location']}/ditolak.csv").text
    rows = list(csv.DictReader(io.StringIO(answer.lstrip("\ufeff"))))
    assert [(r["Baris"], r["Kode kesalahan"]) for r in rows] == [
        (str(bad_row), "birth_date.impossible")
    ]


def test_an_import_records_only_the_import_commands_for_a_program_manager(web):
    """The import's exception is narrow: a program manager may not grant or erase through it,
    and a case worker's import is authorised command by command (their kelurahan only)."""
    casework = web.extensions["casework"].casework
    manager = Actor("pm_dinsos", "program_manager", "DINSOS")
    authorize_import(casework, manager, "RegisterHousehold", {"kelurahan": "Legok"})
    with pytest.raises(Forbidden):
        authorize_import(casework, manager, "RequestErasure", {"household_id": "x"})
    ensure_account(web, "cw_sipin")  # with its kelurahan, Simpang IV Sipin
    caseworker = Actor("cw_sipin", "caseworker", None)
    with pytest.raises(Forbidden):
        authorize_import(casework, caseworker, "RegisterHousehold", {"kelurahan": "Legok"})


def test_a_case_worker_is_refused(web, importing):
    """(Every role on every page: tests/integration/test_web_policy.py.)"""
    client = web.test_client(user="cw_sipin")
    refused = client.get("/impor")
    assert refused.status_code == 403
    assert "pengelola program" in refused.text  # the forbidden page says who the page is for
    assert "/impor" not in client.get("/").text  # no menu entry


def test_a_file_too_large_or_of_another_kind_is_refused_and_nothing_kept(
    web, importing, dtks_file, tmp_path
):
    path, _ = dtks_file
    client = web.test_client()
    web.config["IMPORT_MAX_BYTES"] = 1000
    too_large = upload(client, path)
    assert too_large.status_code == 413
    assert 'id="err-berkas"' in too_large.text and "1000" not in too_large.text
    assert "lebih besar" in too_large.text
    web.config["IMPORT_MAX_BYTES"] = 1 << 20

    verval = write_csv(tmp_path / "verval.csv", VERVAL_HEADER, [])
    wrong_layout = upload(client, verval)
    assert wrong_layout.status_code == 422
    error = re.search(r'id="err-berkas" class="field-error">([^<]*)<', wrong_layout.text)
    assert error and "DTKS" in error.group(1) and "nomor_nik" in error.group(1)

    pdf = tmp_path / "dtks.pdf"
    pdf.write_bytes(b"%PDF-1.4 not a table")
    assert upload(client, pdf).status_code == 422
    binary = tmp_path / "dtks.csv"
    binary.write_bytes(b"\x00\x01\x02 binary")
    assert upload(client, binary).status_code == 422
    wrong_period = upload(client, path, period="2026-Q5")
    assert wrong_period.status_code == 422 and 'id="err-periode"' in wrong_period.text
    for period in ("0000-Q1", "2999-Q1"):  # before any listing, or not begun yet
        refused = upload(client, path, period=period)
        error = re.search(r'id="err-periode" class="field-error">([^<]*)<', refused.text)
        assert refused.status_code == 422 and error and "2005-Q1" in error.group(1)

    assert not importing.exists() or list(importing.iterdir()) == []
    assert registered(web) == []


def test_a_file_naming_a_column_twice_or_without_a_line_break_is_refused_on_the_form(
    web, importing, tmp_path
):
    client = web.test_client()
    header = [*DTKS_HEADER, "NOMOR_NIK", "NAMA"]
    rows = [[*row, "3171010101010001", "SOMEONE ELSE"] for row in dtks_rows(FAMILIES)]
    twice = upload(client, write_csv(tmp_path / "dtks.csv", header, rows))
    assert twice.status_code == 422
    error = re.search(r'id="err-berkas" class="field-error">([^<]*)<', twice.text)
    assert error and "nama, nomor_nik" in error.group(1)
    one_line = tmp_path / "satu_baris.csv"
    one_line.write_text("|".join(DTKS_HEADER) + "|" + "z" * (1 << 20))
    refused = upload(client, one_line)
    assert refused.status_code == 422 and "CSV atau Excel" in refused.text
    assert not importing.exists() or list(importing.iterdir()) == []
    assert registered(web) == []


def test_a_continued_import_reports_the_same_rejected_rows(web, importing, tmp_path):
    """An import continued ("Lanjutkan impor") after every family was done skips them all by
    its checkpoint, and its rejected rows are still those of the first run: the rows refused
    as the families were put together (a second head) too."""
    rows = dtks_rows(FAMILIES)
    kk, relation = DTKS_HEADER.index("NOMOR_KK"), DTKS_HEADER.index("HUBUNGAN_KELUARGA")
    largest = max(FAMILIES, key=lambda f: len(f["members"]))["register"]["kk_number"]
    second = [i for i, r in enumerate(rows) if r[kk] == largest]
    rows[second[-1]][relation] = "1"  # a second head of family
    path = write_csv(tmp_path / "dtks_kepala.csv", DTKS_HEADER, rows)
    client = web.test_client()
    location = upload(client, path).headers["Location"]
    assert "Selesai" in finished(client, location)
    first = client.get(f"{location}/ditolak.csv").text
    assert f"dtks_kepala.csv,{second[-1] + 2},hubungan_keluarga,import.second_head" in first

    # its web process stopped before it said it was done (so before it removed the file):
    # shown interrupted, then continued
    gone = subprocess.Popen(["true"])
    gone.wait()
    job = import_jobs.load(importing, location.rsplit("/", 1)[-1])
    job.update(state=import_jobs.RUNNING, pid=gone.pid, uploads_removed=None)
    import_jobs.save(importing, job)
    shutil.copy(path, import_jobs.folder(importing, job) / path.name)
    token = csrf_of(client.get(location).text)
    assert client.post(f"{location}/lanjutkan", data={"csrf_token": token}).status_code == 303
    done = finished(client, location)
    assert "Selesai" in done
    assert re.search(r"Keluarga didaftarkan</th><td class=\"num\">0<", done), done
    assert import_jobs.load(importing, job["id"])["summary"]["skipped"] == len(FAMILIES)
    assert client.get(f"{location}/ditolak.csv").text == first


def test_the_summary_names_the_encoding_a_file_was_read_in(web, importing, tmp_path):
    """A file re-saved by a spreadsheet on Windows is read as Windows-1252: the summary says
    so, as the CLI's does, so that a name read wrongly can be traced to its encoding."""
    rows = dtks_rows(FAMILIES)
    rows[0][DTKS_HEADER.index("NAMA")] = "SITI MUÑOZ"
    path = write_csv(tmp_path / "dtks_windows.csv", DTKS_HEADER, rows, encoding="cp1252")
    client = web.test_client()
    done = finished(client, upload(client, path).headers["Location"])
    assert "Selesai" in done
    assert re.search(r"Pengodean teks</th><td>dtks_windows.csv: Windows-1252<", done), done


def test_an_empty_file_is_refused_as_empty(web, importing, tmp_path):
    """Not "this is not a DTKS file: the columns ... are missing", as if it were another
    source's file: a file of no bytes at all (a failed download, the wrong file picked)."""
    empty = tmp_path / "dtks.csv"
    empty.write_bytes(b"")
    refused = upload(web.test_client(), empty)
    assert refused.status_code == 422
    error = re.search(r'id="err-berkas" class="field-error">([^<]*)<', refused.text)
    assert error and "kosong" in error.group(1) and "nomor_nik" not in error.group(1)
    assert not importing.exists() or list(importing.iterdir()) == []


def test_a_p3ke_workbook_whose_individual_sheet_is_not_of_its_layout_is_refused(
    web, importing, tmp_path
):
    """The family sheet matches, the individual sheet does not: the upload is refused naming
    the individual sheet's columns it lacks and what its header has; not imported without
    its members. A file of another source says what its header has too."""
    workbook = write_p3ke(tmp_path / "p3ke.xlsx", FAMILIES)
    book = load_workbook(workbook)
    for cell in book["Individu"][12]:
        if cell.value == "nik":
            cell.value = "nik_anggota"
    book.save(workbook)
    client = web.test_client()
    refused = upload(client, workbook, kind="p3ke")
    assert refused.status_code == 422
    error = re.search(r'id="err-berkas" class="field-error">([^<]*)<', refused.text)
    assert error, refused.text
    said = error.group(1)
    assert "lembar anggota keluarga P3KE" in said and "kolom nik tidak ada" in said
    assert "nik_anggota" in said and "Judul kolomnya" in said
    assert not importing.exists() or list(importing.iterdir()) == []

    verval = write_csv(tmp_path / "verval.csv", VERVAL_HEADER, [])
    error = re.search(r'id="err-berkas" class="field-error">([^<]*)<', upload(client, verval).text)
    assert error and "Judul kolomnya: nomor_kk, nik, desil" in error.group(1)


def test_the_summary_and_the_rejected_rows_name_the_row_a_family_was_refused_for(
    web, importing, tmp_path
):
    """A family without a head (its head's NIK one digit short): the page's summary names
    the row at fault, and its other rows in the CSV name it, with its reason."""
    rows = dtks_rows(FAMILIES)
    nik = DTKS_HEADER.index("NOMOR_NIK")
    rows[0][nik] = rows[0][nik][:15]  # row 2: the first family's head
    path = write_csv(tmp_path / "dtks_kepala.csv", DTKS_HEADER, rows)
    client = web.test_client()
    location = upload(client, path).headers["Location"]
    done = finished(client, location)
    assert re.search(
        r"Keluarga yang ditolak karena baris lainnya</th><td>1\s*"
        r'<ul class="compact"><li>baris 2</li></ul>',  # one file: not named again
        done,
    ), done
    answer = client.get(f"{location}/ditolak.csv").text
    found = list(csv.reader(io.StringIO(answer.lstrip("\ufeff"))))[1:]
    no_head = [r for r in found if r[3] == "import.no_head"]
    assert no_head and all("Barisnya yang ditolak: baris 2: NIK" in r[4] for r in no_head)
    # in English on an English page: that row (one file: not named) and its reason
    english = rejected(client, location, "en")
    [head] = [r for r in english if r[1] == "2"]
    no_head = [r for r in english if r[3] == "import.no_head"]
    assert no_head and head[4].startswith("A NIK has exactly 16 digits")
    assert all(f"Its rows refused: row 2: {head[4]} If the head" in r[4] for r in no_head)


def rejected(client, location: str, lang: str) -> list[list[str]]:
    """The rejected rows' download, the page in `lang`."""
    client.get(f"/impor?lang={lang}")
    answer = client.get(f"{location}/ditolak.csv").text
    return list(csv.reader(io.StringIO(answer.lstrip("\ufeff"))))[1:]


def test_a_row_refused_because_of_another_says_it_and_names_that_row_in_the_pages_language(
    web, importing, tmp_path
):
    """DTSEN, the first family's row with a kelurahan of no city (family file, row 2): its
    members' rows (member file) are refused because of it. The download names that row, its
    file (another) and its reason, in English on an English page, in Indonesian on an
    Indonesian one; the report beside the file says it in Indonesian."""
    family_file, member_file = write_dtsen(tmp_path, FAMILIES)
    keluarga, anggota = dtsen_rows(FAMILIES)
    keluarga[0][DTSEN_FAMILY_HEADER.index("kelurahan_desa")] = "ANTAH BERANTAH"
    write_csv(family_file, DTSEN_FAMILY_HEADER, keluarga)
    members = sum(1 for row in anggota if row[0] == keluarga[0][0])
    client = web.test_client()
    token = csrf_of(client.get("/impor").text)
    with open(family_file, "rb") as families, open(member_file, "rb") as people:
        sent = client.post(
            "/impor",
            data={
                "csrf_token": token,
                "jenis": "dtsen",
                "periode": PERIOD,
                "berkas": families,
                "berkas_anggota": people,
            },
            content_type="multipart/form-data",
        )
    location = sent.headers["Location"]
    assert "Selesai" in finished(client, location)

    english = [r for r in rejected(client, location, "en") if r[3] == "import.family_refused"]
    assert len(english) == members and {r[0] for r in english} == {member_file.name}
    [own] = [r for r in rejected(client, location, "en") if r[:2] == [family_file.name, "2"]]
    assert own[4].startswith("This kelurahan is not one of Kota Jambi")  # in English
    for row in english:
        assert row[4] == (
            "The family was not imported because its family row was refused: row 2 of"
            f" {family_file.name}: {own[4]} Correct that row and import the file again."
        ), row
    indonesian = [r for r in rejected(client, location, "id") if r[3] == "import.family_refused"]
    [own_id] = [r for r in rejected(client, location, "id") if r[:2] == [family_file.name, "2"]]
    assert own_id[4] != own[4]
    for row in indonesian:
        assert f"baris 2 di {family_file.name}: {own_id[4]}" in row[4], row
        assert "The family" not in row[4]
    # the report beside the member file: the same Indonesian reasons, its columns as ever
    [report] = importing.glob(f"*/{member_file.name}.rejected.csv")
    kept = list(csv.reader(io.StringIO(report.read_text(encoding="utf-8-sig"))))
    assert kept[0] == ["berkas", "baris", "kolom", "kode", "alasan"]
    assert [r[4] for r in kept[1:] if r[3] == "import.family_refused"] == [r[4] for r in indonesian]
    # an import whose causes were not kept (one from before they were): the report's reason
    [causes] = importing.glob(f"*/{member_file.name}.rejected.causes.jsonl")
    causes.unlink()
    before = [r for r in rejected(client, location, "en") if r[3] == "import.family_refused"]
    assert [r[4] for r in before] == [r[4] for r in indonesian]


def interrupted(importing, path, **fields) -> dict:
    """An import of this file whose web process stopped after two of its rows (its file kept);
    `fields` change its state (`erasures`, the erasures counted when it started)."""
    gone = subprocess.Popen(["true"])
    gone.wait()  # a process id that no longer runs
    job = import_jobs.new_job(importing, Actor("web-admin", "admin", None), "dtks", PERIOD)
    shutil.copy(path, import_jobs.folder(importing, job) / path.name)
    job.update(files=[path.name], rows_done=2, rows_total=5, pid=gone.pid, erasures=0, **fields)
    import_jobs.save(importing, job)
    return job


def test_an_uploaded_file_is_readable_by_its_owner_only_while_it_is_kept(
    web, importing, dtks_file, monkeypatch
):
    """Its process stopped before the import ran: the file is kept for "Continue", 0600."""
    path, _ = dtks_file
    monkeypatch.setattr(
        import_jobs, "start", lambda _cw, root, job, *_: import_jobs.save(root, job)
    )
    location = upload(web.test_client(), path).headers["Location"]
    [saved] = importing.glob("*/dtks_jambi.csv")
    assert saved.stat().st_mode & 0o777 == 0o600
    assert "Lanjutkan impor" in web.test_client().get(location).text


def test_an_erasure_removes_the_files_kept_for_an_interrupted_import(web, importing, dtks_file):
    """The files of an interrupted import hold every row in clear, outside the per-person
    encryption: once a person is erased (requested, approved through the API), no file of
    the imports holds her NIK or her name, the import can no longer be continued, and its
    page says why and what to do. What was imported and the other imports' reports stay."""
    path, _ = dtks_file
    client = web.test_client()
    assert "Selesai" in finished(client, upload(client, path).headers["Location"])
    job = interrupted(importing, path)
    location = f"/impor/{job['id']}"
    wife = FAMILIES[0]["members"][0]["person"]
    nik, name = wife["nik"].encode(), wife["name"].upper().encode()  # DTKS writes names so
    kept = b"".join(p.read_bytes() for p in importing.rglob("*") if p.is_file())
    assert nik in kept and name in kept
    assert "Lanjutkan impor" in client.get(location).text

    tokens = add_users(web, ["sup1", "sup2"])
    kk = FAMILIES[0]["register"]["kk_number"]
    [household_id] = [stream for number, stream, _ in registrations(web) if number == kk]
    request = {"household_id": household_id, "nik": wife["nik"], "reason": "Permohonan"}
    asked = client.post(
        "/api/v1/commands/RequestErasure", json=request, headers=bearer(tokens["sup1"])
    )
    assert asked.status_code == 202, asked.json
    approval = {"approval_id": asked.json["approval_id"], "note": "ok"}
    approved = client.post(
        "/api/v1/commands/ApproveChange", json=approval, headers=bearer(tokens["sup2"])
    )
    assert approved.status_code == 201, approved.json

    kept = b"".join(p.read_bytes() for p in importing.rglob("*") if p.is_file())
    assert nik not in kept and name not in kept
    assert not (import_jobs.folder(importing, job) / path.name).exists()
    page = client.get(location).text
    assert "dihapus karena data pribadi seseorang dihapus" in page
    assert "Lanjutkan impor" not in page
    token = csrf_of(page)
    assert client.post(f"{location}/lanjutkan", data={"csrf_token": token}).status_code == 303
    assert import_jobs.load(importing, job["id"])["state"] == import_jobs.INTERRUPTED
    assert len(registered(web)) == len(FAMILIES)  # what was imported stays
    assert list(importing.glob("*/dtks_jambi.csv.rejected.csv"))  # the first import's report


def test_an_interrupted_imports_files_are_removed_by_its_owner_or_after_a_week(
    web, importing, dtks_file
):
    path, _ = dtks_file
    client = web.test_client()
    mine = interrupted(importing, path)
    location = f"/impor/{mine['id']}"
    token = csrf_of(client.get(location).text)
    # another person cannot remove them
    other = web.test_client(user="pm_dinsos")
    theirs = csrf_of(other.get("/impor").text)
    assert other.post(f"{location}/hapus-berkas", data={"csrf_token": theirs}).status_code == 404
    assert (import_jobs.folder(importing, mine) / path.name).exists()
    removed = client.post(f"{location}/hapus-berkas", data={"csrf_token": token})
    assert removed.status_code == 303
    assert not (import_jobs.folder(importing, mine) / path.name).exists()
    page = client.get(location).text
    assert "Anda menghapus berkas yang diunggah" in page and "Lanjutkan impor" not in page

    old = interrupted(importing, path)
    old["updated_at"] = "2026-01-01T00:00:00Z"  # its last progress, long ago
    (import_jobs.folder(importing, old) / import_jobs.JOB_FILE).write_text(json.dumps(old))
    recent = interrupted(importing, path)
    page = client.get(f"/impor/{old['id']}").text
    assert "dihapus 7 hari setelah impor terhenti" in page
    assert not (import_jobs.folder(importing, old) / path.name).exists()
    assert (import_jobs.folder(importing, recent) / path.name).exists()
