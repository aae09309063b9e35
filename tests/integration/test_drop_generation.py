"""A rebuild's swap drops the generation two behind the live one without zeroing its pages
(`projections.base.drop_generation`), and the connection that dropped it still zeroes what
an erasure deletes afterwards: the erased value is in no byte of the views file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from adapters.db import Database
from adapters.settings import DatabaseUrl
from projections.base import create_generation, drop_generation, generations
from projections.catalog import PROJECTIONS

REGISTER = PROJECTIONS["register"]
KEPT = "kept-token-of-a-member-0001"
# long enough to fill overflow pages, which the deletion frees: `FAST` would not zero those
ERASED = "erased-token-of-a-member-0002-" * 400


def _member(cur, names: dict[str, str], subject: str, token: str) -> None:
    cur.execute(
        f"INSERT INTO {names['members']} (household_id, subject, nik_hash, nik_token,"
        " name_token, birth_date_token, sex, relationship, status, seq)"
        " VALUES ('h1', ?, NULL, ?, ?, NULL, 'F', 'istri', 'active', 1)",
        (subject, token, token),
    )


def test_a_dropped_generation_is_gone_and_erasures_after_it_still_zero(tmp_path: Path):
    url = DatabaseUrl.parse(f"sqlite:///{tmp_path / 'views.db'}", "CASEWORK_VIEWS")
    views = Database(url)
    try:
        with views.transaction() as cur:
            old = create_generation(cur, REGISTER, 1)
            live = create_generation(cur, REGISTER, 2)
            for at in range(200):  # pages enough to free
                _member(cur, old, f"s{at:031d}", f"{KEPT}-{at}")
            _member(cur, live, "a" * 32, KEPT)
            _member(cur, live, "b" * 32, ERASED)
        with views.transaction() as cur:
            drop_generation(cur, REGISTER, 1)
            assert generations(cur, REGISTER) == [2]
            # the erasure of one member, on the connection that dropped the generation
            cur.execute(f"DELETE FROM {live['members']} WHERE subject=?", ("b" * 32,))
        views.purge()
        with views.transaction() as cur:
            left = cur.execute(f"SELECT nik_token FROM {live['members']}").fetchall()
        assert [row[0] for row in left] == [KEPT]
    finally:
        views.close()
    with sqlite3.connect(url.path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    files = b"".join(p.read_bytes() for p in tmp_path.glob("views.db*"))
    assert KEPT.encode() in files
    # (a long value is cut across pages: a piece of it is looked for)
    assert ERASED[:60].encode() not in files, "the erased value is still in the views file"
