"""The DCI social-registry interface (app/dci.py) through the real app, on SQLite: an agency
account with a bearer token, households registered through the write side, and every request,
answer and callback checked against the SPDCI `social_api` 1.0.0 OpenAPI document
(tests/support/dci_spec.py). Callbacks reach a real HTTP server on 127.0.0.1.

Agreements are asked by one supervisor and approved by another through the command path; the
agencies view is brought up to date as the projection runner would (`project`), and the real
agency filter (consumers.agency_filter) decides what each agency is given."""

from __future__ import annotations

import datetime as dt
import socket
import time
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.signing import BadSignature, Verifier
from app import dci
from consumers.agency_delivery import delivery_states
from domain.application import SYSTEM, make_meta
from tests.integration.conftest import authorized_client, bearer
from tests.integration.test_agency_agreements_api import project
from tests.support import dci_spec
from tests.support.dci_receiver import Receiver

pytestmark = pytest.mark.integration
SQLITE = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

META = make_meta(SYSTEM, "api")
SIPIN_HEAD = "1571015203850007"
SIPIN_KK = "1571010101200003"
CHILD = "1571016503100002"
PELAYANGAN_HEAD = "1571015203850015"
PELAYANGAN_KK = "1571010101200004"
TS = "2026-03-01T08:00:00+07:00"


AGREEMENT = {
    "purpose": "Verifikasi kepesertaan PBI-JK",
    "legal_basis": "PKS Dinsos Kota Jambi No. 12/2026",
    "event_types": ["HouseholdRegistered", "MemberAdded"],
    "fields": {
        "HouseholdRegistered": ["kk_number", "kecamatan", "kelurahan", "head.nik", "head.name"],
        "MemberAdded": ["person.nik", "person.name", "relationship"],
    },
    "valid_from": "2026-01-01",
}


def agree(web, tokens, agency: str, **terms: Any) -> None:
    """An agreement asked by one supervisor and approved by another (the command path)."""
    client = web.test_client()
    asked = client.post(
        "/api/v1/commands/DefineAgencyAgreement",
        json={**AGREEMENT, "agency": agency, **terms},
        headers=bearer(tokens["sup1"]),
    )
    assert asked.status_code == 202, asked.get_json()
    done = client.post(
        "/api/v1/commands/ApproveChange",
        json={"approval_id": asked.get_json()["approval_id"]},
        headers=bearer(tokens["sup2"]),
    )
    assert done.status_code == 201, done.get_json()


@pytest.fixture
def world(web, tokens):
    """Agencies BPJSKES (NIKs opened, Simpang IV Sipin only; the `agency` account), DUKCAPIL
    (pseudonyms, the whole city) and NOAGREE (no agreement); a household in Simpang IV Sipin
    with two members and one in Tahtul Yaman; the agencies view caught up."""
    svc = web.extensions["casework"]
    web.config.update(DCI_POLL_SECONDS=0.1)
    agree(web, tokens, "BPJSKES", personal="opened", kelurahan=["Simpang IV Sipin"])
    agree(web, tokens, "DUKCAPIL")
    agencies = {"bpjs": tokens["agency"]}
    for name, code in (("dukcapil", "DUKCAPIL"), ("noagree", "NOAGREE")):
        svc.casework.add_user(name, "agency", code, [], make_meta(SYSTEM, "cli"))
        agencies[name] = svc.casework.issue_token(name, make_meta(SYSTEM, "cli"))
    sipin = register(web, SIPIN_KK, "Telanaipura", "Simpang IV Sipin", SIPIN_HEAD)
    svc.casework.add_member(
        {
            "household_id": sipin,
            "person": {"nik": CHILD, "name": "Bunga", "birth_date": "2010-03-25", "sex": "F"},
            "relationship": "anak",
        },
        META,
    )
    register(web, PELAYANGAN_KK, "Pelayangan", "Tahtul Yaman", PELAYANGAN_HEAD)
    project(web)
    yield {"tokens": agencies, "sipin": sipin}
    dci.registry(web).stop()


