"""A family whose head died: its page says that it needs a new head, with the way to choose
one for who may (Ganti kepala keluarga). Before, the page went on naming the deceased as the
head with nothing to say that the KK must change."""

from __future__ import annotations

import pytest

from domain.application import SYSTEM, make_meta
from tests.integration.test_name_search import BUDI, SITI, project, register_family

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
