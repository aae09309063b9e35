"""`python -m bench --city`: its options, the load test's verdict (sign-ins apart) and the
server times read from gunicorn's access log."""

from __future__ import annotations

import pytest

from app.server import ACCESS_LOG_FORMAT
from bench.__main__ import parse
from bench.city import ACCESS, Load


def test_city_options_go_with_city_only(capsys):
    args = parse(["--city", "--households", "20000", "--think", "0", "--skip", "load"])
    assert (args.city, args.households, args.think, args.skip) == (True, 20_000, 0.0, ["load"])
    assert parse([]).city is False
    with pytest.raises(SystemExit):
        parse(["--households", "20000"])
    assert "go with --city" in capsys.readouterr().err


def load(samples, server=()):
    return Load("city: load", 50, 60, samples, list(server), [], {}, [0, 0, 0], [0, 0, 0], "t")


def test_the_load_verdict_leaves_the_slow_sign_ins_out_but_counts_every_error():
    reads = [("/rumah-tangga/<id>", 20.0, True)] * 95 + [("/", 200.0, True)] * 5
    sign_ins = [("/login (POST)", 900.0, True)] * 50
    passing = load(reads + sign_ins)
    assert passing.p95 == 20.0 and passing.ok
    assert not load([*reads, ("/login (POST)", 900.0, False)]).ok  # a failed sign-in fails it
    assert not load(reads + [("/", 300.0, True)] * 10).ok  # p95 above 250 ms
    assert not load(reads, server=[("/rekonsiliasi", 500, 12.0)]).ok  # the server's own 5xx


def test_server_times_are_read_from_the_access_log_format_casework_web_writes():
    line = ACCESS_LOG_FORMAT % {
        "h": "127.0.0.1",
        "m": "GET",
        "U": "/rumah-tangga/<household_id>",
        "H": "HTTP/1.1",
        "s": "200",
        "B": "5120",
        "M": "37",
        "a": "python-requests/2.33",
    }
    found = ACCESS.search(line)
    assert found and found.groups() == ("/rumah-tangga/<household_id>", "200", "37")


def test_the_city_cache_key_reads_the_seed_code_that_exists():
    # a file of SEED_SOURCES moved or removed made every `--city` run fail before it seeded
    from bench.city import SEED_SOURCES
    from bench.eligibility_city import sources_digest

    assert len(sources_digest(SEED_SOURCES)) == 10
