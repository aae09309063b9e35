"""The DCI envelope's checks and answers (app/dci_protocol.py) and the records built from what
the agency filter delivers (app/dci.py), with fake deliveries; every body checked against the
SPDCI social registry's OpenAPI document (tests/support/dci_spec.py)."""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest

from app import dci, dci_protocol
from app.dci_protocol import Refused
from tests.support import dci_spec

NIK = "1571015203850007"
KK = "1571010101200003"
TS = "2026-03-01T08:00:00+07:00"


def search_body(**query: Any) -> dict[str, Any]:
    return {
        "signature": "Signature: test",
        "header": {
            "version": "1.0.0",
            "message_id": "m-1",
            "message_ts": _moment(),
            "action": "search",
            "sender_id": "bpjs.example.org",
            "sender_uri": "https://bpjs.example.org/dci",
            "total_count": 1,
        },
        "message": {
            "transaction_id": "t-1",
            "search_request": [
                {
                    "reference_id": "r-1",
                    "timestamp": TS,
                    "search_criteria": {
                        "reg_event_type": "REGISTER",
                        "query_type": "idtype-value",
                        "query": query or {"type": "UIN", "value": NIK},
                    },
                }
            ],
        },
    }


def test_a_valid_search_is_valid_by_the_spec_and_read_as_one_query():
    body = search_body()
    assert dci_spec.request_errors("/registry/search", body) == []
    header, message = dci_protocol.read_envelope(body, "search", asynchronous=True)
    assert header.sender_uri == "https://bpjs.example.org/dci"
    transaction_id, (query,) = dci_protocol.read_search(message)
    assert (transaction_id, query.id_type, query.value, query.reject) == ("t-1", "UIN", NIK, None)


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        (lambda b: b.pop("header"), "err.request.bad", "header"),
        (lambda b: b["header"].pop("message_id"), "err.request.bad", "header.message_id"),
        (
            lambda b: b["header"].update(message_ts="yesterday"),
            "err.request.bad",
            "header.message_ts",
        ),
        (
            lambda b: b["header"].update(message_ts="2026-03-01T08:00:00"),
            "err.request.bad",
            "header.message_ts",
        ),
        (lambda b: b["header"].update(action="subscribe"), "err.request.bad", "header.action"),
        (lambda b: b["header"].update(total_count="1"), "err.request.bad", "header.total_count"),
        (
            lambda b: b["header"].update(version="2.0.0"),
            "err.version.not_supported",
            "header.version",
        ),
        (
            lambda b: b["header"].update(is_msg_encrypted=True),
            "err.encryption.invalid",
            "header.is_msg_encrypted",
        ),
        (
            lambda b: b["header"].update(sender_uri="http://bpjs.example.org/dci"),
            "err.sender_uri.invalid",
            "header.sender_uri",
        ),
        (
            lambda b: b["header"].update(sender_uri="https://169.254.169.254/latest"),
            "err.sender_uri.invalid",
            "header.sender_uri",
        ),
        (
            lambda b: b["header"].update(sender_uri="ftp://127.0.0.1/x"),
            "err.sender_uri.invalid",
            "header.sender_uri",
        ),
        (lambda b: b["header"].pop("sender_uri"), "err.sender_uri.invalid", "header.sender_uri"),
        (lambda b: b.update(signature=5), "err.signature.invalid", "signature"),
        (lambda b: b.update(message=[]), "err.request.bad", "message"),
    ],
)
def test_a_malformed_envelope_is_refused_naming_the_field(change, code, field):
    body = search_body()
    change(body)
    with pytest.raises(Refused) as refused:
        dci_protocol.read_envelope(body, "search", asynchronous=True)
    assert (refused.value.code, refused.value.field) == (code, field)
    answer = dci_protocol.err(refused.value.code, refused.value.message)
    assert answer["message"]["error"]["message"].startswith(field)
    for status in (400, 403):
        assert dci_spec.response_errors("/registry/search", status, answer) == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda m: m.pop("transaction_id"), "message.transaction_id"),
        (lambda m: m.update(search_request=[]), "message.search_request"),
        (
            lambda m: m["search_request"][0].pop("reference_id"),
            "message.search_request[0].reference_id",
        ),
        (
            lambda m: m["search_request"][0].update(timestamp="now"),
            "message.search_request[0].timestamp",
        ),
        (
            lambda m: m["search_request"][0]["search_criteria"].pop("query"),
            "message.search_request[0].search_criteria.query",
        ),
        (
            lambda m: m["search_request"][0]["search_criteria"].update(query_type="sql"),
            "message.search_request[0].search_criteria.query_type",
        ),
        (
            lambda m: m["search_request"][0]["search_criteria"].update(reg_event_type="BIRTH"),
            "message.search_request[0].search_criteria.reg_event_type",
        ),
    ],
)
def test_a_malformed_search_message_is_refused_naming_the_field(change, field):
    message = search_body()["message"]
    change(message)
    with pytest.raises(Refused) as refused:
        dci_protocol.read_search(message)
    assert refused.value.field == field


