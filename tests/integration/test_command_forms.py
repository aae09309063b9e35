"""The command forms offer the household's members, benefits and the programs to pick, and
take the moment something happened as the browser's local time in WIB."""

from __future__ import annotations

import re

from domain.application import SYSTEM, make_meta
from domain.catalog import seed_catalog
from tests.integration.test_eligibility_api import project

HEAD = {"nik": "1571015203850007", "name": "Siti Aminah", "birth_date": "1985-03-12", "sex": "F"}
HOUSEHOLD = {
    "kk_number": "1571010101200003",
    "kecamatan": "Telanaipura",
    "kelurahan": "Simpang IV Sipin",
    "address": "Jl. Kapten Pattimura No. 5",
    "rt": "007",
    "rw": "002",
    "head": HEAD,
}


def options_of(page: str, name: str) -> dict[str, str]:
    select = re.search(rf'<select[^>]*name="{re.escape(name)}".*?</select>', page, re.S)
    assert select, f"{name} is not a list to pick from"
    return dict(re.findall(r'<option value="([^"]+)"[^>]*>([^<]*)</option>', select.group(0)))


def test_a_benefit_form_picks_the_member_the_program_and_the_benefit(web):
    casework = web.extensions["casework"].casework
    meta = make_meta(SYSTEM, "api")
    seed_catalog(casework, meta)
    household_id = casework.register_household(HOUSEHOLD, meta).stream_id
    grant = {
        "household_id": household_id,
        "nik": HEAD["nik"],
        "program": "PKH",
        "period_start": "2025-01-01",
        "period_end": "2025-12-31",
        "amount": 750000,
    }
    stored = casework.grant_benefit(grant, meta)
    benefit_id = casework.get_household(household_id).benefits.popitem()[0]
    assert stored.version == 2
    client = web.test_client()

    page = client.get(f"/perintah/GrantBenefit?household_id={household_id}").text
    assert options_of(page, "nik") == {HEAD["nik"]: "Siti Aminah (Kepala keluarga)"}
    assert "PKH" in options_of(page, "program")

    page = client.get(f"/perintah/SuspendBenefit?household_id={household_id}").text
    (label,) = options_of(page, "benefit_id").values()
    assert options_of(page, "benefit_id").keys() == {benefit_id}
    assert label.startswith("PKH · Siti Aminah")

    # without a household there is nothing of it to pick: the id is typed (or comes from a link)
    page = client.get("/perintah/SuspendBenefit").text
    assert (
        'name="benefit_id"' in page and "<select" not in page.split('name="benefit_id"')[0][-200:]
    )


def test_the_enrolment_form_offers_only_the_empowerment_programs(web):
    casework = web.extensions["casework"].casework
    meta = make_meta(SYSTEM, "api")
    seed_catalog(casework, meta)
    household_id = casework.register_household(HOUSEHOLD, meta).stream_id
    page = web.test_client().get(f"/perintah/EnrollEmpowerment?household_id={household_id}").text
    # a cash transfer (PKH) or an insurance (PBI-JK) is granted, never enrolled in
    assert list(options_of(page, "program")) == ["UMKM-NAIK-KELAS"]


def test_a_source_listing_opened_for_a_household_takes_its_members_line_by_line(web):
    casework = web.extensions["casework"].casework
    household_id = casework.register_household(HOUSEHOLD, make_meta(SYSTEM, "api")).stream_id
    client = web.test_client()
    page = client.get(f"/perintah/RecordSourceListing?household_id={household_id}").text
    # what the source lists (NIK, relationship, deceased), not a pick of the register's members
    assert re.search(r'<textarea[^>]*name="members"', page)
    assert not re.search(r'<select[^>]*name="members"', page)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    answer = client.post(
        "/perintah/RecordSourceListing",
        data={
            "csrf_token": token,
            "household_id": household_id,
            "source": "DTKS",
            "period": "2025-Q3",
            "reference": "dtks.csv#row=5",
            "kk_number": HOUSEHOLD["kk_number"],
            "members": f"{HEAD['nik']}, kepala_keluarga\n1571012208100005, anak, ya",
        },
    )
    assert answer.status_code in (200, 303), answer.text
    assert casework.get_household(household_id).version == 2


