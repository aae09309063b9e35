"""The audit routes of the API on SQLite and PostgreSQL: `GET /api/v1/audit/verify` names the
first broken link of the event chain (and of the read log's chain), only for auditors,
supervisors and admins; `GET /api/v1/audit` pages the global audit log with its filters."""

from __future__ import annotations

import datetime as dt

import pytest

from adapters import chain
from adapters.relay_store import events_table
from domain.application import Actor, make_meta
from domain.city import WIB
from tests.integration.conftest import authorized_client
from tests.integration.test_api import HOUSEHOLD, project, register

pytestmark = pytest.mark.integration

AUDIT_READERS = ("auditor", "sup1", "admin")
REFUSED = ("cw_sipin", "agency", "pm_dinsos")


def test_verify_answers_the_readers_and_refuses_the_others(web, tokens):
    for name in AUDIT_READERS:
        response = authorized_client(web, tokens[name]).get("/api/v1/audit/verify")
        assert response.status_code == 200, name
        assert response.json["ok"] is True
        assert response.json["events"]["broken"] is None
        head = response.json["events"]["head"]
        assert response.json["anchor"].startswith(f"{head['position']}:")
    for name in REFUSED:
        response = authorized_client(web, tokens[name]).get("/api/v1/audit/verify")
        assert response.status_code == 403, name
        assert "actor" in response.json["errors"]
        assert authorized_client(web, tokens[name]).get("/api/v1/audit").status_code == 403
    assert web.test_client().get("/api/v1/audit/verify").status_code == 401


def test_verify_names_the_edited_event(web, tokens):
    client = authorized_client(web, tokens["admin"])
    registered = register(client)
    store = web.extensions["casework"].store
    table, column = events_table(store)
    target = registered["position"]
    with store.transaction() as cur:
        cur.execute(f"UPDATE {table} SET topic = topic || 'x' WHERE {column} = ?", (target,))
    answer = authorized_client(web, tokens["auditor"]).get("/api/v1/audit/verify").json
    assert answer["ok"] is False
    assert answer["events"]["broken"] == {"position": target, "reason": "edited"}
    assert answer["read_log"]["ok"] is True


def test_verify_checks_an_anchor_held(web, tokens):
    """An auditor who kept the chain's head checks later that the history still passes
    through it: the anchor given is checked (it was ignored, `ok` true whatever it said), a
    link that is not the one kept breaks the chain there, a malformed one is 422."""
    client = authorized_client(web, tokens["auditor"])
    register(authorized_client(web, tokens["admin"]))
    kept = client.get("/api/v1/audit/verify").json["anchor"]
    register(
        authorized_client(web, tokens["admin"]),
        kk_number="1571010101200004",
        head={**HOUSEHOLD["head"], "nik": "1571015203850015"},
    )
    position, link = kept.split(":")
    held = client.get("/api/v1/audit/verify", query_string={"anchor": kept})
    assert held.status_code == 200
    assert held.json["ok"] is True and held.json["anchor_checked"] == int(position)
    other = f"{position}:{'0' * 64 if link != '0' * 64 else '1' * 64}"
    forged = client.get("/api/v1/audit/verify", query_string={"anchor": other}).json
    assert forged["ok"] is False
    assert forged["events"]["broken"] == {"position": int(position), "reason": "anchor"}
    for bad in ("", "12", f"{position}:{link[:-1]}", "x:y"):
        refused = client.get("/api/v1/audit/verify", query_string={"anchor": bad})
        assert refused.status_code == 422, bad
        assert refused.json["codes"] == {"anchor": ["anchor.invalid"]}
    assert client.get("/api/v1/audit/verify").json["anchor_checked"] is None


def test_verify_names_the_read_logs_last_row_in_the_head_to_keep(web, tokens):
    """The head `verify` answers is the anchor an auditor keeps: it names the read log's last
    row, as `casework audit anchor` does; it said `read_log_id` 0 (an empty read log), however
    many reads were logged."""
    admin = authorized_client(web, tokens["admin"])
    registered = register(admin)
    project(web)
    assert admin.get(f"/api/v1/households/{registered['stream_id']}").status_code == 200
    head = authorized_client(web, tokens["auditor"]).get("/api/v1/audit/verify").json
    kept = chain.anchor(web.extensions["casework"].store)
    assert kept is not None and kept.read_log_id > 0
    shown = head["events"]["head"]
    assert (shown["read_log_id"], shown["read_log_hash"]) == (kept.read_log_id, kept.read_log_hash)


def test_verify_names_a_deleted_link(web, tokens):
    client = authorized_client(web, tokens["admin"])
    registered = register(client)
    store = web.extensions["casework"].store
    with store.transaction() as cur:
        cur.execute(f"DELETE FROM {chain.TABLE} WHERE position = ?", (registered["position"],))
    answer = authorized_client(web, tokens["sup1"]).get("/api/v1/audit/verify").json
    assert answer["events"]["broken"] == {
        "position": registered["position"],
        "reason": "unlinked_event",
    }


def entries(web, token, **query) -> list[dict]:
    response = authorized_client(web, token).get("/api/v1/audit", query_string=query)
    assert response.status_code == 200, response.json
    return response.json["results"]


