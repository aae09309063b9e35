"""A family whose head died: its page says that it needs a new head, with the way to choose
one for who may (Ganti kepala keluarga). Before, the page went on naming the deceased as the
head with nothing to say that the KK must change."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from app.seed_data import kk_for
from domain.application import SYSTEM, make_meta
from tests.integration.conftest import authorized_client
from tests.integration.test_name_search import (
    BUDI,
    REGION,
    SITI,
    person,
    project,
    register_family,
)

pytestmark = pytest.mark.integration


def test_a_family_whose_head_died_is_told_to_change_its_head(web):
    casework = web.extensions["casework"].casework
    household_id = register_family(casework, 1, SITI, [BUDI], "suami")
    project(web)
    change_head = f"/perintah/ChangeHead?household_id={household_id}"
    page = web.test_client(user="cw_sipin").get(f"/rumah-tangga/{household_id}").text
    assert "perlu kepala keluarga baru" not in page  # the head is alive

    casework.execute(
        "RecordDeath",
        {"household_id": household_id, "nik": SITI["nik"], "date_of_death": "2025-05-01"},
        make_meta(SYSTEM, "api"),
    )
    project(web)

    page = web.test_client(user="cw_sipin").get(f"/rumah-tangga/{household_id}").text
    assert "Kepala keluarga ini tercatat meninggal: keluarga ini perlu kepala keluarga baru." in (
        page
    )
    assert f'href="{change_head}"' in page
    # an auditor reads it too, with no way to a command the role may not send
    page = web.test_client(user="auditor").get(f"/rumah-tangga/{household_id}").text
    assert "perlu kepala keluarga baru" in page and "/perintah/ChangeHead" not in page


def test_after_a_son_heads_the_family_the_page_marks_the_relationships_to_check(web, tokens):
    """Budi died; his son Agus heads the family on a new KK (through the form). His mother
    is now orang_tua; whether Rina, Budi's menantu, is Agus's wife the KK cannot tell: her
    relationship is marked for checking until a correction sets it."""
    casework = web.extensions["casework"].casework
    meta = make_meta(SYSTEM, "api")
    agus = person("Agus Santoso", dt.date(2001, 5, 6), "M", 7)
    rina = person("Rina Marlina", dt.date(2002, 7, 8), "F", 8)
    household_id = register_family(casework, 2, BUDI, [SITI], "istri")
    for member, relationship in ((agus, "anak"), (rina, "menantu")):
        casework.add_member(
            {"household_id": household_id, "person": member, "relationship": relationship}, meta
        )
    casework.execute(
        "RecordDeath",
        {"household_id": household_id, "nik": BUDI["nik"], "date_of_death": "2025-05-01"},
        meta,
    )
    client = web.test_client(user="cw_sipin")
    form = client.get(f"/perintah/ChangeHead?household_id={household_id}").text
    sent = client.post(
        "/perintah/ChangeHead",
        data={
            "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', form).group(1),
            "household_id": household_id,
            "nik": agus["nik"],
            "new_kk_number": kk_for(REGION, dt.date(2025, 5, 20), 9),
        },
    )
    assert sent.status_code in (200, 303), sent.status_code
    project(web)

    page = client.get(f"/rumah-tangga/{household_id}").text
    rows = {
        nik: row
        for row in re.findall(r"<tr>.*?</tr>", page, re.S)
        for nik in (SITI["nik"], agus["nik"], rina["nik"])
        if nik in row
    }
    assert "Orang tua" in rows[SITI["nik"]] and "relationship-check" not in rows[SITI["nik"]]
    assert "Menantu" in rows[rina["nik"]] and ">Periksa<" in rows[rina["nik"]]
    assert "hubungan 1 anggota" in page
    # the API says it of each member too
    reader = authorized_client(web, tokens["cw_sipin"])
    answer = reader.get(f"/api/v1/households/{household_id}").json
    flagged = {m["nik"] for m in answer["members"] if m["relationship_to_review"]}
    assert flagged == {rina["nik"]}
    assert f'href="/perintah/CorrectMember?household_id={household_id}"' in page

    casework.execute(
        "CorrectMember",
        {
            "household_id": household_id,
            "nik": rina["nik"],
            "relationship": "istri",
            "reason": "KK baru",
        },
        meta,
    )
    project(web)
    page = client.get(f"/rumah-tangga/{household_id}").text
    assert "hubungan 1 anggota" not in page and "relationship-check" not in page
    assert (
        "Istri"
        in {
            nik: row
            for row in re.findall(r"<tr>.*?</tr>", page, re.S)
            for nik in [rina["nik"]]
            if nik in row
        }[rina["nik"]]
    )
