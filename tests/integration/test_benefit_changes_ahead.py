"""A suspension or termination recorded today to take effect later reads the same everywhere,
on SQLite and PostgreSQL: until its date the benefit still runs (the household page says
"Aktif · ditangguhkan mulai <tanggal>", the person's benefits answer `active` with the change
`scheduled`, the program lists and counts it, the cross-OPD view and its overlaps count it,
a family receiving it is served); from its date on every place shows it stopped. A change
recorded with a date already past (backdated) stops the benefit at once everywhere, and the
time-travel page shows it as known then, or as it was.

'Today' is moved on by the code's own clocks (`today`, `CLOCK`), as the other tests fake it."""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest
from babel.dates import format_date

from adapters.bootstrap import bootstrap
from app import api
from app import web as web_module
from consumers.runner import rebuild
from domain.application import SYSTEM, make_meta
from domain.catalog import seed_catalog
from domain.city import WIB
from domain.city import today as city_today
from projections import beneficiaries, eligibility, overview
from projections import reconciliation as reconciliation_view
from tests.integration.conftest import bearer
from tests.integration.test_approvals_web import csrf
from tests.integration.test_household_page import section
from tests.integration.test_overview import define_other_opds
from tests.integration.test_reviews import HEAD, HOUSEHOLD, policies, post, project, queue

pytestmark = pytest.mark.integration

META = make_meta(SYSTEM, "api")
TODAY = city_today()
TOMORROW = TODAY + dt.timedelta(days=1)
NEXT_WEEK = TODAY + dt.timedelta(days=7)
AFTER = NEXT_WEEK + dt.timedelta(days=1)  # both changes in force
# a period running today, tomorrow and next week, whatever day the suite runs on
PERIOD = {"period_start": f"{TODAY.year}-01-01", "period_end": f"{TODAY.year + 1}-12-31"}


def words(day: dt.date) -> str:
    return format_date(day, "long", locale="id")


def move_today(monkeypatch, day: dt.date) -> None:
    """Every reader's clock on `day` (the web pages, the API, the views' readers)."""
    for module, name in (
        (web_module, "today"),
        (api, "today"),
        (beneficiaries, "today"),
        (overview, "city_today"),
        (eligibility, "CLOCK"),
        (reconciliation_view, "today"),
    ):
        monkeypatch.setattr(module, name, lambda: day)


def _change(casework, command: str, hid: str, benefit_id: str, day: dt.date) -> None:
    body = {"household_id": hid, "benefit_id": benefit_id, "effective_date": day.isoformat()}
    casework.execute(
        command, {**body, "reason_code": "other"}, make_meta(SYSTEM, "api", reason="uji")
    )


def receiving_zkt(web) -> tuple[str, str]:
    """A household whose head receives ZKT (BAZNAS) over PERIOD: its id and the benefit's."""
    casework = web.extensions["casework"].casework
    define_other_opds(casework)
    hid = str(casework.register_household(HOUSEHOLD, META).stream_id)
    grant = {"household_id": hid, "nik": HEAD["nik"], "program": "ZKT", **PERIOD}
    casework.execute("GrantBenefit", {**grant, "amount": 600_000}, META)
    (benefit_id,) = casework.get_household(hid).benefits
    return hid, benefit_id


def listed(client, token: str, code: str) -> list[tuple[str, str]]:
    """The program's beneficiaries as its API lists them: (benefit id, status)."""
    got = client.get(f"/api/v1/programs/{code}/beneficiaries", headers=bearer(token))
    assert got.status_code == 200
    return [(r["benefit_id"], r["status"]) for r in got.json["results"]]


def excluded(client, token: str, code: str) -> list[str]:
    """The households of the program's exclusion errors (eligible, not served)."""
    got = client.get(f"/api/v1/programs/{code}/errors", headers=bearer(token))
    assert got.status_code == 200
    return [f["household_id"] for f in got.json["exclusion"]]


@pytest.fixture
def ahead(web):
    """The head receives ZKT (BAZNAS) and UMKM (DISKOPUKM); recorded today: ZKT suspended
    from tomorrow, UMKM terminated from next week."""
    casework = web.extensions["casework"].casework
    define_other_opds(casework)
    hid = str(casework.register_household(HOUSEHOLD, META).stream_id)
    ids = {}
    for code in ("ZKT", "UMKM"):
        grant = {"household_id": hid, "nik": HEAD["nik"], "program": code, **PERIOD}
        casework.execute("GrantBenefit", {**grant, "amount": 600_000}, META)
    for b in casework.get_household(hid).benefits.values():
        ids[b["program"]] = b["benefit_id"]
    _change(casework, "SuspendBenefit", hid, ids["ZKT"], TOMORROW)
    _change(casework, "TerminateBenefit", hid, ids["UMKM"], NEXT_WEEK)
    project(web)
    return web.test_client(), hid, ids


