"""An agency's HTTP feed and webhook against the real agencies view and filter, on SQLite
(the webhook queue's SQL on PostgreSQL too; each test passed on both when written).

Agreements are defined under maker-checker through the API; the agencies view is brought up
to date as the projection runner would (`project`). The feed is read page by page with the
agency's token; the webhook sender POSTs to a receiver on 127.0.0.1 that checks every
signature (tests/support/receiver.py)."""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request

import pytest

from adapters import webhook_store, wire
from adapters.bootstrap import bootstrap
from adapters.relay_store import highest_published
from adapters.topics import agency_topic
from app import agency_api
from consumers import agency_delivery
from consumers.agency_delivery import delivery_states
from consumers.webhook_signature import sign
from consumers.webhooks import Backoff, sender_for
from domain.application import SYSTEM, make_meta
from projections import agencies
from projections.base import apply_batch, reveal
from tests.integration.conftest import authorized_client, bearer
from tests.support.events import SIGNER, register_families
from tests.support.receiver import Receiver

pytestmark = pytest.mark.integration

AGENCY = "BPJSKES"
ALLOWED = ("HouseholdRegistered", "MemberAdded")
FIELDS = {
    "HouseholdRegistered": ["kecamatan", "kelurahan", "head.nik"],
    "MemberAdded": ["relationship", "person.nik"],
}


def agreement(agency: str = AGENCY, **terms) -> dict:
    return {
        "agency": agency,
        "purpose": "Verifikasi kepesertaan PBI-JK",
        "legal_basis": "PKS Dinsos Kota Jambi No. 12/2026",
        "event_types": list(ALLOWED),
        "fields": FIELDS,
        "valid_from": "2026-01-01",
        **terms,
    }


@pytest.fixture(params=["sqlite"])
def backend(request, tmp_path, pg_database) -> dict[str, str]:
    """SQLite; PostgreSQL too where a test asks for it (the webhook queue's SQL)."""
    if request.param == "sqlite":
        return {
            "CASEWORK_STORE": f"sqlite:///{tmp_path}/casework.db",
            "CASEWORK_VIEWS": f"sqlite:///{tmp_path}/views.db",
        }
    return {"CASEWORK_STORE": pg_database(), "CASEWORK_VIEWS": pg_database()}


def post(client, command, body, token):
    return client.post(f"/api/v1/commands/{command}", json=body, headers=bearer(token))


def approved(client, command, body, tokens):
    asked = post(client, command, body, tokens["sup1"])
    assert asked.status_code == 202, asked.get_json()
    done = post(
        client, "ApproveChange", {"approval_id": asked.get_json()["approval_id"]}, tokens["sup2"]
    )
    assert done.status_code == 201, done.get_json()


def project(web) -> None:
    """Everything stored applied to the agencies view, as the projection runner would."""
    svc = web.extensions["casework"]
    notifications = svc.casework.recorder.select_notifications(start=1, limit=100_000)
    envelopes = [
        reveal(svc.casework.codec, wire.from_notification(svc.casework, n, "1571", sealed=True))
        for n in notifications
    ]
    apply_batch(svc.views, agencies.PROJECTION, envelopes)


def add_agency(web, name: str, code: str) -> str:
    casework = web.extensions["casework"].casework
    meta = make_meta(SYSTEM, "cli")
    casework.add_user(name, "agency", code, [], meta)
    return casework.issue_token(name, meta)


def read_feed(client, limit: int, after: int = 0) -> tuple[list[dict], list[int]]:
    """Every page until `next` stays; the events and each page's `next`."""
    events, nexts = [], []
    while True:
        answer = client.get(f"/api/v1/feed?after={after}&limit={limit}")
        assert answer.status_code == 200, answer.get_json()
        page = answer.get_json()
        assert len(page["events"]) <= limit
        events += page["events"]
        if page["next"] == after:
            return events, nexts
        nexts.append(page["next"])
        after = page["next"]


