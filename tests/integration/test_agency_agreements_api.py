"""Agency agreements through the API, on SQLite and PostgreSQL: defined, changed and revoked
under maker-checker (a supervisor asks, another approves), seen by the agencies view and the
filter; bad input answered 422 naming the field, with nothing stored."""

from __future__ import annotations

import pytest

from adapters import wire
from consumers.agency_delivery import delivery_states, record_delivery
from consumers.agency_filter import AgencyFilter
from projections import agencies
from projections.base import apply_batch, reveal
from tests.integration.conftest import bearer

pytestmark = pytest.mark.integration

AGREEMENT = {
    "agency": "bpjskes",
    "purpose": "Verifikasi kepesertaan PBI-JK",
    "legal_basis": "PKS Dinsos Kota Jambi - BPJS Kesehatan No. 12/2026",
    "event_types": ["HouseholdRegistered", "MemberAdded"],
    "fields": {"HouseholdRegistered": ["kecamatan", "kelurahan", "head.nik"]},
    "kecamatan": ["Telanaipura"],
    "valid_from": "2026-01-01",
}


def post(client, command, body, token):
    return client.post(f"/api/v1/commands/{command}", json=body, headers=bearer(token))


def project(web) -> None:
    """Apply everything stored to the agencies view, as the projection runner would."""
    svc = web.extensions["casework"]
    notifications = svc.casework.recorder.select_notifications(start=1, limit=10_000)
    envelopes = [
        reveal(svc.casework.codec, wire.from_notification(svc.casework, n, "1571", sealed=True))
        for n in notifications
    ]
    apply_batch(svc.views, agencies.PROJECTION, envelopes)


def approved(client, command, body, tokens, maker="sup1", checker="sup2"):
    """Ask as the maker (202), approve as the checker (201): the approval's answer."""
    asked = post(client, command, body, tokens[maker])
    assert asked.status_code == 202, asked.get_json()
    approval_id = asked.get_json()["approval_id"]
    # the maker cannot approve their own request
    own = post(client, "ApproveChange", {"approval_id": approval_id}, tokens[maker])
    assert own.status_code == 403
    done = post(client, "ApproveChange", {"approval_id": approval_id}, tokens[checker])
    assert done.status_code == 201, done.get_json()
    return done


