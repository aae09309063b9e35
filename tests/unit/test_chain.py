"""The event chain's links (adapters.chain), the anchors the CLI takes and the audit log's
query, without I/O."""

from __future__ import annotations

import argparse
import json
import uuid

import pytest

from adapters import chain
from adapters.signing import Signer, Verifier
from app import audit_log
from app.audit_cli import parse_anchor
from app.schemas import Invalid

STREAM = uuid.UUID("6f1c1c6e-9b7e-4a4e-8d61-0d6f4b0f1a11")
EVENT = (7, STREAM, 1, "domain.household:Household.Registered", b'{"kk":"tok"}')


def test_a_link_covers_the_previous_link_and_every_part_of_the_event():
    base = chain.link(chain.GENESIS, *EVENT)
    changed = [
        chain.link("1" * 64, *EVENT),
        chain.link(chain.GENESIS, 8, *EVENT[1:]),
        chain.link(chain.GENESIS, EVENT[0], uuid.uuid4(), *EVENT[2:]),
        chain.link(chain.GENESIS, *EVENT[:2], 2, *EVENT[3:]),
        chain.link(chain.GENESIS, *EVENT[:3], "domain.household:Household.X", EVENT[4]),
        chain.link(chain.GENESIS, *EVENT[:4], b'{"kk":"toc"}'),
    ]
    assert len({base, *changed}) == 7


def test_a_stream_id_hashes_alike_as_uuid_and_as_sqlite_stores_it():
    assert chain.link(chain.GENESIS, *EVENT) == chain.link(
        chain.GENESIS, EVENT[0], STREAM.hex, *EVENT[2:]
    )


def test_links_follow_each_other_from_the_previous_head():
    rows = chain.links_for("a" * 64, [EVENT, (9, STREAM, 2, "t", b"x")])
    assert [r[0] for r in rows] == [7, 9]
    assert rows[0][1] == "a" * 64 and rows[1][1] == rows[0][2]
    assert rows[1][2] == chain.link(rows[0][2], 9, STREAM, 2, "t", b"x")


def test_an_anchor_is_position_and_link():
    link = "ab" * 32
    assert parse_anchor(f"42:{link}") == chain.Anchor(42, link, 0, "")
    for bad in ("42", f"x:{link}", "42:abc", f"-1:{link}"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_anchor(bad)


def test_a_signed_anchor_is_held_only_as_it_was_signed():
    signer = Signer(bytes(range(32)))
    keys = Verifier.from_jwks(json.loads(json.dumps(signer.jwks())))  # as /api/v1/keys serves
    head = chain.Anchor(42, "ab" * 32, 42, "2025-01-01T00:00:00Z")
    document = json.loads(json.dumps(chain.signed_anchor(head, "1571", signer)))
    assert document["key_id"] == signer.key_id and document["anchor"] == f"42:{'ab' * 32}"
    assert chain.held_anchor(document, keys, "1571") == head

    forged = json.loads(json.dumps(chain.signed_anchor(head, "1571", Signer(bytes(32)))))
    refused = {
        "a link changed": ({**document, "link": "cd" * 32}, "signature: bad signature"),
        "a position changed": ({**document, "position": 41}, "signature: bad signature"),
        "the count changed": ({**document, "events": 7}, "signature: bad signature"),
        "unsigned": ({k: v for k, v in document.items() if k != "signature"}, "unsigned"),
        "another key": (forged, "signature: unknown signing key"),
        "another tenant": ({**document, "tenant": "1572"}, "tenant:"),
        "no position": ({**document, "position": "42"}, "position:"),
        "a bad link": ({**document, "link": "AB" * 32}, "link:"),
        "not an object": ([document], "not an anchor"),
    }
    for case, (bad, reason) in refused.items():
        with pytest.raises(chain.BadAnchor) as error:
            chain.held_anchor(bad, keys, "1571")
        assert reason in str(error.value), case


def test_the_audit_query_names_the_field_at_fault():
    after, limit, filters = audit_log.parse(
        {"after": "10", "limit": "5", "kelurahan": "Tahtul Yaman", "since": "2025-01-01T00:00Z"}
    )
    assert (after, limit, filters.kelurahan) == (10, 5, "tahtul yaman")
    for query, field in (
        ({"after": "x"}, "after"),
        ({"limit": "101"}, "limit"),
        ({"since": "2025-13-01"}, "since"),  # a date is taken (as the page takes it), not this
        ({"until": "soon"}, "until"),
    ):
        with pytest.raises(Invalid) as raised:
            audit_log.parse(query)
        assert list(raised.value.codes) == [field]
