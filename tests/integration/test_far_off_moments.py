"""A far-off moment on every time-travel and audit date parameter, on SQLite and PostgreSQL:
one whose UTC or WIB time is no date (9999-12-31T23:59:59-12:00 is year 10000 in UTC,
...Z is in WIB; 0001-01-01T00:00:00+14:00 is year 0 in UTC), and one that has a date but lies
beyond the system's calendar (after 2100-12-31, `domain.household.LATEST_DAY`: 9999-12-31
was answered 200 while the moments above were refused), is 422 naming the parameter (the API)
or the page's form error on that field, never a server error."""

from __future__ import annotations

import re

import pytest
from markupsafe import escape

from app.messages import message
from domain.application import SYSTEM, make_meta
from tests.integration.conftest import authorized_client
from tests.integration.test_time_travel_api import HEAD, HOUSEHOLD
from tests.support.i18n import language

pytestmark = pytest.mark.integration

BEYOND_UTC = "9999-12-31T23:59:59-12:00"
BEYOND_WIB = "9999-12-31T23:59:59Z"
BEFORE_YEAR_ONE = "0001-01-01T00:00:00+14:00"
LAST_DAY_OF_THE_CALENDAR = "9999-12-31"
LAST_MOMENT_WITH_A_DATE = "9999-12-31T23:59:59+07:00"
FAR_OFF = (
    BEYOND_UTC,
    BEYOND_WIB,
    BEFORE_YEAR_ONE,
    LAST_DAY_OF_THE_CALENDAR,
    LAST_MOMENT_WITH_A_DATE,
)


def text_of(code: str, lang: str = "id") -> str:
    with language(lang):
        return str(message(code))


@pytest.fixture
def household(web) -> str:
    casework = web.extensions["casework"].casework
    return str(casework.register_household(HOUSEHOLD, make_meta(SYSTEM, "api")).stream_id)


@pytest.fixture
def admin(web, tokens):
    return authorized_client(web, tokens["admin"])


def assert_422_naming(answer, field: str) -> None:
    assert answer.status_code == 422, answer.get_data(as_text=True)
    assert answer.json["codes"] == {field: [f"{field}.invalid"]}
    assert answer.json["errors"] == {field: [text_of(f"{field}.invalid")]}
    assert HEAD["nik"] not in answer.get_data(as_text=True)


@pytest.mark.parametrize("far", FAR_OFF)
def test_the_api_answers_422_naming_as_of(admin, household, far):
    for path in ("", "/history", "/eligibility"):
        for mode in ("known", "effective"):
            answer = admin.get(
                f"/api/v1/households/{household}{path}", query_string={"as_of": far, "mode": mode}
            )
            assert_422_naming(answer, "as_of")


@pytest.mark.parametrize("far", FAR_OFF)
def test_the_api_diff_answers_422_naming_from_or_to(admin, household, far):
    url = f"/api/v1/households/{household}/diff"
    assert_422_naming(admin.get(url, query_string={"from": "2025-01-01", "to": far}), "to")
    assert_422_naming(admin.get(url, query_string={"from": far, "to": "2025-01-01"}), "from")


def field_error_shown(page: str, name: str, error: str) -> bool:
    """The field is marked invalid and described by an error that says `error`."""
    tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', page)
    field = tag and re.search(r'aria-describedby="([^"]+)"', tag.group(0))
    if not field or 'aria-invalid="true"' not in tag.group(0):
        return False
    described = re.search(rf'id="{field.group(1)}"[^>]*>(.*?)</small>', page, re.S)
    said = re.sub(r"<[^>]+>", "", described.group(1)) if described else ""
    return str(escape(error)) in said


# the timeline's form fields -> the API parameter whose error they show
TIMELINE_FIELDS = {"saat": "as_of", "dari": "from", "sampai": "to"}


