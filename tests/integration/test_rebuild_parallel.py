"""`casework rebuild` on both cores (every projection, split among worker processes that each
read the events once) builds the same tables, row for row, as the rebuild of every projection
in one process; building in a scratch file and copying it in (on SQLite a file beside the views
file, on PostgreSQL an unnamed SQLite file copied in by COPY) gives the same tables as building
in the views database itself."""

from __future__ import annotations

import hashlib
import re

import pytest

from adapters.bootstrap import bootstrap, open_casework
from adapters.db import VIEWS_PAGE_SIZE, Database
from adapters.settings import DatabaseUrl, Settings
from app.seed import BATCH, seed_app
from consumers.runner import groups, rebuild
from projections.base import COUNTS, PROGRESS, live_tables
from projections.catalog import PROJECTIONS
from tests.conftest import TEST_MASTER_KEY
from tests.support.events import TEST_SIGNING_KEY

pytestmark = pytest.mark.integration


# The kept counters are split into shards by process id (projections.base.SHARDS): what two
# rebuilds must agree on is their sum, not which process's row holds it.
SUMMED = {
    PROGRESS: "SELECT SUM(applied), MAX(position) FROM {table}",
    COUNTS: "SELECT name, item, SUM(value) FROM {table} GROUP BY name, item"
    " HAVING SUM(value) <> 0",
}


def checksums(url: str) -> dict[str, str]:
    """Per live table of every projection (by its base name): a checksum of its sorted rows
    (of the counters: their sums)."""
    db = Database(DatabaseUrl.parse(url, "CASEWORK_VIEWS"))
    try:
        found = {}
        for projection in PROJECTIONS.values():
            for base, table in live_tables(db, projection).items():
                query = SUMMED.get(base, "SELECT * FROM {table}").format(table=table)
                rows = sorted(repr(tuple(row)) for row in db.query(query))
                found[f"{projection.name}.{base}"] = (
                    hashlib.sha256("\n".join(rows).encode()).hexdigest() + f" ({len(rows)} rows)"
                )
        return found
    finally:
        db.close()


def seeded_store(backend: dict[str, str]) -> DatabaseUrl:
    store = DatabaseUrl.parse(backend["CASEWORK_STORE"], "CASEWORK_STORE")
    app = open_casework(store, bytes.fromhex(TEST_MASTER_KEY))
    try:
        seeded = seed_app(app, 40, seed_value=5, batch=BATCH)
    finally:
        app.close()
    assert seeded["GrantBenefit"] > 0
    return store


def settings(store: DatabaseUrl, views: str) -> Settings:
    return Settings.from_env(
        {
            "CASEWORK_STORE": store.url,
            "CASEWORK_VIEWS": views,
            "CASEWORK_SECRET_KEY": "test-secret",
            "CASEWORK_MASTER_KEY": TEST_MASTER_KEY,
            "CASEWORK_SIGNING_KEY": TEST_SIGNING_KEY,
            "CASEWORK_LOG_LEVEL": "WARNING",
        }
    )


def test_the_parallel_rebuild_equals_the_rebuild_in_one_process(backend, tmp_path, pg_database):
    store = seeded_store(backend)
    other = f"sqlite:///{tmp_path}/views2.db" if store.kind == "sqlite" else pg_database()
    names = list(PROJECTIONS)
    assert len(groups(names, 2)) == 2  # two processes, each with its share
    rebuild(bootstrap(settings(store, backend["CASEWORK_VIEWS"])), names, workers=1)
    rebuild(bootstrap(settings(store, other)), names, workers=2)
    one = checksums(backend["CASEWORK_VIEWS"])
    assert one == checksums(other)
    assert "(0 rows)" not in one["register.households"]
    assert "(0 rows)" not in one["eligibility.results"]


def built_both_ways(store: DatabaseUrl, views: str, in_place: str) -> dict[str, str]:
    """Every view rebuilt through a scratch file into `views`, twice (the second rebuild drops
    and replaces what the first left beside the live tables), and in place into `in_place`:
    the checksums of `views`, checked equal to those of `in_place`."""
    names = list(PROJECTIONS)
    for _ in range(2):
        rebuild(bootstrap(settings(store, views)), names, workers=1)
    rebuild(bootstrap(settings(store, in_place)), names, workers=1, in_place=True)
    built = checksums(views)
    assert built == checksums(in_place)
    return built


def test_on_sqlite_the_scratch_file_build_equals_the_build_in_place(tmp_path):
    store = seeded_store({"CASEWORK_STORE": f"sqlite:///{tmp_path}/casework.db"})
    views, in_place = f"sqlite:///{tmp_path}/views.db", f"sqlite:///{tmp_path}/in-place.db"
    scratch = built_both_ways(store, views, in_place)
    for built in (views, in_place):  # the views' pages (adapters.db.VIEWS_PAGE_SIZE)
        db = Database(DatabaseUrl.parse(built, "CASEWORK_VIEWS"))
        assert db.connection.execute("PRAGMA page_size").fetchone()[0] == VIEWS_PAGE_SIZE
        db.close()
    assert "(0 rows)" not in scratch["eligibility.results"]
    assert list(tmp_path.glob("*.rebuild-*")) == []  # no scratch file left behind


def about_live_tables(url: str, query: str) -> list[str]:
    """What a PostgreSQL catalogue `query` answers (one column) about the views' live tables
    (its one parameter: their names), sorted."""
    db = Database(DatabaseUrl.parse(url, "CASEWORK_VIEWS"))
    try:
        tables = [
            table
            for projection in PROJECTIONS.values()
            for table in live_tables(db, projection).values()
        ]
        return sorted(row[0] for row in db.query(query, (tables,)))
    finally:
        db.close()


def read_indexes(url: str) -> set[str]:
    """The names of the indexes of the views' live tables."""
    query = "SELECT indexname FROM pg_indexes WHERE tablename = ANY(?)"
    return set(about_live_tables(url, query))


def never_analyzed(url: str) -> list[str]:
    """The views' live tables with no planner statistics taken."""
    return about_live_tables(
        url,
        "SELECT relname FROM pg_stat_user_tables WHERE relname = ANY(?)"
        " AND last_analyze IS NULL AND last_autoanalyze IS NULL",
    )


def test_on_postgresql_the_scratch_build_copied_in_equals_the_build_in_place(
    tmp_path, pg_database
):
    store = seeded_store({"CASEWORK_STORE": f"sqlite:///{tmp_path}/casework.db"})
    views, in_place = pg_database(), pg_database()
    copied = built_both_ways(store, views, in_place)
    assert "(0 rows)" not in copied["eligibility.results"]
    assert "(0 rows)" not in copied["register.households"]
    # the readers' indexes were made after the copy, as the build in place makes them
    indexes = read_indexes(views)
    assert len(indexes) > len(PROJECTIONS)
    # and their statistics taken before they went live, as by the build in place: the
    # planner does not guess until autovacuum comes by
    for url in (views, in_place):
        assert never_analyzed(url) == [], url
    generation = re.compile(r"_g[0-9]+_")
    assert {generation.sub("_gN_", name) for name in indexes} == {
        generation.sub("_gN_", name) for name in read_indexes(in_place)
    }
