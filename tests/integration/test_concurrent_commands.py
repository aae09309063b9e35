"""Commands racing each other on one household, over HTTP with real threads on SQLite and
PostgreSQL: a command that pins no `expected_version` is carried out again on the new state
when another write lands first; a pinned one is answered 409 naming that field; an
Idempotency-Key never keeps the answer of a lost race."""

from __future__ import annotations

import threading

import pytest

from domain.household_cases import HouseholdCases
from tests.integration.conftest import authorized_client
from tests.integration.test_api import HOUSEHOLD  # the household the API tests use

pytestmark = pytest.mark.integration


def relative(n: int) -> dict:
    """A distinct valid person: born 2000-01-n, male, NIK of Kota Jambi, named Kerabat A for 1,
    B for 2 (a name holds no digits)."""
    return {
        "nik": f"157101{n:02d}01000001",
        "name": f"Kerabat {chr(64 + n)}",
        "birth_date": f"2000-01-{n:02d}",
        "sex": "M",
    }


def add(household_id: str, n: int, **more) -> dict:
    return {
        "household_id": household_id,
        "person": relative(n),
        "relationship": "famili_lain",
        **more,
    }


def register(client) -> str:
    response = client.post("/api/v1/commands/RegisterHousehold", json=HOUSEHOLD)
    assert response.status_code == 201, response.json
    return response.json["stream_id"]


def race(web, token: str, requests: list[tuple[str, dict, dict]]) -> list:
    """Send (command, body, headers) at the same moment, each from its own thread with its own
    client; the responses in the order given."""
    barrier = threading.Barrier(len(requests))
    answers: list = [None] * len(requests)

    def send(i: int, command: str, body: dict, headers: dict) -> None:
        client = authorized_client(web, token)
        barrier.wait()
        answers[i] = client.post(f"/api/v1/commands/{command}", json=body, headers=headers)

    threads = [
        threading.Thread(target=send, args=(i, *request)) for i, request in enumerate(requests)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert all(answer is not None for answer in answers)
    return answers


def loads_in_step(monkeypatch, parties: int) -> None:
    """The first load of a household in each of `parties` threads waits for the others, so
    those commands all read the same version and their saves collide for certain."""
    barrier = threading.Barrier(parties)
    waited = threading.local()
    load = HouseholdCases.get_household

    def in_step(self, household_id):
        household = load(self, household_id)
        racing = threading.current_thread() is not threading.main_thread()
        if racing and not getattr(waited, "done", False):
            waited.done = True
            barrier.wait(30)
        return household

    monkeypatch.setattr(HouseholdCases, "get_household", in_step)


def test_commands_without_expected_version_racing_on_one_household_are_all_carried_out(
    web, admin_token
):
    client = authorized_client(web, admin_token)
    household_id = register(client)

    answers = race(
        web, admin_token, [("AddMember", add(household_id, n), {}) for n in range(1, 13)]
    )

    assert [a.status_code for a in answers] == [201] * 12, [a.json for a in answers]
    assert sorted(a.json["version"] for a in answers) == list(range(2, 14))
    casework = web.extensions["casework"].casework
    household = casework.get_household(household_id)
    assert len(household.members) == 13 and household.version == 13
    assert len(list(casework.events.get(household.id))) == 13  # no update lost


def test_racing_commands_that_pin_the_same_version_one_wins_the_rest_are_409(web, admin_token):
    client = authorized_client(web, admin_token)
    household_id = register(client)

    answers = race(
        web,
        admin_token,
        [("AddMember", add(household_id, n, expected_version=1), {}) for n in range(1, 7)],
    )

    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201] + [409] * 5
    for answer in answers:
        if answer.status_code == 409:
            assert answer.json["codes"] == {"expected_version": ["version.stale"]}
    household = web.extensions["casework"].casework.get_household(household_id)
    assert household.version == 2 and len(household.members) == 2


def _removal_requests(client, household_id: str, maker: str, members: list[int]) -> list[str]:
    ids = []
    for n in members:
        added = client.post("/api/v1/commands/AddMember", json=add(household_id, n))
        assert added.status_code == 201, added.json
    for n in members:
        asked = client.post(
            "/api/v1/commands/RemoveMember",
            json={
                "household_id": household_id,
                "nik": relative(n)["nik"],
                "kind": "moved_out",
                "effective_date": "2025-04-21",
            },
            headers={"Authorization": f"Bearer {maker}"},
        )
        assert asked.status_code == 202, asked.json
        ids.append(asked.json["approval_id"])
    return ids