@pytest.fixture
def world(web, tokens):
    """BPJSKES's agreement (the whole city) and BAZNAS's (registrations only), then five
    families registered."""
    client = web.test_client()
    approved(client, "DefineAgencyAgreement", agreement(), tokens)
    approved(
        client,
        "DefineAgencyAgreement",
        agreement(
            "BAZNAS",
            event_types=["HouseholdRegistered"],
            fields={"HouseholdRegistered": ["kelurahan"]},
        ),
        tokens,
    )
    casework = web.extensions["casework"].casework
    households = register_families(casework, 5)
    project(web)
    return {"households": households, "baznas": add_agency(web, "agency_baznas", "BAZNAS")}


def delivered_by_channel(web) -> dict[tuple[str, str], dict]:
    views = web.extensions["casework"].views
    return {(s["agency"], s["channel"]): s for s in delivery_states(views)}


def _allowed_positions(web) -> list[int]:
    svc = web.extensions["casework"]
    found = []
    for n in svc.casework.recorder.select_notifications(start=1, limit=100_000):
        envelope = wire.from_notification(svc.casework, n, "1571", sealed=True)
        if envelope["type"] in ALLOWED and envelope["stream_type"] == "Household":
            found.append(n.id)
    return found


def test_an_agency_reads_its_feed_page_by_page(web, tokens, world):
    agency = authorized_client(web, tokens["agency"])
    events, nexts = read_feed(agency, limit=3)
    expected = _allowed_positions(web)
    assert [e["position"] for e in events] == expected  # each once, in store order
    assert nexts == sorted(set(nexts))
    verifier = SIGNER.verifier()
    for event in events:
        assert event["agreement"] == {"agency": AGENCY, "version": 1}
        assert set(event["data"]) <= {"kecamatan", "kelurahan", "head", "relationship", "person"}
        verifier.verify_document(agency_topic(AGENCY), event["stream_id"].encode(), event)
    heads = [e["data"]["head"]["nik"] for e in events if e["type"] == "HouseholdRegistered"]
    assert len(heads) == 5 and not any(h.isdigit() for h in heads)  # pseudonyms, not NIKs
    # stable: the same request answers the same page
    first = agency.get("/api/v1/feed?limit=3").get_json()
    assert agency.get("/api/v1/feed?limit=3").get_json() == first
    assert first["next"] == nexts[0] and len(first["events"]) == 3
    # another agency sees only its own agreement's events
    baznas = authorized_client(web, world["baznas"])
    theirs, _ = read_feed(baznas, limit=100)
    assert [e["type"] for e in theirs] == ["HouseholdRegistered"] * 5
    assert all(set(e["data"]) == {"kelurahan"} for e in theirs)
    assert all(e["agreement"]["agency"] == "BAZNAS" for e in theirs)
    # every delivered household is in the read log, as read by the agency over the API
    store = web.extensions["casework"].store
    logged = store.query(
        "SELECT COUNT(*) FROM casework_access_log WHERE actor_id = ? AND channel = 'api'",
        (f"agency:{AGENCY}",),
    )[0][0]
    assert logged >= 1
    states = delivered_by_channel(web)
    # every event handed out counts, the two repeated pages too
    assert states[(AGENCY, "feed")]["delivered"] == len(expected) + 2 * 3


def test_the_feed_refuses_other_roles_and_bad_paging(web, tokens, world):
    for name in ("sup1", "admin", "cw_sipin", "auditor", "pm_dinsos"):
        answer = authorized_client(web, tokens[name]).get("/api/v1/feed")
        assert answer.status_code == 403, name
    agency = authorized_client(web, tokens["agency"])
    for query, field in (
        ("after=-1", "after"),
        ("after=abc", "after"),
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("wait=31", "wait"),
        ("wait=1.5", "wait"),
    ):
        answer = agency.get(f"/api/v1/feed?{query}")
        assert answer.status_code == 422, query
        assert list(answer.get_json()["codes"]) == [field], query
    # a cursor beyond the store's last event would skip what is stored up to it: refused,
    # and the last position itself is still a good cursor
    top = web.extensions["casework"].casework.recorder.max_notification_id()
    beyond = agency.get(f"/api/v1/feed?after={top + 1000}")
    assert beyond.status_code == 422
    assert beyond.get_json()["codes"] == {"after": ["feed.after_beyond_end"]}
    assert agency.get(f"/api/v1/feed?after={top}").status_code == 200


