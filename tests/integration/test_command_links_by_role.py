"""The commands pages link only to pages the person's role may open (as the navigation does),
on SQLite and PostgreSQL: a program manager sees neither "Daftarkan rumah tangga" (/daftar)
on /perintah nor "Lihat rumah tangga" on a form about a household; a case worker and a
supervisor, who may open both, see both."""

from __future__ import annotations

import re

import pytest

from domain.application import SYSTEM, make_meta
from tests.integration.test_time_travel_api import HOUSEHOLD

pytestmark = pytest.mark.integration

REGISTER_LINK = re.compile(r'<a href="/daftar">\s*Daftarkan rumah tangga\s*</a>')


def household_link(household_id: str) -> re.Pattern[str]:
    return re.compile(rf'<a href="/rumah-tangga/{household_id}">\s*Lihat rumah tangga\s*</a>')


@pytest.fixture
def household(web) -> str:
    """A household in Simpang IV Sipin, the kelurahan of the case worker cw_sipin."""
    casework = web.extensions["casework"].casework
    return str(casework.register_household(HOUSEHOLD, make_meta(SYSTEM, "ui")).stream_id)


def pages_of(web, user: str, household_id: str, command: str) -> tuple[str, str]:
    """(/perintah, the command's form about the household) as this account sees them."""
    client = web.test_client(user=user)
    commands = client.get("/perintah")
    form = client.get(f"/perintah/{command}", query_string={"household_id": household_id})
    assert commands.status_code == form.status_code == 200, user
    return commands.text, form.text


def test_a_program_manager_sees_no_link_to_a_page_their_role_may_not_open(web, household):
    commands, form = pages_of(web, "pm_dinsos", household, "DecideReview")
    assert not REGISTER_LINK.search(commands)
    assert 'href="/daftar"' not in commands
    assert not household_link(household).search(form)
    assert f'href="/rumah-tangga/{household}"' not in form
    # the pages they were refused, still refused: the links were not hiding open pages
    client = web.test_client(user="pm_dinsos")
    assert client.get("/daftar").status_code == 403
    assert client.get(f"/rumah-tangga/{household}").status_code == 403
    # the commands they may give are still listed
    assert 'href="/perintah/DecideReview"' in commands


@pytest.mark.parametrize("user", ["cw_sipin", "sup1"])
def test_a_role_that_may_open_them_sees_both_links(web, household, user):
    commands, form = pages_of(web, user, household, "RecordVerification")
    assert REGISTER_LINK.search(commands), commands
    assert household_link(household).search(form), form
    client = web.test_client(user=user)
    assert client.get("/daftar").status_code == 200
    assert client.get(f"/rumah-tangga/{household}").status_code == 200


@pytest.mark.parametrize(
    ("user", "offered", "not_offered"),
    [
        # a program manager: their programs' benefits and rules, no membership, no approval
        (
            "pm_dinsos",
            {"GrantBenefit", "DefineProgram", "DecideReview"},
            {"AddMember", "ApproveChange"},
        ),
        # a case worker: their households, no program and no approval
        (
            "cw_sipin",
            {"AddMember", "RecordDeath", "GrantBenefit"},
            {"DefineProgram", "ApproveChange"},
        ),
        ("sup1", {"AddMember", "DefineProgram", "ApproveChange", "DefineAgencyAgreement"}, set()),
    ],
)
def test_the_commands_page_offers_what_the_role_may_send(
    web, household, user, offered, not_offered
):
    commands, _ = pages_of(web, user, household, sorted(offered)[0])
    listed = set(re.findall(r'href="/perintah/(\w+)"', commands))
    assert offered <= listed, offered - listed
    assert not (not_offered & listed), not_offered & listed
    # and a form left out is refused when its address is typed: a case worker's
    # ApproveChange listed every pending request of the city
    client = web.test_client(user=user)
    for name in not_offered:
        answer = client.get(f"/perintah/{name}", query_string={"household_id": household})
        assert answer.status_code == 403, name
