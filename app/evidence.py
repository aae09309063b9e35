"""The events an eligibility answer rests on, as the pages name them.

Every reason of an answer carries the store positions of the events behind it (its
`positions`: the program's rules in force and the household's facts the rule read, as the
API gives them). The household page and the timeline name each one: an event of this
household by its number in the page's timeline (a link to it there) and what it was; the
rules of a program by the program and the event; an event of another KK (the same person's
benefit there, the pair rules) by what it was and that it is another KK's, without a link,
since the reader may not read that household. What each event held is on the timeline, or
in the audit trail for whoever may read it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from eventsourcing.utils import get_topic
from flask_babel import gettext

from adapters.stream_events import events_at
from app.context import services
from app.history import EVENT_LABELS
from domain.household import Household
from domain.program import Program

_HOUSEHOLD_TOPIC = f"{get_topic(Household)}."


def reasons_events(
    reasons_lists: Iterable[Iterable[Mapping[str, Any]]],
    household_id: str,
    programs: Iterable[str],
    anchor: str,
) -> dict[int, dict[str, str | None]]:
    """position -> {"text", "href"} for every position the reasons name (one read of the
    store for all of them). `anchor`: the prefix of the ids of the page's timeline entries,
    `{anchor}{version}`; `programs`: the codes whose rules an answer may name."""
    positions = {
        int(p)
        for reasons in reasons_lists
        for reason in reasons
        for p in reason.get("positions") or ()
        if isinstance(p, int)
    }
    if not positions:
        return {}
    found = events_at(services().store, positions)
    own = uuid.UUID(str(household_id))
    program_of = {Program.create_id(code): code for code in programs}
    named: dict[int, dict[str, str | None]] = {}
    for position, event in found.items():
        kind = event.topic.rsplit(".", 1)[-1]
        label = EVENT_LABELS.get(kind)
        what = gettext(label) if label else kind
        href = None
        if event.originator_id == own:
            version = event.originator_version
            what, href = f"{version}. {what}", f"#{anchor}{version}"
        elif event.originator_id in program_of:
            what = f"{program_of[event.originator_id]}: {what}"
        elif event.topic.startswith(_HOUSEHOLD_TOPIC):
            what = gettext("%(event)s, on another KK", event=what)
        named[position] = {"text": what, "href": href}
    return named
