"""Which source decides the decile, through the API: a program's source rule is checked when
it is written, and a family whose sources disagree beyond the tolerance is shown `review`
with each source's value."""

from __future__ import annotations

import pytest

from adapters import wire
from domain.application import SYSTEM, make_meta
from projections.base import apply_batch, reveal
from projections.catalog import PROJECTIONS
from tests.integration.conftest import authorized_client

pytestmark = pytest.mark.integration

META = make_meta(SYSTEM, "api")
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
PROGRAM = {
    "code": "KJB",
    "name": "Kartu Jambi Bahagia",
    "opd": "DINSOS",
    "funding": "APBD",
    "kind": "bansos",
    "effective_from": "2025-01-01",
}


def project(web) -> None:
    svc = web.extensions["casework"]
    notifications = svc.casework.recorder.select_notifications(start=1, limit=10_000)
    envelopes = [
        reveal(svc.casework.codec, wire.from_notification(svc.casework, n, "1571", sealed=True))
        for n in notifications
    ]
    for projection in PROJECTIONS.values():
        apply_batch(svc.views, projection, envelopes)


def define(client, rules: dict):
    return client.post("/api/v1/commands/DefineProgram", json={**PROGRAM, "rules": rules})


def test_a_bad_source_rule_is_422_naming_its_field_and_stores_nothing(web, tokens):
    client = authorized_client(web, tokens["pm_dinsos"])
    for desil_source, field in (
        ({"order": ["DTSEN", "BPS"]}, "rules.desil_source.order"),
        ({"tolerance": -1}, "rules.desil_source.tolerance"),
        (
            {"order": ["DTSEN"], "verification_overrides": True},
            "rules.desil_source.verification_overrides",
        ),
    ):
        answer = define(client, {"max_desil": 5, "desil_source": desil_source})
        assert answer.status_code == 422, answer.json
        assert list(answer.json["errors"]) == [field]
        assert all(message.strip() for message in answer.json["errors"][field])
    assert client.get("/api/v1/programs").json["programs"] == []


def test_disagreeing_sources_show_review_with_each_sources_value(web, tokens):
    client = authorized_client(web, tokens["pm_dinsos"])
    answer = define(client, {"max_desil": 5, "desil_source": {"tolerance": 1}})
    assert answer.status_code == 201, answer.json
    casework = web.extensions["casework"].casework
    hid = casework.register_household(HOUSEHOLD, META).stream_id
    for source, desil, period in (("DTSEN", 3, "2025-Q1"), ("VERVAL", 6, "2025-Q2")):
        casework.record_welfare_assessment(
            {"household_id": hid, "source": source, "desil": desil, "period": period}, META
        )
    project(web)

    answer = authorized_client(web, tokens["sup1"]).get(f"/api/v1/households/{hid}/eligibility")

    assert answer.status_code == 200, answer.json
    (kjb,) = [p for p in answer.json["programs"] if p["program"] == "KJB"]
    assert kjb["status"] == "review"
    desil = next(r for r in kjb["reasons"] if r["rule"] == "max_desil")
    assert desil["detail"].startswith(
        "DTSEN 3 (2025-Q1), VERVAL 6 (2025-Q2): differ by 3, tolerance 1"
    )
    assert len(desil["positions"]) == 3  # the rules and both assessments
    assert desil["passed"] is None  # a fact unknown: a person decides
    assert desil["text"]["params"]["sources"] == "DTSEN 3 (2025-Q1), VERVAL 6 (2025-Q2)"
    assert desil["text"]["msgid"] % desil["text"]["params"] == desil["detail"]
    assert HEAD["nik"] not in answer.get_data(as_text=True)


def test_the_approver_sees_the_disagreeing_sources_of_a_grant_left_to_them(web, tokens):
    client = authorized_client(web, tokens["pm_dinsos"])
    assert define(client, {"max_desil": 5, "desil_source": {"tolerance": 1}}).status_code == 201
    casework = web.extensions["casework"].casework
    hid = casework.register_household(HOUSEHOLD, META).stream_id
    for source, desil, period in (("DTSEN", 3, "2025-Q1"), ("VERVAL", 6, "2025-Q2")):
        casework.record_welfare_assessment(
            {"household_id": hid, "source": source, "desil": desil, "period": period}, META
        )
    grant = {
        "household_id": hid,
        "nik": HEAD["nik"],
        "program": "KJB",
        "period_start": "2025-07-01",
        "period_end": "2025-12-31",
        "amount": 300_000,
    }
    # the disagreement refuses nothing: the grant waits for the approver, who decides
    casework.request_approval("GrantBenefit", grant, make_meta(SYSTEM, "web"))

    page = web.test_client().get("/persetujuan").text

    # the rule and what is known of it, in Bahasa Indonesia
    assert "DTSEN 3 (2025-Q1), VERVAL 6 (2025-Q2): berbeda 3, toleransi 1" in page
    assert "Desil tertinggi" in page
    assert "max_desil" not in page
