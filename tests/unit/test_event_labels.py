"""Every event type of the domain is named in words on the pages that list events (the audit
log and its filter, the household's timeline), in Bahasa Indonesia and in English: none shows
as its class name (UserAdded, NikClaimed...)."""

from __future__ import annotations

from babel.messages.pofile import read_po

from app.audit_pages import ALL_EVENTS
from app.history import EVENT_LABELS
from app.messages import TRANSLATIONS


def test_every_event_has_a_label_in_both_languages():
    assert sorted(set(ALL_EVENTS) - EVENT_LABELS.keys()) == []
    with (TRANSLATIONS / "id" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle)
    untranslated = [
        label
        for label in EVENT_LABELS.values()
        if catalog.get(label) is None or not catalog.get(label).string
    ]
    assert untranslated == []
    assert len(set(EVENT_LABELS.values())) == len(EVENT_LABELS)  # no two events alike
