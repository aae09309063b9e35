"""What an agency, and staff, are told when the feed or the webhook API refuses them, against
the real agencies view and filter (app/agency_api.py; the flows themselves:
tests/integration/test_agency_feed.py):

- a webhook URL naming an IPv4 address in another spelling than a dotted quad (decimal, hex,
  octal, short), with a non-ASCII or bidi character, or port 0, is refused with 422 naming
  `url`, nothing stored;
- a long-polling feed request whose agreement is revoked while it waits answers 403
  `agency.no_agreement` and records no position;
- `after` goes up to 10^18 inclusive, as the API document says;
- a role that may not redeliver dead letters is told it may not do this, not that it may not
  read it."""

from __future__ import annotations

import threading
import time

import pytest

from adapters import webhook_store
from adapters.bootstrap import bootstrap
from adapters.settings import Settings
from app import create_app
from app.messages import message
from tests.conftest import TEST_MASTER_KEY
from tests.integration.conftest import authorized_client
from tests.integration.test_agency_feed import (
    AGENCY,
    agreement,
    approved,
    delivered_by_channel,
    project,
    read_feed,
)
from tests.support.events import TEST_SIGNING_KEY, register_families
from tests.support.i18n import language

pytestmark = pytest.mark.integration

WRITE_REFUSED = {
    "id": "Peran Anda tidak boleh menjalankan perintah ini. Minta supervisor atau admin.",
    "en": "Your role may not give this command. Ask a supervisor or the administrator.",
}


@pytest.fixture
def agreed(web, tokens) -> list[str]:
    """BPJSKES's agreement in force and three families registered, applied to the view."""
    approved(web.test_client(), "DefineAgencyAgreement", agreement(), tokens)
    households = register_families(web.extensions["casework"].casework, 3)
    project(web)
    return households


@pytest.mark.parametrize(
    "url, code",
    [
        ("https://2852039166/latest/meta-data/", "webhook.url_forbidden"),
        ("https://0xa9fea9fe/latest/meta-data/", "webhook.url_forbidden"),
        ("https://169.254.43518/", "webhook.url_forbidden"),
        ("https://0251.0376.0251.0376/", "webhook.url_forbidden"),
        ("https://3758096385/", "webhook.url_forbidden"),
        ("https://2130706433:18096/x", "webhook.url_ip_form"),
        ("https://[::ffff:169.254.169.254]/x", "webhook.url_forbidden"),
        ("http://127.0.0.1:18095/h\u202e", "webhook.url_invalid"),
        ("https://example.com:0/", "webhook.url_invalid"),
    ],
)
def test_a_webhook_url_that_hides_its_address_or_cannot_be_sent_is_refused(
    web, tokens, agreed, url, code
):
    agency = authorized_client(web, tokens["agency"])
    answer = agency.post("/api/v1/webhooks", json={"url": url})
    assert answer.status_code == 422
    assert answer.get_json()["codes"] == {"url": [code]}
    with language("id"):
        assert answer.get_json()["errors"] == {"url": [str(message(code))]}
    assert webhook_store.active(web.extensions["casework"].store) == []  # nothing stored


def test_a_webhook_on_the_systems_own_host_is_refused_where_loopback_is_not_allowed(
    web, backend, tokens, agreed
):
    """A deployment's default: an agency cannot make the system POST to the services on its
    own host (its PostgreSQL, broker, the web itself), by any spelling of a loopback address."""
    settings = Settings.from_env(
        {
            **backend,
            "CASEWORK_SECRET_KEY": "test-secret",
            "CASEWORK_MASTER_KEY": TEST_MASTER_KEY,
            "CASEWORK_SIGNING_KEY": TEST_SIGNING_KEY,
        }
    )
    assert settings.loopback_endpoints is False
    production = create_app(bootstrap(settings))
    try:
        agency = authorized_client(production, tokens["agency"])
        for url in (
            "http://127.0.0.1:5432/",
            "https://localhost:9092/",
            "https://[::1]:8000/api/v1/commands/RegisterHousehold",
            "http://[::ffff:127.0.0.1]/x",
        ):
            answer = agency.post("/api/v1/webhooks", json={"url": url})
            assert answer.status_code == 422, url
            assert answer.get_json()["codes"] == {"url": ["webhook.url_forbidden"]}, url
            with language("id"):
                assert "server ini sendiri" in answer.get_json()["errors"]["url"][0]
        assert webhook_store.active(production.extensions["casework"].store) == []
    finally:
        production.extensions["casework"].close()


def test_an_ipv4_mapped_address_is_judged_as_its_ipv4_address(web, tokens, agreed):
    agency = authorized_client(web, tokens["agency"])
    for url in ("https://10.1.2.3/x", "https://[::ffff:10.0.0.1]/x"):
        answer = agency.post("/api/v1/webhooks", json={"url": url})
        assert answer.status_code == 201, (url, answer.get_json())