def reads(web) -> list[tuple]:
    """The read log's rows: (actor, channel, endpoint, households)."""
    return web.extensions["casework"].store.query(
        "SELECT actor_id, channel, endpoint, household_id FROM casework_access_log ORDER BY id"
    )


def register(web, kk: str, kecamatan: str, kelurahan: str, nik: str) -> str:
    return str(
        web.extensions["casework"]
        .casework.register_household(
            {
                "kk_number": kk,
                "kecamatan": kecamatan,
                "kelurahan": kelurahan,
                "address": "Jl. Kapten Pattimura No. 5",
                "rt": "007",
                "rw": "002",
                "head": {"nik": nik, "name": "Siti", "birth_date": "1985-03-12", "sex": "F"},
            },
            META,
        )
        .stream_id
    )


def eventually(check, timeout: float = 5.0) -> bool:
    """Whether `check()` comes true within the timeout (what the callback worker records after
    the receiver has the callback)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def header(action: str, uri: str | None = None) -> dict[str, Any]:
    found = {
        "version": "1.0.0",
        "message_id": uuid.uuid4().hex,
        "message_ts": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "action": action,
        "sender_id": "spmis.example.org",
        "receiver_id": "casework.1571",
        "total_count": 1,
    }
    if uri:
        found["sender_uri"] = uri
    return found


def search(id_type: str, value: str, uri: str | None = None, action: str = "search") -> dict:
    return {
        "signature": "Signature: namespace=test",
        "header": header(action, uri),
        "message": {
            "transaction_id": "t-" + uuid.uuid4().hex[:8],
            "search_request": [
                {
                    "reference_id": "r-1",
                    "timestamp": TS,
                    "search_criteria": {
                        "reg_event_type": "REGISTER",
                        "query_type": "idtype-value",
                        "query": {"type": id_type, "value": value},
                    },
                }
            ],
        },
    }


def post(web, token: str, path: str, body: Any):
    """POST to the registry: the request and the answer each checked against the spec."""
    if isinstance(body, dict) and "header" in body:
        assert dci_spec.request_errors(path, body) == [], "the test's own request is off-spec"
    answer = authorized_client(web, token).post(f"/dci{path}", json=body)
    assert answer.status_code < 500, answer.get_data(as_text=True)
    assert dci_spec.response_errors(path, answer.status_code, answer.json) == []
    return answer


def records(answer_body: dict) -> list[dict]:
    (item,) = answer_body["message"]["search_response"]
    assert item["status"] == "succ", item
    return item["data"]["reg_records"]


def test_sync_search_by_uin_and_household_id_answers_the_household(web, world):
    token = world["tokens"]["bpjs"]
    for id_type, value in (("UIN", SIPIN_HEAD), ("NIN", CHILD), ("HOUSEHOLD_ID", SIPIN_KK)):
        answer = post(web, token, "/registry/sync/search", search(id_type, value))
        assert answer.status_code == 200
        assert answer.json["header"]["action"] == "on-search"
        Verifier.from_jwks(web.test_client().get("/api/v1/keys").json).verify_document(
            "casework.dci.BPJSKES", None, answer.json
        )
        (record,) = records(answer.json)
        assert record["household_identifier"] == SIPIN_KK
        assert {m["household_member"]["member_identifier"] for m in record["member_list"]} == {
            SIPIN_HEAD,
            CHILD,
        }
    actor, channel, endpoint, households = reads(web)[-1]
    assert (actor, channel, endpoint) == ("agency:BPJSKES", "api", "/dci/registry/sync/search")
    assert households == world["sipin"]


@SQLITE
def test_a_household_outside_the_agreements_area_is_not_found(web, world):
    token = world["tokens"]["bpjs"]
    before = len(reads(web))
    for id_type, value in (("UIN", PELAYANGAN_HEAD), ("HOUSEHOLD_ID", PELAYANGAN_KK)):
        answer = post(web, token, "/registry/sync/search", search(id_type, value))
        assert records(answer.json) == []
        assert PELAYANGAN_HEAD not in answer.get_data(as_text=True)
    assert len(reads(web)) == before  # nothing was read


@SQLITE
def test_an_agency_given_pseudonyms_cannot_look_a_nik_up(web, world):
    answer = post(
        web, world["tokens"]["dukcapil"], "/registry/sync/search", search("UIN", SIPIN_HEAD)
    )
    assert records(answer.json) == []
    assert SIPIN_HEAD not in answer.get_data(as_text=True)


@SQLITE
def test_an_agency_without_an_agreement_is_refused(web, world):
    answer = post(
        web, world["tokens"]["noagree"], "/registry/sync/search", search("UIN", SIPIN_HEAD)
    )
    assert answer.status_code == 403
    assert answer.json["errors"][0]["code"] == "err.request.forbidden"
    assert SIPIN_HEAD not in answer.get_data(as_text=True)
    with Receiver() as receiver:
        body = search("UIN", SIPIN_HEAD, receiver.base)
        answer = post(web, world["tokens"]["noagree"], "/registry/search", body)
        assert answer.json["message"]["ack_status"] == "ERR"
        assert answer.json["message"]["error"]["code"] == "err.request.forbidden"
        assert receiver.wait_for("/registry/on-search", timeout=0.5) == []


@SQLITE
def test_other_roles_and_anonymous_callers_are_refused(web, world, tokens):
    body = search("UIN", SIPIN_HEAD)
    anonymous = web.test_client().post("/dci/registry/sync/search", json=body)
    assert anonymous.status_code == 401
    assert anonymous.json["errors"][0]["code"] == "err.request.unauthorized"
    for user in ("admin", "sup1", "cw_sipin", "auditor", "pm_dinsos"):
        answer = post(web, tokens[user], "/registry/sync/search", body)
        assert answer.status_code == 403, user
        assert SIPIN_HEAD not in answer.get_data(as_text=True)


@SQLITE
@pytest.mark.parametrize("message_ts", ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z"])
def test_a_message_from_an_absurd_moment_answers_err_naming_message_ts(web, world, message_ts):
    """The spec takes any date-time; this registry reads a message sent in the last 30 days
    or at most a day ahead of its clock: the year 9999 is answered as a bad field, the
    synchronous search with the rjct status, the asynchronous one with an ERR, nothing
    searched."""
    body = search("UIN", SIPIN_HEAD)
    body["header"]["message_ts"] = message_ts
    assert dci_spec.request_errors("/registry/sync/search", body) == []  # on-spec
    client = authorized_client(web, world["tokens"]["bpjs"])
    answer = client.post("/dci/registry/sync/search", json=body)
    assert answer.status_code == 400
    assert dci_spec.response_errors("/registry/sync/search", 400, answer.json) == []
    assert "header.message_ts" in answer.json["header"]["status_reason_message"]
    (error,) = answer.json["errors"]
    assert error["code"] == "err.request.bad" and "30 days" in error["message"]
    assert SIPIN_HEAD not in answer.get_data(as_text=True)
    body["header"]["sender_uri"] = "http://127.0.0.1:9/spmis"
    ack = client.post("/dci/registry/search", json=body)
    assert ack.status_code == 400
    assert ack.json["message"]["ack_status"] == "ERR"
    assert "header.message_ts" in ack.json["message"]["error"]["message"]


@SQLITE
@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda b: b["header"].pop("message_id"), "header.message_id"),
        (lambda b: b["header"].update(message_ts="kemarin"), "header.message_ts"),
        (lambda b: b["message"].pop("transaction_id"), "message.transaction_id"),
        (lambda b: b["message"]["search_request"][0].pop("search_criteria"), "search_criteria"),
        (lambda b: b.update(header="search"), "header"),
    ],
)
def test_a_malformed_envelope_answers_err_naming_the_field(web, world, change, field):
    body = search("UIN", SIPIN_HEAD)
    change(body)
    assert dci_spec.request_errors("/registry/sync/search", body) != []  # off-spec indeed
    answer = authorized_client(web, world["tokens"]["bpjs"]).post(
        "/dci/registry/sync/search", json=body
    )
    assert answer.status_code == 400
    assert dci_spec.response_errors("/registry/sync/search", 400, answer.json) == []
    assert answer.json["header"]["status"] == "rjct"
    assert field in answer.json["header"]["status_reason_message"]
    (error,) = answer.json["errors"]
    assert error["code"] == "err.request.bad" and field in error["message"]
    # the asynchronous route: an ERR acknowledgement naming the field
    if isinstance(body["header"], dict):
        body["header"]["sender_uri"] = "http://127.0.0.1:9/spmis"
    ack = authorized_client(web, world["tokens"]["bpjs"]).post("/dci/registry/search", json=body)
    assert ack.status_code == 400
    assert dci_spec.response_errors("/registry/search", 400, ack.json) == []
    assert ack.json["message"]["ack_status"] == "ERR"
    assert field in ack.json["message"]["error"]["message"]


@SQLITE
def test_a_replayed_message_id_is_refused_as_a_duplicate(web, world):
    """A message sent again with its message_id (a replay, or a sender reusing ids) is the
    spec's rjct.message_id.duplicate: nothing searched, nothing read, no second callback."""
    token = world["tokens"]["bpjs"]
    body = search("UIN", SIPIN_HEAD)
    assert records(post(web, token, "/registry/sync/search", body).json) != []
    before = len(reads(web))
    again = post(web, token, "/registry/sync/search", body)
    assert again.status_code == 400
    assert again.json["header"]["status_reason_code"] == "rjct.message_id.duplicate"
    assert "header.message_id" in again.json["header"]["status_reason_message"]
    assert SIPIN_HEAD not in again.get_data(as_text=True)
    assert len(reads(web)) == before
    # another agency's message may carry the same id: ids are each sender's own
    other = post(web, world["tokens"]["dukcapil"], "/registry/sync/search", body)
    assert other.json["header"]["status"] == "succ"
    with Receiver() as receiver:
        body = search("HOUSEHOLD_ID", SIPIN_KK, receiver.base)
        assert post(web, token, "/registry/search", body).json["message"]["ack_status"] == "ACK"
        ack = post(web, token, "/registry/search", body)
        assert ack.status_code == 400
        assert ack.json["message"]["ack_status"] == "ERR"
        assert "header.message_id" in ack.json["message"]["error"]["message"]
        assert len(receiver.wait_for("/registry/on-search", 2, timeout=1.5)) == 1