@pytest.mark.parametrize("far", FAR_OFF)
@pytest.mark.parametrize("name", sorted(TIMELINE_FIELDS))
def test_the_timeline_page_explains_the_field(web, household, far, name):
    page = web.test_client(user="auditor").get(
        f"/rumah-tangga/{household}/lini-masa", query_string={name: far}
    )
    assert page.status_code == 422
    # in the page's words (a date and time in WIB), not the API's (as_of, RFC 3339)
    assert field_error_shown(page.text, name, text_of("moment.invalid")), page.text
    assert "RFC 3339" not in page.text


@pytest.mark.parametrize("far", FAR_OFF)
@pytest.mark.parametrize("path", ["/audit", "/audit/log-baca"])
@pytest.mark.parametrize("name", ["dari", "sampai"])
def test_the_audit_pages_explain_the_field(web, tokens, far, path, name):
    page = web.test_client(user="auditor").get(path, query_string={name: far})
    assert page.status_code == 422, path
    assert field_error_shown(page.text, name, text_of("window.moment")), page.text


@pytest.mark.parametrize("lang", ["id", "en"])
def test_a_well_formed_day_outside_the_calendar_is_told_the_calendars_bounds(
    admin, household, lang
):
    # 1899-12-31 is a date alright: an error saying only "must be a date" leaves the reader
    # guessing; the answer names the years the system takes
    url = f"/api/v1/households/{household}"
    headers = {"Accept-Language": lang}
    answers = {
        "as_of": admin.get(url, query_string={"as_of": "1899-12-31"}, headers=headers),
        "from": admin.get(
            f"{url}/diff", query_string={"from": "1899-12-31", "to": "2025-01-01"}, headers=headers
        ),
        "to": admin.get(
            f"{url}/diff", query_string={"from": "2025-01-01", "to": "2101-01-01"}, headers=headers
        ),
    }
    for field, answer in answers.items():
        assert answer.status_code == 422
        assert answer.json["codes"] == {field: [f"{field}.invalid"]}
        (said,) = answer.json["errors"][field]
        assert "1900" in said and "2100" in said, said


# Moments the audit log's page refuses for its Dari and Sampai: before the calendar's first
# moment, after its last day, and the far-off ones above (each with its offset, as the API
# takes a moment).
REFUSED_BY_THE_AUDIT_PAGE = (
    "1899-12-31T23:59:59+07:00",
    "1899-12-31",
    "2101-01-01T00:00:00+07:00",
    "2101-01-01",
    *FAR_OFF,
)
AUDIT_FIELDS = {"dari": "since", "sampai": "until"}


@pytest.mark.parametrize("moment", REFUSED_BY_THE_AUDIT_PAGE)
@pytest.mark.parametrize("name", sorted(AUDIT_FIELDS))
def test_the_audit_api_refuses_what_the_audit_page_refuses(web, admin, moment, name):
    page = web.test_client(user="auditor").get("/audit", query_string={name: moment})
    assert page.status_code == 422
    assert field_error_shown(page.text, name, text_of("window.moment")), page.text
    field = AUDIT_FIELDS[name]
    answer = admin.get("/api/v1/audit", query_string={field: moment})
    assert answer.status_code == 422, answer.get_data(as_text=True)
    assert answer.json["codes"] == {field: [f"{field}.invalid"]}
    for lang in ("id", "en"):
        said = admin.get(
            "/api/v1/audit", query_string={field: moment}, headers={"Accept-Language": lang}
        ).json["errors"][field]
        assert said == [text_of(f"{field}.invalid", lang)]
        assert "1900" in said[0] and "2100" in said[0], said


@pytest.mark.parametrize("moment", ["2025-01-01T00:00:00+07:00", "2025-01-01"])
def test_the_audit_api_takes_what_the_audit_page_takes(web, admin, moment):
    for name, field in AUDIT_FIELDS.items():
        page = web.test_client(user="auditor").get("/audit", query_string={name: moment})
        assert page.status_code == 200
        answer = admin.get("/api/v1/audit", query_string={field: moment})
        assert answer.status_code == 200, answer.get_data(as_text=True)