def test_the_audit_log_pages_and_filters(web, tokens):
    client = authorized_client(web, tokens["admin"])
    register(client)
    register(
        client,
        kk_number="1571010101200004",
        kelurahan="Tahtul Yaman",
        kecamatan="Pelayangan",
        head={**HOUSEHOLD["head"], "nik": "1571015203850015"},
    )
    project(web)
    casework = web.extensions["casework"].casework
    dinsos = Actor(id="pm_dinsos", role="program_manager", opd="DINSOS")
    casework.add_user("ani", "auditor", None, [], make_meta(dinsos, "api"))

    auditor = tokens["auditor"]
    everything = entries(web, auditor, limit=100)
    positions = [e["position"] for e in everything]
    assert positions == sorted(positions) and len(positions) == len(set(positions))
    assert not any("data" in e for e in everything)  # no event's data, only who, what, when

    # paging: after= continues where the last page ended
    first = authorized_client(web, auditor).get("/api/v1/audit", query_string={"limit": 2}).json
    assert [e["position"] for e in first["results"]] == positions[:2]
    assert first["next_after"] == positions[1]
    rest = entries(web, auditor, after=first["next_after"], limit=100)
    assert [e["position"] for e in rest] == positions[2:]

    by_admin = entries(web, auditor, actor="admin", limit=100)
    assert by_admin and {e["actor"]["id"] for e in by_admin} == {"admin"}
    assert {e["type"] for e in entries(web, auditor, opd="DINSOS")} == {"UserAdded"}
    registered = entries(web, auditor, type="HouseholdRegistered")
    assert len(registered) == 2
    pelayangan = entries(web, auditor, kelurahan="Tahtul Yaman", type="HouseholdRegistered")
    assert [e["kelurahan"] for e in pelayangan] == ["Tahtul Yaman"]
    # a date is a whole day in WIB: since its start, until its end (since=today's date was
    # the end of today, so what was recorded today was not "since today")
    today = dt.datetime.now(WIB).date().isoformat()
    assert entries(web, auditor, since=today, until=today, limit=100) == everything
    assert entries(web, auditor, since="1900-01-01", limit=100) == everything
    tomorrow = (dt.datetime.now(WIB).date() + dt.timedelta(days=1)).isoformat()
    assert entries(web, auditor, since=tomorrow) == []
    # the calendar's last day (a later since is 422, as on the audit log's page)
    assert entries(web, auditor, since="2100-12-31T00:00:00Z") == []
    assert entries(web, auditor, until="2000-01-01T00:00:00Z") == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"after": "-1"}, "after"),
        ({"limit": "0"}, "limit"),
        ({"since": "yesterday"}, "since"),
        ({"until": "2025-01-01T00:00:00"}, "until"),  # no time zone
        ({"since": "2025-02-01T00:00:00Z", "until": "2025-01-01T00:00:00Z"}, "until"),
    ],
)
def test_bad_audit_queries_answer_422_naming_the_field(web, tokens, query, field):
    response = authorized_client(web, tokens["auditor"]).get("/api/v1/audit", query_string=query)
    assert response.status_code == 422
    assert list(response.json["errors"]) == [field]


def test_a_query_parameter_given_twice_is_422_naming_it_not_read_as_its_first(web, tokens):
    """`?limit=1&limit=500` read as limit=1 answered something else than the caller meant, in
    silence: it is 422 `query.repeated` on each parameter given twice, whatever the route; a
    list parameter (breach-report's actor) still takes several."""
    auditor = authorized_client(web, tokens["auditor"])
    answer = auditor.get("/api/v1/audit?limit=1&limit=500&opd=A&opd=B&type=X")
    assert answer.status_code == 422
    assert answer.json["codes"] == {"limit": ["query.repeated"], "opd": ["query.repeated"]}
    assert "lebih dari sekali" in answer.json["errors"]["limit"][0]
    overview = authorized_client(web, tokens["admin"]).get("/api/v1/overview?month=1&month=2")
    assert overview.status_code == 422 and overview.json["codes"] == {"month": ["query.repeated"]}
    report = auditor.get(
        "/api/v1/privacy/breach-report?actor=admin&actor=sup1"
        "&from=2025-01-01T00:00:00Z&to=2100-01-01T00:00:00Z"
    )
    assert report.status_code == 200, report.json


def test_a_query_parameter_given_twice_is_judged_after_who_asks(web, tokens):
    """Who asks comes before what they asked: a repeated parameter from a caller without a
    token is 401, from a role the route refuses 403 (not 422, which told an outsider what the
    route reads); a wrong token is counted once, as without the repeated parameter."""
    twice = "/api/v1/audit?limit=1&limit=500"
    anonymous = web.test_client(user=None).get(twice)
    assert anonymous.status_code == 401
    assert anonymous.json["codes"] == {"authorization": ["auth.token_missing"]}
    assert anonymous.headers["WWW-Authenticate"] == 'Bearer realm="casework"'
    caseworker = authorized_client(web, tokens["cw_sipin"]).get(twice)
    assert caseworker.status_code == 403 and "actor" in caseworker.json["codes"]
    assert authorized_client(web, tokens["auditor"]).get(twice).status_code == 422
    assert web.test_client(user=None).get("/api/v1/no-such-route?a=1&a=2").status_code == 404
    # the failure throttle's limit is 10 wrong tokens a minute from one address: ten wrong
    # tokens with a repeated parameter are ten failures (401 each), the eleventh is refused
    wrong = authorized_client(web, "cw_" + "x" * 40)
    answers = [wrong.get(twice).status_code for _ in range(10)]
    assert answers == [401] * 10
    assert wrong.get(twice).status_code == 429