def benefit_row(page: str, program: str) -> str:
    benefits = section(page, "benefits-title")
    return re.search(rf"<tr>\s*<th scope=\"row\">{program}</th>.*?</tr>", benefits, re.S).group(0)


def history(row: str) -> list[str]:
    """The benefit's history as the row lists it, each step's words (no reason)."""
    steps = re.findall(r"<li>(.*?)</li>", row, re.S)
    return [" ".join(re.sub(r"<[^>]+>", "", s).split()).split(" — ")[0] for s in steps]


def status_cell(row: str) -> tuple[str, str]:
    """The badge's class (the status in force; `idle` for an active benefit not received
    that day, grey, not the green of one received) and the cell's words."""
    cell = re.search(r'<td><span class="badge badge-(\w+)">.*?</td>', row, re.S)
    return cell.group(1), " ".join(re.sub(r"<[^>]+>", "", cell.group(0)).split())


def test_the_household_page_shows_the_benefit_running_until_its_change_takes_effect(
    ahead, monkeypatch
):
    client, hid, _ = ahead
    page = client.get(f"/rumah-tangga/{hid}").text
    assert status_cell(benefit_row(page, "ZKT")) == (
        "active",
        f"Aktif · ditangguhkan mulai {words(TOMORROW)}",
    )
    assert status_cell(benefit_row(page, "UMKM")) == (
        "active",
        f"Aktif · dihentikan mulai {words(NEXT_WEEK)}",
    )
    # the history marks the steps still to come, as of the page's day
    assert history(benefit_row(page, "ZKT"))[-1] == f"{words(TOMORROW)}: Ditangguhkan (dijadwalkan)"
    move_today(monkeypatch, TOMORROW)
    page = client.get(f"/rumah-tangga/{hid}").text
    assert status_cell(benefit_row(page, "ZKT")) == ("suspended", "Ditangguhkan")
    assert history(benefit_row(page, "ZKT"))[-1].endswith(": Ditangguhkan")
    assert status_cell(benefit_row(page, "UMKM"))[1].startswith("Aktif · dihentikan mulai")
    assert history(benefit_row(page, "UMKM"))[-1].endswith("Dihentikan (dijadwalkan)")
    move_today(monkeypatch, AFTER)
    page = client.get(f"/rumah-tangga/{hid}").text
    assert status_cell(benefit_row(page, "ZKT")) == ("suspended", "Ditangguhkan")
    assert status_cell(benefit_row(page, "UMKM")) == ("terminated", "Dihentikan")


def test_the_persons_benefits_answer_the_status_in_force_and_what_is_scheduled(
    ahead, tokens, monkeypatch
):
    client, _, _ = ahead

    def answer() -> dict[str, dict]:
        got = client.get(f"/api/v1/persons/{HEAD['nik']}/benefits", headers=bearer(tokens["sup1"]))
        assert got.status_code == 200
        return {b["program"]: b for b in got.json["results"]}

    now = answer()
    assert now["ZKT"]["status"] == "active" and now["UMKM"]["status"] == "active"
    assert now["ZKT"]["running"] is True and now["UMKM"]["running"] is True
    assert [(s["change"], s["effective_date"]) for s in now["ZKT"]["scheduled"]] == [
        ("suspended", TOMORROW.isoformat())
    ]
    assert [(s["change"], s["effective_date"]) for s in now["UMKM"]["scheduled"]] == [
        ("terminated", NEXT_WEEK.isoformat())
    ]
    assert [s["change"] for s in now["ZKT"]["history"]] == ["granted", "suspended"]
    move_today(monkeypatch, AFTER)
    later = answer()
    assert (later["ZKT"]["status"], later["ZKT"]["scheduled"]) == ("suspended", [])
    assert (later["UMKM"]["status"], later["UMKM"]["scheduled"]) == ("terminated", [])
    assert later["ZKT"]["running"] is False and later["UMKM"]["running"] is False