@SQLITE
def test_a_body_that_is_not_json_answers_err(web, world):
    client = authorized_client(web, world["tokens"]["bpjs"])
    for raw in ("{", "[]", "null"):
        answer = client.post(
            "/dci/registry/search", data=raw, headers={"Content-Type": "application/json"}
        )
        assert answer.status_code == 400, raw
        assert answer.json["message"]["ack_status"] == "ERR"


@SQLITE
def test_async_search_answers_ack_and_calls_back_on_search(web, world):
    token, sipin = world["tokens"]["bpjs"], world["sipin"]
    with Receiver() as receiver:
        body = search("HOUSEHOLD_ID", SIPIN_KK, receiver.base)
        answer = post(web, token, "/registry/search", body)
        assert answer.json["message"]["ack_status"] == "ACK"
        (callback,) = receiver.wait_for("/registry/on-search")
    assert dci_spec.callback_errors("on-search", callback) == []
    assert callback["message"]["correlation_id"] == answer.json["message"]["correlation_id"]
    assert callback["message"]["transaction_id"] == body["message"]["transaction_id"]
    (record,) = records(callback)
    assert record["household_identifier"] == SIPIN_KK
    # signed by the system for this agency: checked with the public keys alone
    verifier = Verifier.from_jwks(web.test_client().get("/api/v1/keys").json)
    verifier.verify_document("casework.dci.BPJSKES", None, callback)
    for topic, document in (
        ("casework.dci.DUKCAPIL", callback),  # meant for another agency
        ("casework.dci.BPJSKES", {**callback, "message": {**callback["message"], "x": 1}}),
    ):
        with pytest.raises(BadSignature):
            verifier.verify_document(topic, None, document)
    # once delivered: one read-log row, and the agency's delivery state (channel dci)
    # (the row is written once the callback is delivered, just after the receiver has it)
    on_search = ("api", "/dci/registry/on-search", sipin)
    assert eventually(lambda: any(row[1:] == on_search for row in reads(web)))
    states = {
        (s["agency"], s["channel"]): s for s in delivery_states(web.extensions["casework"].views)
    }
    assert states[("BPJSKES", "dci")]["delivered"] >= 1


