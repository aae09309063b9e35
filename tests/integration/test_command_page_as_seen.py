"""A command form as a case worker sees it: the command's title and what it does, never its
internal name; opened from a household's page, the household fixed (named, its id carried
hidden), an id changed on the way refused on its field; opened alone, a field that says what
to enter and where to find it; once saved, what was stored and for which family, with a link
to it, never a version number (the version stays where the server needs it: a hidden input)."""

from __future__ import annotations

import re
import uuid

import pytest

from domain.application import SYSTEM, make_meta
from tests.integration.test_api import HOUSEHOLD
from tests.integration.test_eligibility_api import project

pytestmark = pytest.mark.integration

META = make_meta(SYSTEM, "seed")
ELSEWHERE = {
    **HOUSEHOLD,
    "kk_number": "1571010101200099",
    "kelurahan": "Tahtul Yaman",
    "kecamatan": "Pelayangan",
    "head": {**HOUSEHOLD["head"], "nik": "1571015203850099", "name": "Rahmah Yusuf"},
}


def seen(page: str) -> str:
    """The words of a page's main part, without its tags and attributes."""
    main = page.split("<main", 1)[-1]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", main))


def tag(page: str, name: str) -> str | None:
    """The first input, select or textarea named `name`, as written."""
    found = re.search(rf'<(?:input|select|textarea)\b[^>]*\bname="{re.escape(name)}"[^>]*>', page)
    return found.group(0) if found else None


def form_of(page: str) -> dict[str, str]:
    """What a browser sends back of a form without typing: its hidden inputs."""
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page))


@pytest.fixture
def family(web) -> str:
    casework = web.extensions["casework"].casework
    hid = str(casework.register_household(HOUSEHOLD, META).stream_id)
    project(web)
    return hid


def test_the_form_shows_no_internal_command_name(web, family):
    page = web.test_client(user="cw_sipin").get(f"/perintah/AddCaseNote?household_id={family}")
    assert page.status_code == 200
    words = seen(page.text)
    assert "Tambah catatan kasus" in words, words[:400]
    assert "AddCaseNote" not in words, words[:400]
    assert 'class="command-name"' not in page.text
    assert 'data-command="AddCaseNote"' in page.text  # for scripts and tests, not for reading


def test_a_form_opened_for_a_household_fixes_it_and_hides_the_version(web, family):
    page = web.test_client(user="cw_sipin").get(f"/perintah/AddCaseNote?household_id={family}")
    words = seen(page.text)
    assert "Untuk rumah tangga Siti Aminah, Simpang IV Sipin" in words
    assert tag(page.text, "household_id") == (
        f'<input type="hidden" name="household_id" value="{family}">'
    )
    assert 'id="f-household_id"' not in page.text  # no box to type an id in
    assert "ID rumah tangga" not in words
    # the household's version: carried for the server's check, not shown nor offered to type
    assert tag(page.text, "expected_version") == (
        '<input type="hidden" name="expected_version" value="1">'
    )
    assert "versi" not in words.lower(), words


@pytest.mark.parametrize(
    ("changed", "said"),
    [
        (str(uuid.UUID(int=7)), "Rumah tangga tidak ditemukan"),
        ("rumah-siti", "ID rumah tangga harus berupa UUID"),
        ("elsewhere", "di luar kelurahan tugas Anda"),
    ],
)
def test_a_household_id_changed_on_the_way_is_refused_on_its_field(web, family, changed, said):
    casework = web.extensions["casework"].casework
    if changed == "elsewhere":  # a real household, of a kelurahan the case worker does not serve
        changed = str(casework.register_household(ELSEWHERE, META).stream_id)
        project(web)
    client = web.test_client(user="cw_sipin")
    page = client.get(f"/perintah/AddCaseNote?household_id={family}").text
    assert form_of(page)["household_id"] == family  # carried hidden, as a browser sends it
    sent = {**form_of(page), "household_id": changed, "text": "Kunjungan rumah."}

    answer = client.post("/perintah/AddCaseNote", data=sent)

    assert answer.status_code in (403, 404, 422), answer.status_code
    # the field is shown again, with what was sent and what is wrong under it
    field = tag(answer.text, "household_id")
    assert field and 'id="f-household_id"' in field and 'type="hidden"' not in field, field
    error = re.search(r'<small id="err-household_id"[^>]*>(.*?)</small>', answer.text, re.S)
    assert error and said in error.group(1), seen(answer.text)[:800]
    assert "Rahmah Yusuf" not in answer.text  # nothing told of the other family
    assert f'href="/rumah-tangga/{changed}"' not in answer.text  # no link to the refused id
    assert casework.get_household(family).version == 1
    assert casework.get_household(family).notes == []


def test_a_form_sent_with_another_error_keeps_the_household_fixed(web, family):
    client = web.test_client(user="cw_sipin")
    page = client.get(f"/perintah/AddCaseNote?household_id={family}").text

    answer = client.post("/perintah/AddCaseNote", data={**form_of(page), "text": ""})

    assert answer.status_code == 422
    assert re.search(r'<small id="err-text"[^>]*><span>', answer.text), seen(answer.text)[:800]
    assert tag(answer.text, "household_id") == (
        f'<input type="hidden" name="household_id" value="{family}">'
    )
    assert "Untuk rumah tangga Siti Aminah" in seen(answer.text)


def test_a_form_opened_alone_says_how_to_find_the_household(web, family):
    page = web.test_client(user="cw_sipin").get("/perintah/AddCaseNote").text
    field = tag(page, "household_id")
    assert field and 'type="text"' in field, field
    hint = re.search(r'<small id="hint-household_id" class="hint">(.*?)</small>', page, re.S)
    assert hint, "no hint under the household's field"
    assert '<a href="/">Cari rumah tangganya dengan nomor KK, NIK atau nama</a>' in hint.group(1)
    assert "pilih formulir ini di sana" in hint.group(1)


def test_a_stored_command_names_what_and_which_family_and_keeps_no_name(web, family):
    client = web.test_client(user="cw_sipin")
    page = client.get(f"/perintah/AddCaseNote?household_id={family}").text
    sent = {**form_of(page), "text": "Kunjungan rumah."}

    stored = client.post("/perintah/AddCaseNote", data=sent, follow_redirects=True)
    again = client.post("/perintah/AddCaseNote", data=sent, follow_redirects=True)

    for answer in (stored, again):
        said = re.search(r'<p class="flash flash-success"[^>]*>(.*?)</p>', answer.text, re.S)
        assert said, seen(answer.text)[:400]
        words = re.sub(r"<[^>]+>", "", said.group(1))
        assert words.startswith(
            "Tersimpan: Tambah catatan kasus, untuk rumah tangga Siti Aminah, Simpang IV Sipin."
        ), words
        assert "versi" not in words.lower()  # no "Versi data sekarang 2"
        link = f'<a href="/rumah-tangga/{family}#kejadian-2">Lihat di riwayat kejadian</a>'
        assert link in said.group(1)
    assert "terkirim dua kali" in again.text
    assert web.extensions["casework"].casework.get_household(family).version == 2
    # the form opened again for the next command carries the new version, hidden
    assert tag(stored.text, "expected_version") == (
        '<input type="hidden" name="expected_version" value="2">'
    )
    # the first sending's outcome kept for a repeat holds no name (it outlives an erasure)
    kept = web.extensions["casework"].store.query("SELECT body FROM casework_idempotency")
    assert kept and all("Siti" not in body for (body,) in kept), kept
