"""The auditor's pages on SQLite and PostgreSQL: the global audit log with its filters and
paging, the chains' status naming the first broken link, and the read log (NIK hashes only);
other roles are refused and see no "Audit" entry in the navigation."""

from __future__ import annotations

import datetime as dt
import re
import time
from html import unescape

import pytest

from adapters.relay_store import events_table
from app.web import status_rows
from projections.catalog import PROJECTIONS
from tests.integration.conftest import authorized_client
from tests.integration.test_api import HOUSEHOLD, HUSBAND, project, register

pytestmark = pytest.mark.integration

READERS = ("auditor", "sup1", "admin")
REFUSED = ("cw_sipin", "agency", "pm_dinsos")
PAGES = ("/audit", "/audit/rantai", "/audit/log-baca")
PELAYANGAN = {
    "kk_number": "1571010101200004",
    "kelurahan": "Tahtul Yaman",
    "kecamatan": "Pelayangan",
    "head": {**HOUSEHOLD["head"], "nik": "1571015203850015"},
}


def table_rows(page: str) -> list[str]:
    body = re.search(r"<tbody>(.*?)</tbody>", page, re.S)
    return re.findall(r"<tr>.*?</tr>", body.group(1), re.S) if body else []


@pytest.fixture
def two_households(web, tokens):
    client = authorized_client(web, tokens["admin"])
    first = register(client)
    second = register(client, **PELAYANGAN)
    project(web)
    return first["stream_id"], second["stream_id"]


def test_the_audit_log_lists_who_did_what_without_the_data(web, tokens, two_households):
    first, second = two_households
    client = web.test_client(user="auditor")
    page = client.get("/audit")
    assert page.status_code == 200
    html = page.text
    assert "<h1>Log audit</h1>" in html
    registered = [row for row in table_rows(html) if "Rumah tangga didaftarkan" in row]
    assert len(registered) == 2
    assert all("admin" in row for row in registered)
    assert f"/rumah-tangga/{first}/lini-masa" in html and f"/rumah-tangga/{second}" in html
    # never the event data: no NIK, KK number or name on the page
    for secret in (HOUSEHOLD["head"]["nik"], HOUSEHOLD["kk_number"], HOUSEHOLD["head"]["name"]):
        assert secret not in html

    pelayangan = client.get(
        "/audit", query_string={"kelurahan": "Tahtul Yaman", "jenis": "HouseholdRegistered"}
    ).text
    rows = table_rows(pelayangan)
    assert len(rows) == 1 and "Tahtul Yaman" in rows[0] and second[:8] in rows[0]
    assert 'value="HouseholdRegistered" selected' in pelayangan  # the filter is kept
    assert table_rows(client.get("/audit", query_string={"akun": "nobody"}).text) == []
    later = client.get("/audit", query_string={"dari": "2999-01-01T00:00"}).text
    assert table_rows(later) == []
    earlier = client.get("/audit", query_string={"sampai": "2000-01-01T00:00"}).text
    assert table_rows(earlier) == []


def test_an_entry_opens_the_household_as_known_at_its_recorded_moment(web, tokens):
    """From the registration's entry, the household as known then: the head, not the member
    added a second later (nor that event in its timeline); from the member's entry, both."""
    client = authorized_client(web, tokens["admin"])
    household_id = register(client)["stream_id"]
    time.sleep(1.05 - dt.datetime.now(dt.UTC).microsecond / 1_000_000)  # the next second
    added = client.post(
        "/api/v1/commands/AddMember",
        json={"household_id": household_id, "person": HUSBAND, "relationship": "suami"},
    )
    assert added.status_code == 201, added.json
    project(web)
    auditor = web.test_client(user="auditor")
    rows = table_rows(auditor.get("/audit").text)

    def as_known_then(label: str) -> str:
        (row,) = [r for r in rows if label in r and household_id[:8] in r]
        link = re.search(r'<a href="([^"]*saat=[^"]*)"[^>]*>seperti diketahui saat itu</a>', row)
        assert link, row
        url = unescape(link.group(1))
        assert url.startswith(f"/rumah-tangga/{household_id}/lini-masa?") and "mode=known" in url
        page = auditor.get(url)
        assert page.status_code == 200
        return page.text

    then = as_known_then("Rumah tangga didaftarkan")
    assert HOUSEHOLD["head"]["name"] in then
    assert HUSBAND["name"] not in then and "Anggota ditambahkan" not in then
    later = as_known_then("Anggota ditambahkan")
    assert HUSBAND["name"] in later and "Anggota ditambahkan" in later


