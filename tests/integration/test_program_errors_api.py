"""A program's inclusion and exclusion errors, and what a draft of its rules would change
(what-if), on SQLite and PostgreSQL, with the real store and views."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json

import psycopg
import pytest

from app.seed_data import kk_for, nik_for
from domain.application import SYSTEM, make_meta
from projections import beneficiaries, eligibility
from projections.program_views import snapshot
from tests.integration.conftest import authorized_client
from tests.integration.test_eligibility_api import project

pytestmark = pytest.mark.integration

META = make_meta(SYSTEM, "api")
SIPIN = ("Telanaipura", "Simpang IV Sipin")
TAHTUL = ("Pelayangan", "Tahtul Yaman")

# name -> (where, latest decile, receives PKH); "included" received it at decile 3 and was
# assessed again at 6 since.
FAMILIES = {
    "included": (SIPIN, 6, True),
    "excluded_sipin": (SIPIN, 2, False),
    "excluded_tahtul": (TAHTUL, 4, False),
    "served": (TAHTUL, 3, True),
    "desil5_tahtul": (TAHTUL, 5, False),
    "desil5_sipin": (SIPIN, 5, False),
}


def _register(casework, serial: int, where: tuple[str, str]) -> tuple[str, str]:
    born = dt.date(1980, 1, serial)
    nik = nik_for("157101", born, "F", serial)
    household = {
        "kk_number": kk_for("157101", dt.date(2020, 1, serial), serial),
        "kecamatan": where[0],
        "kelurahan": where[1],
        "address": f"Jl. Uji No. {serial}",
        "rt": "001",
        "rw": "001",
        "head": {
            "nik": nik,
            "name": f"Ibu Uji {serial}",
            "birth_date": born.isoformat(),
            "sex": "F",
        },
    }
    return casework.register_household(household, META).stream_id, nik


def _assess(casework, hid: str, desil: int, period: str) -> None:
    casework.record_welfare_assessment(
        {"household_id": hid, "source": "DTSEN", "desil": desil, "period": period}, META
    )


@pytest.fixture
def families(web) -> dict[str, str]:
    casework = web.extensions["casework"].casework
    for code, opd, rules in (
        ("PKH", "DINSOS", {"max_desil": 4, "recipient": "adult_woman"}),
        ("ZAKAT", "BAZNAS", {"max_desil": 2}),
    ):
        casework.define_program(
            {
                "code": code,
                "name": code,
                "opd": opd,
                "funding": "APBN",
                "kind": "bansos",
                "rules": rules,
                "effective_from": "2025-01-01",
            },
            META,
        )
    ids = {}
    for serial, (name, (where, desil, receives)) in enumerate(FAMILIES.items(), start=1):
        hid, nik = _register(casework, serial, where)
        ids[name] = hid
        _assess(casework, hid, 3 if name == "included" else desil, "2025-Q1")
        if receives:
            casework.grant_benefit(
                {
                    "household_id": hid,
                    "nik": nik,
                    "program": "PKH",
                    "period_start": "2026-01-01",
                    "period_end": "2030-12-31",
                    "amount": 600_000,
                },
                META,
            )
    _assess(casework, ids["included"], 6, "2025-Q2")  # no longer poor enough
    project(web)
    return ids


def test_a_family_receiving_while_ineligible_and_an_eligible_unserved_one_are_listed(
    web, tokens, families
):
    answer = authorized_client(web, tokens["sup1"]).get("/api/v1/programs/PKH/errors")
    assert answer.status_code == 200, answer.json
    body = answer.json
    included = body["inclusion"]
    assert [f["household_id"] for f in included] == [families["included"]]
    assert included[0]["kelurahan"] == "Simpang IV Sipin"
    assert included[0]["benefits"] == 1
    assert [(r["rule"], r["detail"]) for r in included[0]["reasons"]] == [
        ("max_desil", "the family's desil 6, needs <= 4")
    ]
    assert {f["household_id"] for f in body["exclusion"]} == {
        families["excluded_sipin"],
        families["excluded_tahtul"],
    }
    assert body["review"] == []
    assert body["totals"] == {"inclusion": 1, "exclusion": 2, "review": 0}
    assert body["by_kelurahan"] == [
        {"kelurahan": "Simpang IV Sipin", "inclusion": 1, "exclusion": 1, "review": 0},
        {"kelurahan": "Tahtul Yaman", "inclusion": 0, "exclusion": 1, "review": 0},
    ]
    text = answer.get_data(as_text=True)
    assert "Ibu Uji" not in text and "157101" not in text  # no names, NIKs or KK numbers


def test_the_kelurahan_filter(web, tokens, families):
    client = authorized_client(web, tokens["sup1"])
    body = client.get("/api/v1/programs/PKH/errors?kelurahan=Tahtul Yaman").json
    assert body["kelurahan"] == "Tahtul Yaman"
    assert body["inclusion"] == []
    assert [f["household_id"] for f in body["exclusion"]] == [families["excluded_tahtul"]]
    assert body["by_kelurahan"] == [
        {"kelurahan": "Tahtul Yaman", "inclusion": 0, "exclusion": 1, "review": 0}
    ]


def test_the_csv_parses_and_matches_the_json(web, tokens, families):
    client = authorized_client(web, tokens["sup1"])
    listed = client.get("/api/v1/programs/PKH/errors").json
    answer = client.get("/api/v1/programs/PKH/errors.csv")
    assert answer.status_code == 200
    assert answer.mimetype == "text/csv"
    assert "kesalahan-PKH.csv" in answer.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True).lstrip("\ufeff"))))
    from_json = {
        (kind, f["household_id"], f["kelurahan"])
        for kind in ("inclusion", "exclusion", "review")
        for f in listed[kind]
    }
    assert {(r["kind"], r["household_id"], r["kelurahan"]) for r in rows} == from_json
    included = next(r for r in rows if r["kind"] == "inclusion")
    assert included["reasons"] == "max_desil: the family's desil 6, needs <= 4"
    assert included["benefits"] == "1"


def test_who_may_read_the_errors(web, tokens, families):
    def get(name: str, url: str) -> int:
        return authorized_client(web, tokens[name]).get(url).status_code

    url = "/api/v1/programs/PKH/errors"
    assert get("agency", url) == 403
    assert get("agency", url + ".csv") == 403
    assert get("pm_baznas", url) == 403  # PKH is DINSOS's
    assert get("pm_dinsos", url) == 200
    assert get("auditor", url) == 200
    assert get("cw_sipin", url) == 403  # a caseworker names one of their kelurahan
    assert get("cw_sipin", url + "?kelurahan=Simpang IV Sipin") == 200
    assert get("cw_sipin", url + "?kelurahan=Tahtul Yaman") == 403
    assert get("sup1", "/api/v1/programs/NOPE/errors") == 404
    # an unknown program is 404 on its every list: its beneficiaries answered 200, empty
    for path in ("eligible", "beneficiaries"):
        answer = authorized_client(web, tokens["sup1"]).get(f"/api/v1/programs/NOPE/{path}")
        assert answer.status_code == 404, path
        assert answer.json["codes"] == {"code": ["program.not_found"]}, path
    assert web.test_client().get(url).status_code == 401


def _fingerprint(web) -> str:
    """A checksum of every row of the views the what-if reads, and of the store's events."""
    svc = web.extensions["casework"]
    notifications = svc.casework.recorder.select_notifications(start=1, limit=100_000)
    rows = {
        "eligibility": eligibility.all_rows(svc.views),
        "beneficiaries": beneficiaries.all_rows(svc.views),
        "store": [(n.id, n.originator_id, n.originator_version) for n in notifications],
    }
    return hashlib.sha256(json.dumps(rows, default=str, sort_keys=True).encode()).hexdigest()