def test_loopback_http_and_https_are_the_only_callback_addresses():
    """Where loopback endpoints are allowed (tests, development); elsewhere they are refused
    (test_outbound_addresses)."""
    for uri, base in (
        ("http://127.0.0.1:8080/x/", "http://127.0.0.1:8080/x"),
        ("http://[::1]:8080/x", "http://[::1]:8080/x"),
        ("http://localhost/x", "http://localhost/x"),
    ):
        assert dci_protocol.callback_base(uri, loopback=True) == base
        with pytest.raises(Refused):
            dci_protocol.callback_base(uri)
    for refused in ("http://10.0.0.1/x", "http://example.org/x", "file:///etc/passwd", "https:"):
        with pytest.raises(Refused):
            dci_protocol.callback_base(refused, loopback=True)


def test_queries_this_registry_does_not_answer_are_rejected_with_the_specs_reason():
    for query in ({"type": "MOBILE", "value": "0812"}, {"type": "UIN", "value": ""}):
        _, (read,) = dci_protocol.read_search(search_body(**query)["message"])
        assert read.reject is not None and read.reject[0] == "rjct.search_criteria.invalid"
        item = dci_protocol.search_item(read, None)
        assert item["status"] == "rjct"
    expression = search_body()["message"]
    expression["search_request"][0]["search_criteria"]["query_type"] = "expression"
    _, (read,) = dci_protocol.read_search(expression)
    assert read.reject is not None


def test_a_bad_page_is_that_requests_rejection_with_the_specs_reason():
    message = search_body()["message"]
    message["search_request"][0]["search_criteria"]["pagination"] = {"page_size": 0}
    _, (read,) = dci_protocol.read_search(message)
    assert read.reject is not None and read.reject[0] == "rjct.pagination.invalid"
    assert "pagination.page_size" in read.reject[1]


def test_search_pages_follow_the_requested_pagination():
    query = dci_protocol.Query("r", page_size=2, page_number=2)
    item = dci_protocol.search_item(query, [{"n": i} for i in range(5)])
    assert item["data"]["reg_records"] == [{"n": 2}, {"n": 3}]
    assert item["pagination"] == {"page_size": 2, "page_number": 2, "total_count": 5}


# ---- records from fake deliveries ---------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    envelope: dict[str, Any]
    read: Any = None


def envelope(kind: str, position: int, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "event_id": f"e{position}",
        "position": position,
        "stream_id": "7b1c5d1e-0000-4000-8000-000000000001",
        "stream_type": "Household",
        "type": kind,
        "occurred_at": "2026-01-02T00:00:00Z",
        "recorded_at": "2026-01-02T00:00:01Z",
        "data": data,
        "agreement": {"agency": "BPJSKES", "version": 1},
    }


OPENED = [
    Delivery(
        envelope(
            "HouseholdRegistered",
            10,
            {
                "kk_number": KK,
                "kelurahan": "Simpang IV Sipin",
                "kecamatan": "Telanaipura",
                "head": {"nik": NIK, "name": "Siti", "sex": "F", "birth_date": "1985-03-12"},
            },
        )
    ),
    Delivery(
        envelope(
            "MemberAdded",
            12,
            {
                "person": {"nik": "1571016503100002", "name": "Budi"},
                "relationship": "anak",
            },
        )
    ),
]
PSEUDONYMS = [
    Delivery(
        envelope("HouseholdRegistered", 10, {"kk_number": "ps1.ab", "head": {"nik": "ps1.cd"}})
    )
]


