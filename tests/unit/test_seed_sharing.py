"""How the bulk seed's processes share the work (`app.seed`): which batches a process plays,
which earlier families a family must follow (those naming the same NIK or KK number: a
neighbour objecting, a number drawn twice), and that a family whose earlier family is not
stored yet is left for a later batch, with the families that follow it."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from app.seed import Shared, follows, ready, seed_app
from domain.application import Casework

HEAD, CHILD, NEIGHBOUR = "1571010101900001", "1571010101150002", "1571020202850003"
KK = "1571010101000001"


def register(nik: str, kk: str) -> dict:
    return {"command": "RegisterHousehold", "cmd": {"kk_number": kk, "head": {"nik": nik}}}


def test_a_family_follows_the_last_family_that_named_its_numbers():
    last: dict[int, int] = {}
    assert follows([register(HEAD, KK)], 1, last) == set()
    assert follows([register(NEIGHBOUR, "1571020202000002")], 2, last) == set()
    objection = {"command": "FileObjection", "cmd": {"objector_nik": HEAD, "grounds": "x"}}
    assert follows([register(CHILD, "1571030303000003"), objection], 3, last) == {1}
    # the same KK number drawn again: after the family that named it last
    assert follows([register("1571040404700004", KK)], 4, last) == {1}
    assert follows([{"command": "FileObjection", "cmd": {"objector_nik": HEAD}}], 5, last) == {3}
    # dates, amounts and other numbers are not identities
    steps = [{"command": "GrantBenefit", "cmd": {"amount": 1571010101900001, "on": "2026-01-01"}}]
    assert follows(steps, 6, last) == set()


def test_which_batches_a_process_plays():
    first = Shared([0] * 4, [0] * 10, SimpleNamespace(value=0), 0, 2)
    second = Shared([0] * 4, [0] * 10, SimpleNamespace(value=0), 1, 2)
    assert [b for b in range(6) if first.mine(b)] == [0, 2, 4]
    assert [b for b in range(6) if second.mine(b)] == [1, 3, 5]


def test_a_family_waits_for_an_earlier_family_not_stored_yet():
    stored = [0] * 10
    shared = Shared([0] * 4, stored, SimpleNamespace(value=0), 0, 2)
    stored[1] = 1  # family 1 is stored (another process's batch); family 2 is not yet
    drawn = [
        (5, ["five"], {1}),  # follows a stored family: played now
        (6, ["six"], {2}),  # follows family 2: left for later
        (7, ["seven"], {6}),  # follows family 6, left for later: so is this one
        (8, ["eight"], {5}),  # follows family 5, played before it in this block
        (9, ["nine"], set()),
    ]
    now, later = ready(drawn, shared)
    assert [f[0] for f in now] == [5, 8, 9]
    assert [f[0] for f in later] == [6, 7]
    shared.played([5, 8, 9], 3, 30)
    assert shared.families() == 3 and shared.events() == 30
    stored[2] = 1
    now, later = ready(later, shared)
    assert [f[0] for f in now] == [6, 7] and later == []
    # one process alone: everything, in its order
    assert ready(drawn, None) == (drawn, [])


def test_a_process_stops_when_another_failed():
    """Families waiting for a failed process's families would wait for ever: each process
    looks at the flag at every batch and while it waits."""
    failed = SimpleNamespace(value=0)
    shared = Shared([0] * 4, [0] * 40, failed, 1, 2)
    shared.check()
    shared.fail()
    assert failed.value == 1
    with pytest.raises(RuntimeError, match="another process of the seed failed or was stopped"):
        seed_app(Casework(), 30, seed_value=1, batch=5, shared=shared, catalog=False)
