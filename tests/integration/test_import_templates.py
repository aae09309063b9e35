"""The import form's guide to the sources' columns, and its header-only templates
(`/impor/templat/<name>`): a program manager reads there which columns each file must have,
downloads a workbook with that header, fills it in and imports it (SQLite store). That the
guide names the layouts' columns: tests/unit/test_import_guide.py."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from app.import_files import IDENTITY_COLUMNS, column
from app.import_layouts import GUIDE
from app.import_pages import TEMPLATES
from app.seed_data import generate_households
from tests.integration.test_import_web import fact, finished, registered, upload

pytestmark = [
    pytest.mark.integration,
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
]
FAMILY = next(iter(generate_households(1, 77)))


@pytest.fixture
def importing(web, tmp_path):
    web.config["IMPORT_DIR"] = str(tmp_path / "imports")
    return tmp_path / "imports"


def workbook(client, name: str):
    answer = client.get(f"/impor/templat/{name}")
    assert answer.status_code == 200, name
    assert answer.mimetype.endswith("spreadsheetml.sheet")
    assert f'filename="{name}"' in answer.headers["Content-Disposition"]
    return load_workbook(io.BytesIO(answer.data))


def test_the_form_lists_each_sources_columns_and_links_its_template(web, importing):
    page = web.test_client(user="pm_dinsos").get("/impor").text
    assert "Kolom wajib" in page and "Dibaca bila ada" in page
    assert "Berkas anggota DTSEN" in page and "Lembar individu P3KE" in page
    for kind, parts in GUIDE.items():
        for part in parts:
            assert ", ".join(part.required) in page, (kind, part.part)
    for name in TEMPLATES:
        assert f'href="/impor/templat/{name}"' in page
    # P3KE's two sheets are one workbook: each row says which sheet to fill in
    assert "lembar Keluarga" in page and "lembar Individu" in page
    assert "README" not in page


def test_each_template_is_the_layouts_header_with_identity_columns_as_text(web, importing):
    client = web.test_client(user="pm_dinsos")
    for name, (kind, held) in TEMPLATES.items():
        book = workbook(client, name)
        parts = [p for p in GUIDE[kind] if p.part in held]
        assert len(book.worksheets) == len(parts), name
        for sheet, part in zip(book.worksheets, parts, strict=True):
            header = [c.value for c in sheet[1]]
            assert header == [*part.required, *part.optional], name
            assert sheet.max_row == 1  # the header only
            bold = {c.value for c in sheet[1] if c.font.bold}
            assert bold == set(part.required), name
            for cell in sheet[1]:
                wanted = "@" if column(cell.value) in IDENTITY_COLUMNS else "General"
                assert sheet.column_dimensions[cell.column_letter].number_format == wanted
    assert client.get("/impor/templat/templat-lain.xlsx").status_code == 404
    refused = web.test_client(user="cw_sipin").get("/impor/templat/templat-dtks.xlsx")
    assert refused.status_code == 403


def test_a_filled_in_template_imports(web, importing, tmp_path):
    """The DTKS and P3KE templates filled in as a data steward would (the NIKs typed as text
    in their text columns) import their family."""
    client = web.test_client(user="pm_dinsos")
    register = FAMILY["register"]
    head = register["head"]
    values = {
        "nomor_kk": register["kk_number"],
        "no_kk": register["kk_number"],
        "nomor_nik": head["nik"],
        "nik": head["nik"],
        "nama": head["name"],
        "kepala_keluarga": head["name"],
        "tanggal_lahir": head["birth_date"],
        "jenis_kelamin": "L" if head["sex"] == "M" else "P",
        "hubungan_keluarga": "1",
        "hubungan_dengan_kepala_keluarga": "Kepala Keluarga",
        "kecamatan": register["kecamatan"],
        "desa_kelurahan": register["kelurahan"],
        "alamat": register["address"],
        "rt": register["rt"],
        "rw": register["rw"],
        "desil_kesejahteraan": "2",
        "id_keluarga_p3ke": "P3KE0000001",
        "id_individu": "P3KE0000001-0",
    }
    for name, kind in (("templat-dtks.xlsx", "dtks"), ("templat-p3ke.xlsx", "p3ke")):
        book = workbook(client, name)
        for sheet in book.worksheets:
            sheet.append([values.get(column(c.value), "") for c in sheet[1]])
        path = tmp_path / name
        book.save(path)
        sent = upload(client, path, kind=kind)
        assert sent.status_code == 303, sent.text
        done = finished(client, sent.headers["Location"])
        assert fact(done, "Baris ditolak") == "0", done
        assert fact(done, "Keluarga dalam berkas") == "1", done
        assert fact(done, "Keluarga ditolak") == "0", done
        # DTKS registers the family; P3KE then finds it by its KK number (`no_kk`)
        assert fact(done, "Keluarga didaftarkan") == ("1" if kind == "dtks" else "0"), done
    assert [kk for kk, _ in registered(web)] == [register["kk_number"]]