def test_a_household_record_holds_only_what_was_delivered():
    record = dci.household_record(OPENED)
    assert record["household_identifier"] == KK
    assert record["household_size"] == 2
    head = record["household_head_info"]["person"]
    assert head == {
        "identifier_type": "UIN",
        "identifier_value": NIK,
        "name": {"first_name": "Siti"},
        "sex": "F",
        "birth_date": "1985-03-12",
    }
    assert record["member_list"][1]["household_member"]["relationship_head"] == "anak"
    hidden = dci.household_record(PSEUDONYMS)
    assert hidden["household_head_info"]["person"] == {
        "identifier_type": "PSEUDONYM",
        "identifier_value": "ps1.cd",
    }
    assert "address" not in hidden and "first_name" not in str(hidden)


def test_an_identifier_is_searchable_only_when_delivered_in_clear():
    by_nik = dci_protocol.Query("r", id_type="UIN", value=NIK)
    by_kk = dci_protocol.Query("r", id_type="HOUSEHOLD_ID", value=KK)
    member = dci_protocol.Query("r", id_type="NIN", value="1571016503100002")
    assert all(dci.identifier_shown(OPENED, q) for q in (by_nik, by_kk, member))
    assert not any(dci.identifier_shown(PSEUDONYMS, q) for q in (by_nik, by_kk, member))


def test_notifications_are_what_the_spec_describes():
    subscription = {"code": "s1", "receiver_id": "bpjs.example.org"}
    body = dci.notify_body("casework.1571", subscription, OPENED)
    assert dci_spec.callback_errors("notify", body) == []
    events = body["message"]["notify_event"]
    assert [e["data"]["reg_event_type"] for e in events] == ["REGISTER", "NewHouseHoldMember"]
    assert [e["data"]["response_entity"] for e in events] == ["Household", "Member"]
    broken = copy.deepcopy(body)
    del broken["message"]["notify_event"][0]["data"]["response_entity"]
    assert dci_spec.callback_errors("notify", broken) != []  # the validator does catch faults


def test_a_search_answer_is_what_the_spec_describes():
    _, (query,) = dci_protocol.read_search(search_body()["message"])
    items = [dci_protocol.search_item(query, [dci.household_record(OPENED)])]
    body = {
        "header": dci_protocol.callback_header("on-search", "casework.1571", "bpjs", 1, 1),
        "message": {"transaction_id": "t-1", "correlation_id": "c-1", "search_response": items},
    }
    assert dci_spec.response_errors("/registry/sync/search", 200, body) == []
    assert dci_spec.callback_errors("on-search", body) == []


def test_a_members_removal_or_death_counts_only_when_delivered():
    removed = Delivery(
        envelope(
            "MemberRemoved",
            14,
            {"nik": "1571016503100002", "kind": "moved_out", "status": "moved_out"},
        )
    )
    record = dci.household_record([*OPENED, removed])
    assert record["household_size"] == 1
    statuses = [m["household_member"]["membership_status"] for m in record["member_list"]]
    assert statuses == ["active", "moved_out"]
    assert dci.household_record(OPENED)["household_size"] == 2


def test_a_delivered_relationship_correction_changes_the_members_relationship():
    corrected = Delivery(
        envelope(
            "MemberCorrected",
            15,
            {"nik": "1571016503100002", "name": None, "relationship": "cucu"},
        )
    )
    record = dci.household_record([*OPENED, corrected])
    relationships = [m["household_member"].get("relationship_head") for m in record["member_list"]]
    assert relationships == ["kepala_keluarga", "cucu"]
    assert [
        m["household_member"].get("relationship_head")
        for m in dci.household_record(OPENED)["member_list"]
    ] == ["kepala_keluarga", "anak"]



def test_a_delivered_correction_of_the_heads_name_changes_the_head_shown_too():
    """The record names its head twice, as a member and as `household_head_info`: a correction
    of the head's name or birth date changes both, before and after a change of head."""
    corrected = Delivery(
        envelope(
            "MemberCorrected", 15, {"nik": NIK, "name": "Siti Aminah", "birth_date": "1985-03-21"}
        )
    )
    record = dci.household_record([*OPENED, corrected])
    head = record["household_head_info"]["person"]
    assert head["name"] == {"first_name": "Siti Aminah"} and head["birth_date"] == "1985-03-21"
    assert record["member_list"][0]["household_member"]["demographic_info"]["person"] == head
    # a member corrected who is not the head leaves the head as it was
    other = Delivery(envelope("MemberCorrected", 15, {"nik": CHILD_NIK, "name": "Budi S"}))
    assert dci.household_record([*OPENED, other])["household_head_info"]["person"]["name"] == {
        "first_name": "Siti"
    }
    # the new head corrected after a change of head
    changed = head_changed({"nik": CHILD_NIK, "relationships": {CHILD_NIK: "kepala_keluarga"}})
    renamed = Delivery(envelope("MemberCorrected", 17, {"nik": CHILD_NIK, "name": "Budi Santoso"}))
    after = dci.household_record([*OPENED, changed, renamed])
    assert after["household_head_info"]["person"]["name"] == {"first_name": "Budi Santoso"}


