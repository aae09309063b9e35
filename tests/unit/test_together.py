"""Many commands, one transaction (`Casework.together()`, used by the import and the seed): a
command refused inside the block leaves nothing of itself, as it leaves nothing in the store
outside one, and an erasure, which cannot wait for the block's end, is refused inside one."""

import datetime as dt
import uuid

import pytest

from app.seed_data import kk_for
from domain.errors import Conflict
from domain.use_case import event_id
from tests.support.apps import memory_casework
from tests.unit.test_household_commands import (
    KK,
    KK2,
    REGION,
    WIFE,
    meta,
    person,
    register,
)

NEIGHBOUR = person("Tetangga", "1975-01-01", "M", 8)
NEIGHBOUR_WIFE = person("Istri Tetangga", "1978-04-05", "F", 9)
KK3 = kk_for(REGION, dt.date(2025, 2, 3), 3)


@pytest.fixture
def app():
    application = memory_casework()
    yield application
    application.close()


def stored_types(app, household_id):
    return [type(e).__name__ for e in app.events.get(uuid.UUID(household_id))]


def test_a_command_refused_after_its_first_event_leaves_nothing_in_the_block(app):
    other = register(app, head=NEIGHBOUR, kk=KK2, members=[(NEIGHBOUR_WIFE, "istri")])
    with app.together():
        register(app, members=[(WIFE, "istri")])
        app.add_case_note({"household_id": other, "text": "Rumah kontrakan."}, meta())
        # HeadChanged is recorded on the family, then the save meets KK, claimed in the block
        with pytest.raises(Conflict) as refused:
            app.change_head(
                {"household_id": other, "nik": NEIGHBOUR_WIFE["nik"], "new_kk_number": KK},
                meta(),
            )
        assert (refused.value.field, refused.value.code) == ("new_kk_number", "kk.taken")
        # the next command sees the family as the block saved it, and is carried out
        household = app.get_household(other)
        assert household.head_nik == NEIGHBOUR["nik"] and household.kk_number == KK2
        assert [n["text"] for n in household.notes] == ["Rumah kontrakan."]
        changed = app.change_head(
            {"household_id": other, "nik": NEIGHBOUR_WIFE["nik"], "new_kk_number": KK3}, meta()
        )
        assert changed.position == 0  # held: stored when the block ends
        assert changed.event_ids == [event_id(uuid.UUID(other), 4)]
    household = app.get_household(other)
    assert household.kk_number == KK3
    assert [k["kk_number"] for k in household.kk_history] == [KK2, KK3]
    assert stored_types(app, other) == [
        "HouseholdRegistered",
        "MemberAdded",
        "CaseNoteAdded",
        "HeadChanged",
    ]
    assert app.household_id_for_kk(KK) != household.id


def test_an_erasure_is_refused_inside_a_block_and_the_person_stays_readable(app):
    family = register(app, members=[(WIFE, "istri")])
    cmd = {"household_id": family, "nik": WIFE["nik"], "reason": "Permohonan subjek data"}
    with app.together():
        with pytest.raises(RuntimeError):
            app.execute("RequestErasure", cmd, meta())
    member = app.get_household(family).members[WIFE["nik"]]
    assert member["name"] == WIFE["name"] and not member.get("erased")
    assert stored_types(app, family) == ["HouseholdRegistered", "MemberAdded"]
    app.execute("RequestErasure", cmd, meta())  # outside a block: carried out
    assert stored_types(app, family)[-1] == "PersonalDataErased"
    assert WIFE["nik"] not in app.get_household(family).members


def test_a_household_whose_history_reaches_the_snapshot_interval_in_a_block_is_snapshotted(app):
    """The block's save is given only the aggregates due a snapshot (`_snapshots_due`): one
    whose 100th event is saved by the block gets its snapshot, one that stays short none."""
    long_one = register(app, members=[(WIFE, "istri")])
    short_one = register(app, head=NEIGHBOUR, kk=KK2)
    before = app.get_household(long_one).version
    with app.together():
        for i in range(100 - before):
            app.add_case_note({"household_id": long_one, "text": f"catatan {i}"}, meta())
        app.add_case_note({"household_id": short_one, "text": "satu"}, meta())
    assert app.get_household(long_one).version == 100
    snapshots = list(app.snapshots.get(uuid.UUID(long_one)))
    assert [s.originator_version for s in snapshots] == [100]
    assert list(app.snapshots.get(uuid.UUID(short_one))) == []
    assert (
        app.repository.get(uuid.UUID(long_one)).as_dict() == app.get_household(long_one).as_dict()
    )
