"""Each eligibility reason names the events behind it, on the household page and on the
auditor's timeline, on SQLite and PostgreSQL: an event of the household by its number in
the page's timeline (a link to it there) and what it was, the program's rules by the program,
and a benefit on another KK as another KK's event, without a link to that household."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest

from domain.city import WIB
from tests.integration.test_time_travel_elsewhere import moved  # noqa: F401 - a fixture

pytestmark = pytest.mark.integration


def reason(page: str, program: str, rule: str) -> str:
    """The text of one reason (its rule's label) in a program's row of the eligibility table."""
    table = re.search(r'<table class="striped eligibility">.*?</table>', page, re.S)
    assert table, page
    rows = dict(
        re.findall(r"<tr>\s*<th scope=\"row\">([^<]+)</th>(.*?)</tr>", table.group(0), re.S)
    )
    if not rows:  # the household page: the program in a cell of its own
        rows = dict(re.findall(r"<tr>\s*<td>([^<]+)</td>(.*?)</tr>", table.group(0), re.S))
    found = [
        text
        for text in re.findall(r'<li class="reason reason-\w+">(.*?)</li>', rows[program], re.S)
        if rule in text
    ]
    assert len(found) == 1, rows[program]
    return found[0]


def linked(text: str) -> dict[str, str]:
    """href -> link text of the events a reason names."""
    return {
        href: html.unescape(words)
        for href, words in re.findall(r'<a href="([^"]+)">([^<]+)</a>', text)
    }


def timeline_entry(page: str, anchor: str) -> str:
    found = re.search(rf'<li id="{anchor}"[^>]*>(.*?)</li>', page, re.S)
    assert found, anchor
    return found.group(0)


@pytest.mark.parametrize("path", ["", "/lini-masa"])
def test_a_reason_names_and_links_the_events_it_rests_on(web, moved, path):  # noqa: F811
    old, new, _benefit = moved
    client = web.test_client(user="auditor")
    # the minute after now: the page takes minutes
    moment = (dt.datetime.now(WIB) + dt.timedelta(minutes=1)).replace(tzinfo=None)
    moment = moment.isoformat(timespec="minutes")
    answer = client.get(f"/rumah-tangga/{new}{path}", query_string={"saat": moment})
    assert answer.status_code == 200
    page = answer.text
    anchor = "kejadian-saat-" if path else "kejadian-"

    # the decile: the program's rules and the new KK's assessment (its second event, after
    # the split that opened it), linked to that entry of the page's timeline
    desil = reason(page, "BPNT", "Desil tertinggi")
    assert "BPNT: Program ditetapkan" in desil
    links = linked(desil)
    assert list(links.values()) == ["2. Kesejahteraan dinilai"], desil
    (href,) = links
    assert href == f"#{anchor}2"
    assert "Kesejahteraan dinilai" in timeline_entry(page, f"{anchor}2")

    # BPNT refused for the PKH she holds on her mother's KK: that grant is named as another
    # KK's event, with no link to a household the reader may not read
    clash = reason(page, "BPNT", "Boleh digabung dengan")
    assert "Bantuan diberikan, di KK lain" in clash
    assert old not in clash
    assert not any(href.startswith("/") for href in linked(clash))
