"""Bad input is refused with 400, 415 or 422 and stores nothing; never a 500. Every page,
API answer and error carries the security headers."""

from __future__ import annotations

import io
import json
import re

import pytest
from werkzeug.datastructures import MultiDict

from domain.application import SYSTEM, make_meta
from domain.catalog import seed_catalog
from projections.status import store_counts
from tests.integration.conftest import authorized_client

pytestmark = pytest.mark.integration

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
REGISTER = "/api/v1/commands/RegisterHousehold"


@pytest.fixture
def client(web, admin_token):
    return authorized_client(web, admin_token)


def stored_events(web) -> int:
    return store_counts(web.extensions["casework"].store)[0]


def post_raw(client, body: str | bytes, content_type: str = "application/json", url=REGISTER):
    return client.post(url, data=body, content_type=content_type)


@pytest.mark.parametrize("opening", ["[", '{"a":'])
def test_deeply_nested_json_is_400_saying_how_deep_it_may_go(client, web, opening):
    before = stored_events(web)
    closing = "]" if opening == "[" else "}"
    for depth in (40, 100_000):
        answer = post_raw(client, opening * depth + "1" + closing * depth)
        assert answer.status_code == 400, answer.text[:200]
        assert answer.json["codes"] == {"body": ["body.too_deep"]}
        assert "32" in answer.json["errors"]["body"][0]
    assert stored_events(web) == before


@pytest.fixture
def programs(web) -> None:
    seed_catalog(web.extensions["casework"].casework, make_meta(SYSTEM, "cli"))


def test_deeply_nested_json_in_a_what_if_draft_is_400(client, programs):
    body = '{"rules": ' + "[" * 50_000 + "]" * 50_000 + "}"
    answer = post_raw(client, body, url="/api/v1/programs/PKH/what-if")
    assert answer.status_code == 400
    assert answer.json["codes"] == {"body": ["body.too_deep"]}


@pytest.mark.parametrize(
    "character",
    ["\x00", "\x1b[31m", "\x07", "\x85", "\u202e", "\u202a", "\u2066", "\u2069", "\ud800"],
)
def test_a_name_with_a_control_bidi_or_surrogate_character_is_422_naming_it(client, web, character):
    before = stored_events(web)
    body = {**HOUSEHOLD, "head": {**HEAD, "name": f"Siti{character}Aminah"}}
    answer = post_raw(client, json.dumps(body))  # ensure_ascii: the surrogate travels as \ud800
    assert answer.status_code == 422, answer.text[:200]
    assert answer.json["codes"] == {"head.name": ["text.character"]}
    assert "karakter kontrol" in answer.json["errors"]["head.name"][0]
    assert stored_events(web) == before


def test_free_text_keeps_line_breaks_and_refuses_controls(client, web):
    refused = client.post(REGISTER, json={**HOUSEHOLD, "reason": "Pindahan\x1b[2J dari Muaro"})
    assert refused.status_code == 422
    assert refused.json["codes"] == {"reason": ["text.character"]}
    refused = client.post(REGISTER, json={**HOUSEHOLD, "address": "Jl. Sudirman \u202eNo. 5"})
    assert refused.json["codes"] == {"address": ["text.character"]}

    kept = client.post(REGISTER, json={**HOUSEHOLD, "reason": "Pindahan\n\tdari Muaro Jambi"})
    assert kept.status_code == 201, kept.text


def test_an_occurred_at_before_1900_is_422(client, web):
    before = stored_events(web)
    answer = client.post(REGISTER, json={**HOUSEHOLD, "occurred_at": "1702-01-01T00:00:00+07:00"})
    assert answer.status_code == 422
    assert answer.json["codes"] == {"occurred_at": ["occurred_at.too_old"]}
    assert stored_events(web) == before
    ok = client.post(REGISTER, json={**HOUSEHOLD, "occurred_at": "2020-01-01T00:00:00+07:00"})
    assert ok.status_code == 201