@SQLITE
def test_an_endpoint_that_does_not_answer_holds_up_only_its_own_callbacks(web, world):
    """Six searches whose callbacks go to an endpoint that accepts and never answers (each
    callback 3 tries of 10 s), then one to a working endpoint: its callback comes at once,
    not after the others' minutes."""
    token = world["tokens"]["bpjs"]
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)  # accepts connections, never answers
    dead = f"http://127.0.0.1:{silent.getsockname()[1]}/spmis"
    try:
        for _ in range(6):
            body = search("HOUSEHOLD_ID", SIPIN_KK, dead)
            assert post(web, token, "/registry/search", body).json["message"]["ack_status"] == "ACK"
        with Receiver() as receiver:
            answer = post(
                web, token, "/registry/search", search("HOUSEHOLD_ID", SIPIN_KK, receiver.base)
            )
            assert answer.json["message"]["ack_status"] == "ACK"
            began = time.monotonic()
            (callback,) = receiver.wait_for("/registry/on-search", timeout=8.0)
            assert time.monotonic() - began < 8.0
        assert callback["message"]["correlation_id"] == answer.json["message"]["correlation_id"]
    finally:
        silent.close()


@SQLITE
def test_an_off_site_callback_address_is_refused(web, world):
    body = search("UIN", SIPIN_HEAD, "http://192.0.2.10/spmis")
    answer = post(web, world["tokens"]["bpjs"], "/registry/search", body)
    assert answer.status_code == 400
    assert answer.json["message"]["error"]["code"] == "err.sender_uri.invalid"