def test_raising_max_desil_gains_exactly_the_families_of_that_decile_and_stores_nothing(
    web, tokens, families
):
    before = _fingerprint(web)
    client = authorized_client(web, tokens["pm_dinsos"])
    answer = client.post("/api/v1/programs/PKH/what-if", json={"rules": {"max_desil": 5}})
    assert answer.status_code == 200, answer.json
    body = answer.json
    fives = [name for name, (_w, desil, _r) in FAMILIES.items() if desil == 5]
    assert len(fives) == 2
    assert {f["household_id"] for f in body["gaining"]} == {families[n] for n in fives}
    assert body["losing"] == []
    assert body["rules"]["max_desil"] == 5
    assert body["rules"]["recipient"] == "adult_woman"  # left out: kept
    assert body["totals"]["eligible_now"] == 3  # deciles 2, 4 and 3
    assert body["totals"]["eligible_draft"] == 5
    assert body["totals"]["gaining"] == 2
    per = {k["kelurahan"]: k for k in body["by_kelurahan"]}
    assert (per["Simpang IV Sipin"]["gaining"], per["Tahtul Yaman"]["gaining"]) == (1, 1)
    assert _fingerprint(web) == before
    # the program's rules are as they were
    program = client.get("/api/v1/programs").json["programs"]
    assert next(p for p in program if p["code"] == "PKH")["rules"]["max_desil"] == 4


