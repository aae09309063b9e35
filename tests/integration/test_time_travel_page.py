"""The household timeline page for auditors and supervisors, on SQLite and PostgreSQL: the
date picker shows the household as known then and as it was (a death reported late), and
the changes between two moments; malformed moments are explained, not a server error."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from domain.application import SYSTEM, make_meta
from tests.integration.test_eligibility_api import project
from tests.integration.test_time_travel_api import DIED, HOUSEHOLD, HUSBAND, JOINED, REGISTERED

pytestmark = pytest.mark.integration

WIB = dt.timezone(dt.timedelta(hours=7))


def local(moment: dt.datetime) -> str:
    return moment.astimezone(WIB).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
def family(web):
    casework = web.extensions["casework"].casework
    hid = str(
        casework.register_household(HOUSEHOLD, make_meta(SYSTEM, "ui", None, REGISTERED)).stream_id
    )
    casework.add_member(
        {"household_id": hid, "person": HUSBAND, "relationship": "suami"},
        make_meta(SYSTEM, "ui", None, JOINED),
    )
    casework.record_death(
        {"household_id": hid, "nik": HUSBAND["nik"], "date_of_death": "2025-06-01"},
        make_meta(SYSTEM, "ui", None, DIED),
    )
    project(web)  # the household page reads the register view
    return hid


def husband_row(page: str) -> str:
    found = re.search(r"<tr>(?:(?!</tr>).)*Ahmad Yani.*?</tr>", page, re.S)
    assert found, page
    return found.group(0)


def test_the_timeline_shows_the_household_in_both_modes_and_the_diff(web, family):
    client = web.test_client()
    url = f"/rumah-tangga/{family}/lini-masa"
    july = "2025-07-01T12:00"
    as_it_was = client.get(url, query_string={"saat": july, "mode": "effective"})
    assert as_it_was.status_code == 200
    assert "Meninggal" in husband_row(as_it_was.text)
    assert "Seperti keadaannya" in as_it_was.text  # the mode, explained in Indonesian
    # as known in July 2025 nothing was recorded yet: the page says so
    known = client.get(url, query_string={"saat": july, "mode": "known"})
    assert "Ahmad Yani" not in known.text
    assert "belum tercatat" in known.text

    diff = client.get(
        url, query_string={"dari": "2025-05-01T00:00", "sampai": july, "mode": "effective"}
    )
    row = re.search(r"<tr>(?:(?!</tr>).)*Ahmad Yani · Status.*?</tr>", diff.text, re.S).group(0)
    assert "Aktif" in row and "Meninggal" in row


def diff_table(page: str) -> str:
    found = re.search(r'<section aria-labelledby="tt-diff-title">.*?</table>', page, re.S)
    assert found, page
    return found.group(0)


def test_the_diff_names_fields_in_words_and_masks_niks(web, family):
    """What changed between two moments: fields by their labels in the user's language, a
    member by name (or masked NIK), values in words; never a raw path or a full NIK."""
    client = web.test_client(user="auditor")
    url = f"/rumah-tangga/{family}/lini-masa"
    moments = {"dari": "2025-01-01T00:00", "sampai": "2025-07-01T12:00", "mode": "effective"}
    table = diff_table(client.get(url, query_string=moments).text)
    assert HUSBAND["nik"] not in table and HOUSEHOLD["head"]["nik"] not in table
    assert "members." not in table and "head_nik" not in table and "kelurahan" not in table
    assert ">present<" not in table
    # (in Bahasa Indonesia "added" reads "ditambahkan" once the catalog holds it)
    english = diff_table(client.get(url, query_string={**moments, "lang": "en"}).text)
    rows = re.findall(r"<tr>.*?</tr>", english, re.S)
    added = next(r for r in rows if "Member Ahmad Yani</td>" in r)
    assert "added" in added
    may = {**moments, "dari": "2025-05-01T00:00", "lang": "en"}
    rows = re.findall(r"<tr>.*?</tr>", diff_table(client.get(url, query_string=may).text), re.S)
    status = next(r for r in rows if "Member Ahmad Yani · Status" in r)
    assert "Active" in status and "Deceased" in status
    # as known (recorded) before the household existed: every field is new, none raw
    known = diff_table(
        client.get(
            url,
            query_string={
                **moments,
                "mode": "known",
                "dari": "2025-01-01T00:00",
                "sampai": local(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=2)),
                "lang": "en",
            },
        ).text
    )
    assert "KK number" in known and "Head of family" in known
    assert "1571" + "*" * 10 in known  # the head's NIK and the KK number masked
    assert HOUSEHOLD["head"]["nik"] not in known and HOUSEHOLD["kk_number"] not in known


def test_the_household_page_offers_the_picker_and_bad_moments_are_explained(web, family):
    client = web.test_client()
    page = client.get(f"/rumah-tangga/{family}").text
    assert 'type="datetime-local"' in page
    assert "Seperti diketahui saat itu" in page
    url = f"/rumah-tangga/{family}/lini-masa"
    bad = client.get(url, query_string={"saat": "kemarin"})
    assert bad.status_code == 422
    assert 'aria-invalid="true"' in bad.text
    # said of the page's date and time, in words, not of the API's as_of in RFC 3339
    for moment, words in (
        ("kemarin", "Pilih tanggal dan jam (WIB) yang ada"),
        ("2025-02-30T10:00", "Pilih tanggal dan jam (WIB) yang ada"),
        ("2099-01-01T00:00", "sesudah hari ini"),
    ):
        page = client.get(url, query_string={"saat": moment}).text
        assert words in page, moment
        assert "as_of" not in page and "RFC 3339" not in page, moment
    reversed_ = client.get(
        url, query_string={"dari": local(dt.datetime.now(dt.UTC)), "sampai": "2025-01-01T00:00"}
    )
    assert reversed_.status_code == 422
    assert (
        client.get("/rumah-tangga/00000000-0000-0000-0000-000000000000/lini-masa").status_code
        == 404
    )


def test_a_reversed_range_is_an_error_at_the_from_field_in_the_forms_words(web, family):
    """'From' later than 'To': the message names the fields as the form labels them (not
    from/to), and shows as an error at the 'From' field, also when the form is sent by HTMX
    (its answer replaces the field's error container out of band)."""
    client = web.test_client(user="auditor")
    url = f"/rumah-tangga/{family}/lini-masa"
    moments = {"dari": "2025-07-01T00:00", "sampai": "2025-01-01T00:00"}
    for headers in ({}, {"HX-Request": "true"}):
        page = client.get(url, query_string=moments, headers=headers)
        assert page.status_code == 422
        error = re.search(
            r'<small id="tt-dari-err" class="field-error"([^>]*)>(.*?)</small>', page.text, re.S
        )
        assert error, page.text
        assert "Dari (WIB)" in error.group(2) and "Sampai (WIB)" in error.group(2)
        assert "from lebih lambat" not in page.text
        assert 'class="notice error"' not in page.text
        if headers:
            assert 'hx-swap-oob="true"' in error.group(1)
        else:
            dari = re.search(r'<input[^>]*id="tt-dari"[^>]*>', page.text).group(0)
            assert 'aria-invalid="true"' in dari and 'aria-describedby="tt-dari-err"' in dari


def test_each_answer_as_of_then_shows_its_reasons_as_the_household_page_does(web, family):
    """An auditor proving what was decided then reads why: each program's rules with their
    version and detail, in the page's words, not only the answer."""
    casework = web.extensions["casework"].casework
    program = {"code": "PKH", "name": "PKH", "opd": "DINSOS", "funding": "APBN"}
    rules = {"max_desil": 4, "recipient": "adult_woman"}
    casework.define_program(
        {**program, "kind": "bansos", "rules": rules, "effective_from": "2025-01-01"},
        make_meta(SYSTEM, "ui", None, REGISTERED),
    )
    client = web.test_client()
    url = f"/rumah-tangga/{family}/lini-masa"
    page = client.get(url, query_string={"saat": "2025-07-01T12:00", "mode": "effective"}).text
    table = re.search(r'<table class="striped eligibility">.*?</table>', page, re.S)
    assert table, page
    rows = re.findall(r"<tr>\s*<th scope=\"row\">([^<]+)</th>(.*?)</tr>", table.group(0), re.S)
    assert rows
    for _program, cells in rows:
        reasons = re.findall(r'<li class="reason reason-(\w+)">(.*?)</li>', cells, re.S)
        assert reasons, cells
        for _outcome, text in reasons:
            assert re.search(r"<small>\(v\d+\)</small>: \S", text), text
    pkh = dict(rows)["PKH"]
    # no assessment yet: the decile is not known (v1); the recipient rule among those met
    assert re.search(r'reason-unknown">.*?\(v1\)</small>: \S', pkh, re.S), pkh
    assert "3 aturan terpenuhi" in pkh and "Penerima <small>(v1)</small>: penerima adalah" in pkh


def test_each_malformed_argument_shows_at_its_own_control(web, family):
    """A mode typed in the address bar is an error at the mode control, a malformed moment at
    its own field, never one at another's."""
    client = web.test_client(user="auditor")
    url = f"/rumah-tangga/{family}/lini-masa"

    def errors_by_field(query: dict) -> dict[str, str]:
        page = client.get(url, query_string=query)
        assert page.status_code == 422
        found = re.findall(
            r'<small id="tt-(\w+)-err" class="field-error"[^>]*>(.*?)</small>', page.text, re.S
        )
        return {name: text for name, text in found if text.strip()}

    assert list(errors_by_field({"mode": "bad"})) == ["mode"]
    both = {"mode": "bad", "dari": "kemarin", "sampai": "2025-07-01T00:00"}
    assert sorted(errors_by_field(both)) == ["dari", "mode"]
    assert "Pilih tanggal dan jam" in errors_by_field(both)["dari"]
    assert "Pilih tanggal dan jam" not in errors_by_field(both)["mode"]
    assert list(errors_by_field({"saat": "kemarin", "sampai": "kemarin"})) == ["saat", "sampai"]


def test_a_moment_keeps_its_seconds_so_two_events_of_one_minute_are_told_apart(web):
    """The husband joined 30 seconds after the family was registered: as it was at 09:00:20
    he is not there yet, at 09:00:40 (the second he joined, the whole of it) he is. The form
    takes seconds (step 1) and shows the moment it answered for with them, so sending it
    again answers the same."""
    casework = web.extensions["casework"].casework
    hid = str(
        casework.register_household(
            HOUSEHOLD, make_meta(SYSTEM, "ui", None, "2025-01-06T09:00:10+07:00")
        ).stream_id
    )
    casework.add_member(
        {"household_id": hid, "person": HUSBAND, "relationship": "suami"},
        make_meta(SYSTEM, "ui", None, "2025-01-06T09:00:40+07:00"),
    )
    project(web)
    client = web.test_client(user="auditor")
    url = f"/rumah-tangga/{hid}/lini-masa"
    before = client.get(url, query_string={"saat": "2025-01-06T09:00:20", "mode": "effective"})
    assert before.status_code == 200
    assert "Ahmad Yani" not in before.text
    assert 'value="2025-01-06T09:00:20"' in before.text  # sent again, the same moment
    (field,) = re.findall(r'<input[^>]*id="tt-saat"[^>]*>', before.text)
    assert 'step="1"' in field
    assert "09.00.20" in before.text  # the answer says the moment to the second
    joined = client.get(url, query_string={"saat": "2025-01-06T09:00:40", "mode": "effective"})
    assert "Ahmad Yani" in husband_row(joined.text)
    # what changed within that minute, between the two seconds
    diff = client.get(
        url,
        query_string={
            "dari": "2025-01-06T09:00:20",
            "sampai": "2025-01-06T09:00:59",
            "mode": "effective",
        },
    )
    assert "Ahmad Yani" in diff_table(diff.text)
    # the events between: when each happened, to the second
    assert "09.00.40 WIB" in diff.text
    assert 'value="2025-01-06T09:00:59"' in diff.text
    # the audit log's window takes seconds too
    audit = client.get("/audit", query_string={"dari": "2025-01-06T09:00:20"}).text
    window = re.findall(r'<input[^>]*name="(?:dari|sampai)"[^>]*>', audit)
    assert len(window) == 2 and all('step="1"' in tag for tag in window)
    assert 'value="2025-01-06T09:00:20"' in audit
