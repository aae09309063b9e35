"""The DCI social-registry interface (app/dci.py) given hostile bodies: numbers JSON can hold
but Python cannot count with (1e400, Infinity, NaN), objects where the spec wants a string,
bodies nested thousands of levels deep and oversized lists. Each is the protocol's answer (an
`ERR` naming the field, or the request's own `rjct` status), never a server error."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.integration import test_dci
from tests.integration.conftest import authorized_client
from tests.integration.test_dci import SIPIN_HEAD, SQLITE, header, search, subscribe_body
from tests.support import dci_spec
from tests.support.dci_receiver import Receiver

pytestmark = pytest.mark.integration

CALLBACK = "http://127.0.0.1:9/spmis"  # no one listens: the ERR is answered before any callback
PLACE = "__placeholder__"
world = test_dci.world  # the agencies, their agreements and households (a fixture)


def raw_post(web, token: str, path: str, body: Any, literal: str | None = None):
    """POST `body` as JSON text, its string PLACE replaced by `literal` (a number only JSON
    text can carry: 1e400, Infinity, NaN)."""
    text = json.dumps(body)
    if literal is not None:
        text = text.replace(json.dumps(PLACE), literal)
    answer = authorized_client(web, token).post(
        f"/dci{path}", data=text, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code < 500, answer.get_data(as_text=True)
    return answer


def assert_err(answer, path: str, field: str, status: int = 400) -> None:
    """The ERR answer: the status, err.request.bad naming the field, in the spec's shapes."""
    assert answer.status_code == status, answer.get_data(as_text=True)
    spec_path = path if path in dci_spec.spec()["paths"] else "/registry/search"
    assert dci_spec.response_errors(spec_path, status, answer.json) == []
    (error,) = answer.json["errors"]
    assert error["code"] == "err.request.bad", error
    assert field in error["message"]
    if "sync" in path:
        assert answer.json["header"]["status"] == "rjct"
        assert field in answer.json["header"]["status_reason_message"]
    else:
        assert answer.json["message"]["ack_status"] == "ERR"
        assert field in answer.json["message"]["error"]["message"]


PAGES = [
    ("page_size", "1e400"),  # parsed as float infinity
    ("page_size", "Infinity"),
    ("page_size", "-Infinity"),
    ("page_size", "NaN"),
    ("page_size", "2.0"),  # a float, not an integer
    ("page_size", "true"),
    ("page_number", "1e400"),
    ("page_number", "NaN"),
]


@SQLITE
@pytest.mark.parametrize(("name", "literal"), PAGES)
def test_a_page_that_is_no_integer_is_that_requests_rejection(web, world, name, literal):
    token = world["tokens"]["bpjs"]
    body = search("UIN", SIPIN_HEAD)
    pagination = {"page_size": 2, name: PLACE}
    body["message"]["search_request"][0]["search_criteria"]["pagination"] = pagination
    answer = raw_post(web, token, "/registry/sync/search", body, literal)
    assert answer.status_code == 200
    assert dci_spec.response_errors("/registry/sync/search", 200, answer.json) == []
    (item,) = answer.json["message"]["search_response"]
    assert item["status"] == "rjct"
    assert item["status_reason_code"] == "rjct.pagination.invalid"
    assert f"search_criteria.pagination.{name}" in item["status_reason_message"]
    # the asynchronous search: ACK, and the same rejection in the callback
    with Receiver() as receiver:
        body["header"] = header("search", receiver.base)
        answer = raw_post(web, token, "/registry/search", body, literal)
        assert answer.status_code == 200
        assert answer.json["message"]["ack_status"] == "ACK"
        (callback,) = receiver.wait_for("/registry/on-search")
    (item,) = callback["message"]["search_response"]
    assert item["status_reason_code"] == "rjct.pagination.invalid"
    assert f"search_criteria.pagination.{name}" in item["status_reason_message"]


