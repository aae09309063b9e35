"""The language switch (ID / EN) on a form's answer: a form sent with errors is answered at the
address it was sent to, which is not a page to open. The switch leads to the page the form
was on, in the other language: before, on a refused decision it answered 405 (Method not
allowed), and on a command form it lost the household the form was opened for."""

from __future__ import annotations

import html
import re

import pytest

from domain.application import SYSTEM, make_meta
from domain.catalog import seed_catalog
from tests.integration.test_form_sent_twice import HEAD, HOUSEHOLD
from tests.support.signin import csrf_of

pytestmark = pytest.mark.integration


def english_link(page: str) -> str:
    found = re.search(r'<a href="([^"]+)" hreflang="en"', page)
    assert found, "no language switch"
    return html.unescape(found.group(1))


def test_the_language_switch_on_a_forms_errors_opens_the_page_the_form_was_on(web):
    casework = web.extensions["casework"].casework
    meta = make_meta(SYSTEM, "api")
    seed_catalog(casework, meta)
    household_id = str(casework.register_household(HOUSEHOLD, meta).stream_id)
    maker = web.test_client(user="cw_sipin")
    form_page = f"/perintah/IssueKtp?household_id={household_id}"
    token = csrf_of(maker.get(form_page).text)

    refused = maker.post(
        "/perintah/IssueKtp",
        data={"csrf_token": token, "household_id": household_id, "nik": HEAD["nik"]},
        headers={"Referer": f"http://localhost{form_page}"},
    )

    assert refused.status_code == 422
    switched = maker.get(english_link(refused.text))
    assert switched.status_code == 200
    assert 'lang="en"' in switched.text and "Record a KTP issued" in switched.text
    assert f'value="{household_id}"' in switched.text  # still the household's form

    # a supervisor's refusal without its note: the queue, not the address it was sent to
    asked = maker.post(
        "/perintah/GrantBenefit",
        data={
            "csrf_token": token,
            "household_id": household_id,
            "nik": HEAD["nik"],
            "program": "PKH",
            "period_start": "2026-01-01",
            "period_end": "2026-12-31",
            "amount": "750000",
        },
    )
    assert asked.status_code == 303
    (request,) = casework.pending_approvals()
    checker = web.test_client(user="sup1")
    token = csrf_of(checker.get("/persetujuan").text)
    no_note = checker.post(
        f"/persetujuan/{request.id}/tolak",
        data={"csrf_token": token, "reason_code": "other", "note": ""},
        headers={"Referer": "http://localhost/persetujuan"},
    )
    assert no_note.status_code == 422
    switched = checker.get(english_link(no_note.text))
    assert switched.status_code == 200 and 'lang="en"' in switched.text
    # a browser that sends no Referer: a page that opens, not the 405 page
    no_note = checker.post(
        f"/persetujuan/{request.id}/tolak",
        data={"csrf_token": token, "reason_code": "other", "note": ""},
    )
    assert checker.get(english_link(no_note.text)).status_code == 200