NEW_KK = "1571010101200011"
CHILD_NIK = "1571016503100002"


def head_changed(data: dict[str, Any]) -> Delivery:
    return Delivery(envelope("HeadChanged", 16, data))


def heads_and_relationships(record: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    return record["household_head_info"]["person"].get("identifier_value"), {
        m["household_member"].get("member_identifier"): m["household_member"].get(
            "relationship_head"
        )
        for m in record["member_list"]
    }


def test_a_delivered_change_of_head_names_the_new_head_kk_and_restated_relationships():
    changed = head_changed(
        {
            "nik": CHILD_NIK,
            "new_kk_number": NEW_KK,
            "relationships": {CHILD_NIK: "kepala_keluarga", NIK: "orang_tua"},
        }
    )
    record = dci.household_record([*OPENED, changed])
    assert heads_and_relationships(record) == (
        CHILD_NIK,
        {NIK: "orang_tua", CHILD_NIK: "kepala_keluarga"},
    )
    assert record["household_head_info"]["person"]["name"] == {"first_name": "Budi"}
    assert record["household_identifier"] == NEW_KK
    assert dci.identifier_shown([*OPENED, changed], dci_protocol.Query("r", "HOUSEHOLD_ID", NEW_KK))


def test_a_change_of_head_given_as_pseudonyms_restates_the_same_members():
    added = Delivery(
        envelope("MemberAdded", 12, {"person": {"nik": "ps1.ef"}, "relationship": "anak"})
    )
    changed = head_changed(
        {
            "nik": "ps1.ef",
            "new_kk_number": "ps1.gh",
            "relationships": {"ps1.ef": "kepala_keluarga", "ps1.cd": "orang_tua"},
        }
    )
    record = dci.household_record([*PSEUDONYMS, added, changed])
    assert heads_and_relationships(record) == (
        "ps1.ef",
        {"ps1.cd": "orang_tua", "ps1.ef": "kepala_keluarga"},
    )
    assert record["household_identifier"] == "ps1.gh"


def test_a_member_the_change_of_head_does_not_restate_keeps_the_relationship_shown():
    grandchild = Delivery(
        envelope("MemberAdded", 13, {"person": {"nik": "1571010201230010"}, "relationship": "cucu"})
    )
    changed = head_changed(
        {"nik": CHILD_NIK, "relationships": {CHILD_NIK: "kepala_keluarga", NIK: "orang_tua"}}
    )
    record = dci.household_record([*OPENED, grandchild, changed])
    _, shown = heads_and_relationships(record)
    assert shown["1571010201230010"] == "cucu"  # as the register keeps it, for review


def test_a_change_of_head_without_its_fields_shows_no_former_head_or_kk_number():
    """An agreement giving HeadChanged with only the new head: the former head is no longer
    shown as head, and the former KK number is no longer the household's."""
    record = dci.household_record([*OPENED, head_changed({"nik": CHILD_NIK})])
    assert heads_and_relationships(record) == (
        CHILD_NIK,
        {NIK: None, CHILD_NIK: "kepala_keluarga"},
    )
    assert "household_identifier" not in record
    bare = dci.household_record([*OPENED, head_changed({})])
    assert "household_head_info" not in bare and "household_identifier" not in bare
    assert [m["household_member"].get("relationship_head") for m in bare["member_list"]] == [
        None,
        "anak",
    ]


@pytest.mark.parametrize("size", [float("inf"), float("-inf"), float("nan"), 2.0, True])
def test_a_page_size_that_is_no_integer_is_that_requests_rejection(size):
    message = search_body()["message"]
    message["search_request"][0]["search_criteria"]["pagination"] = {"page_size": size}
    _, (read,) = dci_protocol.read_search(message)
    assert read.reject is not None and read.reject[0] == "rjct.pagination.invalid"
    assert "pagination.page_size" in read.reject[1]


@pytest.mark.parametrize("event", [["REGISTER"], {}, {"REGISTER": 1}])
def test_an_event_type_that_is_no_string_is_refused(event):
    message = search_body()["message"]
    message["search_request"][0]["search_criteria"]["reg_event_type"] = event
    with pytest.raises(dci_protocol.Refused) as refused:
        dci_protocol.read_search(message)
    assert refused.value.code == "err.request.bad"
    assert refused.value.field.endswith("search_criteria.reg_event_type")


def subscribe_message(*predicates: tuple[str, str]) -> dict[str, Any]:
    return {
        "transaction_id": "t-sub",
        "subscribe_request": [
            {
                "reference_id": "r-sub",
                "timestamp": "2026-03-01T08:00:00+07:00",
                "subscribe_criteria": {
                    "reg_type": dci_protocol.REG_TYPE,
                    "reg_event_type": "REGISTER",
                    "notify_record_type": "Household",
                    "filter_type": "predicate",
                    "filter": [
                        {
                            "seq_num": seq,
                            "expression1": {
                                "attribute_name": name,
                                "operator": "eq",
                                "attribute_value": value,
                            },
                        }
                        for seq, (name, value) in enumerate(predicates, 1)
                    ],
                },
            }
        ],
    }


@pytest.mark.parametrize(
    ("predicates", "area"),
    [
        ((("kecamatan", "telanaipura"),), (("kecamatan", "Telanaipura"),)),
        ((("kecamatan", "15.71.01"),), (("kecamatan", "Telanaipura"),)),
        ((("kelurahan", "SIMPANG IV SIPIN"),), (("kelurahan", "Simpang IV Sipin"),)),
        ((("kelurahan", "Payo Silincah"),), (("kelurahan", "Payo Selincah"),)),
        (
            (("kelurahan", "simpang iv sipin"), ("kecamatan", "Telanaipura")),
            (("kecamatan", "Telanaipura"), ("kelurahan", "Simpang IV Sipin")),
        ),
    ],
)
def test_an_area_filter_is_read_as_the_register_names_the_area(predicates, area):
    # the households are matched by the register's names: a name in another case or a code
    # would otherwise be a subscription that never notifies
    _, [(query, _)] = dci_protocol.read_subscribe(subscribe_message(*predicates))
    assert query.reject is None
    assert query.area == area


@pytest.mark.parametrize(
    "predicates",
    [
        (("kecamatan", "Atlantis"),),
        (("kelurahan", "Nowhere"),),
        (("kecamatan", "Pelayangan"), ("kelurahan", "Simpang IV Sipin")),
    ],
)
def test_an_area_filter_naming_no_area_of_the_city_is_rejected(predicates):
    _, [(query, _)] = dci_protocol.read_subscribe(subscribe_message(*predicates))
    assert query.reject is not None and query.reject[0] == "rjct.filter.invalid"
    assert predicates[-1][1] in query.reject[1]


def _moment(**offset: float) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(**offset)).isoformat(timespec="seconds")