def test_the_audit_log_pages_on(web, tokens, two_households, monkeypatch):
    monkeypatch.setattr("app.audit_pages.PAGE_SIZE", 2)
    client = web.test_client(user="auditor")
    first = client.get("/audit").text
    assert len(table_rows(first)) == 2
    following = re.search(r'href="(/audit\?setelah=\d+)" rel="next"', first)
    assert following, first
    second = client.get(following.group(1).replace("&amp;", "&")).text
    positions = lambda html: [re.search(r"<td>(\d+)</td>", r).group(1) for r in table_rows(html)]  # noqa: E731
    assert positions(second) and not set(positions(second)) & set(positions(first))
    assert int(positions(second)[0]) > int(positions(first)[-1])
    assert "Halaman pertama" in second


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"dari": "kemarin"}, "dari"),
        ({"setelah": "-1"}, "setelah"),
        ({"dari": "2025-02-01T00:00", "sampai": "2025-01-01T00:00"}, "sampai"),
    ],
)
def test_bad_filters_are_explained_not_a_server_error(web, tokens, query, field):
    client = web.test_client(user="auditor")
    for path in ("/audit", "/audit/log-baca"):
        response = client.get(path, query_string=query)
        assert response.status_code == 422, path
        if field != "setelah":
            assert f'id="f-{field}"' in response.text
            assert re.search(rf'name="{field}"[^>]*aria-invalid="true"', response.text), path
        else:
            assert "halaman pertama" in response.text


def test_the_chain_page_shows_the_anchor_then_names_a_tampered_event(web, tokens, two_households):
    client = web.test_client(user="sup1")
    page = client.get("/audit/rantai")
    assert page.status_code == 200
    assert "Utuh" in page.text
    anchor = re.search(r'id="anchor-now"[^>]*value="(\d+:[0-9a-f]{64})"', page.text).group(1)
    # the anchor just shown is on the chain, and the page says it checked it
    checked = client.get("/audit/rantai", query_string={"jangkar": anchor}).text
    assert "Utuh" in checked and "Jangkar yang Anda berikan cocok" in checked
    assert "Jangkar yang Anda berikan" not in page.text and "`" not in page.text
    empty = client.get("/audit/rantai", query_string={"jangkar": ""})
    assert empty.status_code == 422 and "POSISI:TAUTAN" in empty.text.upper()
    forged = anchor.split(":")[0] + ":" + "0" * 64
    held = client.get("/audit/rantai", query_string={"jangkar": forged}).text
    assert "tidak lagi melewati jangkar" in held

    store = web.extensions["casework"].store
    table, column = events_table(store)
    target = int(anchor.split(":")[0]) - 1
    with store.transaction() as cur:
        cur.execute(f"UPDATE {table} SET topic = topic || 'x' WHERE {column} = ?", (target,))
    broken = client.get("/audit/rantai").text
    verdict = re.search(r'id="events-verdict">(.*?)</p>', broken, re.S).group(1)
    assert f"posisi {target}" in verdict and "diubah" in verdict
    assert re.search(r'id="read-log-verdict">\s*Utuh', broken)
    assert client.get("/audit/rantai", query_string={"jangkar": "rubbish"}).status_code == 422


def test_the_read_log_shows_who_read_which_household_with_nik_hashes_only(
    web, tokens, two_households
):
    first, _ = two_households
    # a case worker of Simpang IV Sipin opens the first household through the API
    reader = authorized_client(web, tokens["cw_sipin"])
    assert reader.get(f"/api/v1/households/{first}").status_code == 200
    client = web.test_client(user="auditor")
    page = client.get("/audit/log-baca", query_string={"akun": "cw_sipin"})
    assert page.status_code == 200
    rows = table_rows(page.text)
    assert rows and all("cw_sipin" in row for row in rows)
    assert any(first[:8] in row for row in rows)
    # the channel in words, not its code (api, ui)
    assert all("API" in row and "<td>api " not in row for row in rows)
    english = table_rows(client.get("/audit/log-baca?akun=cw_sipin&lang=en").text)
    assert all("API" in row for row in english)
    assert client.get(f"/rumah-tangga/{first}").status_code == 200  # read on a web page
    web_reads = table_rows(client.get("/audit/log-baca?akun=auditor&lang=id").text)
    assert web_reads and all("halaman web" in row and "<td>ui " not in row for row in web_reads)
    assert HOUSEHOLD["head"]["nik"] not in page.text
    assert HOUSEHOLD["head"]["name"] not in page.text
    assert table_rows(client.get("/audit/log-baca", query_string={"akun": "nobody"}).text) == []
    future = client.get("/audit/log-baca", query_string={"dari": "2999-01-01T00:00"}).text
    assert table_rows(future) == []