def test_two_objections_filed_on_one_day_are_told_apart_by_their_grounds(web):
    casework = web.extensions["casework"].casework
    meta = make_meta(SYSTEM, "api")
    household_id = casework.register_household(HOUSEHOLD, meta).stream_id
    for grounds in ("Punya mobil dan toko besar di pasar", "Sudah pindah ke Palembang " * 5):
        objection = {
            "household_id": household_id,
            "objector_nik": "1571011004820002",
            "objector_kelurahan": "Simpang IV Sipin",  # in no household: where they live
            "grounds": grounds,
            "filed_on": "2025-06-02",
            "photo_reference": "foto.jpg",
            "latitude": -1.61,
            "longitude": 103.61,
        }
        casework.execute("FileObjection", objection, meta)
    page = web.test_client().get(f"/perintah/ResolveObjection?household_id={household_id}").text
    labels = sorted(options_of(page, "objection_id").values())
    assert labels[0] == "2 Juni 2025 → 16 Juni 2025 · Punya mobil dan toko besar di pasar"
    assert labels[1].startswith("2 Juni 2025 → 16 Juni 2025 · Sudah pindah ke Palembang")
    assert labels[1].endswith("…") and len(labels[1]) < 100


def test_the_moment_it_happened_is_taken_as_wib(web):
    casework = web.extensions["casework"].casework
    household_id = casework.register_household(HOUSEHOLD, make_meta(SYSTEM, "api")).stream_id
    client = web.test_client()
    page = client.get(f"/perintah/AddCaseNote?household_id={household_id}").text
    assert 'type="datetime-local"' in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    answer = client.post(
        "/perintah/AddCaseNote",
        data={
            "csrf_token": token,
            "household_id": household_id,
            "text": "Kunjungan rumah.",
            "occurred_at": "2025-06-01T10:30",
        },
    )
    assert answer.status_code in (200, 303), answer.status_code
    household = casework.get_household(household_id)
    assert household.version == 2
    note = casework.repository.get(household.id, version=2)  # the state after the note
    assert note.notes[-1]["text"] == "Kunjungan rumah."
    events = casework.recorder.select_events(household.id)
    occurred = [e for e in events if e.originator_version == 2]
    assert occurred, "the note was stored"
    assert b"2025-06-01T03:30:00.000000Z" in occurred[0].state


def input_value(page: str, name: str) -> str | None:
    found = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*>', page)
    if found is None:
        return None
    value = re.search(r'value="([^"]*)"', found.group(0))
    return value.group(1) if value else None


def relocation(page: str, address: str) -> dict[str, str]:
    return {
        "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page).group(1),
        "household_id": input_value(page, "household_id"),
        "expected_version": input_value(page, "expected_version"),
        "kecamatan": "Telanaipura",
        "kelurahan": "Simpang IV Sipin",
        "address": address,
        "rt": "007",
        "rw": "002",
        "moved_on": "2025-04-21",
    }


def test_a_form_opened_for_a_household_carries_its_version_and_a_later_save_is_409(web):
    casework = web.extensions["casework"].casework
    household_id = casework.register_household(HOUSEHOLD, make_meta(SYSTEM, "api")).stream_id
    first, second = web.test_client(user="sup1"), web.test_client(user="sup2")
    url = f"/perintah/RelocateHousehold?household_id={household_id}&lang=en"  # kept for the session
    first_page, second_page = first.get(url).text, second.get(url).text
    assert input_value(first_page, "expected_version") == "1"
    assert input_value(second_page, "expected_version") == "1"

    saved = first.post("/perintah/RelocateHousehold", data=relocation(first_page, "Jl. Satu 1"))
    assert saved.status_code in (200, 303), saved.status_code
    late = second.post("/perintah/RelocateHousehold", data=relocation(second_page, "Jl. Dua 2"))

    assert late.status_code == 409
    assert "Someone else changed this household after this form was opened" in late.text
    assert "what you entered was not saved" in late.text  # not read as "saved" and left
    assert input_value(late.text, "address") == "Jl. Dua 2"  # what they typed is kept
    assert input_value(late.text, "expected_version") == "2"  # the version now shown
    household = casework.get_household(household_id)
    assert household.version == 2 and household.address == "Jl. Satu 1"
    # having looked, they save again: applied on the new state
    again = second.post("/perintah/RelocateHousehold", data=relocation(late.text, "Jl. Dua 2"))
    assert again.status_code in (200, 303), again.status_code
    assert casework.get_household(household_id).address == "Jl. Dua 2"


