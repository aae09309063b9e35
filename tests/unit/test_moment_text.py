"""Moments are shown in WIB as the system reads them (UTC+7), whatever the year: the end of a
day typed on the time-travel page is shown as that day, not the next."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask

from app.messages import init_babel, moment_text, moments_text

WIB = dt.timezone(dt.timedelta(hours=7))


@pytest.mark.parametrize(
    ("moment", "shown"),
    [
        # the end of 1 January 1950 in WIB (the tz database's Jakarta was +08:00 then)
        (dt.datetime(1950, 1, 1, 23, 59, 59, tzinfo=WIB), "1 Januari 1950, 23.59 WIB"),
        (dt.datetime(1943, 6, 1, 23, 30, tzinfo=WIB), "1 Juni 1943, 23.30 WIB"),
        (dt.datetime(1960, 3, 1, 0, 0, tzinfo=WIB), "1 Maret 1960, 00.00 WIB"),
        (dt.datetime(2026, 12, 7, 10, 37, tzinfo=WIB), "7 Desember 2026, 10.37 WIB"),
    ],
)
def test_a_moment_is_shown_in_wib_as_typed(moment, shown):
    app = Flask(__name__)
    init_babel(app)
    with app.test_request_context(headers={"Accept-Language": "id"}):
        assert moment_text(moment.astimezone(dt.UTC).isoformat()) == shown


def test_reads_are_grouped_by_day_in_wib_and_shown_from_first_to_last():
    """The subject access report's rows of reads (`read_rows`): one account's reads for one
    reason at 23.59 and 00.01 WIB are two days, two rows; two reads of one day one row of 2,
    shown from the first moment to the last."""
    from app.subject_access.render import read_rows

    def read(at: str, actor: str = "cw1") -> dict:
        return {
            "at": at,
            "actor_id": actor,
            "actor_opd": None,
            "actor_role": "caseworker",
            "channel": "ui",
            "reason": None,
            "matched_by": "household",
        }

    reads = [
        read("2026-12-07T02:00:00Z"),  # 09.00 WIB
        read("2026-12-07T16:59:00Z"),  # 23.59 WIB, the same day
        read("2026-12-07T17:01:00Z"),  # 00.01 WIB, the next day
        read("2026-12-07T17:02:00Z", actor="cw2"),
    ]
    rows = read_rows(reads)
    assert [(r["actor_id"], r["count"]) for r in rows] == [("cw1", 2), ("cw1", 1), ("cw2", 1)]
    app = Flask(__name__)
    init_babel(app)
    with app.test_request_context(headers={"Accept-Language": "id"}):
        assert moments_text(rows[0]["first"], rows[0]["last"]) == "7 Desember 2026, 09.00–23.59 WIB"
        assert moments_text(rows[1]["first"], rows[1]["last"]) == "8 Desember 2026, 00.01 WIB"
        # two reads in one minute: that minute once, or both moments to the second
        first, last = "2026-12-07T02:00:05Z", "2026-12-07T02:00:50Z"
        assert moments_text(first, last) == "7 Desember 2026, 09.00 WIB"
        assert moments_text(first, last, True) == "7 Desember 2026, 09.00.05–09.00.50 WIB"


def test_a_days_reads_out_of_order_keep_their_earliest_and_latest_moment():
    """Reads come in the read log's id order, which two web workers may write a moment apart:
    the row's first and last are the earliest and latest moments, whatever the order (and a
    moment without microseconds is compared as a moment, not as text)."""
    from app.subject_access.render import read_rows

    base = {
        "actor_id": "cw1",
        "actor_opd": None,
        "actor_role": "caseworker",
        "channel": "ui",
        "reason": None,
        "matched_by": "household",
    }
    at = ["2026-12-07T02:00:05Z", "2026-12-07T02:00:01.500000Z", "2026-12-07T02:00:01Z"]
    [row] = read_rows({**base, "at": moment} for moment in at)
    assert (row["count"], row["first"], row["last"]) == (3, at[2], at[0])
