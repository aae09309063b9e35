"""Moments are shown in WIB as the system reads them (UTC+7), whatever the year: the end of a
day typed on the time-travel page is shown as that day, not the next."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask

from app.messages import init_babel, moment_text

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