@pytest.mark.parametrize(
    ("url", "content_type"),
    [
        (REGISTER, "text/plain"),
        (REGISTER, "application/x-www-form-urlencoded"),
        ("/api/v1/programs/PKH/what-if", "text/plain"),
    ],
)
def test_a_body_not_sent_as_json_is_415(client, web, programs, url, content_type):
    before = stored_events(web)
    answer = post_raw(client, json.dumps(HOUSEHOLD), content_type, url=url)
    assert answer.status_code == 415
    assert answer.json["codes"] == {"body": ["body.media_type"]}
    assert "Content-Type: application/json" in answer.json["errors"]["body"][0]
    assert stored_events(web) == before


def test_json_with_a_charset_is_taken(client):
    answer = post_raw(client, json.dumps(HOUSEHOLD), "application/json; charset=utf-8")
    assert answer.status_code == 201


def test_a_number_too_long_to_read_is_400(client, web):
    answer = post_raw(client, '{"expected_version": ' + "9" * 5000 + "}")
    assert answer.status_code == 400
    assert answer.json["codes"] == {"body": ["body.json"]}


def test_a_field_name_with_a_lone_surrogate_is_400(client, web):
    answer = post_raw(client, '{"\\ud800": 1}')
    assert answer.status_code == 400
    assert answer.json["codes"] == {"body": ["body.json"]}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (json.dumps(HOUSEHOLD)[:-1] + ', "address": "Jl. Lain No. 9"}', "address"),
        (json.dumps(HOUSEHOLD).replace('"sex": "F"', '"sex": "F", "name": "Rina"'), "head.name"),
    ],
)
def test_a_field_given_twice_is_400_naming_it_and_stores_nothing(client, web, body, field):
    # which of the two a reader takes differs between JSON parsers: neither is guessed
    before = stored_events(web)
    answer = post_raw(client, body)
    assert answer.status_code == 400, answer.text[:200]
    assert answer.json["codes"] == {field: ["body.duplicate_key"]}
    assert "lebih dari sekali" in answer.json["errors"][field][0]
    assert stored_events(web) == before


@pytest.mark.parametrize(
    ("method", "url", "allowed"),
    [
        ("delete", "/api/v1/households", {"GET"}),
        ("get", REGISTER, {"POST"}),
        ("put", "/", {"GET"}),
        ("post", "/healthz", {"GET"}),
    ],
)
def test_405_names_the_allowed_methods(client, method, url, allowed):
    answer = getattr(client, method)(url)
    assert answer.status_code == 405
    assert allowed <= {m.strip() for m in answer.headers["Allow"].split(",")}


def _csrf(browser) -> str:
    page = browser.get("/daftar").text
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


@pytest.mark.parametrize(
    "fields",
    [
        [("head", "x"), ("head.nik", HEAD["nik"])],
        [("head.nik", HEAD["nik"]), ("head", "x")],
        [("head.name.first", "Siti"), ("head.name", "Siti")],
    ],
)
def test_a_form_whose_field_names_clash_is_422_not_500(web, fields):
    browser = web.test_client()
    token = _csrf(browser)
    before = stored_events(web)
    form = MultiDict([("csrf_token", token), *fields])
    for url in ("/daftar", "/perintah/RegisterHousehold", "/periksa/RegisterHousehold"):
        answer = browser.post(url, data=form)
        assert answer.status_code in (200, 422), (url, answer.status_code)
        assert answer.status_code == 422 or url.startswith("/periksa")
    assert stored_events(web) == before
    page = browser.post("/daftar", data=form).text
    assert "nama kelompok" in page  # the message says what is wrong, in Indonesian


def test_a_group_sent_as_one_field_is_422_not_500(web):
    browser = web.test_client()
    token = _csrf(browser)
    answer = browser.post("/perintah/DefineProgram", data={"csrf_token": token, "rules": "x"})
    assert answer.status_code == 422


SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


@pytest.mark.parametrize(
    "url",
    ["/", "/daftar", "/perintah", "/healthz", "/api/v1/programs", "/tidak-ada", "/static/app.css"],
)
def test_every_answer_carries_the_security_headers(client, url):
    answer = client.get(url)
    assert answer.status_code < 500
    for name, value in SECURITY_HEADERS.items():
        assert answer.headers[name] == value
    assert answer.headers["Referrer-Policy"] in ("same-origin", "no-referrer")
    policy = dict(
        (part.strip().split(" ", 1) + [""])[:2]
        for part in answer.headers["Content-Security-Policy"].split(";")
        if part.strip()
    )
    assert policy["frame-ancestors"] == "'none'"
    assert policy["script-src"] == "'self'"  # no inline script, no eval
    assert "'unsafe-inline'" not in answer.headers["Content-Security-Policy"]
    assert policy["default-src"] == "'self'"