def test_lowering_max_desil_loses_the_families_above_it(web, tokens, families):
    client = authorized_client(web, tokens["sup1"])
    body = client.post("/api/v1/programs/PKH/what-if", json={"rules": {"max_desil": 3}}).json
    assert [f["household_id"] for f in body["losing"]] == [families["excluded_tahtul"]]
    assert body["losing"][0]["kelurahan"] == "Tahtul Yaman"
    assert [(r["rule"], r["detail"]) for r in body["losing"][0]["reasons"]] == [
        ("max_desil", "the family's desil 4, needs <= 3")
    ]
    assert body["gaining"] == []
    assert body["totals"]["eligible_draft"] == 2
    # and the eligible list still answers with the rules in force
    eligible = client.get("/api/v1/programs/PKH/eligible").json["results"]
    assert families["excluded_tahtul"] in {r["household_id"] for r in eligible}


def test_a_bad_draft_is_422_naming_the_field_and_an_unknown_program_404(web, tokens, families):
    client = authorized_client(web, tokens["sup1"])
    url = "/api/v1/programs/PKH/what-if"
    bad = client.post(url, json={"rules": {"max_desil": 11}})
    assert bad.status_code == 422
    assert "rules.max_desil" in bad.json["errors"]
    unknown = client.post(url, json={"rules": {"max_decile": 3}})
    assert unknown.status_code == 422
    assert "rules.max_decile" in unknown.json["errors"]
    assert client.post(url, json={}).status_code == 422
    assert "rules" in client.post(url, json={}).json["errors"]
    assert client.post(url, data="{", content_type="application/json").status_code == 400
    missing = client.post("/api/v1/programs/NOPE/what-if", json={"rules": {"max_desil": 3}})
    assert missing.status_code == 404
    # a draft combining with a program that does not exist, or with itself, is refused as the
    # change of rules itself would be (it answered who would gain, as if 'NOPE' were a program)
    for codes, code in ((["NOPE"], "combinable_with_unknown"), (["PKH"], "combinable_with_self")):
        refused = client.post(url, json={"rules": {"combinable_with": codes}})
        assert refused.status_code == 422, codes
        assert refused.json["codes"] == {"rules.combinable_with": [f"rules.{code}"]}


def test_who_may_try_a_draft(web, tokens, families):
    def post(name: str) -> int:
        client = authorized_client(web, tokens[name])
        return client.post("/api/v1/programs/PKH/what-if", json={"rules": {}}).status_code

    assert post("agency") == 403
    assert post("cw_sipin") == 403
    assert post("pm_baznas") == 403
    assert post("pm_dinsos") == 200
    assert post("auditor") == 200


