"""Time travel through the API on SQLite and PostgreSQL: `as_of` on a household, its history
and its eligibility, in both modes (as known then, as it was), and the diff between two
moments. The answers the API gave during the test are recorded, then asked for again as of
those moments."""

from __future__ import annotations

import datetime as dt

import pytest

from adapters.wire import rfc3339
from domain.application import SYSTEM, make_meta
from tests.integration.conftest import authorized_client

pytestmark = pytest.mark.integration

HEAD = {"nik": "1571015203850007", "name": "Siti Aminah", "birth_date": "1985-03-12", "sex": "F"}
HUSBAND = {"nik": "1571011001800003", "name": "Ahmad Yani", "birth_date": "1980-01-10", "sex": "M"}
HOUSEHOLD = {
    "kk_number": "1571010101200003",
    "kecamatan": "Telanaipura",
    "kelurahan": "Simpang IV Sipin",
    "address": "Jl. Kapten Pattimura No. 5",
    "rt": "007",
    "rw": "002",
    "head": HEAD,
}
# When things happened in the world (the death is reported much later, during the test).
REGISTERED = "2025-01-06T09:00:00+07:00"
JOINED = "2025-02-03T09:00:00+07:00"
DIED = "2025-06-01T08:00:00+07:00"


def meta(occurred_at: str | None = None) -> dict:
    return make_meta(SYSTEM, "api", occurred_at=occurred_at)


def now() -> str:
    return rfc3339(dt.datetime.now(dt.UTC))


@pytest.fixture
def casework(web):
    return web.extensions["casework"].casework


@pytest.fixture
def auditor(web, tokens):
    return authorized_client(web, tokens["auditor"])


def without_moment(body: dict) -> dict:
    """A time-travel answer less what only time travel says: the moment asked, its mode and
    the evidence it rests on."""
    return {k: v for k, v in body.items() if k not in ("as_of", "mode", "evidence")}


def test_as_known_then_equals_what_the_api_answered_then(casework, auditor):
    hid = str(casework.register_household(HOUSEHOLD, meta(REGISTERED)).stream_id)
    url = f"/api/v1/households/{hid}"
    recorded = []  # (moment, household answer, history answer)

    def record() -> None:
        household, history = auditor.get(url), auditor.get(f"{url}/history")
        assert household.status_code == history.status_code == 200
        recorded.append((now(), household.json, history.json))

    record()
    casework.add_member(
        {"household_id": hid, "person": HUSBAND, "relationship": "suami"}, meta(JOINED)
    )
    record()
    casework.record_death(
        {"household_id": hid, "nik": HUSBAND["nik"], "date_of_death": "2025-06-01"}, meta(DIED)
    )
    record()
    assert [len(members["members"]) for _, members, _ in recorded] == [1, 2, 2]

    for moment, household, history in recorded:
        then = auditor.get(url, query_string={"as_of": moment})
        assert then.status_code == 200, then.json
        assert (then.json["as_of"], then.json["mode"]) == (moment, "known")
        assert without_moment(then.json) == household
        assert then.json["evidence"]["position"] > 0  # its last event by then, to cite
        events = auditor.get(f"{url}/history", query_string={"as_of": moment, "mode": "known"})
        assert without_moment(events.json) == history

    # before anything was recorded the household was not known
    before = auditor.get(url, query_string={"as_of": "2024-12-31"})
    assert before.status_code == 404
    assert before.json["codes"] == {"as_of": ["household.not_yet"]}


def test_as_it_was_shows_a_death_reported_late_from_the_day_it_happened(casework, auditor):
    hid = str(casework.register_household(HOUSEHOLD, meta(REGISTERED)).stream_id)
    casework.add_member(
        {"household_id": hid, "person": HUSBAND, "relationship": "suami"}, meta(JOINED)
    )
    before_report = now()
    casework.record_death(
        {"household_id": hid, "nik": HUSBAND["nik"], "date_of_death": "2025-06-01"}, meta(DIED)
    )
    url = f"/api/v1/households/{hid}"

    def husband(**query) -> dict:
        answer = auditor.get(url, query_string=query)
        assert answer.status_code == 200, answer.json
        return next(m for m in answer.json["members"] if m["nik"] == HUSBAND["nik"])

    # as it was in July 2025: already dead, though nobody had recorded it then
    assert husband(as_of="2025-07-01", mode="effective")["status"] == "deceased"
    assert husband(as_of="2025-05-01", mode="effective")["status"] == "active"
    # as known just before the report: alive
    assert husband(as_of=before_report, mode="known")["status"] == "active"
    # the history as it was in July 2025 holds the death; as known then, it does not exist
    history = auditor.get(
        f"{url}/history", query_string={"as_of": "2025-07-01", "mode": "effective"}
    )
    assert [e["type"] for e in history.json["events"]] == [
        "HouseholdRegistered",
        "MemberAdded",
        "DeathRecorded",
    ]
    known = auditor.get(f"{url}/history", query_string={"as_of": "2025-07-01"})
    assert known.status_code == 404  # as the household and its eligibility answer (README)
    assert known.json["codes"] == {"as_of": ["household.not_yet"]}