def subscribe_body(uri: str, event: str, criteria: dict | None = None) -> dict:
    return {
        "header": header("subscribe", uri),
        "message": {
            "transaction_id": "t-sub",
            "subscribe_request": [
                {
                    "reference_id": "r-sub",
                    "timestamp": TS,
                    "subscribe_criteria": {
                        "reg_type": "ns:org:RegistryType:Social",
                        "reg_event_type": event,
                        "notify_record_type": "Household",
                        **(criteria or {"filter_type": "predicate", "filter": []}),
                    },
                }
            ],
        },
    }


def test_subscribe_notify_and_unsubscribe(web, world):
    token = world["tokens"]["bpjs"]
    with Receiver() as receiver:
        members = subscribe_body(
            receiver.base,
            "NewHouseHoldMember",
            {"filter_type": "idtype-value", "filter": {"type": "HOUSEHOLD_ID", "value": SIPIN_KK}},
        )
        answer = post(web, token, "/registry/subscribe", members)
        assert answer.json["message"]["ack_status"] == "ACK"
        households = post(
            web, token, "/registry/subscribe", subscribe_body(receiver.base, "REGISTER")
        )
        assert households.json["message"]["ack_status"] == "ACK"
        again = post(web, token, "/registry/subscribe", subscribe_body(receiver.base, "REGISTER"))
        assert again.json["message"]["ack_status"] == "ACK"
        confirmations = receiver.wait_for("/registry/on-subscribe", 3)
        (twice,) = confirmations.pop()["message"]["subscribe_response"]
        assert (twice["status"], twice["status_reason_code"]) == (
            "rjct",
            "rjct.event.already_subscribed",
        )
        codes = []
        for confirmation in confirmations:
            assert dci_spec.callback_errors("on-subscribe", confirmation) == []
            (item,) = confirmation["message"]["subscribe_response"]
            assert item["status"] == "succ", item
            codes.append(item["subscriptions"][0]["code"])
        # a new member in the household, a new household inside and one outside the area
        web.extensions["casework"].casework.add_member(
            {
                "household_id": world["sipin"],
                "person": {
                    "nik": "1571016503120003",
                    "name": "Ani",
                    "birth_date": "2012-03-25",
                    "sex": "F",
                },
                "relationship": "anak",
            },
            META,
        )
        register(web, "1571010101200005", "Telanaipura", "Simpang IV Sipin", "1571015203850023")
        register(web, "1571010101200006", "Pelayangan", "Tahtul Yaman", "1571015203850031")
        project(web)  # the agencies view applies them: the filter may deliver them now
        notified = receiver.wait_for("/registry/notify", 2)
        assert len(notified) == 2
        for body in notified:
            assert dci_spec.callback_errors("notify", body) == []
        events = [e["data"] for body in notified for e in body["message"]["notify_event"]]
        assert sorted(e["reg_event_type"] for e in events) == ["NewHouseHoldMember", "REGISTER"]
        (registered,) = [e for e in events if e["reg_event_type"] == "REGISTER"]
        assert registered["reg_records"]["household_identifier"] == "1571010101200005"
        assert "1571015203850031" not in str(notified)  # outside the area
        unsubscribe = {
            "header": header("unsubscribe", receiver.base),
            "message": {
                "transaction_id": "t-unsub",
                "timestamp": TS,
                "subscription_codes": codes,
                "sunscription_codes": codes,  # sic: the spec requires this spelling
            },
        }
        assert (
            post(web, token, "/registry/unsubscribe", unsubscribe).json["message"]["ack_status"]
            == "ACK"
        )
        (done,) = receiver.wait_for("/registry/on-unsubscribe")
        assert dci_spec.callback_errors("on-unsubscribe", done) == []
        assert {s["code"] for s in done["message"]["subscription_status"]} == set(codes)
        register(web, "1571010101200007", "Telanaipura", "Simpang IV Sipin", "1571015203850049")
        project(web)
        registry = dci.registry(web)
        assert registry.notify_step() == 0
        assert len(receiver.bodies("/registry/notify")) == 2  # nothing after unsubscribing
        unsubscribe["header"] = header("unsubscribe", receiver.base)
        post(web, token, "/registry/unsubscribe", unsubscribe)
        ended = receiver.wait_for("/registry/on-unsubscribe", 2)[-1]["message"]
        assert (ended["status"], ended["status_reason_code"]) == (
            "rjct",
            "rjct.event.already_unsubscribed",
        )
    assert eventually(  # the new member's household, read once the notification was delivered
        lambda: world["sipin"] in {row[3] for row in reads(web) if row[2] == "/dci/registry/notify"}
    )