def test_long_polling_answers_when_an_event_arrives(web, tokens, world):
    agency = authorized_client(web, tokens["agency"])
    _, nexts = read_feed(agency, limit=100)
    casework = web.extensions["casework"].casework

    def later():
        time.sleep(0.6)
        register_families(casework, 1, seed=9)
        project(web)

    threading.Thread(target=later).start()
    started = time.monotonic()
    answer = agency.get(f"/api/v1/feed?after={nexts[-1]}&wait=20").get_json()
    took = time.monotonic() - started
    assert answer["events"] and answer["events"][0]["type"] == "HouseholdRegistered"
    assert 0.5 < took < 10
    # nothing new: answered after the wait, next unchanged
    started = time.monotonic()
    empty = agency.get(f"/api/v1/feed?after={answer['next']}&limit=100&wait=1").get_json()
    assert time.monotonic() - started >= 0.9
    if not empty["events"]:
        assert empty["next"] >= answer["next"]


def test_waiting_requests_never_take_every_thread(web, tokens, world):
    """At most two feed requests wait at once per web process (LONG_POLLS): with both
    waiting, another is answered at once and asks again; staff pages keep their threads."""
    agency = authorized_client(web, tokens["agency"])
    _, nexts = read_feed(agency, limit=100)
    held = [agency_api.LONG_POLLS.acquire(blocking=False) for _ in range(2)]
    try:
        assert held == [True, True]
        started = time.monotonic()
        answer = agency.get(f"/api/v1/feed?after={nexts[-1]}&wait=20")
        assert answer.status_code == 200 and time.monotonic() - started < 5
        assert answer.get_json()["next"] >= nexts[-1]
    finally:
        for _ in held:
            agency_api.LONG_POLLS.release()


def test_revocation_stops_the_feed_and_the_webhook(web, tokens, world):
    agency = authorized_client(web, tokens["agency"])
    with Receiver() as receiver:
        made = agency.post("/api/v1/webhooks", json={"url": receiver.url})
        assert made.status_code == 201
        receiver.secret = made.get_json()["secret"]
        approved(
            web.test_client(),
            "RevokeAgencyAgreement",
            {"agency": AGENCY, "reason": "Perjanjian berakhir"},
            tokens,
        )
        register_families(web.extensions["casework"].casework, 1, seed=5)
        project(web)
        time.sleep(1.1)  # the filter reads the view's agreements again after a second
        answer = agency.get("/api/v1/feed")
        assert answer.status_code == 403
        assert answer.get_json()["codes"] == {"agency": ["agency.no_agreement"]}
        sender = _sender(web)
        for _ in range(3):
            sender.step()
        sender.close()
    assert receiver.requests == 0
    # BAZNAS's feed goes on
    assert authorized_client(web, world["baznas"]).get("/api/v1/feed").status_code == 200


def _sender(web, attempts: int = 50):
    system = bootstrap(web.extensions["casework"].settings)
    sender = sender_for(system)
    sender.backoff = Backoff(first=0.02, cap=0.1, attempts=attempts)
    return sender