def test_the_program_lists_and_counts_the_benefit_until_its_change(ahead, tokens, monkeypatch):
    client, _, ids = ahead
    views = client.application.extensions["casework"].views
    admin = tokens["admin"]
    assert listed(client, admin, "ZKT") == [(ids["ZKT"], "active")]
    assert listed(client, admin, "UMKM") == [(ids["UMKM"], "active")]
    assert beneficiaries.count_active(views, "ZKT") == 1
    assert beneficiaries.count_active(views, "ZKT", TOMORROW) == 0
    assert beneficiaries.count_active(views, "UMKM", TOMORROW) == 1
    assert beneficiaries.count_active(views, "UMKM", NEXT_WEEK) == 0
    move_today(monkeypatch, TOMORROW)
    assert listed(client, admin, "ZKT") == []
    assert listed(client, admin, "UMKM") == [(ids["UMKM"], "active")]
    move_today(monkeypatch, AFTER)
    assert listed(client, admin, "ZKT") == [] and listed(client, admin, "UMKM") == []


def test_a_family_is_served_until_the_change_takes_effect(ahead, tokens, monkeypatch):
    """The program's errors: receiving ZKT today the family is no exclusion error; from the
    suspension's day on it is eligible and not served."""
    client, hid, _ = ahead
    assert excluded(client, tokens["admin"], "ZKT") == []
    move_today(monkeypatch, TOMORROW)
    assert excluded(client, tokens["admin"], "ZKT") == [hid]


def test_the_cross_opd_view_counts_the_benefit_until_its_change(ahead, tokens, monkeypatch):
    client, _, _ = ahead
    views = client.application.extensions["casework"].views

    def figures(day: dt.date | None = None) -> tuple[dict, list]:
        answer = overview.overview(views, today=day)
        pairs = overview.overlaps(views, today=day)
        return {p["program"]: p["families"] for p in answer["programs"]}, pairs["matrix"]

    assert figures() == ({"UMKM": 1, "ZKT": 1}, [[1, 1], [1, 1]])
    assert figures(TOMORROW) == ({"UMKM": 1}, [[1]])
    assert figures(NEXT_WEEK) == ({}, [])
    # the API and its CSV read the same day
    got = client.get("/api/v1/overview", headers=bearer(tokens["admin"]))
    assert {p["program"] for p in got.json["programs"]} == {"UMKM", "ZKT"}
    move_today(monkeypatch, TOMORROW)
    got = client.get("/api/v1/overview", headers=bearer(tokens["admin"]))
    assert {p["program"] for p in got.json["programs"]} == {"UMKM"}
    csv = client.get("/api/v1/overview.csv", headers=bearer(tokens["admin"])).text
    assert "UMKM" in csv and "ZKT" not in csv


def test_a_backdated_suspension_stops_the_benefit_at_once_everywhere(web, tokens):
    """ZKT suspended from a week ago, recorded now: stopped today on the page, in the API, the
    program's list and the cross-OPD view; the time-travel page shows it as known then (not
    yet recorded: active) or as it was (suspended since that day)."""
    casework = web.extensions["casework"].casework
    hid, benefit_id = receiving_zkt(web)
    week_ago = TODAY - dt.timedelta(days=7)
    if week_ago.isoformat() < PERIOD["period_start"]:
        pytest.skip("the first week of a year: the period begins after the backdated day")
    time.sleep(1.1)  # the page's moments are whole seconds: one after the grant's ...
    between = dt.datetime.now(WIB)
    time.sleep(1.1)  # ... and before the suspension's recording
    _change(casework, "SuspendBenefit", hid, benefit_id, week_ago)
    project(web)
    client = web.test_client()
    page = client.get(f"/rumah-tangga/{hid}").text
    assert status_cell(benefit_row(page, "ZKT")) == ("suspended", "Ditangguhkan")
    got = client.get(f"/api/v1/persons/{HEAD['nik']}/benefits", headers=bearer(tokens["sup1"]))
    assert [(b["status"], b["scheduled"]) for b in got.json["results"]] == [("suspended", [])]
    views = web.extensions["casework"].views
    assert beneficiaries.count_active(views, "ZKT") == 0
    assert overview.overview(views)["programs"] == []

    url = f"/rumah-tangga/{hid}/lini-masa"
    # a moment between the suspension's day and its recording (WIB, to the second)
    saat = between.strftime("%Y-%m-%dT%H:%M:%S")

    def benefits_then(mode: str) -> str:
        page = client.get(url, query_string={"saat": saat, "mode": mode}).text
        found = re.search(r"<li>ZKT: ([^(<]*) \(", page)
        assert found, page
        return found.group(1)

    assert benefits_then("known") == "Aktif"
    assert benefits_then("effective") == "Ditangguhkan"