def test_the_message_tells_how_to_write_the_address():
    texts = {}
    for lang in ("id", "en"):
        with language(lang):
            texts[lang] = str(message("webhook.url_ip_form"))
    assert texts["id"].startswith("Tulis alamat IP sebagai empat angka dari 0 sampai 255")
    assert texts["en"].startswith("Write an IP address as four numbers from 0 to 255")


def test_a_waiting_feed_request_answers_403_once_the_agreement_is_revoked(web, tokens, agreed):
    agency = authorized_client(web, tokens["agency"])
    _, nexts = read_feed(agency, limit=100)
    before = delivered_by_channel(web)[(AGENCY, "feed")]
    problems: list[BaseException] = []

    def revoked_meanwhile():
        try:
            time.sleep(0.5)
            body = {"agency": AGENCY, "reason": "Perjanjian berakhir"}
            approved(web.test_client(), "RevokeAgencyAgreement", body, tokens)
            register_families(web.extensions["casework"].casework, 1, seed=5)
            project(web)  # the view moves on past the revocation and a new household
        except BaseException as error:  # noqa: BLE001 - reported by the test below
            problems.append(error)

    thread = threading.Thread(target=revoked_meanwhile)
    thread.start()
    answer = agency.get(f"/api/v1/feed?after={nexts[-1]}&wait=4", headers={"Accept-Language": "en"})
    thread.join()
    assert problems == []
    assert answer.status_code == 403
    assert answer.get_json()["codes"] == {"agency": ["agency.no_agreement"]}
    with language("en"):
        assert answer.get_json()["errors"] == {"agency": [str(message("agency.no_agreement"))]}
    after = delivered_by_channel(web)[(AGENCY, "feed")]
    assert (after["position"], after["delivered"]) == (before["position"], before["delivered"])


def test_after_goes_up_to_ten_to_the_eighteenth(web, tokens, agreed):
    agency = authorized_client(web, tokens["agency"])
    # a well-formed position no event has yet: refused, since it would skip what is stored
    top = agency.get(f"/api/v1/feed?after={10**18}")
    assert top.status_code == 422
    assert top.get_json()["codes"] == {"after": ["feed.after_beyond_end"]}
    beyond = agency.get(f"/api/v1/feed?after={10**18 + 1}")
    assert beyond.status_code == 422
    assert beyond.get_json()["codes"] == {"after": ["after.invalid"]}


def test_a_role_that_may_not_redeliver_is_told_it_may_not_do_it(web, tokens, agreed):
    body = {"agency": AGENCY}
    for name in ("sup1", "auditor", "agency", "cw_sipin"):
        client = authorized_client(web, tokens[name])
        for lang, expected in WRITE_REFUSED.items():
            answer = client.post(
                "/api/v1/webhooks/dead-letters/redeliver",
                json=body,
                headers={"Accept-Language": lang},
            )
            assert answer.status_code == 403, name
            assert answer.get_json()["codes"] == {"actor": ["auth.role"]}, name
            assert answer.get_json()["errors"] == {"actor": [expected]}, (name, lang)
    # staff registering an agency's webhook: a write too
    supervisor = authorized_client(web, tokens["sup1"])
    answer = supervisor.post("/api/v1/webhooks", json={"url": "https://agency.example/hook"})
    assert answer.status_code == 403
    assert answer.get_json()["codes"] == {"actor": ["auth.role"]}
    # reading the dead letters stays a read: the supervisor may; the agency may not read them
    assert supervisor.get("/api/v1/webhooks/dead-letters").status_code == 200
    refused = authorized_client(web, tokens["agency"]).get("/api/v1/webhooks/dead-letters")
    assert refused.get_json()["codes"] == {"actor": ["auth.read"]}
    admin = authorized_client(web, tokens["admin"])
    redelivered = admin.post("/api/v1/webhooks/dead-letters/redeliver", json=body)
    assert redelivered.status_code == 200 and redelivered.get_json() == {"redelivered": 0}


def test_every_bad_argument_of_the_feed_is_named_at_once(web, tokens, agreed):
    """An agency's developer fixing one argument at a time learnt of the next only on the
    next try: one 422 names each bad argument under its own name."""
    agency = authorized_client(web, tokens["agency"])
    bad = agency.get("/api/v1/feed?after=-5&limit=abc&wait=99999")
    assert bad.status_code == 422
    assert bad.get_json()["codes"] == {
        "after": ["after.invalid"],
        "limit": ["limit.invalid"],
        "wait": ["wait.invalid"],
    }
    assert set(bad.get_json()["errors"]) == {"after", "limit", "wait"}


def test_every_bad_paging_argument_of_a_list_is_named_at_once(web, tokens):
    listed = authorized_client(web, tokens["sup1"]).get("/api/v1/approvals/mine?limit=0&offset=x")
    assert listed.status_code == 422
    assert listed.get_json()["codes"] == {"limit": ["limit.invalid"], "offset": ["offset.invalid"]}
