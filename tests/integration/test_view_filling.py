"""A view being filled from the past (an added view, or a new version of one: its tables are
new and empty while the projection runner rebuilds them from every event beside the running
web) is said on every page that reads it, in every API answer that reads it
(`X-Casework-View-Filling`), and on /status and /healthz (`rebuilding`, with its progress);
once the fill is swapped in, nothing says so. On SQLite and PostgreSQL."""

from __future__ import annotations

import re
import time

import pytest

from adapters import wire
from adapters.bootstrap import bootstrap
from consumers import runner as runner_module
from consumers.runner import Runner
from projections.base import (
    FILLING,
    apply_batch,
    drop_generation,
    end_filling,
    ensure_schema,
    filled_so_far,
    fillings,
    reveal,
    start_filling,
)
from projections.catalog import PROJECTIONS
from tests.integration.conftest import bearer
from tests.integration.test_reviews import (  # noqa: F401 (fixtures)
    policies,
    reviewed,
)
from tests.integration.test_reviews import project as project_all

pytestmark = pytest.mark.integration

ELIGIBILITY = PROJECTIONS["eligibility"]
NOTICE = "Data kelayakan sedang dihitung ulang dari semua kejadian"
INCOMPLETE = "Sampai selesai, jawaban di halaman ini belum lengkap."


@pytest.fixture
def emptied(web, reviewed):  # noqa: F811 (the fixture imported above)
    """The reviewed family, every view holding its events but the eligibility view, whose
    tables are there but empty: as the runner finds a view of a new version."""
    client, hid, _ = reviewed
    views = web.extensions["casework"].views
    with views.transaction() as cur:
        drop_generation(cur, ELIGIBILITY, 1)
    ensure_schema(views, [ELIGIBILITY])
    return client, hid


def fill_eligibility(web) -> None:
    """What the rebuild's swap leaves: the view's answers, no longer said to be filled."""
    svc = web.extensions["casework"]
    notifications = svc.casework.recorder.select_notifications(start=1, limit=10_000)
    envelopes = [
        reveal(svc.casework.codec, wire.from_notification(svc.casework, n, "1571", sealed=True))
        for n in notifications
    ]
    apply_batch(svc.views, ELIGIBILITY, envelopes)
    with svc.views.transaction() as cur:
        end_filling(cur, ELIGIBILITY.name)


def test_a_view_being_filled_is_said_on_its_pages_answers_and_status(web, emptied, tokens):
    client, hid = emptied
    views = web.extensions["casework"].views
    # as the rebuild writes it: 100 of 400 events in 60 s, so 300 more in about 3 minutes
    now = time.time()
    start_filling(views, ["eligibility"], 400, now=now - 60)
    filled_so_far(views, ["eligibility"], 100, now=now)

    page = client.get(f"/rumah-tangga/{hid}").text
    assert f"{NOTICE} (25%, sekitar 3 menit lagi)." in page
    assert INCOMPLETE in page
    english = client.get(f"/rumah-tangga/{hid}?lang=en").text
    assert "The data on eligibility are being computed again from every event" in english
    assert "(25%, about 3 minutes left)" in english
    client.get("/?lang=id")
    # a page that reads no view being filled says nothing of it
    assert NOTICE not in client.get("/persetujuan").text

    api = client.get("/api/v1/programs/KJB/eligible", headers=bearer(tokens["admin"]))
    assert api.status_code == 200 and api.json["results"] == []  # nobody, for now
    assert api.headers["X-Casework-View-Filling"] == "eligibility;percent=25;seconds-left=180"
    # the family is not in the view yet: not an answer (it may be among the events not
    # applied yet), a 503 saying why, on the field of the 404, to try again after the time left
    api = client.get(f"/api/v1/households/{hid}/eligibility", headers=bearer(tokens["admin"]))
    assert api.status_code == 503
    assert api.json["codes"] == {"household_id": ["view.filling"]}
    assert "dihitung ulang dari semua kejadian" in api.json["errors"]["household_id"][0]
    assert api.headers["Retry-After"] == "180"
    assert api.headers["X-Casework-View-Filling"] == "eligibility;percent=25;seconds-left=180"
    # a household that does not exist is still a 404 where no view is read (a malformed id)
    malformed = client.get("/api/v1/households/nope/eligibility", headers=bearer(tokens["admin"]))
    assert malformed.status_code == 404
    register_only = client.get(f"/api/v1/households/{hid}", headers=bearer(tokens["admin"]))
    assert "X-Casework-View-Filling" not in register_only.headers

    health = client.get("/healthz").json["components"]
    assert health["projection:eligibility"]["state"] == "rebuilding"
    assert health["projection:eligibility"]["rebuild"] == {
        "done": 100,
        "total": 400,
        "percent": 25,
        "seconds_left": 180,
    }
    assert health["projection:register"].get("state") != "rebuilding"
    status = client.get("/status").text
    assert "Sedang dibangun ulang dari semua kejadian: 25%, sekitar 3 menit lagi" in status

    fill_eligibility(web)
    page = client.get(f"/rumah-tangga/{hid}").text
    assert NOTICE not in page and INCOMPLETE not in page
    assert re.search(r'<th scope="row">KJB</th>', page)  # the answers are there again
    api = client.get(f"/api/v1/households/{hid}/eligibility", headers=bearer(tokens["admin"]))
    assert "X-Casework-View-Filling" not in api.headers
    health = client.get("/healthz").json["components"]["projection:eligibility"]
    assert "rebuild" not in health and health.get("state") != "rebuilding"
    assert "Sedang dibangun ulang" not in client.get("/status").text