def test_the_time_travel_page_says_what_was_scheduled_then(ahead):
    client, hid, _ = ahead
    moment = dt.datetime.now(WIB)
    page = client.get(
        f"/rumah-tangga/{hid}/lini-masa",
        query_string={"saat": moment.strftime("%Y-%m-%dT%H:%M:%S"), "mode": "known"},
    ).text
    assert f"ZKT: Aktif · ditangguhkan mulai {words(TOMORROW)} (" in page
    assert f"UMKM: Aktif · dihentikan mulai {words(NEXT_WEEK)} (" in page


def test_a_resumption_from_tomorrow_leaves_the_benefit_suspended_until_then(web, tokens):
    """ZKT suspended from today, resumed from tomorrow (both recorded now): suspended today on
    the page (with the resumption scheduled), in the person's benefits, the program's count
    and the cross-OPD view; running again tomorrow in each."""
    casework = web.extensions["casework"].casework
    hid, benefit_id = receiving_zkt(web)
    _change(casework, "SuspendBenefit", hid, benefit_id, TODAY)
    _change(casework, "ResumeBenefit", hid, benefit_id, TOMORROW)
    project(web)
    client, views = web.test_client(), web.extensions["casework"].views
    page = client.get(f"/rumah-tangga/{hid}").text
    assert status_cell(benefit_row(page, "ZKT")) == (
        "suspended",
        f"Ditangguhkan · dilanjutkan mulai {words(TOMORROW)}",
    )
    got = client.get(f"/api/v1/persons/{HEAD['nik']}/benefits", headers=bearer(tokens["sup1"]))
    [benefit] = got.json["results"]
    assert benefit["status"] == "suspended"
    assert [(s["change"], s["effective_date"]) for s in benefit["scheduled"]] == [
        ("resumed", TOMORROW.isoformat())
    ]
    assert beneficiaries.count_active(views, "ZKT") == 0
    assert beneficiaries.count_active(views, "ZKT", TOMORROW) == 1
    assert overview.overview(views)["programs"] == []
    assert [p["program"] for p in overview.overview(views, today=TOMORROW)["programs"]] == ["ZKT"]


def test_a_change_after_one_recorded_ahead_is_refused_saying_it_is_recorded(ahead, tokens):
    """ZKT's suspension from tomorrow and UMKM's termination from next week are recorded: a
    second suspension of either is refused, in words that say the change is already recorded
    (perhaps from a later date), and nothing is stored."""
    client, hid, ids = ahead
    for code, refusal in (("ZKT", "benefit.not_active"), ("UMKM", "benefit.terminated")):
        body = {"household_id": hid, "benefit_id": ids[code], "reason_code": "other"}
        body |= {"effective_date": NEXT_WEEK.isoformat(), "reason": "uji"}
        got = client.post(
            "/api/v1/commands/SuspendBenefit",
            json=body,
            headers={**bearer(tokens["admin"]), "Accept-Language": "id"},
        )
        assert got.status_code == 422, got.json
        assert got.json["codes"] == {"benefit_id": [refusal]}
        assert "akan datang" in got.json["errors"]["benefit_id"][0]
    casework = client.application.extensions["casework"].casework
    history = {
        b["program"]: [h["status"] for h in b["history"]]
        for b in casework.get_household(hid).benefits.values()
    }
    assert history == {"ZKT": ["active", "suspended"], "UMKM": ["active", "terminated"]}


def test_the_subject_access_report_shows_the_status_in_force_and_the_scheduled_change(ahead):
    client, _, _ = ahead
    page = client.get(f"/privasi/akses-subjek?nik={HEAD['nik']}")
    assert page.status_code == 200
    text = " ".join(re.sub(r"<[^>]+>", " ", page.text).split())
    assert f"Aktif · ditangguhkan mulai {words(TOMORROW)}" in text
    assert f"Aktif · dihentikan mulai {words(NEXT_WEEK)}" in text


def test_the_household_answer_gives_each_benefit_its_status_in_force(ahead, tokens, monkeypatch):
    """GET /api/v1/households/<id>: ZKT active with its suspension scheduled today, suspended
    after; as of a moment (`as_of`), the status in force on that moment's day."""
    client, hid, _ = ahead

    def benefits(query: str = "") -> dict[str, tuple]:
        got = client.get(f"/api/v1/households/{hid}{query}", headers=bearer(tokens["sup1"]))
        assert got.status_code == 200, got.json
        return {
            b["program"]: (b["status"], [s["status"] for s in b["scheduled"]])
            for b in got.json["benefits"]
        }

    assert benefits() == {"ZKT": ("active", ["suspended"]), "UMKM": ("active", ["terminated"])}
    now = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")
    assert benefits(f"?as_of={now}") == benefits()
    move_today(monkeypatch, AFTER)
    assert benefits() == {"ZKT": ("suspended", []), "UMKM": ("terminated", [])}