@SQLITE
def test_the_notifier_resumes_after_a_restart(web, world):
    token = world["tokens"]["bpjs"]
    with Receiver() as receiver:
        post(web, token, "/registry/subscribe", subscribe_body(receiver.base, "REGISTER"))
        receiver.wait_for("/registry/on-subscribe")
        dci.registry(web).stop()  # the process ends; another starts
        del web.extensions["casework.dci"], web.extensions["casework.dci_resumed"]
        assert web.test_client().get("/healthz").status_code in (200, 503)  # any first request
        register(web, "1571010101200005", "Telanaipura", "Simpang IV Sipin", "1571015203850023")
        project(web)
        (notified,) = receiver.wait_for("/registry/notify")
    assert dci_spec.callback_errors("notify", notified) == []


@SQLITE
def test_txn_status_tells_what_became_of_a_search(web, world):
    token = world["tokens"]["bpjs"]
    body = search("UIN", SIPIN_HEAD)
    post(web, token, "/registry/sync/search", body)
    status = {
        "header": header("txn-status"),
        "message": {
            "transaction_id": body["message"]["transaction_id"],
            "txnstatus_request": {
                "reference_id": "r-status",
                "txn_type": "search",
                "attribute_type": "reference_id_list",
                "attribute_value": ["r-1"],
            },
        },
    }
    answer = post(web, token, "/registry/sync/txn/status", status)
    assert answer.status_code == 200
    found = answer.json["message"]["txnstatus_response"]["txn_status"]
    assert found["search_response"][0]["status"] == "succ"
    assert SIPIN_HEAD not in answer.get_data(as_text=True)  # a status, not the data again
    with Receiver() as receiver:
        status["header"] = header("txn-status", receiver.base)
        assert (
            post(web, token, "/registry/txn/status", status).json["message"]["ack_status"] == "ACK"
        )
        (callback,) = receiver.wait_for("/registry/txn/on-status")
    assert dci_spec.callback_errors("txn/on-status", callback) == []
    # another agency's transaction is not found
    other = post(web, world["tokens"]["dukcapil"], "/registry/sync/txn/status", status)
    assert other.status_code == 404
    assert other.json["errors"][0]["code"] == "err.request.not_found"
    # a later search with the same reference id, refused: asked by the reference id, the
    # status is the latest search's, not the first one's
    refused = search("UIN", "123")
    post(web, token, "/registry/sync/search", refused)
    status["header"] = header("txn-status")
    latest = post(web, token, "/registry/sync/txn/status", status).json["message"]
    latest = latest["txnstatus_response"]["txn_status"]
    assert latest["transaction_id"] == refused["message"]["transaction_id"]
    assert latest["search_response"][0]["status"] == "rjct"


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
ROUTES = (
    "/registry/search",
    "/registry/sync/search",
    "/registry/subscribe",
    "/registry/unsubscribe",
    "/registry/txn/status",
    "/registry/sync/txn/status",
)


