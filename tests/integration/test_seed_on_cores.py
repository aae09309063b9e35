"""The bulk seed on two processes (`seed_on_cores`: the batches shared between them, into one
store) stores the families one process stores: the same households with the same states, the
same events by type, every event on the chain, and a key for every person or family the
events name and for nothing else. Which family waits for which is tested without processes in
tests/unit/test_seed_sharing.py; here the two processes run side by side, with small batches."""

from __future__ import annotations

from collections import Counter

import pytest

from adapters.bootstrap import bootstrap, open_casework
from adapters.settings import DatabaseUrl
from app.seed import seed_app, seed_on_cores
from tests.conftest import TEST_MASTER_KEY
from tests.integration.test_rebuild_parallel import settings
from tests.integration.test_seed_bulk import (
    REGISTERED,
    canonical,
    households,
    stored_events,
    unused_keys,
)

pytestmark = pytest.mark.integration

FAMILIES = 160
BATCH = 6  # 27 batches: the two processes' batches side by side, objectors in flight
SEED = 3


def homes(app) -> list[str]:
    """Each household's state as canonical JSON (its own ids labelled), sorted: the families
    whatever order their batches were stored in."""
    events = stored_events(app, positions=False)
    return sorted(canonical([state])[0] for state in households(app, events))


def test_two_processes_store_the_families_one_process_stores(backend, tmp_path, pg_database):
    one_url = backend["CASEWORK_STORE"]
    two_url = f"sqlite:///{tmp_path}/two.db" if one_url.startswith("sqlite") else pg_database()
    key = bytes.fromhex(TEST_MASTER_KEY)
    one = open_casework(DatabaseUrl.parse(one_url, "CASEWORK_STORE"), key)
    try:
        alone = seed_app(one, FAMILIES, seed_value=SEED, batch=BATCH)
        expected = homes(one)
        topics = Counter(e["topic"] for e in stored_events(one, positions=False))
    finally:
        one.close()
    # objections name earlier families' adults: some of them in the other process's batches
    assert alone["FileObjection"] > 0

    shared = seed_on_cores(
        bootstrap(
            settings(DatabaseUrl.parse(two_url, "CASEWORK_STORE"), backend["CASEWORK_VIEWS"])
        ),
        FAMILIES,
        SEED,
        2,
        BATCH,
    )
    assert shared == alone
    two = open_casework(DatabaseUrl.parse(two_url, "CASEWORK_STORE"), key)
    try:
        assert Counter(e["topic"] for e in stored_events(two, positions=False)) == topics
        assert homes(two) == expected
        assert sum(1 for t in topics.elements() if t.endswith(REGISTERED)) == FAMILIES
    finally:
        two.close()
    assert unused_keys(two_url) == 0
    assert unused_keys(one_url) == 0