def test_a_receiving_family_whose_facts_are_unknown_needs_review(web, tokens, families):
    casework = web.extensions["casework"].casework
    casework.change_program_rules(
        {"code": "PKH", "rules": {"min_residence_months": 6}, "effective_from": "2025-06-01"},
        META,
    )
    project(web)
    body = authorized_client(web, tokens["sup1"]).get("/api/v1/programs/PKH/errors").json
    assert [f["household_id"] for f in body["review"]] == [families["served"]]
    assert [(r["rule"], r["detail"]) for r in body["review"][0]["reasons"]] == [
        ("min_residence_months", "the recipient's arrival date unknown; needs 6 months")
    ]
    # the included family still fails its decile; nobody is eligible, so nobody is excluded
    assert [f["household_id"] for f in body["inclusion"]] == [families["included"]]
    assert body["exclusion"] == []


def test_a_restricted_recipient_is_left_out(web, tokens, families):
    casework = web.extensions["casework"].casework
    household = casework.get_household(families["included"])
    head = next(iter(household.members))
    casework.restrict_processing(
        {"household_id": families["included"], "nik": head, "grounds": "keberatan"}, META
    )
    project(web)
    body = authorized_client(web, tokens["sup1"]).get("/api/v1/programs/PKH/errors").json
    assert body["inclusion"] == []
    assert body["totals"]["inclusion"] == 0


def test_the_snapshot_writes_nothing(web):
    views = web.extensions["casework"].views
    with views.transaction() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS whatif_probe (n INTEGER)")

    def write() -> None:
        with snapshot(views) as cur:
            cur.execute("INSERT INTO whatif_probe (n) VALUES (1)")

    if views.kind == "postgresql":
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            write()
    else:
        write()  # SQLite: rolled back all the same
    assert views.query("SELECT COUNT(*) FROM whatif_probe")[0][0] == 0


def test_the_what_if_csv_matches_the_json(web, tokens, families):
    client = authorized_client(web, tokens["sup1"])
    draft = {"rules": {"max_desil": 3}}
    listed = client.post("/api/v1/programs/PKH/what-if", json=draft).json
    answer = client.post("/api/v1/programs/PKH/what-if.csv", json=draft)
    assert answer.status_code == 200
    assert answer.mimetype == "text/csv"
    assert "rancangan-PKH.csv" in answer.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True).lstrip("\ufeff"))))
    assert [(r["change"], r["household_id"], r["kelurahan"]) for r in rows] == [
        ("losing", f["household_id"], f["kelurahan"]) for f in listed["losing"]
    ]
    assert rows[0]["reasons"] == "max_desil: the family's desil 4, needs <= 3"
    assert client.post("/api/v1/programs/PKH/what-if.csv", json={"rules": 1}).status_code == 422
    refused = authorized_client(web, tokens["agency"]).post(
        "/api/v1/programs/PKH/what-if.csv", json=draft
    )
    assert refused.status_code == 403


def _mother_and_daughters(casework) -> tuple[str, str]:
    """A family in Paal Merah at decile 4: a father and Sari, an adult woman born here, both
    with their KTP, and young daughters without one, added until one of them sorts before
    Sari among the view's (random, pseudonymous) subjects, as in the family a tester found:
    (household id, Sari's NIK). A Sari whose subject sorts among the first three eighths
    leaves her family aside for another (a daughter sorting before her would be unlikely):
    the chance that no family serves is below one in ten thousand."""
    for attempt in range(10):
        base = 71 + 40 * attempt  # each family's own NIK and KK serials
        hid, sari, mother = _father_and_mother(casework, base)
        if mother < "6":
            continue
        for serial in range(base + 2, base + 32):
            born = dt.date(2016, 5, 1 + (serial - base) % 28)
            girl = {
                "nik": nik_for("157101", born, "F", serial),
                "name": f"Anak Uji {serial}",
                "birth_date": born.isoformat(),
                "sex": "F",
            }
            casework.add_member({"household_id": hid, "person": girl, "relationship": "anak"}, META)
            if casework.person_subject(girl["nik"]) < mother:
                return hid, sari
    pytest.fail("no daughter sorts before her mother")


