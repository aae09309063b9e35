"""A command carrying the day it happened on counts from the start of that day (WIB) when no
occurred_at is given (domain.use_case.dated_meta, applied by Casework.execute)."""

from __future__ import annotations

import datetime as dt

from domain.application import SYSTEM, dated_meta, make_meta
from domain.commands import COMMANDS

WIB = dt.timezone(dt.timedelta(hours=7))


def test_the_day_counts_from_its_start_in_wib_unless_a_moment_is_given():
    meta = make_meta(SYSTEM, "api")
    dated = dated_meta(meta, "date_of_death", "2025-06-01")
    assert dated["occurred_at"] == "2025-05-31T17:00:00.000000Z"
    assert dated["occurred_at_from"] == "date_of_death"
    assert meta["occurred_at"] != dated["occurred_at"]  # the caller's meta is left alone
    given = make_meta(SYSTEM, "api", occurred_at="2025-06-03T02:00:00.000000Z")
    assert dated_meta(given, "date_of_death", "2025-06-01") == given
    # a meta from before (no occurred_at_given): as it was
    old = {k: v for k, v in meta.items() if k != "occurred_at_given"}
    assert dated_meta(old, "date_of_death", "2025-06-01") == old


def test_a_day_after_the_recording_leaves_the_recording_moment():
    meta = make_meta(SYSTEM, "api")
    tomorrow = (dt.datetime.now(WIB).date() + dt.timedelta(days=1)).isoformat()
    assert dated_meta(meta, "effective_date", tomorrow) == meta
    assert dated_meta(meta, "effective_date", None) == meta
    assert dated_meta(meta, "effective_date", "1899-12-31") == meta


def test_every_command_naming_the_day_it_happened_is_dated_by_that_field():
    dated = {name: c.happened_on for name, c in COMMANDS.items() if c.happened_on}
    assert dated == {
        "RemoveMember": "effective_date",
        "RecordDeath": "date_of_death",
        "RelocateHousehold": "moved_on",
        "SplitFamily": "effective_date",
        "IssueKtp": "issued_on",
        "RecordService": "delivered_on",
        "SuspendProvisionalBenefit": "effective_date",
        "ResumeProvisionalBenefit": "effective_date",
        "TerminateProvisionalBenefit": "effective_date",
        "RegisterNib": "registered_on",
        "RevokeNib": "revoked_on",
        "RecordVerification": "visited_on",
        "SuspendBenefit": "effective_date",
        "ResumeBenefit": "effective_date",
        "TerminateBenefit": "effective_date",
        "EnrollEmpowerment": "enrolled_on",
        "CompleteEmpowerment": "completed_on",
        "FileObjection": "filed_on",
        "ResolveObjection": "resolved_on",
    }
    for name, field in dated.items():
        assert field in COMMANDS[name].fields, name
