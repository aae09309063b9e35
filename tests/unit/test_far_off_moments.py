"""A moment at the ends of the calendar: one whose UTC or WIB time is no date (year 10000,
year 0) is malformed (BadMoment naming the field), never an OverflowError; the latest moment
that has a date in both still parses."""

from __future__ import annotations

import datetime as dt

import pytest

from app.time_travel import BadMoment, parse_moment

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


def test_the_calendar_ends_at_the_system_s_bounds():
    """Every moment lies from EARLIEST_MOMENT (1900) to the end of LATEST_DAY (2100-12-31) in
    WIB, as every other date the system takes; the last moments with a date in UTC and WIB
    (9999-12-31T23:59:59+07:00, 9999-12-31) are beyond it."""
    latest = dt.datetime(2100, 12, 31, 16, 59, 59, 999999, tzinfo=dt.UTC)
    assert parse_moment("2100-12-31") == latest
    assert parse_moment("1900-01-01T00:00:00Z") == dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
    for beyond in (
        "9999-12-31T23:59:59+07:00",
        "9999-12-31T16:59:59Z",
        "9999-12-31",
        "2101-01-01",
        "2100-12-31T17:00:00Z",
        "1900-01-01T06:59:59+07:00",  # 1899 in UTC
    ):
        with pytest.raises(BadMoment) as raised:
            parse_moment(beyond)
        assert raised.value.code == "as_of.invalid", beyond


@pytest.mark.parametrize(
    "raw",
    [
        "2026-W50-1",  # an ISO week date: Python's fromisoformat reads it as 7 December
        "2026-342",  # an ordinal date
        "2026-12-08T09:00+0700",  # an offset without its colon
        "20261208",
        "2026-12-08T09",
        "2026-12-08T09:00:00+07",
    ],
)
def test_only_the_contract_s_forms_are_moments(raw):
    """A date or an RFC 3339 time; the other ISO 8601 forms Python reads are refused, so an
    auditor's typo is never read as another day."""
    for naive_is_wib in (False, True):
        with pytest.raises(BadMoment):
            parse_moment(raw, "since", naive_is_wib=naive_is_wib)


def test_the_contract_s_forms_still_parse():
    nine_wib = dt.datetime(2026, 12, 8, 2, tzinfo=dt.UTC)
    for raw in ("2026-12-08T09:00:00+07:00", "2026-12-08T02:00:00Z", "2026-12-08t02:00:00.000z"):
        assert parse_moment(raw) == nine_wib, raw
    assert parse_moment("2026-12-08T09:00", naive_is_wib=True) == nine_wib  # datetime-local
    assert parse_moment("2026-12-08", date_starts=True) == dt.datetime(
        2026, 12, 7, 17, tzinfo=dt.UTC
    )
