"""What a form says once it is saved (the web's success messages), on SQLite: words and a
link a case worker can follow, never a bare id (an approval's, a benefit's or a person's
UUID) that tells them nothing."""

from __future__ import annotations

import re

import pytest

from domain.application import SYSTEM, make_meta
from tests.integration.test_api import HOUSEHOLD
from tests.integration.test_approvals_web import DAUGHTER, csrf, grant
from tests.integration.test_eligibility_api import project

pytestmark = pytest.mark.integration

META = make_meta(SYSTEM, "seed")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture(params=["sqlite"])
def backend(request, tmp_path) -> dict[str, str]:
    return {
        "CASEWORK_STORE": f"sqlite:///{tmp_path}/casework.db",
        "CASEWORK_VIEWS": f"sqlite:///{tmp_path}/views.db",
    }


@pytest.fixture
def family(web) -> str:
    casework = web.extensions["casework"].casework
    casework.define_program(
        {
            "code": "BPNT",
            "name": "Program BPNT",
            "opd": "DINSOS",
            "funding": "APBN",
            "kind": "bansos",
            "rules": {},
            "effective_from": "2025-01-01",
        },
        META,
    )
    hid = str(casework.register_household(HOUSEHOLD, META).stream_id)
    project(web)
    return hid


def flashes(page: str) -> list[str]:
    return re.findall(r'<p class="flash flash-success"[^>]*>(.*?)</p>', page, re.S)


def test_a_request_kept_for_approval_links_to_it_without_its_id(web, tokens, family):
    maker = web.test_client(user="cw_sipin")
    asked = maker.post(
        "/perintah/GrantBenefit",
        data=grant(family, HOUSEHOLD["head"]["nik"], "BPNT"),
        headers={"X-CSRF-Token": csrf(maker)},
        follow_redirects=True,
    )
    (change,) = web.extensions["casework"].casework.pending_approvals()
    (said,) = flashes(asked.text)
    assert "menunggu persetujuan supervisor" in said
    text = re.sub(r"<[^>]+>", " ", said)
    assert not UUID.search(text), text  # no id to read, only to follow
    link = re.search(r'<a href="([^"]+)">([^<]+)</a>', said)
    assert link and link.group(2) == "Lihat permintaan"
    assert link.group(1) == f"/persetujuan#request-{change.id}"
    assert f'id="request-{change.id}"' in asked.text  # the link leads to the request


def test_a_stored_change_links_to_its_timeline_entry_without_an_id(web, tokens, family):
    client = web.test_client(user="cw_sipin")
    form = {
        "household_id": family,
        "person.nik": DAUGHTER["nik"],
        "person.name": DAUGHTER["name"],
        "person.birth_date": DAUGHTER["birth_date"],
        "person.sex": DAUGHTER["sex"],
        "relationship": "anak",
    }
    added = client.post(
        "/perintah/AddMember",
        data=form,
        headers={"X-CSRF-Token": csrf(client)},
        follow_redirects=True,
    )
    assert added.status_code == 200
    (said,) = flashes(added.text)
    # what was stored and for which family, not the household's version number
    assert said.startswith("Tersimpan: Tambah anggota, untuk rumah tangga Siti Aminah,"), said
    assert "Versi" not in said
    assert not UUID.search(re.sub(r"<[^>]+>", " ", said)), said
    # the member's addition, version 2 of the household: its entry in the page's timeline
    assert f'<a href="/rumah-tangga/{family}#kejadian-2">Lihat di riwayat kejadian</a>' in said
    project(web)
    page = client.get(f"/rumah-tangga/{family}").text
    entry = re.search(r'<li id="kejadian-2" value="2">(.*?)</li>', page, re.S)
    assert entry and "Anggota ditambahkan" in entry.group(1), entry