@pytest.mark.parametrize(
    "message_ts",
    [
        "9999-12-31T23:59:59Z",
        "0001-01-01T00:00:00+00:00",
        "1970-01-01T00:00:00Z",
        _moment(days=2),  # sent the day after tomorrow
        _moment(days=-31),  # a month and more ago
    ],
    ids=["year 9999", "year 1", "1970", "in two days", "31 days ago"],
)
def test_a_message_sent_at_an_absurd_moment_is_refused_naming_the_field(message_ts):
    """A message is sent when it is sent: its message_ts lies in the last 30 days or at most a
    day ahead of this server's clock (a clock set wrong); the year 9999 is refused, as the
    ERR naming header.message_ts, saying what it takes."""
    body = search_body()
    body["header"]["message_ts"] = message_ts
    with pytest.raises(Refused) as refused:
        dci_protocol.read_envelope(body, "search", asynchronous=True)
    assert refused.value.code == "err.request.bad"
    assert refused.value.field == "header.message_ts"
    assert "30 days" in refused.value.message and "a day" in refused.value.message


@pytest.mark.parametrize(
    "message_ts",
    [_moment(), _moment(hours=20), _moment(days=-29)],
    ids=["now", "20 hours ahead", "29 days ago"],
)
def test_a_message_sent_now_or_with_a_clock_a_little_off_is_read(message_ts):
    body = search_body()
    body["header"]["message_ts"] = message_ts
    header, _ = dci_protocol.read_envelope(body, "search", asynchronous=True)
    assert header.message_id == "m-1"