def test_the_runner_says_it_fills_an_empty_view_while_it_does_and_not_after(
    web, emptied, tokens, monkeypatch
):
    client, hid = emptied
    svc = web.extensions["casework"]
    seen: list[tuple[str, str | None]] = []
    written = runner_module.filled_so_far

    def watched(db, names, done, now) -> None:
        """After each chunk the rebuild reports: what a reader sees meanwhile."""
        written(db, names, done, now)
        page = client.get(f"/rumah-tangga/{hid}").text
        api = client.get(f"/api/v1/households/{hid}/eligibility", headers=bearer(tokens["admin"]))
        seen.append((page, api.headers.get("X-Casework-View-Filling")))

    monkeypatch.setattr(runner_module, "filled_so_far", watched)
    monkeypatch.setattr(runner_module, "PROGRESS_SECONDS", 0.0)
    monkeypatch.setattr(runner_module, "REBUILD_CHUNK", 5)
    runner = Runner(bootstrap(svc.settings))
    try:
        runner.fill_empty_views()
    finally:
        runner.close()

    assert seen, "the rebuild reported no progress"
    for page, header in seen:
        assert re.search(rf"{NOTICE} \(\d+%", page), "the notice with a percentage"
        assert header is not None and header.startswith("eligibility;percent=")
    assert fillings(svc.views) == {}
    page = client.get(f"/rumah-tangga/{hid}").text
    assert NOTICE not in page
    assert re.search(r'<th scope="row">KJB</th>', page)
    assert svc.views.table_exists(FILLING)


def test_a_view_whose_answers_are_kept_while_it_is_rebuilt_shows_no_notice(web, reviewed, tokens):  # noqa: F811
    """`casework rebuild` of a view that holds its answers: readers keep them until the swap;
    only /status and /healthz say it is rebuilt."""
    client, hid, _ = reviewed
    views = web.extensions["casework"].views
    project_all(web)
    start_filling(views, ["eligibility"], 10, now=time.time())  # fewer than the view holds
    assert NOTICE not in client.get(f"/rumah-tangga/{hid}").text
    assert client.get("/healthz").json["components"]["projection:eligibility"]["state"] == (
        "rebuilding"
    )


def test_a_rebuild_killed_is_no_longer_said_to_fill_its_view(web, emptied, tokens):
    """A rebuild killed leaves its row; once not updated for 10 minutes, neither the pages,
    the API nor /healthz and /status say the view is being filled (a running rebuild updates
    its row every few seconds)."""
    client, hid = emptied
    views = web.extensions["casework"].views
    now = time.time()
    start_filling(views, ["eligibility"], 400, now=now - 3600)
    filled_so_far(views, ["eligibility"], 100, now=now - 601)
    page = client.get(f"/rumah-tangga/{hid}").text
    assert NOTICE not in page
    api = client.get(f"/api/v1/households/{hid}/eligibility", headers=bearer(tokens["admin"]))
    assert "X-Casework-View-Filling" not in api.headers
    health = client.get("/healthz").json["components"]["projection:eligibility"]
    assert "rebuild" not in health and health.get("state") != "rebuilding"
    assert "Sedang dibangun ulang" not in client.get("/status").text
    # the same row updated a minute ago: still being filled
    filled_so_far(views, ["eligibility"], 100, now=now - 60)
    assert NOTICE in client.get(f"/rumah-tangga/{hid}").text
    health = client.get("/healthz").json["components"]["projection:eligibility"]
    assert health["state"] == "rebuilding"