@pytest.mark.parametrize(
    "query, field",
    [
        ({"as_of": "garbage"}, "as_of"),
        ({"as_of": "2026-13-01"}, "as_of"),
        ({"as_of": "2026-01-01T10:00:00"}, "as_of"),  # no offset
        ({"as_of": "1702-01-01"}, "as_of"),
        ({"as_of": "2026-01-01", "mode": "sometimes"}, "mode"),
        ({"mode": "bad"}, "mode"),
        ({"mode": "effective"}, "as_of"),
        # each malformed argument under its own field, all in one answer
        ({"as_of": "garbage", "mode": "bad"}, "as_of mode"),
    ],
)
def test_a_malformed_as_of_or_mode_is_422_naming_the_field(casework, auditor, query, field):
    hid = str(casework.register_household(HOUSEHOLD, meta()).stream_id)
    for path in ("", "/history", "/eligibility"):
        answer = auditor.get(f"/api/v1/households/{hid}{path}", query_string=query)
        assert answer.status_code == 422, (path, answer.json)
        assert sorted(answer.json["errors"]) == field.split()
        assert sorted(answer.json["codes"]) == field.split()
        assert HEAD["nik"] not in answer.get_data(as_text=True)


@pytest.mark.parametrize(
    "query, codes",
    [
        ({"from": "2025-01-01", "to": "2025-07-01", "mode": "bad"}, {"mode": ["mode.invalid"]}),
        ({"from": "garbage", "to": "2025-07-01"}, {"from": ["from.invalid"]}),
        ({"from": "2025-01-01", "to": "2099-01-01"}, {"to": ["to.future"]}),
        ({"from": "2025-01-01"}, {"to": ["to.invalid"]}),
        (
            {"from": "garbage", "to": "2025-13-01", "mode": "bad"},
            {"from": ["from.invalid"], "to": ["to.invalid"], "mode": ["mode.invalid"]},
        ),
    ],
)
def test_each_malformed_argument_of_the_diff_is_422_under_its_own_field(
    casework, auditor, query, codes
):
    hid = str(casework.register_household(HOUSEHOLD, meta()).stream_id)
    answer = auditor.get(f"/api/v1/households/{hid}/diff", query_string=query)
    assert answer.status_code == 422, answer.json
    assert answer.json["codes"] == codes
    assert set(answer.json["errors"]) == set(codes)


def test_the_diff_lists_what_changed_and_refuses_from_after_to(casework, auditor):
    hid = str(casework.register_household(HOUSEHOLD, meta(REGISTERED)).stream_id)
    start = now()
    casework.add_member(
        {"household_id": hid, "person": HUSBAND, "relationship": "suami"}, meta(JOINED)
    )
    casework.record_death(
        {"household_id": hid, "nik": HUSBAND["nik"], "date_of_death": "2025-06-01"}, meta(DIED)
    )
    end = now()
    url = f"/api/v1/households/{hid}/diff"
    answer = auditor.get(url, query_string={"from": start, "to": end})
    assert answer.status_code == 200, answer.json
    assert [e["type"] for e in answer.json["events"]] == ["MemberAdded", "DeathRecorded"]
    changes = {c["field"]: (c["from"], c["to"]) for c in answer.json["changes"]}
    assert changes[f"members.{HUSBAND['nik']}"] == (None, "added")
    # as it was: between June and July 2025 the husband died
    effective = auditor.get(
        url, query_string={"from": "2025-05-01", "to": "2025-07-01", "mode": "effective"}
    )
    changes = {c["field"]: (c["from"], c["to"]) for c in effective.json["changes"]}
    assert changes[f"members.{HUSBAND['nik']}.status"] == ("active", "deceased")
    assert [e["type"] for e in effective.json["events"]] == ["DeathRecorded"]

    reversed_ = auditor.get(url, query_string={"from": end, "to": start})
    assert reversed_.status_code == 422
    assert list(reversed_.json["errors"]) == ["from"]
    assert auditor.get(url, query_string={"to": end}).status_code == 422