def test_two_approvals_of_changes_to_one_household_at_once_are_both_carried_out(
    web, tokens, monkeypatch
):
    client = authorized_client(web, tokens["admin"])
    household_id = register(client)
    first, second = _removal_requests(client, household_id, tokens["sup1"], [1, 2])
    loads_in_step(monkeypatch, 2)

    answers = race(
        web,
        tokens["sup2"],
        [("ApproveChange", {"approval_id": approval_id}, {}) for approval_id in (first, second)],
    )

    assert [a.status_code for a in answers] == [201, 201], [a.json for a in answers]
    household = web.extensions["casework"].casework.get_household(household_id)
    assert [household.members[relative(n)["nik"]]["status"] for n in (1, 2)] == ["moved_out"] * 2
    for approval_id in (first, second):
        change = client.get(f"/api/v1/approvals/{approval_id}")
        assert change.json["status"] == "approved"


def test_two_supervisors_approving_the_same_change_at_once_one_wins(web, tokens, monkeypatch):
    client = authorized_client(web, tokens["admin"])
    household_id = register(client)
    [approval_id] = _removal_requests(client, household_id, tokens["admin"], [1])
    loads_in_step(monkeypatch, 2)
    barrier = threading.Barrier(2)
    answers: dict[str, object] = {}

    def approve(name: str) -> None:
        supervisor = authorized_client(web, tokens[name])
        barrier.wait()
        answers[name] = supervisor.post(
            "/api/v1/commands/ApproveChange", json={"approval_id": approval_id}
        )

    threads = [threading.Thread(target=approve, args=(name,)) for name in ("sup1", "sup2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert sorted(a.status_code for a in answers.values()) == [201, 409]
    [loser] = [a for a in answers.values() if a.status_code == 409]
    assert loser.json["codes"] == {"approval_id": ["approval.decided"]}
    casework = web.extensions["casework"].casework
    household = casework.get_household(household_id)
    assert household.members[relative(1)["nik"]]["status"] == "moved_out"
    removed = [e for e in casework.events.get(household.id) if type(e).__name__ == "MemberRemoved"]
    assert len(removed) == 1


def test_a_lost_race_is_not_kept_under_its_idempotency_key(web, admin_token, monkeypatch):
    client = authorized_client(web, admin_token)
    household_id = register(client)
    monkeypatch.setattr("app.command_path.ATTEMPTS", 1)  # the race is lost for good
    loads_in_step(monkeypatch, 2)
    keys = [{"Idempotency-Key": f"add-{n}"} for n in (1, 2)]

    answers = race(
        web, admin_token, [("AddMember", add(household_id, n), keys[n - 1]) for n in (1, 2)]
    )

    assert sorted(a.status_code for a in answers) == [201, 409]
    n = next(i for i, a in enumerate(answers, start=1) if a.status_code == 409)
    assert answers[n - 1].json["codes"] == {"expected_version": ["version.stale"]}
    # the same request again, with its key: carried out now, not the kept 409
    again = client.post(
        "/api/v1/commands/AddMember", json=add(household_id, n), headers=keys[n - 1]
    )
    assert again.status_code == 201, again.json
    assert "Idempotent-Replayed" not in again.headers
    replayed = client.post(
        "/api/v1/commands/AddMember", json=add(household_id, n), headers=keys[n - 1]
    )
    assert (replayed.status_code, replayed.data) == (201, again.data)
    assert replayed.headers["Idempotent-Replayed"] == "true"
    reused = client.post(
        "/api/v1/commands/AddMember", json=add(household_id, 9), headers=keys[n - 1]
    )
    assert reused.status_code == 422
    assert reused.json["codes"] == {"idempotency_key": ["idempotency.key_reused"]}
    household = web.extensions["casework"].casework.get_household(household_id)
    assert household.version == 3 and len(household.members) == 3


def test_parallel_requests_each_with_its_key_are_all_carried_out_once(web, admin_token):
    client = authorized_client(web, admin_token)
    household_id = register(client)
    requests = [
        ("AddMember", add(household_id, n), {"Idempotency-Key": f"k-{n}"}) for n in range(1, 11)
    ]

    answers = race(web, admin_token, requests)

    assert [a.status_code for a in answers] == [201] * 10, [a.json for a in answers]
    repeats = race(web, admin_token, requests)
    assert [(r.status_code, r.data) for r in repeats] == [(201, a.data) for a in answers]
    household = web.extensions["casework"].casework.get_household(household_id)
    assert household.version == 11 and len(household.members) == 11
