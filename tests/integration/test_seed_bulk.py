"""The bulk seed (`seed_app` with a batch: many families per `together()` block) stores what
the same seed stores one command at a time: the same events, in the same order (the same
positions), with the same data, and the same households, also when it is run again over
families already stored (a batch that meets their claims in the store skips them as the
ordinary path does)."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator

import pytest

from adapters import chain
from adapters.bootstrap import open_casework
from adapters.db import Database
from adapters.settings import DatabaseUrl
from app.seed import seed_app
from domain.application import Casework
from tests.conftest import TEST_MASTER_KEY

pytestmark = pytest.mark.integration

FAMILIES = 30
SEED = 11
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# when the library stamped the event or the aggregate: the moment of the run, not the seed's
REGISTERED = ":Household.HouseholdRegistered"
SEED_TIME = "T02:00:00.000000Z"  # every step of a family's history (09:00 WIB on its day)
RUN_TIMES = {"timestamp", "_created_on", "_modified_on", "_pending_events"}
SUBJECT = re.compile(rb"pd1\.([0-9a-f]{32})\.")


@pytest.fixture
def stores(backend, tmp_path, pg_database) -> Iterator[tuple[Casework, Casework, str, list[str]]]:
    """Two write sides on two fresh stores of the backend's kind: the first to be seeded one
    command at a time, the other in bulk (and the two stores' URLs)."""
    first = DatabaseUrl.parse(backend["CASEWORK_STORE"], "CASEWORK_STORE")
    other = f"sqlite:///{tmp_path}/bulk.db" if first.kind == "sqlite" else pg_database()
    key = bytes.fromhex(TEST_MASTER_KEY)
    ordinary = open_casework(first, key)
    bulk = open_casework(DatabaseUrl.parse(other, "CASEWORK_STORE"), key)
    yield ordinary, bulk, first.kind, [backend["CASEWORK_STORE"], other]
    ordinary.close()
    bulk.close()


def canonical(values: list, seen: dict[str, str] | None = None) -> list:
    """The values as JSON, every UUID replaced by the order of its first appearance (the
    households' ids are random; what derives from them follows), keys sorted after that.
    `seen`: the labels given so far (the events', for the households built from them)."""
    labels: dict[str, str] = {} if seen is None else seen

    def label(match: re.Match) -> str:
        return labels.setdefault(match.group(0), f"id-{len(labels)}")

    return [
        json.dumps(json.loads(UUID.sub(label, json.dumps(v, default=str))), sort_keys=True)
        for v in values
    ]


def stored_events(app: Casework, positions: bool = True) -> list[dict]:
    """Every stored event, decrypted, in store order: its type, stream version and data (and
    its position: without, for a store where a failed transaction left a gap, as PostgreSQL's
    sequences do)."""
    found, position = [], 0
    while batch := app.recorder.select_notifications(position, 500, inclusive_of_start=False):
        for notification in batch:
            event = app.mapper.to_domain_event(notification)
            data = {k: v for k, v in vars(event).items() if k not in RUN_TIMES}
            meta = data.get("meta") or {}
            if (
                meta.get("actor", {}).get("id") == "seed"
                and meta.get("occurred_at", "")[10:] != SEED_TIME
            ):  # the catalog: defined at the moment of the run
                data["meta"] = {**meta, "occurred_at": "the run"}
            if positions:
                data["position"] = notification.id
            found.append({"topic": notification.topic, **data})
        position = batch[-1].id
    return found


def households(app: Casework, events: list[dict]) -> list[dict]:
    """The state of every household, in the order they were registered."""
    ids = [e["originator_id"] for e in events if e["topic"].endswith(REGISTERED)]
    return [
        {k: v for k, v in vars(app.get_household(i)).items() if k not in RUN_TIMES} for i in ids
    ]


def unused_keys(url: str) -> int:
    """Keys in the store whose subject no stored event names (and the chain intact)."""
    db = Database(DatabaseUrl.parse(url, "CASEWORK_STORE"))
    try:
        table, _ = chain.events_table(db)
        named: set[bytes] = set()
        for (state,) in db.query(f"SELECT state FROM {table}"):
            named.update(SUBJECT.findall(bytes(state)))
        keys = [row[0].encode() for row in db.query("SELECT subject FROM casework_personal_keys")]
        assert chain.verify(db).ok
        return sum(1 for subject in keys if subject not in named)
    finally:
        db.close()


def test_the_bulk_seed_stores_what_the_ordinary_path_stores(stores):
    ordinary, bulk, kind, urls = stores
    one_by_one = seed_app(ordinary, FAMILIES, seed_value=SEED)
    assert one_by_one["RegisterHousehold"] == FAMILIES
    assert one_by_one["GrantBenefit"] > 0 and one_by_one["AddMember"] > 0
    first = seed_app(bulk, 20, seed_value=SEED, batch=7)  # 3 transactions
    # run again: the first batch meets 8 stored families (played one command at a time)
    again = seed_app(bulk, FAMILIES, seed_value=SEED, batch=8)
    assert again["skipped"] == 20
    assert first + again - Counter(skipped=20) == one_by_one
    # PostgreSQL's sequence skips the positions of the batch that failed: compared on SQLite
    positions = kind == "sqlite"
    events, labels = stored_events(ordinary, positions), {}
    bulk_events, bulk_labels = stored_events(bulk, positions), {}
    assert canonical(bulk_events, bulk_labels) == canonical(events, labels)
    assert any(e["topic"].endswith(":Household.BenefitGranted") for e in events)
    homes = households(ordinary, events)
    assert len(homes) == FAMILIES
    assert canonical(households(bulk, bulk_events), bulk_labels) == canonical(homes, labels)
    # the same seed run once more, one command at a time: every family skipped, and no key
    # was left of the refused registrations or of the bulk run's failed batch
    assert seed_app(ordinary, FAMILIES, seed_value=SEED)["skipped"] == FAMILIES
    assert [unused_keys(url) for url in urls] == [0, 0]