def test_an_agreement_is_defined_changed_and_revoked_by_two_supervisors(web, tokens):
    client = web.test_client()
    svc = web.extensions["casework"]
    # a case worker, an auditor or the agency itself may not ask
    for name in ("cw_sipin", "auditor", "agency", "pm_dinsos"):
        assert post(client, "DefineAgencyAgreement", AGREEMENT, tokens[name]).status_code == 403

    asked = post(client, "DefineAgencyAgreement", AGREEMENT, tokens["sup1"])
    assert asked.status_code == 202
    project(web)
    assert agencies.versions(svc.views) == []  # waiting for approval: nothing in force
    approval_id = asked.get_json()["approval_id"]
    assert post(client, "ApproveChange", {"approval_id": approval_id}, tokens["sup2"]).status_code
    project(web)
    (version,) = agencies.versions(svc.views)
    assert (version["agency"], version["version"], version["revoked_at"]) == ("BPJSKES", 1, None)
    assert version["terms"]["personal"] == "pseudonym"
    assert version["terms"]["kecamatan"] == ["Telanaipura"]
    # asking to define it again is refused at once: it exists
    again = post(client, "DefineAgencyAgreement", AGREEMENT, tokens["sup1"])
    assert again.status_code == 409 and "agency" in again.get_json()["errors"]

    approved(
        client,
        "ChangeAgencyAgreement",
        {"agency": "BPJSKES", "personal": "opened", "valid_until": "2026-12-31"},
        tokens,
    )
    project(web)
    filtered = AgencyFilter(svc.views, svc.casework.codec, b"k" * 32)
    first, second = filtered.versions("BPJSKES")
    assert (second.version, second.personal, str(second.valid_until)) == (2, "opened", "2026-12-31")
    assert second.event_types == first.event_types  # left out: kept
    assert second.fields == first.fields

    approved(
        client,
        "RevokeAgencyAgreement",
        {"agency": "BPJSKES", "reason": "PKS berakhir"},
        tokens,
        maker="sup2",
        checker="sup1",
    )
    project(web)
    assert filtered.caught_up_to() > second.from_position
    assert filtered.current("BPJSKES") is None
    assert agencies.versions(svc.views)[-1]["revoked_at"] is not None
    gone = post(client, "ChangeAgencyAgreement", {"agency": "BPJSKES"}, tokens["sup1"])
    assert gone.status_code == 409
    unknown = post(
        client, "RevokeAgencyAgreement", {"agency": "NOPE", "reason": "x"}, tokens["sup1"]
    )
    assert unknown.status_code == 404 and "agency" in unknown.get_json()["errors"]

    record_delivery(svc.views, "BPJSKES", "feed", 12, delivered=2)
    assert [(s["agency"], s["channel"], s["delivered"]) for s in delivery_states(svc.views)] == [
        ("BPJSKES", "feed", 2)
    ]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"agency": "x"}, "agency"),
        ({"purpose": "   "}, "purpose"),
        ({"event_types": []}, "event_types"),
        ({"event_types": ["UserAdded"]}, "event_types"),
        ({"fields": {"HouseholdRegistered": ["nope"]}}, "fields.HouseholdRegistered"),
        ({"fields": {"BenefitGranted": ["program"]}}, "fields.BenefitGranted"),
        ({"personal": "clear"}, "personal"),
        ({"kelurahan": ["Nowhere"]}, "kelurahan"),
        ({"valid_until": "2025-12-31"}, "valid_until"),
        ({"valid_from": "2026-02-30"}, "valid_from"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_nothing_is_stored(web, tokens, changes, field):
    client = web.test_client()
    casework = web.extensions["casework"].casework
    before = casework.recorder.max_notification_id()
    answer = post(client, "DefineAgencyAgreement", {**AGREEMENT, **changes}, tokens["sup1"])
    assert answer.status_code == 422, answer.get_json()
    assert field in answer.get_json()["errors"], answer.get_json()
    assert casework.recorder.max_notification_id() == before


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_one_request_per_agency_waits_at_a_time(web, tokens):
    """A second request for an agency while one waits would be decided on terms the first
    may change: refused when asked for, by the API and the form, naming `agency`."""
    client = web.test_client()
    casework = web.extensions["casework"].casework

    def waiting() -> list[tuple[str, str]]:
        return [(c.command, c.cmd["agency"].upper()) for c in casework.pending_approvals()]

    first = post(client, "DefineAgencyAgreement", AGREEMENT, tokens["sup1"])
    assert first.status_code == 202
    before = casework.recorder.max_notification_id()
    again = post(
        client, "DefineAgencyAgreement", {**AGREEMENT, "agency": "BPJSKES"}, tokens["sup2"]
    )
    assert again.status_code == 422, again.get_json()
    assert again.get_json()["codes"] == {"agency": ["agreement.request_pending"]}
    assert again.get_json()["errors"]["agency"]  # in words: what to do
    assert casework.recorder.max_notification_id() == before
    assert waiting() == [("DefineAgencyAgreement", "BPJSKES")]
    # another agency is not held up
    other = post(client, "DefineAgencyAgreement", {**AGREEMENT, "agency": "BAZNAS"}, tokens["sup2"])
    assert other.status_code == 202

    decided = {"approval_id": first.get_json()["approval_id"]}
    assert post(client, "ApproveChange", decided, tokens["sup2"]).status_code == 201
    change = {"agency": "BPJSKES", "personal": "opened"}
    changing = post(client, "ChangeAgencyAgreement", change, tokens["sup1"])
    assert changing.status_code == 202
    revoke = {"agency": "BPJSKES", "reason": "PKS berakhir"}
    refused = post(client, "RevokeAgencyAgreement", revoke, tokens["sup2"])
    assert refused.status_code == 422
    assert refused.get_json()["codes"] == {"agency": ["agreement.request_pending"]}

    # the form: 422 with the message at the agency field, in Indonesian; nothing stored
    browser = web.test_client(user="sup2")
    with browser.session_transaction() as session:
        session["csrf"] = "t"
    before = casework.recorder.max_notification_id()
    page = browser.post("/perintah/RevokeAgencyAgreement", data={"csrf_token": "t", **revoke})
    assert page.status_code == 422
    assert "Sudah ada permintaan tentang perjanjian agensi ini" in page.get_data(as_text=True)
    assert casework.recorder.max_notification_id() == before

    # once the change is decided, the revocation may be asked for
    rejection = {
        "approval_id": changing.get_json()["approval_id"],
        "reason_code": "other",
        "note": "Dicabut saja",
    }
    assert post(client, "RejectChange", rejection, tokens["sup2"]).status_code == 201
    assert post(client, "RevokeAgencyAgreement", revoke, tokens["sup2"]).status_code == 202
    assert sorted(waiting()) == [
        ("DefineAgencyAgreement", "BAZNAS"),
        ("RevokeAgencyAgreement", "BPJSKES"),
    ]