@SQLITE
def test_no_body_makes_a_route_fail(web, world):
    """Any JSON, or a valid search with any one part replaced by any JSON: an answer of the
    spec's shapes, never a server error."""
    client = authorized_client(web, world["tokens"]["bpjs"])

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        route=st.sampled_from(ROUTES),
        path=st.sampled_from(
            [
                (),
                ("header",),
                ("message",),
                ("header", "action"),
                ("header", "sender_uri"),
                ("message", "search_request"),
                ("message", "transaction_id"),
            ]
        ),
        value=JSON,
    )
    def check(route, path, value):
        body: Any = search("UIN", SIPIN_HEAD, "http://127.0.0.1:9/spmis")
        if path:
            target = body
            for step in path[:-1]:
                target = target[step]
            target[path[-1]] = value
        else:
            body = value
        answer = client.post(f"/dci{route}", json=body)
        assert answer.status_code < 500, answer.get_data(as_text=True)
        if answer.status_code != 200:
            assert answer.json["errors"][0]["code"].startswith("err.")
            assert (
                dci_spec.response_errors(
                    route if route in dci_spec.spec()["paths"] else "/registry/search",
                    answer.status_code,
                    answer.json,
                )
                == []
            )

    check()


@SQLITE
def test_a_subscription_stored_with_an_area_as_sent_notifies_as_the_register_names_it(web, world):
    # a filter stored before filters were read as the register names them ('telanaipura', a
    # code) matched no household: it notifies now; one naming no area of the city none
    token = world["tokens"]["bpjs"]
    with Receiver() as receiver:
        for value in ("Telanaipura", "Simpang IV Sipin"):
            name = "kecamatan" if value == "Telanaipura" else "kelurahan"
            criteria = {
                "filter_type": "predicate",
                "filter": [
                    {
                        "seq_num": 1,
                        "expression1": {
                            "attribute_name": name,
                            "operator": "eq",
                            "attribute_value": value,
                        },
                    }
                ],
            }
            body = subscribe_body(receiver.base, "REGISTER", criteria)
            assert post(web, token, "/registry/subscribe", body).status_code == 200
        assert len(receiver.wait_for("/registry/on-subscribe", 2)) == 2
        store = web.extensions["casework"].store
        with store.transaction() as cur:  # as an earlier version stored them
            cur.execute(
                f"UPDATE {dci.SUBSCRIPTIONS} SET area = ? WHERE area = ?",
                ('[["kecamatan", "telanaipura"]]', '[["kecamatan", "Telanaipura"]]'),
            )
            cur.execute(
                f"UPDATE {dci.SUBSCRIPTIONS} SET area = ? WHERE area = ?",
                ('[["kelurahan", "Atlantis"]]', '[["kelurahan", "Simpang IV Sipin"]]'),
            )
        register(web, "1571010101200005", "Telanaipura", "Simpang IV Sipin", "1571015203850023")
        project(web)
        notified = receiver.wait_for("/registry/notify", 1)
        assert len(notified) == 1
        assert receiver.wait_for("/registry/notify", 2, timeout=1.0)[1:] == []