def test_a_form_for_a_change_waiting_for_approval_pins_no_version(web):
    casework = web.extensions["casework"].casework
    household_id = casework.register_household(HOUSEHOLD, make_meta(SYSTEM, "api")).stream_id
    page = web.test_client().get(f"/perintah/RemoveMember?household_id={household_id}").text
    # the supervisor decides on the household as it is then: no version kept with the request
    assert input_value(page, "expected_version") == ""
    page = web.test_client().get("/perintah/RelocateHousehold").text
    assert input_value(page, "expected_version") == ""


def test_a_move_dated_before_the_family_was_born_is_refused_on_the_form(web):
    """The walkthrough: a move dated 1950 for a family whose head was born in 1985 is 422,
    the date named with what to do, nothing stored."""
    casework = web.extensions["casework"].casework
    household_id = casework.register_household(HOUSEHOLD, make_meta(SYSTEM, "api")).stream_id
    client = web.test_client()
    page = client.get(f"/perintah/RelocateHousehold?household_id={household_id}").text
    answer = client.post(
        "/perintah/RelocateHousehold",
        data={**relocation(page, "Jl. Satu 1"), "moved_on": "1950-06-01"},
    )
    assert answer.status_code == 422
    [field] = re.findall(
        r'<div class="field has-error">.*?(?=<div class="field|</form>)', answer.text, re.S
    )
    assert 'name="moved_on"' in field  # the one field marked, with what to do under it
    assert "Tanggal ini sebelum ada anggota keluarga ini yang lahir" in field
    household = casework.get_household(household_id)
    assert household.version == 1 and household.address == HOUSEHOLD["address"]


def test_an_objector_not_in_the_register_picks_their_kelurahan_on_the_form(web):
    """The objection form lists the city's kelurahan for where the objector lives; left
    unchosen for an objector the register does not know, it is 422 under that list."""
    casework = web.extensions["casework"].casework
    household_id = casework.register_household(HOUSEHOLD, make_meta(SYSTEM, "api")).stream_id
    client = web.test_client()
    page = client.get(f"/perintah/FileObjection?household_id={household_id}").text
    assert options_of(page, "objector_kelurahan")["Simpang IV Sipin"] == (
        "Simpang IV Sipin (Telanaipura)"
    )
    form = {
        "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page).group(1),
        "household_id": household_id,
        "objector_nik": "1571011004820002",
        "grounds": "Punya mobil dan toko besar di pasar",
        "filed_on": "2025-06-02",
        "photo_reference": "foto.jpg",
        "latitude": "-1.61",
        "longitude": "103.61",
    }
    answer = client.post("/perintah/FileObjection", data=form)
    assert answer.status_code == 422
    [field] = re.findall(
        r'<div class="field has-error">.*?(?=<div class="field|</form>)', answer.text, re.S
    )
    assert 'name="objector_kelurahan"' in field
    assert "pilih kelurahan tempat tinggalnya" in field
    assert casework.get_household(household_id).version == 1
    form["objector_kelurahan"] = "Simpang IV Sipin"
    answer = client.post("/perintah/FileObjection", data=form)
    assert answer.status_code in (200, 303), answer.status_code
    assert casework.get_household(household_id).version == 2