def test_the_beneficiaries_view_rebuilt_equals_the_live_one(ahead, settings):
    """With the changes recorded ahead, a rebuild of the beneficiaries view (v6: `status_from`
    and the `changes` table) holds the same rows as the view kept event by event."""
    client, _, _ = ahead
    views = client.application.extensions["casework"].views
    live = beneficiaries.all_rows(views)
    assert sorted(tuple(row[1:]) for row in live["changes"]) == [
        (1, TOMORROW.isoformat(), "suspended"),
        (1, NEXT_WEEK.isoformat(), "terminated"),
    ]
    rebuild(bootstrap(settings), ["beneficiaries"])
    assert beneficiaries.all_rows(views) == live


def test_a_benefit_whose_period_ended_is_neither_listed_nor_counted_and_serves_no_more(
    web, tokens, monkeypatch
):
    """A grant that ran its period out, with no change recorded: the day after its end the
    program's list and count leave it out, as /lintas-opd does, and the family, eligible
    still, is an exclusion error (eligible, not served); before its start it was not served
    either. Before, an ended benefit stayed 'active' there for ever, the family served. The
    person's benefits answer its status (`active`: nothing ended it) and that it is no longer
    received (`running`), nor yet before its start."""
    hid, benefit_id = receiving_zkt(web)
    project(web)
    client, views = web.test_client(), web.extensions["casework"].views
    admin = tokens["admin"]
    ended = dt.date(TODAY.year + 2, 1, 1)  # the day after PERIOD's end
    before = dt.date(TODAY.year - 1, 12, 31)  # the day before its start

    def received() -> tuple[str, bool]:
        got = client.get(f"/api/v1/persons/{HEAD['nik']}/benefits", headers=bearer(admin))
        assert got.status_code == 200
        ((status, running),) = [(b["status"], b["running"]) for b in got.json["results"]]
        return status, running

    assert listed(client, admin, "ZKT") == [(benefit_id, "active")]
    assert excluded(client, admin, "ZKT") == []
    assert received() == ("active", True)
    assert beneficiaries.count_active(views, "ZKT") == 1
    assert beneficiaries.count_active(views, "ZKT", ended) == 0
    assert beneficiaries.count_active(views, "ZKT", before) == 0
    move_today(monkeypatch, ended)
    assert listed(client, admin, "ZKT") == []
    assert excluded(client, admin, "ZKT") == [hid]
    assert received() == ("active", False)
    move_today(monkeypatch, before)
    assert received() == ("active", False)


def _post(client, command: str, body: dict, token: str):
    return client.post(
        f"/api/v1/commands/{command}",
        json=body,
        headers={**bearer(token), "Accept-Language": "id"},
    )


def _bst_flagged_by_p3ke(web, period: dict[str, str]) -> tuple[str, str]:
    """P3KE flags BST for a household whose head receives BST over `period`: its id and the
    benefit's."""
    casework = web.extensions["casework"].casework
    program = {"code": "BST", "name": "Bantuan Sosial Tunai", "opd": "DINSOS"}
    casework.execute(
        "DefineProgram", {**program, "funding": "APBN", "kind": "bansos"} | {"rules": {}}, META
    )
    hid = str(casework.register_household(HOUSEHOLD, META).stream_id)
    grant = {"household_id": hid, "nik": HEAD["nik"], "program": "BST", "amount": 300_000}
    casework.execute("GrantBenefit", {**grant, **period}, META)
    household = casework.get_household(hid)
    listing = {"household_id": hid, "source": "P3KE", "period": "2026-Q4", "desil": 1}
    members = [{"nik": nik, "relationship": "anak", "deceased": False} for nik in household.members]
    casework.execute(
        "RecordSourceListing",
        {**listing, "reference": "p3ke.csv#row=1", "kk_number": household.kk_number}
        | {"members": members, "benefits": ["BST"]},
        META,
    )
    (benefit_id,) = household.benefits
    return hid, benefit_id


def _reconciliation_seen(client, admin: dict, hid: str) -> tuple:
    """Casework's aid and whether P3KE disagrees over it, in the household's answer; the
    families listed for `benefit` by the API and its CSV; the page's aid cell."""
    answer = client.get(f"/api/v1/reconciliation/{hid}", headers=admin).json
    listed = client.get("/api/v1/reconciliation?reason=benefit", headers=admin).json
    assert sum(row["benefit"] for row in listed["by_kelurahan"]) == len(listed["results"])
    rows = client.get("/api/v1/reconciliation.csv?reason=benefit", headers=admin)
    page = section(client.get(f"/rumah-tangga/{hid}").text, "sources-title")
    cell = re.search(r'<th scope="row">Bantuan</th><td>([^<]*)</td>', page).group(1)
    return (
        answer["register"]["running_benefits"],
        answer["sources"]["P3KE"]["benefit_differs"],
        [r["household_id"] for r in listed["results"]],
        [line.split(",")[0] for line in rows.text.splitlines()[1:]],
        cell,
    )