@SQLITE
@pytest.mark.parametrize("literal", ["1e400", "Infinity", "NaN"])
def test_a_subscriptions_page_that_is_no_integer_is_its_rejection(web, world, literal):
    token = world["tokens"]["bpjs"]
    with Receiver() as receiver:
        body = subscribe_body(receiver.base, "REGISTER")
        criteria = body["message"]["subscribe_request"][0]["subscribe_criteria"]
        criteria["pagination"] = {"page_size": PLACE}
        answer = raw_post(web, token, "/registry/subscribe", body, literal)
        assert answer.status_code == 200
        assert answer.json["message"]["ack_status"] == "ACK"
        (callback,) = receiver.wait_for("/registry/on-subscribe")
    (item,) = callback["message"]["subscribe_response"]
    assert item["status"] == "rjct"
    # the spec's subscribe reasons have no pagination code: its filter's details are invalid
    assert item["status_reason_code"] == "rjct.notify_details.invalid"
    assert "subscribe_criteria.pagination.page_size" in item["status_reason_message"]


EVENT_TYPES = [["REGISTER"], {}, {"REGISTER": 1}, 1, True]


@SQLITE
@pytest.mark.parametrize("event", EVENT_TYPES, ids=repr)
@pytest.mark.parametrize("path", ["/registry/sync/search", "/registry/search"])
def test_a_search_event_type_that_is_no_string_answers_err(web, world, event, path):
    body = search("UIN", SIPIN_HEAD, None if "sync" in path else CALLBACK)
    body["message"]["search_request"][0]["search_criteria"]["reg_event_type"] = event
    answer = raw_post(web, world["tokens"]["bpjs"], path, body)
    assert_err(answer, path, "message.search_request[0].search_criteria.reg_event_type")


@SQLITE
@pytest.mark.parametrize("event", EVENT_TYPES, ids=repr)
def test_a_subscription_event_type_that_is_no_string_answers_err(web, world, event):
    body = subscribe_body(CALLBACK, "REGISTER")
    body["message"]["subscribe_request"][0]["subscribe_criteria"]["reg_event_type"] = event
    answer = raw_post(web, world["tokens"]["bpjs"], "/registry/subscribe", body)
    field = "message.subscribe_request[0].subscribe_criteria.reg_event_type"
    assert_err(answer, "/registry/subscribe", field)


def nested(levels: int) -> str:
    return "[" * levels + "]" * levels


ROUTES = [
    "/registry/sync/search",
    "/registry/search",
    "/registry/subscribe",
    "/registry/unsubscribe",
    "/registry/sync/txn/status",
    "/registry/txn/status",
]


@SQLITE
@pytest.mark.parametrize("path", ROUTES)
@pytest.mark.parametrize("levels", [5000, 100])
def test_a_body_nested_too_deep_answers_err(web, world, path, levels):
    token = world["tokens"]["bpjs"]
    answer = authorized_client(web, token).post(  # the whole body
        f"/dci{path}", data=nested(levels), headers={"Content-Type": "application/json"}
    )
    assert answer.status_code < 500, answer.get_data(as_text=True)
    assert_err(answer, path, "body")
    # deep inside a valid search
    body = search("UIN", SIPIN_HEAD, CALLBACK)
    body["message"]["search_request"][0]["search_criteria"]["query"] = PLACE
    answer = raw_post(web, token, path, body, nested(levels))
    assert_err(answer, path, "body")


def txn_status(references: list[str]) -> dict[str, Any]:
    return {
        "header": header("txn-status"),
        "message": {
            "transaction_id": "t-status",
            "txnstatus_request": {
                "reference_id": "r-status",
                "txn_type": "search",
                "attribute_type": "reference_id_list",
                "attribute_value": references,
            },
        },
    }