def test_a_save_refused_because_the_household_changed_says_in_indonesian_it_was_not_saved(web):
    """The Indonesian message said "Isian Anda tetap tersimpan" (your entry stays saved): a
    case worker could read that the change was stored and leave the page."""
    casework = web.extensions["casework"].casework
    household_id = casework.register_household(HOUSEHOLD, make_meta(SYSTEM, "api")).stream_id
    first, second = web.test_client(user="sup1"), web.test_client(user="sup2")
    url = f"/perintah/RelocateHousehold?household_id={household_id}"
    first_page, second_page = first.get(url).text, second.get(url).text
    saved = first.post("/perintah/RelocateHousehold", data=relocation(first_page, "Jl. Satu 1"))
    assert saved.status_code in (200, 303), saved.status_code

    late = second.post("/perintah/RelocateHousehold", data=relocation(second_page, "Jl. Dua 2"))

    assert late.status_code == 409
    assert "jadi isian Anda belum disimpan" in late.text
    assert "tetap tersimpan" not in late.text
    assert casework.get_household(household_id).address == "Jl. Satu 1"


def test_the_change_of_head_names_its_member_field_the_new_head_not_nik(web):
    """The field chose among the members by name, labelled only "NIK"."""
    casework = web.extensions["casework"].casework
    household_id = casework.register_household(HOUSEHOLD, make_meta(SYSTEM, "api")).stream_id
    page = web.test_client().get(f"/perintah/ChangeHead?household_id={household_id}").text
    label = re.search(r'<label for="f-nik">(.*?)</label>', page, re.S)
    assert label and label.group(1).strip() == "Kepala keluarga baru", label


def date_words(page: str, field_id: str) -> str | None:
    """The words under a date field, or None when they are hidden."""
    found = re.search(rf'<small id="words-{field_id}"[^>]*>(.*?)</small>', page, re.S)
    assert found, f"no words under {field_id}"
    if " hidden" in found.group(0).split(">", 1)[0]:
        return None
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


def test_a_date_field_says_its_day_in_words_whatever_order_the_browser_shows(web):
    """An English browser shows a date field as mm/dd/yyyy on the Indonesian page (Chromium
    follows its own language, not the page's `lang`): 03/12/1985 reads as 3 December to an
    Indonesian. Under each date field, the day it holds in words, in the page's language."""
    casework = web.extensions["casework"].casework
    household_id = casework.register_household(HOUSEHOLD, make_meta(SYSTEM, "api")).stream_id
    client = web.test_client()
    empty = client.get("/daftar").text
    assert date_words(empty, "head-birth_date") is None  # nothing chosen yet: nothing said
    assert 'aria-describedby="words-head-birth_date err-head-birth_date"' in empty
    token = re.search(r'name="csrf_token" value="([^"]+)"', empty).group(1)
    sent = client.post(
        "/daftar", data={"csrf_token": token, "head.birth_date": "1985-03-12", "head.nik": "1"}
    )
    assert sent.status_code == 422
    assert date_words(sent.text, "head-birth_date") == "Tanggal terpilih: 12 Maret 1985"
    page = client.get(f"/perintah/RelocateHousehold?household_id={household_id}").text
    answer = client.post(
        "/perintah/RelocateHousehold",
        data={**relocation(page, "Jl. Satu 1"), "moved_on": "1950-06-01"},
    )
    assert date_words(answer.text, "moved_on") == "Tanggal terpilih: 1 Juni 1950"
    english = client.post(
        "/perintah/RelocateHousehold?lang=en",
        data={**relocation(page, "Jl. Satu 1"), "moved_on": "1950-06-01"},
    )
    assert date_words(english.text, "moved_on") == "Chosen date: June 1, 1950"


def test_a_form_opened_for_a_household_names_the_family_not_only_its_id(web):
    """A form opened from a household page showed the household only as its id (a UUID) in
    the first field: which family it was about was not said anywhere on the form."""
    casework = web.extensions["casework"].casework
    household_id = casework.register_household(HOUSEHOLD, make_meta(SYSTEM, "api")).stream_id
    project(web)
    page = web.test_client().get(f"/perintah/IssueKtp?household_id={household_id}").text
    assert "Untuk rumah tangga Siti Aminah, Simpang IV Sipin" in page
    # a case worker of another kelurahan opens no such form (403), so reads no name either
    elsewhere = web.test_client(user="cw_pelayangan")
    answer = elsewhere.get(f"/perintah/IssueKtp?household_id={household_id}")
    assert answer.status_code == 403 and "Siti Aminah" not in answer.text