def test_the_reconciliation_reads_aid_as_running_until_its_termination_takes_effect(
    web, tokens, monkeypatch
):
    """P3KE flags BST and the head receives BST; its termination from next week is recorded
    today. Until then Casework's aid is BST (the household page's "Sumber data" row, the
    household's reconciliation answer) and P3KE agrees over aid (no family listed or counted
    for `benefit`, in the API and the CSV); from next week P3KE disagrees everywhere."""
    period = {"period_start": TODAY.isoformat(), "period_end": f"{TODAY.year + 1}-12-31"}
    hid, benefit_id = _bst_flagged_by_p3ke(web, period)
    _change(web.extensions["casework"].casework, "TerminateBenefit", hid, benefit_id, NEXT_WEEK)
    project(web)
    client, admin = web.test_client(), bearer(tokens["admin"])
    assert _reconciliation_seen(client, admin, hid) == (["BST"], False, [], [], "BST")
    move_today(monkeypatch, NEXT_WEEK)
    assert _reconciliation_seen(client, admin, hid) == ([], True, [hid], [hid], "—")


def test_the_reconciliation_reads_aid_as_ended_the_day_after_its_period(
    web, tokens, monkeypatch, settings
):
    """The same with no termination: BST's period ends the day before next week. Until its
    last day P3KE agrees over aid; from the day after, with no event and no rebuild, Casework
    holds no aid and P3KE disagrees in the answer, the list, its counts, the CSV and the
    household page's "Sumber data" row alike. A rebuild then holds the same rows."""
    last = NEXT_WEEK - dt.timedelta(days=1)
    hid, _ = _bst_flagged_by_p3ke(
        web, {"period_start": TODAY.isoformat(), "period_end": last.isoformat()}
    )
    project(web)
    client, admin = web.test_client(), bearer(tokens["admin"])
    move_today(monkeypatch, last)
    assert _reconciliation_seen(client, admin, hid) == (["BST"], False, [], [], "BST")
    move_today(monkeypatch, NEXT_WEEK)
    assert _reconciliation_seen(client, admin, hid) == ([], True, [hid], [hid], "—")
    views = web.extensions["casework"].views
    live = reconciliation_view.all_rows(views)
    rebuild(bootstrap(settings), ["reconciliation"])
    assert reconciliation_view.all_rows(views) == live