@SQLITE
@pytest.mark.parametrize("count", [51, 20_000])  # 100,000 ids pass the 1 MB body limit
def test_a_txn_status_asks_at_most_50_reference_ids(web, world, count):
    token = world["tokens"]["bpjs"]
    path = "/registry/sync/txn/status"
    body = txn_status([f"r-{n}" for n in range(count)])
    assert_err(raw_post(web, token, path, body), path, "txnstatus_request.attribute_value")
    body["header"] = header("txn-status", CALLBACK)
    path = "/registry/txn/status"
    assert_err(raw_post(web, token, path, body), path, "txnstatus_request.attribute_value")


@SQLITE
def test_a_txn_status_of_50_reference_ids_is_read(web, world):
    answer = raw_post(
        web,
        world["tokens"]["bpjs"],
        "/registry/sync/txn/status",
        txn_status([f"r-{n}" for n in range(50)]),
    )
    assert answer.status_code == 404  # read, and no transaction of this agency matches
    assert answer.json["errors"][0]["code"] == "err.request.not_found"


@SQLITE
def test_a_huge_whole_page_size_is_one_page(web, world):
    body = search("UIN", SIPIN_HEAD)
    body["message"]["search_request"][0]["search_criteria"]["pagination"] = {"page_size": PLACE}
    answer = raw_post(web, world["tokens"]["bpjs"], "/registry/sync/search", body, "9" * 4000)
    assert answer.status_code == 200
    (item,) = answer.json["message"]["search_response"]
    assert item["status"] == "succ" and len(item["data"]["reg_records"]) == 1


@SQLITE
@pytest.mark.parametrize("path", ["/registry/sync/search", "/registry/search"])
def test_a_body_over_the_size_limit_is_the_protocols_err(web, world, path):
    # 413 as every route answers it, but in the registry's shapes (errors: [{code, message}]),
    # not the /api/v1 error object a DCI client cannot read
    body = search("UIN", SIPIN_HEAD, CALLBACK)
    body["message"]["transaction_id"] = "t" * (1024 * 1024)
    answer = raw_post(web, world["tokens"]["bpjs"], path, body)
    assert answer.status_code == 413
    (error,) = answer.json["errors"]
    assert error["code"] == "err.request.bad" and error["message"].startswith("body:")
    if "sync" in path:
        assert answer.json["header"]["status"] == "rjct"
    else:
        assert answer.json["message"]["ack_status"] == "ERR"


SURROGATES = [  # (where, the field the ERR names)
    (("header", "message_id"), "header.message_id"),
    (("message", "transaction_id"), "message.transaction_id"),
    (("message", "search_request", 0, "reference_id"), "message.search_request[0].reference_id"),
    (
        ("message", "search_request", 0, "search_criteria", "query", "value"),
        "message.search_request[0].search_criteria.query.value",
    ),
]


@SQLITE
@pytest.mark.parametrize(("where", "field"), SURROGATES, ids=lambda v: str(v))
@pytest.mark.parametrize("path", ["/registry/sync/search", "/registry/search"])
def test_a_text_with_a_lone_surrogate_answers_err_naming_it(web, world, path, where, field):
    """A lone surrogate (JSON's "\\ud800") is no text an answer could carry back (it cannot
    be written as UTF-8): the ERR names the field, never a server error."""
    body = search("UIN", SIPIN_HEAD, None if "sync" in path else CALLBACK)
    parent: Any = body
    for step in where[:-1]:
        parent = parent[step]
    parent[where[-1]] = PLACE
    answer = raw_post(web, world["tokens"]["bpjs"], path, body, '"\\ud800"')
    assert_err(answer, path, field)


@SQLITE
def test_txn_status_and_unsubscribe_refuse_a_lone_surrogate(web, world):
    token = world["tokens"]["bpjs"]
    path = "/registry/sync/txn/status"
    body = txn_status(["r-1", PLACE])
    answer = raw_post(web, token, path, body, '"a\\udfffb"')
    assert_err(answer, path, "message.txnstatus_request.attribute_value[1]")
    body = {
        "header": header("unsubscribe", CALLBACK),
        "message": {"transaction_id": "t-u", "subscription_codes": [PLACE]},
    }
    path = "/registry/unsubscribe"
    answer = raw_post(web, token, path, body, '"\\ud800"')
    assert_err(answer, path, "message.subscription_codes[0]")