FATHER = "1571010605700001"
MOTHER = "1571014908750002"
SON = "1571010403000003"
SONS_WIFE = "1571014708020004"
FAMILY_KK = "1571010101200010"
SON_KK = "1571010101200011"
HEAD_CHANGES = {
    "event_types": ["HouseholdRegistered", "MemberAdded", "DeathRecorded", "HeadChanged"],
    "fields": {
        "HouseholdRegistered": ["kk_number", "kecamatan", "kelurahan", "head.nik", "head.name"],
        "MemberAdded": ["person.nik", "person.name", "relationship"],
        "DeathRecorded": ["nik"],
        "HeadChanged": ["nik", "new_kk_number", "relationships"],
    },
}


def test_after_a_change_of_head_the_record_names_the_new_head_kk_and_relationships(web, tokens):
    """The father dies and his adult son heads the family on a new KK: the agency reads the
    son as head, his mother and late father as his parents (orang_tua), the father's menantu
    as the son's wife (istri, stated with the change: the KK could not tell) and the new KK
    number, as the household API says, and finds the family by that number."""
    svc = web.extensions["casework"]
    agree(web, tokens, "BPJSKES", personal="opened", **HEAD_CHANGES)
    household_id = svc.casework.register_household(
        {
            "kk_number": FAMILY_KK,
            "kecamatan": "Telanaipura",
            "kelurahan": "Simpang IV Sipin",
            "address": "Jl. Kapten Pattimura No. 5",
            "rt": "007",
            "rw": "002",
            "head": {"nik": FATHER, "name": "Ahmad", "birth_date": "1970-05-06", "sex": "M"},
        },
        META,
    ).stream_id
    for nik, name, born, sex, relationship in (
        (MOTHER, "Siti", "1975-08-09", "F", "istri"),
        (SON, "Rudi", "2000-03-04", "M", "anak"),
        (SONS_WIFE, "Lina", "2002-08-07", "F", "menantu"),
    ):
        svc.casework.add_member(
            {
                "household_id": household_id,
                "person": {"nik": nik, "name": name, "birth_date": born, "sex": sex},
                "relationship": relationship,
            },
            META,
        )
    svc.casework.record_death(
        {"household_id": household_id, "nik": FATHER, "date_of_death": "2026-02-03"}, META
    )
    svc.casework.change_head(
        {
            "household_id": household_id,
            "nik": SON,
            "new_kk_number": SON_KK,
            "relationships": [{"nik": SONS_WIFE, "relationship": "istri"}],
        },
        META,
    )
    project(web)
    try:
        answer = post(web, tokens["agency"], "/registry/sync/search", search("UIN", SON))
        (record,) = records(answer.json)
        assert record["household_head_info"]["person"]["identifier_value"] == SON
        assert record["household_head_info"]["person"]["name"] == {"first_name": "Rudi"}
        shown = {
            m["household_member"]["member_identifier"]: m["household_member"]["relationship_head"]
            for m in record["member_list"]
        }
        assert shown == {
            FATHER: "orang_tua",
            MOTHER: "orang_tua",
            SON: "kepala_keluarga",
            SONS_WIFE: "istri",
        }
        assert record["household_identifier"] == SON_KK
        household = authorized_client(web, tokens["sup1"]).get(f"/api/v1/households/{household_id}")
        assert household.status_code == 200
        assert shown == {m["nik"]: m["relationship"] for m in household.json["members"]}
        assert (household.json["head_nik"], household.json["kk_number"]) == (SON, SON_KK)
        # the family is found by its new KK number, and by its old one, both as it is now
        for kk in (SON_KK, FAMILY_KK):
            found = post(web, tokens["agency"], "/registry/sync/search", search("HOUSEHOLD_ID", kk))
            (by_kk,) = records(found.json)
            assert by_kk["household_identifier"] == SON_KK
            assert by_kk["household_head_info"]["person"]["identifier_value"] == SON
    finally:
        dci.registry(web).stop()
