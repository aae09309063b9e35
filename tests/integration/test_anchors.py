"""The chain's head published by the relay to casework.audit-anchors.v1 (real embedded broker,
SQLite and PostgreSQL): an anchor read from the topic is signed (it verifies with the keys of
`GET /api/v1/keys`, and not once its link or position is changed), `casework audit verify
--anchor` and `--anchor-file` accept it, and it catches the store rewritten afterwards with
every link recomputed; a tampered anchor file is refused."""

from __future__ import annotations

import json
import threading

import pytest

from adapters import chain
from adapters.bootstrap import bootstrap
from adapters.relay_store import events_table
from adapters.signing import Verifier
from adapters.topics import ANCHORS
from app import cli
from consumers.relay import Relay
from domain.application import SYSTEM, make_meta
from tests.conftest import wait_until
from tests.support.kafka import partitions_of, read_all

pytestmark = pytest.mark.integration


def anchors_published(bootstrap_servers: str) -> list[dict]:
    return [
        json.loads(r.value)
        for r in read_all(bootstrap_servers, partitions_of(bootstrap_servers, ANCHORS))
    ]


def test_the_relay_publishes_the_chain_head_and_it_catches_a_rewrite(
    env, settings, casework, store_db, broker, web, monkeypatch, capsys, tmp_path
):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for name in ("ani", "budi"):
        casework.add_user(name, "auditor", None, [], make_meta(SYSTEM, "cli"))
    stop = threading.Event()
    relay = Relay(bootstrap(settings), anchor_seconds=0.3, envelope_worker=False)
    thread = threading.Thread(target=relay.run, args=(stop,), daemon=True)
    thread.start()
    try:
        first_head = chain.anchor(store_db)
        wait_until(
            lambda: any(
                a["position"] == first_head.position for a in anchors_published(broker.bootstrap)
            ),
            30,
            "the first anchor",
        )
        casework.add_user("citra", "auditor", None, [], make_meta(SYSTEM, "cli"))
        later_head = chain.anchor(store_db)
        assert later_head.position > first_head.position
        wait_until(
            lambda: any(
                a["position"] == later_head.position for a in anchors_published(broker.bootstrap)
            ),
            30,
            "the anchor after new events",
        )
    finally:
        stop.set()
        thread.join(30)
    published = anchors_published(broker.bootstrap)
    heads = [(a["position"], a["read_log_id"]) for a in published]
    assert heads == sorted(set(heads))  # sent only when a head moved
    held = next(a for a in published if a["position"] == first_head.position)
    assert held["link"] == first_head.link and held["tenant"] == settings.tenant

    # signed: whoever reads the topic checks each anchor with the keys the system serves
    keys = web.test_client().get("/api/v1/keys")
    assert keys.status_code == 200
    verifier = Verifier.from_jwks(keys.json)
    for message in published:
        assert chain.held_anchor(message, verifier, settings.tenant).link == message["link"]
    for forged in ({**held, "link": later_head.link}, {**held, "position": later_head.position}):
        with pytest.raises(chain.BadAnchor, match="signature: bad signature"):
            chain.held_anchor(forged, verifier, settings.tenant)

    held_file, forged_file = tmp_path / "anchor.json", tmp_path / "forged.json"
    held_file.write_text(json.dumps(held))
    forged_file.write_text(json.dumps({**held, "link": later_head.link}))
    assert cli.main(["audit", "verify", "--anchor", f"{held['position']}:{held['link']}"]) == 0
    assert cli.main(["audit", "verify", "--anchor-file", str(held_file)]) == 0
    capsys.readouterr()
    assert cli.main(["audit", "verify", "--anchor-file", str(forged_file)]) == 2
    refused = capsys.readouterr()
    assert refused.out == ""  # nothing verified against a forged anchor
    assert f"the anchor in {forged_file} is refused: signature: bad signature" in refused.err

    # the store rewritten behind the system's back, every link recomputed
    table, column = events_table(store_db)
    with store_db.transaction() as cur:
        cur.execute(
            f"UPDATE {table} SET topic = topic || 'x' WHERE {column} = ?", (first_head.position,)
        )
        cur.execute(f"DELETE FROM {chain.TABLE}")
        rows = store_db.query(
            f"SELECT {column}, originator_id, originator_version, topic, state FROM {table}"
            f" ORDER BY {column}"
        )
        cur.executemany(
            f"INSERT INTO {chain.TABLE} (position, prev_link, link) VALUES (?, ?, ?)",
            chain.links_for(chain.GENESIS, [tuple(r) for r in rows]),
        )
    assert cli.main(["audit", "verify"]) == 0  # the chain alone cannot tell
    capsys.readouterr()
    for anchor in (
        ["--anchor", f"{held['position']}:{held['link']}"],
        ["--anchor-file", str(held_file)],
    ):
        assert cli.main(["audit", "verify", *anchor]) == 1
        answer = json.loads(capsys.readouterr().out)
        assert answer["events"]["broken"] == {"position": held["position"], "reason": "anchor"}
