"""The event store's hash chain on SQLite and PostgreSQL: every stored event linked in the
events' transaction; `casework audit verify` names the first broken link when one event's
bytes are edited, a row is deleted or a row is inserted; an anchor held from before catches
a store rewritten with every link recomputed."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator

import pytest

from adapters import access_log, chain
from adapters.bootstrap import open_casework
from adapters.db import Database
from adapters.relay_store import events_table
from adapters.settings import DatabaseUrl
from adapters.store_schema import migrate
from app import cli
from app.seed import seed_app
from domain.application import SYSTEM, Actor, Casework, make_meta
from tests.conftest import TEST_MASTER_KEY
from tests.support.events import TEST_SIGNING_KEY

pytestmark = pytest.mark.integration


@pytest.fixture
def store(backend, monkeypatch) -> Iterator[tuple[Casework, Database]]:
    for name, value in {
        **backend,
        "CASEWORK_SECRET_KEY": "test-secret",
        "CASEWORK_MASTER_KEY": TEST_MASTER_KEY,
        "CASEWORK_SIGNING_KEY": TEST_SIGNING_KEY,
    }.items():
        monkeypatch.setenv(name, value)
    url = DatabaseUrl.parse(backend["CASEWORK_STORE"], "CASEWORK_STORE")
    app = open_casework(url, bytes.fromhex(TEST_MASTER_KEY))
    db = Database(url)
    yield app, db
    db.close()
    app.close()


def add_users(app: Casework, *names: str) -> None:
    for name in names:
        app.add_user(name, "auditor", None, [], make_meta(SYSTEM, "cli"))


def positions(db: Database) -> list[int]:
    table, column = events_table(db)
    return [int(r[0]) for r in db.query(f"SELECT {column} FROM {table} ORDER BY {column}")]


def audit_verify(capsys, *args: str) -> tuple[int, dict]:
    code = cli.main(["audit", "verify", *args])
    captured = capsys.readouterr()
    answer = json.loads(captured.out)
    broken = answer["events"]["broken"]
    if broken is not None:  # named on stderr for the person at the terminal too
        assert f"broken at position {broken['position']}" in captured.err
    return code, answer


def test_every_event_is_linked_and_the_chain_verifies(store, capsys):
    app, db = store
    add_users(app, "ani", "budi", "citra")
    stored = positions(db)
    assert len(stored) >= 3
    links = [int(r[0]) for r in db.query(f"SELECT position FROM {chain.TABLE} ORDER BY position")]
    assert links == stored
    code, answer = audit_verify(capsys)
    assert code == 0
    assert answer["ok"] is True
    assert answer["events"]["events"] == len(stored)
    assert answer["events"]["head"]["position"] == stored[-1]
    assert answer["read_log"]["ok"] is True


def test_a_transaction_of_many_events_is_linked_in_store_order(store, capsys):
    app, db = store
    add_users(app, "ani")
    seed_app(app, 6, seed_value=1571, batch=6)  # six families' histories in one transaction
    stored = positions(db)
    assert len(stored) > 50
    code, answer = audit_verify(capsys)
    assert (code, answer["ok"]) == (0, True)
    assert answer["events"]["head"]["position"] == stored[-1]


def test_editing_one_events_bytes_is_caught_at_that_event(store, capsys):
    app, db = store
    add_users(app, "ani", "budi", "citra")
    table, column = events_table(db)
    target = positions(db)[2]
    (state,) = db.query_one(f"SELECT state FROM {table} WHERE {column} = ?", (target,))
    edited = bytes(state).replace(b"auditor", b"admin\x00\x00")
    assert edited != bytes(state)
    with db.transaction() as cur:
        cur.execute(f"UPDATE {table} SET state = ? WHERE {column} = ?", (edited, target))
    code, answer = audit_verify(capsys)
    assert code == 1
    assert answer["events"]["broken"] == {"position": target, "reason": "edited"}


def test_a_row_edited_into_what_the_recorder_never_writes_is_caught_not_a_crash(store, capsys):
    # edited by hand: the state emptied, or (the sqlite3 shell: `replace()` on a blob answers
    # text) made text, or the version no whole number; verify names the row, never fails
    app, db = store
    add_users(app, "ani", "budi", "citra")
    table, column = events_table(db)
    target = positions(db)[1]
    edits = ["state = NULL"]
    if db.kind == "sqlite":
        edits += ["state = replace(state, 'ani', 'adi')", "state = CAST(state AS TEXT)"]
        edits += ["originator_version = 'x'"]
    for edit in edits:
        before = db.query_one(
            f"SELECT state, originator_version FROM {table} WHERE {column} = ?", (target,)
        )
        with db.transaction() as cur:
            cur.execute(f"UPDATE {table} SET {edit} WHERE {column} = ?", (target,))
        code, answer = audit_verify(capsys)
        assert code == 1, edit
        assert answer["events"]["broken"] == {"position": target, "reason": "edited"}, edit
        with db.transaction() as cur:
            cur.execute(
                f"UPDATE {table} SET state = ?, originator_version = ? WHERE {column} = ?",
                (bytes(before[0]), before[1], target),
            )
        assert audit_verify(capsys)[0] == 0


def test_deleting_a_row_is_caught_at_the_gap(store, capsys):
    app, db = store
    add_users(app, "ani", "budi", "citra")
    table, column = events_table(db)
    stored = positions(db)
    with db.transaction() as cur:
        cur.execute(f"DELETE FROM {table} WHERE {column} = ?", (stored[1],))
    code, answer = audit_verify(capsys)
    assert code == 1
    assert answer["events"]["broken"] == {"position": stored[1], "reason": "missing_event"}

    # its link deleted too: the next link no longer follows the one before the gap
    with db.transaction() as cur:
        cur.execute(f"DELETE FROM {chain.TABLE} WHERE position = ?", (stored[1],))
    code, answer = audit_verify(capsys)
    assert code == 1
    assert answer["events"]["broken"] == {"position": stored[2], "reason": "not_following"}


def test_inserting_a_row_is_caught_at_the_inserted_row(store, capsys):
    app, db = store
    add_users(app, "ani", "budi")
    table, column = events_table(db)
    before = positions(db)
    originator_id, version, topic, state = db.query_one(
        f"SELECT originator_id, originator_version, topic, state FROM {table} WHERE {column} = ?",
        (before[0],),
    )
    copy = uuid.uuid4().hex if db.kind == "sqlite" else uuid.uuid4()
    with db.transaction() as cur:
        cur.execute(
            f"INSERT INTO {table} (originator_id, originator_version, topic, state)"
            " VALUES (?, ?, ?, ?)",
            (copy, version, topic, bytes(state)),
        )
    inserted = [p for p in positions(db) if p not in before]
    assert len(inserted) == 1
    code, answer = audit_verify(capsys)
    assert code == 1
    assert answer["events"]["broken"] == {"position": inserted[0], "reason": "unlinked_event"}

    # and the events written after it still link to the chain's genuine head
    add_users(app, "citra")
    code, answer = audit_verify(capsys)
    assert answer["events"]["broken"] == {"position": inserted[0], "reason": "unlinked_event"}


def test_an_anchor_catches_a_store_rewritten_with_its_links_recomputed(store, capsys, tmp_path):
    app, db = store
    add_users(app, "ani", "budi")
    assert cli.main(["audit", "anchor"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["position"] == positions(db)[-1]
    held = printed["anchor"]
    held_file = tmp_path / "anchor.json"
    held_file.write_text(json.dumps(printed))  # the signed document, kept as printed
    add_users(app, "citra")
    for anchor in (["--anchor", held], ["--anchor-file", str(held_file)]):
        code, _ = audit_verify(capsys, *anchor)
        assert code == 0

    # rewrite the first event and recompute every link after it: the chain holds again ...
    table, column = events_table(db)
    stored = positions(db)
    (state,) = db.query_one(f"SELECT state FROM {table} WHERE {column} = ?", (stored[0],))
    with db.transaction() as cur:
        cur.execute(
            f"UPDATE {table} SET state = ? WHERE {column} = ?",
            (bytes(state).replace(b"auditor", b"admin\x00\x00"), stored[0]),
        )
        cur.execute(f"DELETE FROM {chain.TABLE}")
        rows = db.query(
            f"SELECT {column}, originator_id, originator_version, topic, state FROM {table}"
            f" ORDER BY {column}"
        )
        cur.executemany(
            f"INSERT INTO {chain.TABLE} (position, prev_link, link) VALUES (?, ?, ?)",
            chain.links_for(chain.GENESIS, [tuple(r) for r in rows]),
        )
    code, answer = audit_verify(capsys)
    assert code == 0
    # ... but not through the anchor held from before
    for anchor in (["--anchor", held], ["--anchor-file", str(held_file)]):
        code, answer = audit_verify(capsys, *anchor)
        assert code == 1
        assert answer["events"]["broken"] == {"position": printed["position"], "reason": "anchor"}


def test_concurrent_writers_make_one_chain_in_store_order(store, capsys):
    app, db = store
    errors: list[BaseException] = []

    def write(prefix: str) -> None:
        try:
            for i in range(6):
                add_users(app, f"{prefix}{i}")
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=write, args=(p,)) for p in ("a", "b", "c")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    code, answer = audit_verify(capsys)
    assert code == 0
    assert answer["events"]["events"] == len(positions(db))


def test_a_store_with_events_before_the_chain_is_linked_by_the_migration(store, capsys):
    app, db = store
    add_users(app, "ani", "budi")
    with db.transaction() as cur:
        cur.execute(f"DROP TABLE {chain.TABLE}")
        cur.execute("DELETE FROM _yoyo_migration WHERE migration_id = '0002_event_chain'")
    assert migrate(db) == ["0002_event_chain"]
    code, answer = audit_verify(capsys)
    assert code == 0
    assert answer["events"]["events"] == len(positions(db))


def without_the_read_logs_trigger(cur, db: Database, trigger: str) -> None:
    """The read log's append-only trigger (`no_update`, `no_delete`) out of the way, as
    whoever tampers with the database behind the system's back would take it."""
    if db.kind == "sqlite":
        cur.execute(f"DROP TRIGGER casework_access_log_{trigger}")
    else:
        cur.execute("ALTER TABLE casework_access_log DISABLE TRIGGER USER")