def test_a_change_recorded_ahead_is_brought_earlier_through_the_api_and_the_form(
    ahead, tokens, monkeypatch
):
    """UMKM's termination from next week, decided again from tomorrow (the API: a supervisor
    asks, another approves), and ZKT's suspension from tomorrow, brought to today (the form):
    each replaces the change recorded ahead, in the household's answer and the program's
    count. A change dated before one in force is refused at its date, in Indonesian, and
    nothing is stored."""
    client, hid, ids = ahead
    casework = client.application.extensions["casework"].casework
    ending = {"household_id": hid, "benefit_id": ids["UMKM"], "reason_code": "other"}
    ending |= {"effective_date": TOMORROW.isoformat(), "reason": "keputusan baru"}
    asked = _post(client, "TerminateBenefit", ending, tokens["sup1"])
    assert asked.status_code == 202, asked.json
    (approval_id,) = casework.pending_approval_ids()
    # the supervisor deciding reads on the request's card what approving it replaces
    queue = client.application.test_client(user="sup2").get("/persetujuan").text
    card = " ".join(re.sub(r"<[^>]+>", " ", queue).split())
    assert (
        f"Menggantikan yang tercatat untuk berlaku nanti dihentikan mulai {words(NEXT_WEEK)}"
        in card
    ), card[-3000:]
    approved = _post(
        client, "ApproveChange", {"approval_id": str(approval_id), "note": "ok"}, tokens["sup2"]
    )
    assert approved.status_code == 201, approved.json
    # the answer says what the change replaced, not silently
    assert approved.json["replaced"] == [
        {"benefit_id": ids["UMKM"], "program": "UMKM", "status": "terminated"}
        | {"effective_date": NEXT_WEEK.isoformat()}
    ]

    form = client.application.test_client()  # the administrator, on the web
    suspend = {"household_id": hid, "benefit_id": ids["ZKT"], "reason_code": "other"}
    suspend |= {"effective_date": TODAY.isoformat(), "reason": "uji"}
    sent = form.post("/perintah/SuspendBenefit", data=suspend, headers={"X-CSRF-Token": csrf(form)})
    assert sent.status_code == 303, sent.text[:2000]
    said = " ".join(form.get(sent.headers["Location"]).text.split())
    assert (
        "Menggantikan yang tercatat untuk berlaku nanti: ZKT ditangguhkan mulai "
        f"{words(TOMORROW)}." in said
    )
    project(client.application)

    got = client.get(f"/api/v1/households/{hid}", headers=bearer(tokens["sup1"])).json
    assert {
        b["program"]: (b["status"], [(s["status"], s["effective_date"]) for s in b["scheduled"]])
        for b in got["benefits"]
    } == {
        "ZKT": ("suspended", []),
        "UMKM": ("active", [("terminated", TOMORROW.isoformat())]),
    }
    views = client.application.extensions["casework"].views
    assert beneficiaries.count_active(views, "UMKM", TOMORROW) == 0
    assert beneficiaries.count_active(views, "ZKT") == 0

    # ZKT's suspension from today is in force: a resumption from before it is refused
    version = casework.get_household(hid).version
    early = {**suspend, "effective_date": (TODAY - dt.timedelta(days=1)).isoformat()}
    if early["effective_date"] >= PERIOD["period_start"]:
        refused = form.post(
            "/perintah/ResumeBenefit", data=early, headers={"X-CSRF-Token": csrf(form)}
        )
        assert refused.status_code == 422
        assert "perubahan bantuan ini yang sudah berlaku" in refused.text
        assert 'aria-invalid="true"' in refused.text
        assert casework.get_household(hid).version == version

    # a change that replaces nothing answers replaced [] and its form says nothing of it
    resume = {**suspend, "effective_date": NEXT_WEEK.isoformat(), "reason": "pulih"}
    resumed = _post(client, "ResumeBenefit", resume, tokens["admin"])
    assert resumed.status_code == 201 and resumed.json["replaced"] == [], resumed.json
    earlier = {**resume, "effective_date": TOMORROW.isoformat(), "reason": "lebih cepat"}
    sent = form.post("/perintah/ResumeBenefit", data=earlier, headers={"X-CSRF-Token": csrf(form)})
    said = " ".join(form.get(sent.headers["Location"]).text.split())
    assert f"ZKT dilanjutkan mulai {words(NEXT_WEEK)}." in said


def test_a_termination_replaced_by_an_earlier_suspension_opens_its_reviews_again(web, tokens):
    """A termination recorded for next week closes the benefit's open review; a suspension
    from tomorrow, recorded after it, replaces it (the benefit is never terminated), so the
    review is open again: in the queue, and a supervisor can decide it."""
    casework = web.extensions["casework"].casework
    seed_catalog(casework, make_meta(SYSTEM, "seed"))
    hid = str(casework.register_household(HOUSEHOLD, META).stream_id)
    ktp = {
        "household_id": hid,
        "nik": HEAD["nik"],
        "issued_on": "2003-05-01",
        "arrival": {"type": "born_here", "arrived_on": None, "origin_region_code": None},
    }
    casework.execute("IssueKtp", ktp, META)
    grant = {"household_id": hid, "nik": HEAD["nik"], "program": "KJB", **PERIOD}
    casework.execute("GrantBenefit", {**grant, "amount": 300_000}, META)
    (benefit_id,) = casework.get_household(hid).benefits
    nib = {
        "household_id": hid,
        "nik": HEAD["nik"],
        "nib": "9120000000001",
        "business_name": "Warung Siti",
        "registered_on": f"{TODAY.year}-01-02",
    }
    casework.execute("RegisterNib", nib, META)
    policies(web)
    project(web)
    client = web.test_client()
    (review,) = queue(client, tokens["sup1"]).json["results"]

    _change(casework, "TerminateBenefit", hid, benefit_id, NEXT_WEEK)
    project(web)
    assert queue(client, tokens["sup1"]).json["results"] == []

    _change(casework, "SuspendBenefit", hid, benefit_id, TOMORROW)
    project(web)
    assert [r["review_id"] for r in queue(client, tokens["sup1"]).json["results"]] == [
        review["review_id"]
    ]
    decided = post(
        client,
        "DecideReview",
        {
            "household_id": hid,
            "review_id": review["review_id"],
            "decision": "keep",
            "reason": "usaha sudah tutup",
        },
        tokens["sup1"],
    )
    assert decided.status_code == 201, decided.json
    project(web)
    assert queue(client, tokens["sup1"]).json["results"] == []


