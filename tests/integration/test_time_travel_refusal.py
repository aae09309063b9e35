"""A role that may not read the past (app.time_travel.TIME_TRAVELLERS), on SQLite and
PostgreSQL: a case worker or a program manager asking `as_of` of a household they may read
now gets 403 naming `as_of` with the message of a read refused (`auth.read`), in Indonesian
and in English; never the message about giving a command."""

from __future__ import annotations

import pytest

from app.messages import message
from domain.application import SYSTEM, make_meta
from tests.integration.conftest import authorized_client
from tests.integration.test_eligibility_api import project
from tests.integration.test_time_travel_api import HOUSEHOLD
from tests.support.i18n import language

pytestmark = pytest.mark.integration

READ_REFUSED = {
    "id": "Peran Anda tidak boleh membaca data ini. Minta supervisor atau admin.",
    "en": "Your role may not read this. Ask a supervisor or the administrator.",
}
# (account, the paths it may read now: the program manager reads eligibility only)
REFUSED = [("cw_sipin", ("", "/history", "/eligibility")), ("pm_dinsos", ("/eligibility",))]


@pytest.fixture
def household(web) -> str:
    """A household in Simpang IV Sipin, the kelurahan of the case worker cw_sipin."""
    casework = web.extensions["casework"].casework
    household_id = str(casework.register_household(HOUSEHOLD, make_meta(SYSTEM, "api")).stream_id)
    project(web)  # the present eligibility answers read the views
    return household_id


def test_the_catalogs_word_the_refusal_as_a_read():
    for lang, expected in READ_REFUSED.items():
        with language(lang):
            assert str(message("auth.read")) == expected
            assert str(message("auth.read")) != str(message("auth.role"))


@pytest.mark.parametrize(("user", "paths"), REFUSED)
def test_a_role_that_may_not_read_the_past_is_told_it_may_not_read_it(
    web, tokens, household, user, paths
):
    client = authorized_client(web, tokens[user])
    for path in paths:
        url = f"/api/v1/households/{household}{path}"
        assert client.get(url).status_code == 200, (user, path)  # the present: theirs to read
        for lang, expected in READ_REFUSED.items():
            answer = client.get(
                url, query_string={"as_of": "2026-01-01"}, headers={"Accept-Language": lang}
            )
            assert answer.status_code == 403, (user, path)
            assert answer.json["codes"] == {"as_of": ["auth.read"]}, (user, path)
            assert answer.json["errors"] == {"as_of": [expected]}, (user, path, lang)
