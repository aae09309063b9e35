"""The whole backbone as separate processes: API -> store -> relay -> Kafka -> runner -> web."""

from __future__ import annotations

import http.cookiejar
import json
import urllib.error
import urllib.request

import pytest

from adapters.bootstrap import bootstrap
from adapters.broker import free_port
from adapters.credentials import set_password
from adapters.signing import Verifier
from adapters.topics import EVENTS
from adapters.wire import REQUIRED
from consumers.runner import GROUP, rebuild, topic_id
from domain.application import SYSTEM, make_meta
from projections import register
from projections.base import progress
from projections.status import store_counts
from tests.conftest import wait_until
from tests.support.events import register_families, store_positions
from tests.support.kafka import (
    committed_offsets,
    next_offsets,
    partitions_of,
    read_all,
    read_positions,
)
from tests.support.signin import PASSWORD, sign_in_over_http

pytestmark = pytest.mark.integration


TOKEN: dict[str, str] = {}
# The web pages are read signed in (as the admin), with the session's cookie kept here.
OPENER = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))


def post(base: str, command: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"{base}/api/v1/commands/{command}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN[base]}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def page(url: str) -> str:
    with OPENER.open(url, timeout=10) as answer:
        return answer.read().decode()


def answers(url: str) -> bool:
    try:
        page(url)
        return True
    except OSError:
        return False


NUMBERS = ("Nol", "Satu", "Dua", "Tiga", "Empat", "Lima", "Enam", "Tujuh", "Delapan", "Sembilan")


def family(serial: int) -> dict:
    return {
        "kk_number": f"157101010120{serial:04d}",
        "kecamatan": "Telanaipura",
        "kelurahan": "Simpang IV Sipin",
        "address": f"Jl. Kapten Pattimura No. {serial}",
        "rt": "004",
        "rw": "001",
        "head": {
            "nik": f"15710155088{serial % 10}{serial:04d}",
            "name": f"Rahmawati Uji {NUMBERS[serial]}",  # a name holds no digits
            "birth_date": f"198{serial % 10}-08-15",
            "sex": "F",
        },
    }


def messages_for(bootstrap: str, stream_id: str) -> list:
    """Every message of this stream on the events topic."""
    records = read_all(bootstrap, partitions_of(bootstrap, EVENTS))
    return [r for r in records if r.key == stream_id.encode()]


def runner_has_consumed(settings, records: list) -> bool:
    """Whether the projection runner's consumer group has committed offsets past all these
    records (it commits after applying, or skipping, what it polled)."""
    group = f"{GROUP}.{topic_id(bootstrap(settings))}"
    committed = committed_offsets(settings.kafka, group)
    return all(committed.get(tp, 0) >= end for tp, end in next_offsets(records).items())


@pytest.fixture
def system(processes, env, casework, store_db):
    """Relay, projection runner and web running as their own processes; an admin's token."""
    meta = make_meta(SYSTEM, "cli")
    casework.add_user("admin", "admin", None, [], meta)
    token = casework.issue_token("admin", meta)
    set_password(store_db, "admin", PASSWORD)
    port = free_port()
    processes.env = {**env, "CASEWORK_PORT": str(port), "CASEWORK_WEB_WORKERS": "1"}
    for service in ("relay", "projections", "web"):
        processes.start(service)
    base = f"http://127.0.0.1:{port}"
    TOKEN[base] = token
    wait_until(lambda: answers(f"{base}/healthz"), 30, "the web to answer")
    sign_in_over_http(OPENER, base, "admin")
    return base


def test_a_command_reaches_store_kafka_projection_and_page(system, broker, store_db, views_db):
    # How fast is bench/latency.py's question (a timing here would only make the test flaky).
    status, first = post(system, "RegisterHousehold", family(1))
    assert status == 201
    wait_until(lambda: register.get_household(views_db, first["stream_id"]), 60, "the first row")

    status, stored = post(system, "RegisterHousehold", family(2))
    assert status == 201
    household_page = f"{system}/rumah-tangga/{stored['stream_id']}"
    wait_until(lambda: "Rahmawati Uji Dua" in page(household_page), 30, "the row on the web page")
    assert "1571010101200002" in page(f"{system}/?q=uji+dua")

    count, top = store_counts(store_db)
    assert top == stored["position"] + 2  # then its KK and NIK claims
    [message] = messages_for(broker.bootstrap, stored["stream_id"])  # published once
    envelope = json.loads(message.value)
    assert set(REQUIRED) <= set(envelope)
    assert envelope["type"] == "HouseholdRegistered"
    assert envelope["position"] == stored["position"]
    assert envelope["event_id"] == stored["event_ids"][0]
    assert envelope["tenant"] == "1571" and envelope["source"] == "api"
    headers = dict(message.headers)
    assert {k: headers[k] for k in ("type", "position")} == {
        "type": b"HouseholdRegistered",
        "position": str(top - 2).encode(),
    }
    # signed by the relay: the public keys the system serves check it (raises if not)
    with urllib.request.urlopen(f"{system}/api/v1/keys") as answer:
        keys = json.loads(answer.read())
    Verifier.from_jwks(keys).verify(EVENTS, message.key, message.value, message.headers)


def test_bad_input_is_refused_and_nothing_is_stored(system, store_db):
    stored_before = store_counts(store_db)
    request = urllib.request.Request(
        f"{system}/api/v1/commands/RegisterHousehold",
        data=b'{"kk_number": ',
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN[system]}"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as malformed:
        urllib.request.urlopen(request, timeout=10)
    assert malformed.value.code == 400

    bad = family(3)
    bad["head"]["nik"] = "1571015508830003"[:-1] + "X"
    status, body = post(system, "RegisterHousehold", bad)
    assert status == 422 and list(body["errors"]) == ["head.nik"]
    assert store_counts(store_db) == stored_before


def test_after_the_broker_loses_everything_projections_end_identical(
    system, broker, casework, store_db, views_db, settings
):
    register_families(casework, 100)
    total = store_counts(store_db)[0]
    caught_up = lambda: progress(views_db, register.PROJECTION)[0] == total  # noqa: E731
    wait_until(caught_up, 60, "the register to catch up")
    before = register.all_rows(views_db)

    broker.restart()
    # The relay republishes everything to the empty broker; the runner sees it all again.
    republished = read_positions(broker.bootstrap, store_positions(casework), 90)
    wait_until(lambda: runner_has_consumed(settings, republished), 90, "the runner to see it all")
    assert progress(views_db, register.PROJECTION)[0] == total  # nothing applied twice
    assert register.all_rows(views_db) == before

    # The system still works after the loss: new commands flow through.
    status, stored = post(system, "RegisterHousehold", family(7))
    assert status == 201
    wait_until(lambda: register.get_household(views_db, stored["stream_id"]), 60, "a new row")
    rebuild(bootstrap(settings), ["register"])
    assert len(register.all_rows(views_db)["households"]) == 101