def _father_and_mother(casework, base: int) -> tuple[str, str, str]:
    """(household id, Sari's NIK, her subject) of a new family of the father and Sari."""
    father = {
        "nik": nik_for("157101", dt.date(1984, 2, 3), "M", base),
        "name": "Bapak Uji",
        "birth_date": "1984-02-03",
        "sex": "M",
    }
    hid = casework.register_household(
        {
            "kk_number": kk_for("157101", dt.date(2010, 1, 2), base),
            "kecamatan": "Paal Merah",
            "kelurahan": "Paal Merah",
            "address": f"Jl. Uji No. {base}",
            "rt": "001",
            "rw": "001",
            "head": father,
        },
        META,
    ).stream_id
    sari = {
        "nik": nik_for("157101", dt.date(1987, 11, 5), "F", base + 1),
        "name": "Sari Uji",
        "birth_date": "1987-11-05",
        "sex": "F",
    }
    casework.add_member({"household_id": hid, "person": sari, "relationship": "istri"}, META)
    for nik in (father["nik"], sari["nik"]):
        casework.issue_ktp(
            {
                "household_id": hid,
                "nik": nik,
                "issued_on": "2005-02-10",
                "arrival": {"type": "born_here"},
            },
            META,
        )
    _assess(casework, str(hid), 4, "2025-Q1")
    return str(hid), sari["nik"], casework.person_subject(sari["nik"])


def test_a_draft_changing_two_rules_gives_the_reasons_the_view_would_give(web, tokens, families):
    """PKH pays an adult woman: a draft lowering the decile and asking 12 months of residence
    loses the family of Sari (born here, decile 4) for its decile alone, not for the young
    daughter's missing arrival and age; the residence rule alone loses nobody of it; and with
    the draft in force the view and the answer as of now give the same reasons."""
    casework = web.extensions["casework"].casework
    hid, sari = _mother_and_daughters(casework)
    project(web)
    client = authorized_client(web, tokens["sup1"])
    now = client.get(f"/api/v1/households/{hid}/eligibility").json["programs"]
    assert next(p for p in now if p["program"] == "PKH")["status"] == "eligible"

    url = "/api/v1/programs/PKH/what-if"
    alone = client.post(url, json={"rules": {"min_residence_months": 12}}).json
    assert hid not in {f["household_id"] for f in alone["losing"]}
    draft = {"max_desil": 2, "min_residence_months": 12}
    both = client.post(url, json={"rules": draft}).json
    losing = next(f for f in both["losing"] if f["household_id"] == hid)
    assert losing["kelurahan"] == "Paal Merah"
    assert [(r["rule"], r["detail"]) for r in losing["reasons"]] == [
        ("max_desil", "the family's desil 4, needs <= 2")
    ]

    # the same rules in force: the household's answer gives the reasons the draft gave
    casework.change_program_rules(
        {"code": "PKH", "rules": draft, "effective_from": both["as_of"]}, META
    )
    project(web)
    moment = dt.datetime.now(dt.UTC).isoformat()
    worded = []
    for query in ({}, {"as_of": moment}):
        answer = client.get(f"/api/v1/households/{hid}/eligibility", query_string=query).json
        pkh = next(p for p in answer["programs"] if p["program"] == "PKH")
        assert pkh["status"] == "ineligible"
        assert [(r["rule"], r["detail"]) for r in pkh["reasons"] if r["passed"] is not True] == [
            ("max_desil", "the family's desil 4, needs <= 2")
        ], query
        assert sari not in json.dumps(answer)
        worded.append([(r["rule"], r["passed"], r["detail"], r["text"]) for r in pkh["reasons"]])
    # and the reasons that passed in the same words: Sari's residence without a count of
    # months (born here, it would tell her age to the month)
    assert worded[0] == worded[1]
    assert ("min_residence_months", True) in {(rule, passed) for rule, passed, *_ in worded[1]}
    assert "12 months reached, resident since birth" in json.dumps(worded[1])