YESTERDAY = TODAY - dt.timedelta(days=1)
# each combinable with the others: the head receives the three side by side
THREE_OPDS = {"ZKT": "BAZNAS", "UMKM": "DISKOPUKM", "BST": "DINSOS"}


@pytest.fixture
def periods(web):
    """The head's ZKT ran its period out yesterday (nothing terminated it), UMKM runs over
    PERIOD and BST's period begins tomorrow; each granted, none changed since."""
    casework = web.extensions["casework"].casework
    for code, opd in THREE_OPDS.items():
        casework.define_program(
            {"code": code, "name": f"Program {code}", "opd": opd, "funding": "APBD"}
            | {"kind": "bansos", "effective_from": "2025-01-01"}
            | {"rules": {"combinable_with": sorted(set(THREE_OPDS) - {code})}},
            META,
            alongside=sorted(THREE_OPDS),
        )
    hid = str(casework.register_household(HOUSEHOLD, META).stream_id)
    grants = {
        "ZKT": {"period_start": (YESTERDAY - dt.timedelta(days=90)).isoformat()}
        | {"period_end": YESTERDAY.isoformat()},
        "UMKM": PERIOD,
        "BST": {"period_start": TOMORROW.isoformat(), "period_end": f"{TODAY.year + 1}-12-31"},
    }
    for code, period in grants.items():
        grant = {"household_id": hid, "nik": HEAD["nik"], "program": code, "amount": 300_000}
        casework.execute("GrantBenefit", {**grant, **period}, META)
    project(web)
    return hid


def test_the_household_page_says_a_benefit_ended_or_not_begun_is_not_received(
    web, periods, monkeypatch
):
    """ZKT's period ended yesterday: "Aktif · periode berakhir <kemarin>" on a grey badge, not
    a bare green "Aktif" a case worker reads as received now; BST's begins tomorrow: "Aktif ·
    mulai <besok>", grey; UMKM, running, a green "Aktif". Tomorrow BST runs, green. In English
    too."""
    client = web.test_client()
    page = client.get(f"/rumah-tangga/{periods}").text
    assert status_cell(benefit_row(page, "ZKT")) == (
        "idle",
        f"Aktif · periode berakhir {words(YESTERDAY)}",
    )
    assert status_cell(benefit_row(page, "UMKM")) == ("active", "Aktif")
    assert status_cell(benefit_row(page, "BST")) == ("idle", f"Aktif · mulai {words(TOMORROW)}")
    english = web.test_client()
    english.get("/?lang=en")
    page = english.get(f"/rumah-tangga/{periods}").text
    in_words = format_date(YESTERDAY, "long", locale="en")
    assert status_cell(benefit_row(page, "ZKT"))[1] == f"Active · period ended {in_words}"
    in_words = format_date(TOMORROW, "long", locale="en")
    assert status_cell(benefit_row(page, "BST"))[1] == f"Active · begins {in_words}"
    move_today(monkeypatch, TOMORROW)
    page = client.get(f"/rumah-tangga/{periods}").text
    assert status_cell(benefit_row(page, "BST")) == ("active", "Aktif")
    ended = status_cell(benefit_row(page, "ZKT"))
    assert ended == ("idle", f"Aktif · periode berakhir {words(YESTERDAY)}")


def test_the_household_answer_says_whether_each_benefit_is_received(
    web, periods, tokens, monkeypatch
):
    """GET /api/v1/households/<id>: each benefit's `running`, as the person's benefits answer
    it: false for ZKT, ended yesterday, and BST, beginning tomorrow, though both are `active`
    (nothing ended them); true for UMKM. As of now, the same; tomorrow BST runs."""
    client = web.test_client()

    def benefits(query: str = "") -> dict[str, tuple[str, bool]]:
        got = client.get(f"/api/v1/households/{periods}{query}", headers=bearer(tokens["sup1"]))
        assert got.status_code == 200, got.json
        return {b["program"]: (b["status"], b["running"]) for b in got.json["benefits"]}

    assert benefits() == {
        "ZKT": ("active", False),
        "UMKM": ("active", True),
        "BST": ("active", False),
    }
    now = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")
    assert benefits(f"?as_of={now}") == benefits()
    move_today(monkeypatch, TOMORROW)
    assert benefits()["BST"] == ("active", True)
    assert benefits()["ZKT"] == ("active", False)