def test_the_read_logs_chain_is_verified_by_the_same_command(store, capsys):
    _, db = store
    reader = Actor(id="auditor1", role="auditor")
    for household in ("h1", "h2", "h3"):
        access_log.append(db, reader, "api", "GET /x", [access_log.Read(household_id=household)])
    code, answer = audit_verify(capsys)
    assert code == 0 and answer["read_log"] == {"ok": True, "broken": None}
    second = db.query("SELECT id FROM casework_access_log ORDER BY id")[1][0]
    with db.transaction() as cur:
        without_the_read_logs_trigger(cur, db, "no_update")
        cur.execute("UPDATE casework_access_log SET household_id = 'h9' WHERE id = ?", (second,))
    code, answer = audit_verify(capsys)
    assert code == 1
    assert answer["read_log"] == {"ok": False, "broken": {"id": second, "reason": "edited"}}
    assert answer["events"]["ok"] is True


def test_rows_removed_from_the_read_logs_end_are_caught_by_an_anchor_held(store, capsys, tmp_path):
    """The newest reads deleted behind the triggers' back leave a shorter chain that still
    holds; the anchor an auditor kept from before (`casework audit anchor`, signed) holds the
    read log's head, and `verify --anchor-file` names that row gone. An anchor from before
    more reads were logged still holds."""
    app, db = store
    add_users(app, "ani")  # an event to anchor
    reader = Actor(id="auditor1", role="auditor")
    for household in ("h1", "h2", "h3"):
        access_log.append(db, reader, "api", "GET /x", [access_log.Read(household_id=household)])
    assert cli.main(["audit", "anchor"]) == 0
    held = tmp_path / "anchor.json"
    held.write_text(capsys.readouterr().out)
    last = db.query("SELECT id FROM casework_access_log ORDER BY id")[-1][0]
    assert json.loads(held.read_text())["read_log_id"] == last
    access_log.append(db, reader, "api", "GET /x", [access_log.Read(household_id="h4")])
    code, answer = audit_verify(capsys, "--anchor-file", str(held))
    assert code == 0 and answer["read_log"] == {"ok": True, "broken": None}

    with db.transaction() as cur:  # the last two reads removed, the anchored one among them
        without_the_read_logs_trigger(cur, db, "no_delete")
        cur.execute("DELETE FROM casework_access_log WHERE id >= ?", (last,))
    code, answer = audit_verify(capsys)
    assert code == 0  # the chain alone cannot tell
    code = cli.main(["audit", "verify", "--anchor-file", str(held)])
    captured = capsys.readouterr()
    assert code == 1
    assert json.loads(captured.out)["read_log"] == {
        "ok": False,
        "broken": {"id": last, "reason": "anchor"},
    }
    assert f"no longer holds row {last} as an anchor held it" in captured.err
    # the anchor's read log head is signed: changed, the file is refused
    forged = {**json.loads(held.read_text()), "read_log_id": last - 1}
    held.write_text(json.dumps(forged))
    assert cli.main(["audit", "verify", "--anchor-file", str(held)]) == 2


def test_a_read_log_row_given_a_value_no_append_writes_is_named_not_a_crash(store, capsys):
    _, db = store
    reader = Actor(id="auditor1", role="auditor")
    for household in ("h1", "h2"):
        access_log.append(db, reader, "api", "GET /x", [access_log.Read(household_id=household)])
    second = db.query("SELECT id FROM casework_access_log ORDER BY id")[1][0]
    with db.transaction() as cur:
        if db.kind == "sqlite":  # a blob where text belongs: SQLite's columns take any type
            cur.execute("DROP TRIGGER casework_access_log_no_update")
            cur.execute(
                "UPDATE casework_access_log SET subject_hashes = x'ff00' WHERE id = ?", (second,)
            )
        else:
            cur.execute("ALTER TABLE casework_access_log DISABLE TRIGGER USER")
            cur.execute("UPDATE casework_access_log SET reason = 'x' WHERE id = ?", (second,))
    code, answer = audit_verify(capsys)
    assert code == 1
    assert answer["read_log"] == {"ok": False, "broken": {"id": second, "reason": "edited"}}
