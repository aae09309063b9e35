"""The agencies page (`/agensi`): an agreement with its status, versions and each channel's
delivery state, for supervisors, administrators and auditors; nobody else."""

from __future__ import annotations

import pytest

from consumers.agency_delivery import record_delivery
from tests.integration.conftest import bearer
from tests.integration.test_agency_agreements_api import AGREEMENT, approved, post, project

pytestmark = [
    pytest.mark.integration,
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
]


def test_the_page_shows_each_agreement_its_status_and_delivery_state(web, tokens):
    client = web.test_client()
    svc = web.extensions["casework"]
    approved(client, "DefineAgencyAgreement", AGREEMENT, tokens)
    asked = post(client, "DefineAgencyAgreement", {**AGREEMENT, "agency": "BAZNAS"}, tokens["sup1"])
    assert asked.status_code == 202
    project(web)
    record_delivery(svc.views, "BPJSKES", "webhook", 41, delivered=7, failed=2, error="HTTP 503")

    page = web.test_client(user="sup2").get("/agensi?lang=en")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    baznas = html[html.index('id="agency-BAZNAS"') : html.index('id="agency-BPJSKES"')]
    bpjs = html[html.index('id="agency-BPJSKES"') :]
    assert "Active" in bpjs and "Verifikasi kepesertaan PBI-JK" in bpjs
    assert "HTTP 503" in bpjs and ">7<" in bpjs and ">41<" in bpjs
    assert "Nothing delivered yet" in bpjs  # the topic, the feed and DCI
    assert "Waiting for approval" in baznas and "Definition waits for approval" in baznas
    # Bahasa Indonesia first
    assert "Aktif" in web.test_client(user="sup2").get("/agensi").get_data(as_text=True)

    approved(
        client, "RevokeAgencyAgreement", {"agency": "BPJSKES", "reason": "PKS berakhir"}, tokens
    )
    project(web)
    html = web.test_client(user="auditor").get("/agensi?lang=en").get_data(as_text=True)
    assert "Revoked" in html[html.index('id="agency-BPJSKES"') :]
    assert "/perintah/ChangeAgencyAgreement" not in html  # an auditor reads, never changes

    for name in ("cw_sipin", "pm_dinsos", "agency"):
        assert web.test_client(user=name).get("/agensi").status_code == 403


def test_the_record_of_processing_lists_the_agreements_in_force(web, tokens):
    """UU PDP's record of processing names who the data goes to: each agency's agreement,
    with its purpose and legal basis, not "no agreement yet" while one is delivering."""
    client = web.test_client()
    approved(client, "DefineAgencyAgreement", AGREEMENT, tokens)
    project(web)
    record = client.get("/api/v1/privacy/record-of-processing", headers=bearer(tokens["sup1"]))
    [agreement] = record.get_json()["recipients"]["agency_agreements"]
    assert agreement["agency"] == "BPJSKES" and not agreement["revoked"]
    assert agreement["purpose"] == "Verifikasi kepesertaan PBI-JK"
    assert agreement["legal_basis"] == AGREEMENT["legal_basis"]
    assert agreement["event_types"] == ["HouseholdRegistered", "MemberAdded"]
    page = client.get("/privasi/rekam-pemrosesan").get_data(as_text=True)
    assert "Belum ada perjanjian" not in page
    assert "BPJSKES</strong>: Verifikasi kepesertaan PBI-JK" in page


def test_an_agency_reads_in_the_record_of_processing_its_own_agreement_no_other(web, tokens):
    """The record of processing is open to every role, but an agency is an outside party:
    it learns there what its own agreement says, not what another agency receives and why
    (as its start page shows it no other agency's agreement). Staff see every agreement."""
    client = web.test_client()
    approved(client, "DefineAgencyAgreement", AGREEMENT, tokens)
    approved(
        client,
        "DefineAgencyAgreement",
        {**AGREEMENT, "agency": "BAZNAS", "purpose": "Penyaluran zakat", "personal": "opened"},
        tokens,
    )
    project(web)
    path = "/api/v1/privacy/record-of-processing"
    record = client.get(path, headers=bearer(tokens["agency"])).get_json()  # BPJSKES
    assert [a["agency"] for a in record["recipients"]["agency_agreements"]] == ["BPJSKES"]
    assert "Penyaluran zakat" not in str(record)
    page = web.test_client(user="agency").get("/privasi/rekam-pemrosesan")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "BPJSKES</strong>: Verifikasi kepesertaan PBI-JK" in html
    assert "BAZNAS" not in html and "Penyaluran zakat" not in html
    # staff read every agreement, on the API and the page
    record = client.get(path, headers=bearer(tokens["auditor"])).get_json()
    assert [a["agency"] for a in record["recipients"]["agency_agreements"]] == [
        "BAZNAS",
        "BPJSKES",
    ]
    html = web.test_client(user="auditor").get("/privasi/rekam-pemrosesan").get_data(as_text=True)
    assert "BAZNAS</strong>: Penyaluran zakat" in html


def test_an_agency_account_starts_on_its_own_agreement_and_how_to_receive_it(web, tokens):
    """An agency's staff sign in and see what their agreement gives them, how far each
    channel has delivered, and how their systems connect: their own agency's, no other's."""
    client = web.test_client()
    agency = web.test_client(user="agency")  # BPJSKES
    nothing = agency.get("/").get_data(as_text=True)
    assert "belum memiliki perjanjian berbagi data" in nothing
    assert 'id="agency-BPJSKES"' not in nothing

    approved(client, "DefineAgencyAgreement", AGREEMENT, tokens)
    approved(
        client,
        "DefineAgencyAgreement",
        {**AGREEMENT, "agency": "BAZNAS", "purpose": "Penyaluran zakat"},
        tokens,
    )
    project(web)
    record_delivery(web.extensions["casework"].views, "BPJSKES", "feed", 41, delivered=7)

    page = agency.get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    own = html[html.index('id="agency-BPJSKES"') :]
    assert "Aktif" in own and "Verifikasi kepesertaan PBI-JK" in own
    assert "HouseholdRegistered, MemberAdded" in own
    assert ">7<" in own and ">41<" in own  # the feed's delivery
    assert "BAZNAS" not in html and "Penyaluran zakat" not in html  # another agency's
    assert "/perintah/ChangeAgencyAgreement" not in html
    assert "Cara sistem Anda menerima data" in html
    assert "/api/v1/feed?after=" in html and "/api/v1/keys" in html