@SQLITE
@pytest.mark.parametrize("value", ["157101520385007", "15710152O3850007", "1571-0152-0385-0007"])
@pytest.mark.parametrize("id_type", ["UIN", "HOUSEHOLD_ID"])
def test_an_identifier_that_is_no_nik_or_kk_number_is_that_requests_rejection(
    web, world, id_type, value
):
    """A value that is not 16 digits matches no one: the request is rejected saying so
    (rjct.search_criteria.invalid), not answered `succ` with no record, which reads as "not
    registered"."""
    token = world["tokens"]["bpjs"]
    answer = test_dci.post(web, token, "/registry/sync/search", search(id_type, value))
    (item,) = answer.json["message"]["search_response"]
    assert item["status"] == "rjct", item
    assert item["status_reason_code"] == "rjct.search_criteria.invalid"
    assert "16 digits" in item["status_reason_message"]
    # a NIK sent as a JSON number (off the spec, but read) is still found
    answer = raw_post(web, token, "/registry/sync/search", search("UIN", PLACE), SIPIN_HEAD)
    assert test_dci.records(answer.json)


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("where", "field", "character"),
    [
        (("message", "transaction_id"), "message.transaction_id", "\\u0000"),
        (
            ("message", "search_request", 0, "reference_id"),
            "message.search_request[0].reference_id",
            "\\u0000",
        ),
        (("header", "sender_id"), "header.sender_id", "\\u202e"),
    ],
    ids=["nul-transaction", "nul-reference", "bidi-sender"],
)
def test_a_text_with_a_control_character_answers_err_naming_it(web, world, where, field, character):
    """A NUL (PostgreSQL cannot store it: the search answered 503 "the database cannot be
    reached") or a text-direction mark in a DCI text is refused as the API refuses it in
    every text: ERR naming the field."""
    body = search("UIN", SIPIN_HEAD)
    parent: Any = body
    for step in where[:-1]:
        parent = parent[step]
    parent[where[-1]] = PLACE
    path = "/registry/sync/search"
    answer = raw_post(web, world["tokens"]["bpjs"], path, body, f'"t{character}x"')
    assert_err(answer, path, field)


@SQLITE
def test_a_wrong_method_or_route_under_dci_answers_in_the_registrys_error_shape(web, world):
    """Under /dci/ every refusal carries the spec's `errors: [{code, message}]` (and its ERR
    acknowledgement), a wrong method or an unknown route too: not the API's
    `{"errors": {"body": [...]}}`, which a DCI client could not read."""
    client = authorized_client(web, world["tokens"]["bpjs"])
    cases = [
        (client.get("/dci/registry/sync/search"), 405, "err.request.bad"),
        (client.put("/dci/registry/subscribe", json={}), 405, "err.request.bad"),
        (client.post("/dci/registry/no-such-route", json={}), 404, "err.request.not_found"),
    ]
    for answer, status, code in cases:
        assert answer.status_code == status
        (error,) = answer.json["errors"]
        assert error["code"] == code, answer.json
        assert answer.json["message"]["ack_status"] == "ERR"
        assert dci_spec.response_errors("/registry/search", status, answer.json) == []
    assert "POST" in cases[0][0].headers["Allow"]


@SQLITE
@pytest.mark.parametrize("path", ["/registry/sync/search", "/registry/search"])
def test_a_field_given_twice_answers_err_naming_it(web, world, path):
    # which of the two a reader takes differs between JSON parsers: neither is guessed
    body = search("UIN", SIPIN_HEAD, CALLBACK, action="search")
    body["header"]["receiver_id"] = PLACE
    twice = '"casework.1571", "sender_id": "other.example.org"'
    answer = raw_post(web, world["tokens"]["bpjs"], path, body, twice)
    assert_err(answer, path, "header.sender_id")
