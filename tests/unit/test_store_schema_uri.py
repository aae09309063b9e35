"""The store's URL as yoyo takes it: psycopg 3, and credentials that survive the round trip."""

from __future__ import annotations

from yoyo.connections import parse_uri

from adapters.settings import DatabaseUrl
from adapters.store_schema import yoyo_uri


def test_a_postgresql_store_goes_through_psycopg_3_with_its_credentials_intact():
    url = DatabaseUrl.parse("postgresql://case%40work:p%3As%2Fw%40rd@db.local:6543/store", "X")
    parsed = parse_uri(yoyo_uri(url))
    assert parsed.scheme == "postgresql+psycopg"
    assert (parsed.username, parsed.password) == ("case@work", "p:s/w@rd")
    assert (parsed.hostname, parsed.port, parsed.database) == ("db.local", 6543, "store")


def test_a_sqlite_store_keeps_its_path():
    for path in ("/var/lib/casework/casework.db", "var/casework.db"):
        url = DatabaseUrl.parse(f"sqlite:///{path}", "X")
        assert parse_uri(yoyo_uri(url)).database == path