def test_other_roles_are_refused_and_see_no_audit_entry(web, tokens):
    for name in READERS:
        client = web.test_client(user=name)
        for path in PAGES:
            assert client.get(path).status_code == 200, (name, path)
        assert 'href="/audit"' in client.get("/status").text
    for name in REFUSED:
        client = web.test_client(user=name)
        for path in PAGES:
            response = client.get(path)
            assert response.status_code == 403, (name, path)
            assert "Halaman ini untuk: supervisor, auditor, administrator." in response.text
        assert 'href="/audit"' not in client.get("/status").text


def test_every_event_and_view_is_named_in_words(web, tokens, two_households):
    """The audit log names each event in Bahasa Indonesia, the index claims and the program
    catalog included (not NikClaimed, ProgramDefined...), and the status page each view (not
    `Proyeksi eligibility`)."""
    client = web.test_client(user="auditor")
    html = client.get("/audit").text
    rows = " ".join(table_rows(html))
    assert "NIK dicatat di indeks" in rows and "Nomor KK dicatat di indeks" in rows
    for raw in ("NikClaimed", "KkClaimed", "ProgramDefined", "UserAdded"):
        assert f">{raw}<" not in html  # neither a row nor an option of the filter
    status = web.test_client(user="sup1").get("/status").text
    assert "Tampilan: kelayakan" in status and "Tampilan: permintaan persetujuan" in status
    assert not [name for name in PROJECTIONS if f"Proyeksi {name}" in status]


def test_an_agency_topics_row_is_named_in_words(web):
    """The status page's row of an agency topic's writer (`agency:CODE` on /healthz)."""
    found = {"agency:BPJSKES": {"position": 12, "lag": 0}}
    with web.test_request_context("/status"):
        [row] = status_rows(found)
    assert row["label"] == "Topik agensi BPJSKES" and row["detail"]
    with web.test_request_context("/status?lang=en"):
        [row] = status_rows(found)
    assert row["label"] == "Agency topic BPJSKES"


def test_a_reversed_window_on_the_read_log_is_said_with_the_forms_labels(web, tokens):
    client = web.test_client(user="auditor")
    query = {"dari": "2025-02-01T00:00", "sampai": "2025-01-01T00:00"}
    page = client.get("/audit/log-baca", query_string=query).text
    error = re.search(r'<small id="err-sampai" class="field-error">(.*?)</small>', page, re.S)
    assert error, page
    assert "Dari (WIB)" in error.group(1) and "Sampai (WIB)" in error.group(1)
    assert "from lebih lambat" not in page


@pytest.mark.parametrize("path", ["/audit", "/audit/log-baca"])
def test_the_window_s_errors_say_what_to_choose_on_both_logs(web, tokens, path):
    """The audit log, as the read log: a reversed window names both fields by their labels,
    and a moment outside the calendar says which moments may be chosen (not only that the
    field cannot be read)."""
    client = web.test_client(user="auditor")
    reversed_window = {"dari": "2025-02-01T00:00", "sampai": "2025-01-01T00:00"}
    page = client.get(path, query_string=reversed_window)
    assert page.status_code == 422
    error = re.search(r'<small id="err-sampai" class="field-error">(.*?)</small>', page.text, re.S)
    assert error, page.text
    assert "Dari (WIB)" in error.group(1) and "Sampai (WIB)" in error.group(1)
    too_early = client.get(path, query_string={"sampai": "1800-01-01T00:00"})
    assert too_early.status_code == 422
    error = re.search(
        r'<small id="err-sampai" class="field-error">(.*?)</small>', too_early.text, re.S
    )
    assert error and "1 Januari 1900" in error.group(1) and "31 Desember 2100" in error.group(1)
    english = client.get(path, query_string={"dari": "kemarin", "lang": "en"})
    assert "from 1 January 1900 to 31 December 2100" in english.text