def test_eligibility_before_a_rule_change_shows_the_old_rule_version(casework, auditor):
    casework.define_program(
        {
            "code": "PKH",
            "name": "PKH",
            "opd": "DINSOS",
            "funding": "APBN",
            "kind": "bansos",
            "rules": {"max_desil": 4, "recipient": "adult_woman"},
            "effective_from": "2025-01-01",
        },
        meta(),
    )
    hid = str(casework.register_household(HOUSEHOLD, meta(REGISTERED)).stream_id)
    casework.record_welfare_assessment(
        {"household_id": hid, "source": "DTSEN", "desil": 3, "period": "2025-Q1"}, meta()
    )
    before_change = now()
    casework.change_program_rules({"code": "PKH", "rules": {"max_desil": 2}}, meta())
    url = f"/api/v1/households/{hid}/eligibility"

    def pkh(moment: str) -> dict:
        answer = auditor.get(url, query_string={"as_of": moment})
        assert answer.status_code == 200, answer.json
        assert answer.json["mode"] == "known"
        return next(p for p in answer.json["programs"] if p["program"] == "PKH")

    old, new = pkh(before_change), pkh(now())
    assert old["status"] == "eligible"
    assert {r["rule_version"] for r in old["reasons"]} == {1}
    assert new["status"] == "ineligible"
    assert {r["rule_version"] for r in new["reasons"]} == {2}
    desil = next(r for r in new["reasons"] if r["rule"] == "max_desil")
    assert desil["passed"] is False
    assert HEAD["nik"] not in auditor.get(url, query_string={"as_of": now()}).get_data(as_text=True)


def test_only_auditors_supervisors_and_admins_travel_in_time(web, tokens, casework):
    hid = str(casework.register_household(HOUSEHOLD, meta()).stream_id)
    moment = now()
    for name, allowed in (
        ("auditor", True),
        ("sup1", True),
        ("cw_sipin", False),
        ("pm_dinsos", False),
        ("agency", False),
    ):
        client = authorized_client(web, tokens[name])
        for path in ("", "/history", "/eligibility", f"/diff?from={moment}&to={moment}&"):
            sep = "&" if "?" in path else "?"
            answer = client.get(f"/api/v1/households/{hid}{path}{sep}as_of={moment}")
            assert (answer.status_code == 200) is allowed, (name, path, answer.status_code)
            if not allowed:
                assert answer.status_code == 403


def test_an_unknown_household_is_404_in_the_past_too(auditor):
    unknown = "00000000-0000-4000-8000-000000000000"
    for path in ("", "/history", "/eligibility"):
        answer = auditor.get(f"/api/v1/households/{unknown}{path}", query_string={"as_of": now()})
        assert answer.status_code == 404, path
    diff = auditor.get(
        f"/api/v1/households/{unknown}/diff", query_string={"from": "2025-01-01", "to": now()}
    )
    assert diff.status_code == 404


@pytest.mark.parametrize("mode", ["known", "effective"])
def test_before_the_household_existed_all_three_answer_404_not_yet(casework, auditor, mode):
    """The household, its history and its eligibility agree: a moment before the household
    was recorded (or, `effective`, registered) is 404 household.not_yet (README)."""
    hid = str(casework.register_household(HOUSEHOLD, meta(REGISTERED)).stream_id)
    before = "2024-12-31" if mode == "known" else "2025-01-05"
    for path in ("", "/history", "/eligibility"):
        answer = auditor.get(
            f"/api/v1/households/{hid}{path}", query_string={"as_of": before, "mode": mode}
        )
        assert answer.status_code == 404, (path, answer.json)
        assert answer.json["codes"] == {"as_of": ["household.not_yet"]}, path


def test_as_of_is_bounded_alike_everywhere(casework, auditor):
    """One bound for as_of, from and to on every time-travel route: up to the end of today
    (WIB: today's date is accepted, tomorrow is 'future'); the far future (9999-12-31)
    is outside the system's calendar (malformed), as 9999-12-31T23:59:59Z already was."""
    hid = str(casework.register_household(HOUSEHOLD, meta(REGISTERED)).stream_id)
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=7))).date()
    tomorrow = (today + dt.timedelta(days=1)).isoformat()
    url = f"/api/v1/households/{hid}"
    for path in ("", "/history", "/eligibility"):
        assert (
            auditor.get(f"{url}{path}", query_string={"as_of": today.isoformat()}).status_code
            == 200
        )
        for far, code in (("9999-12-31", "as_of.invalid"), (tomorrow, "as_of.future")):
            answer = auditor.get(f"{url}{path}", query_string={"as_of": far})
            assert answer.status_code == 422, (path, far, answer.json)
            assert answer.json["codes"] == {"as_of": [code]}, (path, far)
    diff = f"{url}/diff"
    assert auditor.get(diff, query_string={"from": "2025-01-01", "to": today}).status_code == 200
    for far, kind in (("9999-12-31", "invalid"), (tomorrow, "future")):
        answer = auditor.get(diff, query_string={"from": "2025-01-01", "to": far})
        assert (answer.status_code, answer.json["codes"]) == (422, {"to": [f"to.{kind}"]})
        answer = auditor.get(diff, query_string={"from": far, "to": far})
        assert answer.json["codes"]["from"] == [f"from.{kind}"]