@pytest.mark.parametrize("value", ["9" * 5000, "²", "١٢"])
def test_a_page_size_that_is_not_plain_digits_is_422(client, value):
    for url in ("/api/v1/households", "/api/v1/reviews"):
        answer = client.get(url, query_string={"limit": value})
        assert answer.status_code == 422, url
        assert answer.json["codes"] == {"limit": ["limit.invalid"]}


@pytest.mark.parametrize("value", ["9" * 5000, "²"])
def test_a_page_number_that_is_not_plain_digits_shows_the_first_page(web, value):
    answer = web.test_client().get("/", query_string={"q": "Siti", "halaman": value})
    assert answer.status_code == 200


def test_a_streamed_body_over_the_limit_is_413_not_400(client, web):
    """A body sent chunked (no Content-Length) is cut at the 1 MB limit as it is read: the
    client is told it is too large, not that its JSON is broken."""
    before = stored_events(web)
    big = json.dumps({**HOUSEHOLD, "address": "x" * (2 * 1024 * 1024)}).encode()
    # as gunicorn passes a chunked body on: no length, the stream ending where the body does
    streamed = {"wsgi.input_terminated": True, "HTTP_TRANSFER_ENCODING": "chunked"}
    answer = client.post(
        REGISTER,
        input_stream=io.BytesIO(big),
        content_type="application/json",
        environ_overrides=streamed,
    )
    assert answer.status_code == 413, answer.text[:200]
    assert answer.json["codes"] == {"body": ["request.too_large"]}
    # a streamed body within the limit is read whole, as one with its length
    small = json.dumps({**HOUSEHOLD, "address": 7}).encode()
    answer = client.post(
        REGISTER,
        input_stream=io.BytesIO(small),
        content_type="application/json",
        environ_overrides=streamed,
    )
    assert answer.status_code == 422 and "address" in answer.json["codes"]
    assert stored_events(web) == before


@pytest.mark.parametrize(
    ("query", "codes"),
    [
        ({"nik": "157101520385007"}, {"nik": ["nik.format"]}),  # a digit short
        ({"nik": "15710152O3850007"}, {"nik": ["nik.format"]}),  # the letter O
        ({"kk": "1571-0101-2000-03"}, {"kk": ["kk.format"]}),
        ({"nik": "x", "kk": "y"}, {"nik": ["nik.format"], "kk": ["kk.format"]}),
    ],
)
def test_a_search_by_a_nik_or_kk_that_is_not_one_is_422_naming_it(client, query, codes):
    """A NIK or KK number of the wrong form matches no one: the client is told to correct
    it (16 digits), not answered "no such family", which reads as "not registered"."""
    answer = client.get("/api/v1/households", query_string=query)
    assert answer.status_code == 422, answer.text[:200]
    assert answer.json["codes"] == codes
    assert "16" in " ".join(m for ms in answer.json["errors"].values() for m in ms)
    # well formed but not registered: an empty answer, as before
    answer = client.get("/api/v1/households", query_string={"nik": "1571015203850099"})
    assert answer.status_code == 200 and answer.json == {"results": []}


@pytest.mark.parametrize(
    ("field", "value"),
    [("address", ["Jl. Kapten Pattimura No. 5"]), ("address", {"street": "x"}), ("reason", 5)],
)
def test_a_text_field_given_another_json_type_is_told_to_send_text(client, web, field, value):
    """A list, an object or a number where the command takes text: 422 saying it must be
    text, not "this value cannot be read"."""
    before = stored_events(web)
    answer = client.post(REGISTER, json={**HOUSEHOLD, field: value})
    assert answer.status_code == 422
    assert answer.json["codes"] == {field: ["field.text"]}
    assert "teks" in answer.json["errors"][field][0].lower()
    assert stored_events(web) == before
