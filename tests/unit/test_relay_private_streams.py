"""The relay's reader passes over accounts and tokens: their positions come through (so the
relay's position moves past them) with nothing to send (no I/O: the in-memory store)."""

import json

from consumers.relay import StoreReader
from domain.application import SYSTEM, make_meta
from domain.streams import is_private_topic
from tests.support.apps import memory_casework
from tests.support.events import register_families


def test_account_and_token_events_are_passed_over_not_encoded():
    app = memory_casework()
    meta = make_meta(SYSTEM, "cli")
    app.add_user("rina", "caseworker", None, ["Telanaipura"], meta)
    register_families(app, 1)
    app.issue_token("rina", meta)
    stored = app.recorder.select_notifications(1, 1000)
    messages = StoreReader(app, "1571").take(1000)
    assert [m[0] for m in messages] == [n.id for n in stored]  # every position, in order
    private = {n.id for n in stored if is_private_topic(n.topic)}
    assert len(private) == 3  # UserAdded, TokenIssued, TokenClaimed
    for position, key, value, headers in messages:
        if position in private:
            assert (key, value, headers) == (None, None, None)
        else:
            envelope = json.loads(value)
            assert envelope["position"] == position
            assert envelope["stream_type"] not in ("User", "TokenIndex")
    app.close()


def test_only_account_and_token_topics_are_private():
    assert not is_private_topic("domain.household:Household.HouseholdRegistered")
    assert not is_private_topic("domain.program:Program.ProgramDefined")
    assert is_private_topic("domain.accounts:User.UserAdded")
    assert is_private_topic("domain.accounts:TokenIndex.TokenClaimed")