def _run_until(sender, done, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, "the webhook sender did not finish in time"
        if not sender.step():
            time.sleep(0.02)


def test_a_failing_receiver_gets_every_event_once_in_order_when_it_recovers(web, tokens, world):
    agency = authorized_client(web, tokens["agency"])
    feed, _ = read_feed(agency, limit=100)
    with Receiver(answer=lambda count, _env: 503 if count <= 4 else 200) as receiver:
        made = agency.post("/api/v1/webhooks", json={"url": receiver.url})
        assert made.status_code == 201, made.get_json()
        receiver.secret = made.get_json()["secret"]
        shown = agency.get("/api/v1/webhooks").get_json()
        assert shown["webhook"]["url"] == receiver.url and "secret" not in shown["webhook"]
        # the store keeps the secret wrapped under the master key, never as answered
        store = web.extensions["casework"].store
        (kept,) = store.query_one("SELECT secret FROM casework_webhooks WHERE active = 1")
        assert kept.startswith("w1:") and receiver.secret not in kept
        sender = _sender(web)
        _run_until(sender, lambda: len(receiver.accepted) >= len(feed))
        sender.step()
        sender.close()
        assert receiver.requests == len(feed) + 4
        assert receiver.refused == [] and receiver.duplicates == 0
        got = [(e["position"], e["data"]) for e in receiver.accepted]
        assert got == [(e["position"], e["data"]) for e in feed]
        verifier = SIGNER.verifier()
        for event in receiver.accepted:
            verifier.verify_document(agency_topic(AGENCY), event["stream_id"].encode(), event)
        # a forged signature and a replayed request are what the receiver refuses
        headers, body = receiver.raw[0]
        replayed = urllib.request.Request(receiver.url, body, headers, method="POST")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(replayed, timeout=5)
        assert refused.value.code == 401
        forged = sign("not the secret", body, headers["X-Casework-Delivery"])
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(
                urllib.request.Request(receiver.url, body, forged, method="POST"), timeout=5
            )
        assert refused.value.code == 401
        assert receiver.refused == ["ReplayedDelivery", "ForgedSignature"]
    states = delivered_by_channel(web)
    assert states[(AGENCY, "webhook")]["delivered"] == len(feed)
    assert states[(AGENCY, "webhook")]["failed"] == 4


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_dead_letters_park_a_household_until_an_administrator_redelivers(web, tokens, world):
    agency = authorized_client(web, tokens["agency"])
    poisoned = world["households"][0]
    broken = {"on": True}

    def answer(_count, envelope):
        return 422 if broken["on"] and envelope["stream_id"] == poisoned else 200

    with Receiver(answer=answer) as receiver:
        made = agency.post("/api/v1/webhooks", json={"url": receiver.url})
        receiver.secret = made.get_json()["secret"]
        sender = _sender(web, attempts=2)
        store = web.extensions["casework"].store
        _run_until(
            sender,
            lambda: (
                webhook_store.dead_letters(store, AGENCY)
                and not webhook_store.queued(store, AGENCY)["pending"]
                - sum(d["waiting"] for d in webhook_store.dead_letters(store, AGENCY))
            ),
        )
        assert poisoned not in {e["stream_id"] for e in receiver.accepted}
        admin = authorized_client(web, tokens["admin"])
        listed = admin.get(f"/api/v1/webhooks/dead-letters?agency={AGENCY}").get_json()
        (dead,) = listed["dead_letters"]
        assert (dead["stream_id"], dead["attempts"], dead["error"]) == (poisoned, 2, "http 422")
        assert dead["waiting"] >= 1  # the household's later events wait behind it
        # only an administrator redelivers; bad input is named
        body = {"agency": AGENCY, "stream_id": poisoned}
        for name in ("sup1", "auditor", "agency"):
            refused = authorized_client(web, tokens[name]).post(
                "/api/v1/webhooks/dead-letters/redeliver", json=body
            )
            assert refused.status_code == 403, name
        bad = admin.post("/api/v1/webhooks/dead-letters/redeliver", json={"agency": "x"})
        assert bad.status_code == 422 and list(bad.get_json()["codes"]) == ["agency"]
        broken["on"] = False
        again = admin.post("/api/v1/webhooks/dead-letters/redeliver", json=body)
        assert again.get_json() == {"redelivered": 1}
        _run_until(sender, lambda: not webhook_store.queued(store, AGENCY)["pending"])
        sender.close()
    mine = [e["position"] for e in receiver.accepted if e["stream_id"] == poisoned]
    assert len(mine) == dead["waiting"] + 1 and mine == sorted(mine)


def test_an_erased_person_is_not_delivered_again(web, tokens, world):
    agency = authorized_client(web, tokens["agency"])
    before, _ = read_feed(agency, limit=100)
    svc = web.extensions["casework"]
    household_id = world["households"][1]
    added = [
        wire.from_notification(svc.casework, n, "1571")  # revealed: the write side's reader
        for n in svc.casework.recorder.select_notifications(start=1, limit=100_000)
    ]
    (erased, *_) = [
        e for e in added if e["stream_id"] == household_id and e["type"] == "MemberAdded"
    ]
    body = {
        "household_id": household_id,
        "nik": erased["data"]["person"]["nik"],
        "reason": "Surat permohonan",
    }
    asked = post(web.test_client(), "RequestErasure", body, tokens["sup1"])
    assert asked.status_code == 202, asked.get_json()
    approval = {"approval_id": asked.get_json()["approval_id"]}
    assert post(web.test_client(), "ApproveChange", approval, tokens["sup2"]).status_code == 201
    project(web)
    time.sleep(1.1)  # the filter reads the view again after a second
    after, _ = read_feed(agency, limit=100)
    gone = {e["position"] for e in before} - {e["position"] for e in after}
    assert gone == {erased["position"]}  # her MemberAdded; the household's other events stay
    assert all(e["type"] != "PersonalDataErased" for e in after)


def test_a_webhook_is_https_or_loopback_and_its_secret_is_answered_once(web, tokens, world):
    agency = authorized_client(web, tokens["agency"])
    store = web.extensions["casework"].store
    for body, code in (
        ({}, "field.required"),
        ({"url": "http://agency.example/hook"}, "webhook.url_not_https"),
        ({"url": "ftp://agency.example/hook"}, "webhook.url_invalid"),
        ({"url": 5}, "webhook.url_invalid"),
    ):
        answer = agency.post("/api/v1/webhooks", json=body)
        assert answer.status_code == 422, body
        assert answer.get_json()["codes"] == {"url": [code]}, body
    unknown = agency.post("/api/v1/webhooks", json={"url": "https://a.example/", "x": 1})
    assert unknown.status_code == 422 and unknown.get_json()["codes"] == {"x": ["field.unknown"]}
    assert webhook_store.active(store) == []  # nothing stored
    first = agency.post("/api/v1/webhooks", json={"url": "https://agency.example/hook"})
    assert first.status_code == 201 and len(first.get_json()["secret"]) == 64
    second = agency.post("/api/v1/webhooks", json={"url": "https://agency.example/v2"})
    assert second.get_json()["secret"] != first.get_json()["secret"]
    shown = agency.get("/api/v1/webhooks").get_json()
    assert shown["webhook"]["url"] == "https://agency.example/v2"  # the new one replaced it
    assert "secret" not in shown["webhook"]
    assert agency.delete("/api/v1/webhooks").get_json() == {"deactivated": 1}
    assert agency.get("/api/v1/webhooks").get_json()["webhook"] is None


def _bearer_only(web, token: str):
    """A client not signed in to the web that sends this bearer token."""
    client = web.test_client(user=None)
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


def test_healthz_shows_how_far_each_agency_topic_is(web, tokens, world):
    """/healthz and /metrics say how many store positions each agency's topic writer trails
    (`casework agencies`); the feed's position depends on the agency and is not health.
    Each by its code to who reads the agencies page (here an auditor's token)."""
    client = _bearer_only(web, tokens["auditor"])
    top = highest_published(web.extensions["casework"].store)  # the topics' last event
    views = web.extensions["casework"].views
    agency_delivery.record_delivery(views, "BPJSKES", "topic", top - 2, delivered=1)
    agency_delivery.record_delivery(views, "BPJSKES", "feed", 1, delivered=1)
    health = client.get("/healthz").get_json()
    assert health["components"]["agency:BPJSKES"] == {"position": top - 2, "lag": 2}
    assert not any(
        name.startswith("agency:") and name != "agency:BPJSKES" for name in health["components"]
    )
    assert 'casework_agency_topic_lag{agency="BPJSKES"} 2' in client.get("/metrics").text


def test_an_agency_topic_caught_up_shows_no_lag_after_an_accounts_event(web, tokens, world):
    """An account's or a token's event is never published: a topic writer that has gone past
    the last published event is caught up, whatever private events the store holds after it
    (the status page showed such a writer 'behind' for ever)."""
    client = _bearer_only(web, tokens["auditor"])
    casework = web.extensions["casework"].casework
    views = web.extensions["casework"].views
    published = highest_published(web.extensions["casework"].store)
    agency_delivery.record_delivery(views, "BPJSKES", "topic", published, delivered=1)
    casework.add_user("siti.baru", "auditor", None, [], make_meta(SYSTEM, "cli"))
    casework.issue_token("siti.baru", make_meta(SYSTEM, "cli"))
    health = client.get("/healthz").get_json()["components"]
    assert health["store"]["position"] > published  # the private events are stored
    assert health["agency:BPJSKES"] == {"position": published, "lag": 0}


def test_who_has_an_agreement_is_not_shown_to_anyone_unauthenticated(web, tokens, world):
    """/healthz and /metrics answer without sign-in (monitoring): anyone may read them, so
    they name no agency (which agencies receive which data is the agreements' business).
    What monitoring needs stays: how many topics and how far the furthest behind trails.
    The per-agency detail is for who reads the agencies page (supervisors, auditors and
    administrators), signed in or with their bearer token."""
    top = highest_published(web.extensions["casework"].store)
    views = web.extensions["casework"].views
    agency_delivery.record_delivery(views, "BPJSKES", "topic", top - 2, delivered=1)
    agency_delivery.record_delivery(views, "BAZNAS", "topic", top, delivered=1)
    caseworker = web.test_client(user="cw_sipin")
    assert caseworker.get("/").status_code == 200  # signed in
    for name, client in (
        ("anonymous", web.test_client(user=None)),
        ("case worker", caseworker),
        ("agency token", _bearer_only(web, tokens["agency"])),
    ):
        health = client.get("/healthz")
        assert health.status_code == 200, name
        body = health.get_data(as_text=True)
        metrics = client.get("/metrics").get_data(as_text=True)
        for code in ("BPJSKES", "BAZNAS"):
            assert code not in body and code not in metrics, name
        found = health.get_json()["components"]
        assert not any(key.startswith("agency:") for key in found), name
        assert found["agencies"] == {"topics": 2, "lag": 2}, name
        assert "casework_agency_topic_lag_max 2" in metrics, name
        assert "casework_agency_topics 2" in metrics, name
    # the status page (every role but agencies): the same, counted together for a case worker
    page = caseworker.get("/status").get_data(as_text=True)
    assert "BPJSKES" not in page and "Topik agensi (2)" in page
    auditor = web.test_client(user="auditor")
    assert auditor.get("/").status_code == 200  # signed in
    for name, client in (
        ("auditor", auditor),
        ("supervisor token", _bearer_only(web, tokens["sup1"])),
    ):
        found = client.get("/healthz").get_json()["components"]
        assert found["agency:BPJSKES"] == {"position": top - 2, "lag": 2}, name
        assert found["agency:BAZNAS"] == {"position": top, "lag": 0}, name
        metrics = client.get("/metrics").get_data(as_text=True)
        assert 'casework_agency_topic_lag{agency="BPJSKES"} 2' in metrics, name
    assert "BPJSKES" in auditor.get("/status").get_data(as_text=True)
