"""A moment at the ends of the calendar: one whose UTC or WIB time is no date (year 10000,
year 0) is malformed (BadMoment naming the field), never an OverflowError; the latest moment
that has a date in both still parses."""

from __future__ import annotations

import datetime as dt

import pytest

from app.time_travel import WIB, BadMoment, parse_moment

# Each one's UTC time, or its WIB time, falls outside years 1 to 9999.
NO_DATE = (
    "9999-12-31T23:59:59-12:00",  # UTC: 10000-01-01
    "9999-12-31T23:59:59Z",  # WIB: 10000-01-01
    "9999-12-31T20:00:00+03:00",  # WIB: 10000-01-01
    "0001-01-01T00:00:00+14:00",  # UTC: year 0
)


@pytest.mark.parametrize("raw", NO_DATE)
@pytest.mark.parametrize("field", ["as_of", "from", "to", "dari"])
def test_a_moment_with_no_date_in_utc_or_wib_is_malformed(raw, field):
    for naive_is_wib in (False, True):
        with pytest.raises(BadMoment) as raised:
            parse_moment(raw, field, naive_is_wib=naive_is_wib)
        assert (raised.value.field, raised.value.code) == (field, f"{field}.invalid")


def test_the_last_moments_with_a_date_in_both_still_parse():
    latest = dt.datetime(9999, 12, 31, 16, 59, 59, tzinfo=dt.UTC)
    assert parse_moment("9999-12-31T23:59:59+07:00") == latest
    assert parse_moment("9999-12-31T16:59:59Z") == latest
    assert parse_moment("9999-12-31T23:59", naive_is_wib=True).astimezone(WIB).year == 9999
    # a date is the end of that day in WIB: the last day still has one
    assert parse_moment("9999-12-31").astimezone(WIB).date() == dt.date(9999, 12, 31)
