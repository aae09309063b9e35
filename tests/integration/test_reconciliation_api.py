"""Reconciliation over HTTP and on the page: who reads what (least privilege), the families
with their reasons and links, the CSV and XLSX, and /rekonsiliasi in Indonesian with its
chart and the household page's "Sumber data" table."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from adapters.bootstrap import bootstrap
from adapters.settings import Settings
from app.seed_data import kk_for, nik_for
from consumers.runner import Runner
from domain.application import SYSTEM, make_meta
from domain.catalog import seed_catalog
from tests.conftest import TEST_MASTER_KEY
from tests.integration.conftest import add_users, bearer
from tests.integration.test_eligibility_api import project
from tests.support.events import TEST_SIGNING_KEY
from tests.support.signin import ensure_account

pytestmark = pytest.mark.integration

META = make_meta(SYSTEM, "import:test")


def _person(serial: int, born: str, sex: str) -> dict:
    return {
        "nik": nik_for("157101", dt.date.fromisoformat(born), sex, serial),
        "name": f"Warga {serial}",
        "birth_date": born,
        "sex": sex,
    }


@pytest.fixture
def world(web) -> dict:
    """Two families in Simpang IV Sipin (one disagreeing) and one in Tahtul Yaman."""
    casework = web.extensions["casework"].casework
    seed_catalog(casework, META)
    found = {}
    for serial, kelurahan, kecamatan in (
        (1, "Simpang IV Sipin", "Telanaipura"),
        (2, "Simpang IV Sipin", "Telanaipura"),
        (3, "Tahtul Yaman", "Pelayangan"),
    ):
        head, child = (
            _person(serial * 10, "1980-01-01", "M"),
            _person(serial * 10 + 1, "2004-02-02", "F"),
        )
        kk = kk_for("157101", dt.date(2015, 1, 1), serial)
        household_id = casework.register_household(
            {
                "kk_number": kk,
                "kecamatan": kecamatan,
                "kelurahan": kelurahan,
                "address": "Jl. Kenanga No. 7",
                "rt": "001",
                "rw": "002",
                "head": head,
            },
            META,
        ).stream_id
        casework.add_member(
            {"household_id": household_id, "person": child, "relationship": "anak"}, META
        )
        niks = [head["nik"], child["nik"]]
        agree = serial == 2
        for source, desil, listed, flags in (
            ("DTSEN", 2, niks, []),
            ("DTKS", 3 if agree else 6, niks if agree else niks[:1], [] if agree else ["PKH"]),
        ):
            casework.execute(
                "RecordSourceListing",
                {
                    "household_id": household_id,
                    "source": source,
                    "period": "2026-Q1",
                    "reference": f"{source}.csv#row={serial}",
                    "kk_number": kk,
                    "members": [
                        {
                            "nik": n,
                            "relationship": "kepala_keluarga" if n == niks[0] else "anak",
                            "deceased": False,
                        }
                        for n in listed
                    ],
                    "desil": desil,
                    "benefits": flags,
                },
                META,
            )
        found[serial] = {"id": household_id, "child": child["nik"]}
    project(web)
    return found


def test_least_privilege_on_each_route(web, world):
    tokens = add_users(
        web, ["admin", "auditor", "cw_sipin", "cw_pelayangan", "pm_dinsos", "agency"]
    )
    client = web.test_client()
    disagreeing, agreeing, elsewhere = world[1]["id"], world[2]["id"], world[3]["id"]

    def get(path: str, who: str, **query):
        return client.get(path, query_string=query, headers=bearer(tokens[who]))

    every = get("/api/v1/reconciliation", "auditor")
    assert every.status_code == 200
    assert {f["household_id"] for f in every.json["results"]} == {disagreeing, elsewhere}
    assert every.json["tolerance"] == 1
    assert every.json["rule"] == {
        "desil_tolerance": 1,
        "stale_months": 12,
        "matches_settings": True,
        "settings": {"desil_tolerance": 1, "stale_months": 12},
    }
    (family,) = [f for f in every.json["results"] if f["household_id"] == disagreeing]
    assert family["reasons"] == ["desil", "benefit", "missing_in_source"]
    assert family["link"] == f"/rumah-tangga/{disagreeing}"
    (sipin,) = [r for r in every.json["by_kelurahan"] if r["kelurahan"] == "Simpang IV Sipin"]
    assert (sipin["listed"], sipin["any"], sipin["desil"]) == (2, 1, 1)
    (telanaipura,) = [r for r in every.json["by_kecamatan"] if r["kecamatan"] == "Telanaipura"]
    assert telanaipura["any"] == 1
    only_benefit = get("/api/v1/reconciliation", "admin", reason="benefit", kecamatan="Pelayangan")
    assert [f["household_id"] for f in only_benefit.json["results"]] == [elsewhere]
    bad = get("/api/v1/reconciliation", "admin", reason="shoe_size")
    assert bad.status_code == 422 and list(bad.json["codes"]) == ["reason"]

    # a caseworker: their own kelurahan only (none named: their first), never a kecamatan
    own = get("/api/v1/reconciliation", "cw_sipin", kelurahan="Simpang IV Sipin")
    assert [f["household_id"] for f in own.json["results"]] == [disagreeing]
    assert get("/api/v1/reconciliation", "cw_sipin").json["kelurahan"] == "Simpang IV Sipin"
    assert get("/api/v1/reconciliation", "cw_sipin", kecamatan="Telanaipura").status_code == 403
    assert (
        get("/api/v1/reconciliation", "cw_pelayangan", kelurahan="Simpang IV Sipin").status_code
        == 403
    )
    assert get(f"/api/v1/reconciliation/{disagreeing}", "cw_sipin").status_code == 200
    assert get(f"/api/v1/reconciliation/{disagreeing}", "cw_pelayangan").status_code == 403
    # a program manager: the counts, never a family
    counts = get("/api/v1/reconciliation", "pm_dinsos")
    assert counts.status_code == 200 and "results" not in counts.json
    assert counts.json["by_kelurahan"] == every.json["by_kelurahan"]
    for path in (
        "/api/v1/reconciliation.csv",
        "/api/v1/reconciliation.xlsx",
        f"/api/v1/reconciliation/{agreeing}",
    ):
        assert get(path, "pm_dinsos").status_code == 403, path
    # an agency: nothing
    for path in (
        "/api/v1/reconciliation",
        "/api/v1/reconciliation.csv",
        f"/api/v1/reconciliation/{agreeing}",
    ):
        assert get(path, "agency").status_code == 403, path

    # side by side: the member DTKS misses, by keyed hash and masked NIK, never in clear
    answer = get(f"/api/v1/reconciliation/{disagreeing}", "admin")
    (missing,) = answer.json["sources"]["DTKS"]["missing_in_source"]
    child = world[1]["child"]
    assert missing["nik"] == child[:4] + "*" * 10 + child[-2:]
    assert child not in answer.get_data(as_text=True)
    assert answer.json["sources"]["DTSEN"]["desil"]["desil"] == 2
    assert get("/api/v1/reconciliation/not-a-uuid", "admin").status_code == 404

    sheet = get("/api/v1/reconciliation.csv", "admin", kelurahan="Simpang IV Sipin")
    rows = list(csv.DictReader(io.StringIO(sheet.get_data(as_text=True).lstrip("\ufeff"))))
    assert [(r["household_id"], r["reasons"]) for r in rows] == [
        (disagreeing, "desil; benefit; missing_in_source")
    ]
    book = load_workbook(io.BytesIO(get("/api/v1/reconciliation.xlsx", "admin").data))
    cells = [[c.value for c in row] for row in book.active.iter_rows()]
    assert cells[0][:2] == ["household_id", "kecamatan"] and len(cells) == 3


def test_the_page_shows_the_chart_and_the_families_in_indonesian(web, world):
    browser = web.test_client()
    html = browser.get("/rekonsiliasi").get_data(as_text=True)
    assert "Rekonsiliasi sumber data" in html and "lebih dari 1" in html
    assert "lebih dari 12 bulan" in html and "Data sumber usang" in html
    assert html.count("<svg") >= 3  # a chart per kecamatan row and per kelurahan row at least
    # the bars' colours are told before the tables (they were told after the longest one)
    key = html.index("keluarga yang tercantum di sumber")
    assert "keluarga yang datanya berbeda antarsumber" in html[key : key + 600]
    assert key < html.index('id="counts-kecamatan"')
    assert f'href="/rumah-tangga/{world[1]["id"]}#sources-title"' in html
    assert "Desil berbeda" in html and "Anggota tidak ada di sumber" in html
    assert world[2]["id"][:8] not in html  # the family where they agree is not listed
    assert 'href="/rekonsiliasi.xlsx' in html
    # the page's downloads hold what the API's hold: the two disagreeing families
    download = browser.get("/rekonsiliasi.csv")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    rows = _cells(download)
    assert {r[0] for r in rows[1:]} == {world[1]["id"], world[3]["id"]}
    admin = bearer(add_users(web, ["admin"])["admin"])
    from_api = _cells(web.test_client().get("/api/v1/reconciliation.csv", headers=admin))
    assert [r[:3] + r[4:] for r in rows[1:]] == [r[:3] + r[4:] for r in from_api[1:]]
    book = load_workbook(io.BytesIO(browser.get("/rekonsiliasi.xlsx").data))
    assert book.active.max_row == 3
    household = browser.get(f"/rumah-tangga/{world[1]['id']}").get_data(as_text=True)
    assert "Sumber data" in household and "Bantuan berbeda" in household
    # a program manager's page: the counts, no family
    manager = web.test_client(user="pm_dinsos").get("/rekonsiliasi").get_data(as_text=True)
    assert "Simpang IV Sipin" in manager and world[1]["id"][:8] not in manager


def test_a_tolerance_changed_in_the_settings_rebuilds_the_view_and_the_page_says_so(
    web, world, backend
):
    """A view is never answered under another rule than the one it was built under: the
    runner started with another tolerance rebuilds it, and a web process still configured
    with the old one shows the rule the figures follow and that its settings differ."""
    admin = add_users(web, ["admin"])["admin"]
    client = web.test_client()
    before = client.get("/api/v1/reconciliation/" + world[1]["id"], headers=bearer(admin))
    assert "desil" in before.json["reasons"] and before.json["desil_spread"] == 4

    settings = Settings.from_env(
        {
            **backend,
            "CASEWORK_SECRET_KEY": "test-secret",
            "CASEWORK_MASTER_KEY": TEST_MASTER_KEY,
            "CASEWORK_SIGNING_KEY": TEST_SIGNING_KEY,
            "CASEWORK_RECONCILE_DESIL_TOLERANCE": "4",
        }
    )
    runner = Runner(bootstrap(settings))
    try:
        runner.fill_empty_views()
    finally:
        runner.close()

    after = client.get("/api/v1/reconciliation", headers=bearer(admin)).json
    assert after["rule"]["desil_tolerance"] == 4 and not after["rule"]["matches_settings"]
    assert after["rule"]["settings"]["desil_tolerance"] == 1
    (family,) = [f for f in after["results"] if f["household_id"] == world[1]["id"]]
    assert family["reasons"] == ["benefit", "missing_in_source"]  # a spread of 4: within it
    html = client.get("/rekonsiliasi").get_data(as_text=True)
    assert "lebih dari 4" in html and "pengaturan kini menyebut 1 desil" in html


def _cells(response) -> list[list[str]]:
    """A CSV download's rows, its header first."""
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def _rows(response) -> list[str]:
    """The household ids of a CSV download (its first column, the API's and the page's)."""
    return [row[0] for row in _cells(response)[1:]]


def test_the_pages_downloads_speak_the_pages_language_and_the_apis_keep_their_names(web, world):
    """What a person downloads from the page is headed, and says the disagreements, in the
    page's language (Bahasa Indonesia unless they chose English); the API's files keep the
    names their clients read (README, OpenAPI)."""
    browser = web.test_client()
    browser.get("/rekonsiliasi?lang=id")
    query = {"kelurahan": "Simpang IV Sipin"}
    indonesian = _cells(browser.get("/rekonsiliasi.csv", query_string=query))
    assert indonesian == [
        ["ID rumah tangga", "Kecamatan", "Kelurahan", "Perbedaan", "Tautan kasus"],
        [
            world[1]["id"],
            "Telanaipura",
            "Simpang IV Sipin",
            "Desil berbeda; Bantuan berbeda; Anggota tidak ada di sumber",
            f"/rumah-tangga/{world[1]['id']}",
        ],
    ]
    book = load_workbook(io.BytesIO(browser.get("/rekonsiliasi.xlsx", query_string=query).data))
    assert book.sheetnames == ["Rekonsiliasi"]
    assert [list(r) for r in book.active.iter_rows(values_only=True)] == indonesian

    browser.get("/rekonsiliasi?lang=en")
    english = _cells(browser.get("/rekonsiliasi.csv", query_string=query))
    assert english[0] == ["Household ID", "Kecamatan", "Kelurahan", "Disagreements", "Case link"]
    assert english[1][3] == "Deciles differ; Aid differs; Members missing in the source"
    book = load_workbook(io.BytesIO(browser.get("/rekonsiliasi.xlsx", query_string=query).data))
    assert book.sheetnames == ["Reconciliation"]
    assert next(book.active.iter_rows(values_only=True))[0] == "Household ID"

    # the API's files, asked in either language, keep their machine names and codes
    admin = bearer(add_users(web, ["admin"])["admin"])
    for language in ("id", "en"):
        headers = {**admin, "Accept-Language": language}
        api = web.test_client()
        sheet = _cells(api.get("/api/v1/reconciliation.csv", query_string=query, headers=headers))
        assert sheet[0] == ["household_id", "kecamatan", "kelurahan", "reasons", "link"]
        assert sheet[1][3] == "desil; benefit; missing_in_source"
        data = api.get("/api/v1/reconciliation.xlsx", query_string=query, headers=headers).data
        book = load_workbook(io.BytesIO(data))
        assert book.sheetnames == ["Rekonsiliasi"]
        assert next(book.active.iter_rows(values_only=True))[0] == "household_id"


def test_a_caseworker_asking_for_another_kelurahan_is_refused_not_failed(web, world):
    """Another kelurahan on the page or its downloads: the forbidden page (403) that says the
    kelurahan is outside their area, never a server error."""
    tokens = add_users(web, ["cw_sipin"])
    browser = web.test_client(user="cw_sipin")
    for path in ("/rekonsiliasi", "/rekonsiliasi.csv", "/rekonsiliasi.xlsx"):
        refused = browser.get(path, query_string={"kelurahan": "Tahtul Yaman", "lang": "en"})
        assert refused.status_code == 403, path
        assert "This kelurahan is outside your area" in refused.get_data(as_text=True), path
    answer = web.test_client().get(
        "/api/v1/reconciliation",
        query_string={"kelurahan": "Tahtul Yaman"},
        headers=bearer(tokens["cw_sipin"]),
    )
    assert answer.status_code == 403 and answer.json["codes"] == {"kelurahan": ["auth.area"]}


def test_areas_are_named_as_the_overview_names_them(web, world):
    """A kecamatan or kelurahan by name in any case, by code or by an accepted spelling reads
    the families there, the answer naming it as the register does; one the city has not, or a
    kelurahan not in the kecamatan asked, is 422 naming the field, on the API, the page and
    the downloads alike."""
    tokens = add_users(web, ["admin"])
    api, browser = web.test_client(), web.test_client()
    disagreeing = world[1]["id"]

    def get(path: str, **query):
        return api.get(path, query_string=query, headers=bearer(tokens["admin"]))

    for query in (
        {"kelurahan": "simpang iv sipin"},
        {"kelurahan": "1571011001"},
        {"kelurahan": "15.71.01.1001", "kecamatan": "TELANAIPURA"},
        {"kecamatan": "15.71.01"},
        {"kecamatan": "telanaipura"},
    ):
        answer = get("/api/v1/reconciliation", **query)
        assert answer.status_code == 200, query
        assert [f["household_id"] for f in answer.json["results"]] == [disagreeing], query
        assert answer.json["kecamatan"] == "Telanaipura", query
        assert _rows(get("/api/v1/reconciliation.csv", **query)) == [disagreeing], query
        page = browser.get("/rekonsiliasi", query_string=query)
        assert page.status_code == 200, query
        assert f'href="/rumah-tangga/{disagreeing}#sources-title"' in page.get_data(as_text=True)
        assert _rows(browser.get("/rekonsiliasi.csv", query_string=query)) == [disagreeing], query
    assert get("/api/v1/reconciliation", kelurahan="1571011001").json["kelurahan"] == (
        "Simpang IV Sipin"
    )
    spelled = get("/api/v1/reconciliation", kelurahan="The Hok")
    assert spelled.status_code == 200 and spelled.json["kelurahan"] == "Thehok"
    assert spelled.json["kecamatan"] == "Jambi Selatan"
    page = browser.get("/rekonsiliasi", query_string={"kelurahan": "the hok"})
    assert '<option value="Thehok" selected>' in page.get_data(as_text=True)

    for query, field, code in (
        ({"kecamatan": "Nowhere"}, "kecamatan", "kecamatan.unknown"),
        ({"kelurahan": "Nowhere"}, "kelurahan", "kelurahan.unknown"),
        ({"kelurahan": "\x00"}, "kelurahan", "kelurahan.unknown"),
        ({"kelurahan": "1001"}, "kelurahan", "kelurahan.unknown"),  # a suffix of ten
        (
            {"kelurahan": "Simpang IV Sipin", "kecamatan": "Pelayangan"},
            "kelurahan",
            "kelurahan.unknown",
        ),
    ):
        for path in (
            "/api/v1/reconciliation",
            "/api/v1/reconciliation.csv",
            "/api/v1/reconciliation.xlsx",
        ):
            refused = get(path, **query)
            assert refused.status_code == 422, (path, query)
            assert refused.json["codes"] == {field: [code]}, (path, query)
        for path in ("/rekonsiliasi", "/rekonsiliasi.csv", "/rekonsiliasi.xlsx"):
            refused = browser.get(path, query_string=query)
            assert refused.status_code == 422, (path, query)
            # the downloads too name the field and what to do (they said only that the
            # request could not be read)
            said = refused.get_data(as_text=True)
            if path != "/rekonsiliasi":  # the page says it beside its form
                assert f"{field.capitalize()}: " in said, (path, query)
            assert "Permintaan tidak dapat dibaca" not in said, (path, query)
    page = browser.get("/rekonsiliasi", query_string={"kecamatan": "Nowhere", "lang": "en"})
    assert "Choose one of the kecamatan of Kota Jambi." in page.get_data(as_text=True)
    assert disagreeing not in page.get_data(as_text=True)


def test_a_caseworker_reads_their_own_kelurahan_however_written(web, world):
    """A case worker naming no kelurahan reads their first, as on the page and the overview;
    their own kelurahan in another case, by code or by an accepted spelling is theirs; one the
    city has not is 422, not a server error."""
    casework = web.extensions["casework"].casework
    tokens = add_users(web, ["cw_sipin"])
    casework.add_user("cw_payo", "caseworker", None, ["Payo Selincah"], META)
    tokens["cw_payo"] = casework.issue_token("cw_payo", META)
    api = web.test_client()
    disagreeing = world[1]["id"]

    def get(who: str, path: str, **query):
        return api.get(path, query_string=query, headers=bearer(tokens[who]))

    own = get("cw_sipin", "/api/v1/reconciliation")
    assert own.status_code == 200 and own.json["kelurahan"] == "Simpang IV Sipin"
    assert [f["household_id"] for f in own.json["results"]] == [disagreeing]
    assert _rows(get("cw_sipin", "/api/v1/reconciliation.csv")) == [disagreeing]
    for written in ("SIMPANG IV SIPIN", "1571011001", "Kel. Simpang IV Sipin"):
        answer = get("cw_sipin", "/api/v1/reconciliation", kelurahan=written)
        assert [f["household_id"] for f in answer.json["results"]] == [disagreeing], written
    browser = web.test_client(user="cw_sipin")
    page = browser.get("/rekonsiliasi", query_string={"kelurahan": "simpang iv sipin"})
    assert page.status_code == 200
    assert f'href="/rumah-tangga/{disagreeing}#sources-title"' in page.get_data(as_text=True)
    csv_page = browser.get("/rekonsiliasi.csv", query_string={"kelurahan": "1571011001"})
    assert _rows(csv_page) == [disagreeing]
    for path in ("/rekonsiliasi", "/rekonsiliasi.csv", "/rekonsiliasi.xlsx"):
        unknown = browser.get(path, query_string={"kelurahan": "Nowhere"})
        assert unknown.status_code == 422, path
    unknown = get("cw_sipin", "/api/v1/reconciliation", kelurahan="Nowhere")
    assert unknown.status_code == 422
    assert unknown.json["codes"] == {"kelurahan": ["kelurahan.unknown"]}

    spelled = get("cw_payo", "/api/v1/reconciliation", kelurahan="Payo Silincah")
    assert spelled.status_code == 200 and spelled.json["kelurahan"] == "Payo Selincah"
    ensure_account(web, "cw_payo", ("caseworker", None, ["Payo Selincah"]))
    payo = web.test_client(user="cw_payo")
    for path in ("/rekonsiliasi", "/rekonsiliasi.csv", "/rekonsiliasi.xlsx"):
        answer = payo.get(path, query_string={"kelurahan": "Payo Silincah"})
        assert answer.status_code == 200, path
    page = payo.get("/rekonsiliasi", query_string={"kelurahan": "payo silincah"})
    assert '<option value="Payo Selincah" selected>' in page.get_data(as_text=True)


def test_an_unknown_reason_is_answered_with_every_reason_there_is(web, world):
    """The 422 for a reason not known lists every reason the answers name (`stale` too), in
    both languages."""
    tokens = add_users(web, ["admin"])
    api = web.test_client()
    reasons = api.get("/api/v1/reconciliation", headers=bearer(tokens["admin"])).json["reasons"]
    assert "stale" in reasons
    for language in ("id", "en"):
        refused = api.get(
            "/api/v1/reconciliation",
            query_string={"reason": "foo"},
            headers={**bearer(tokens["admin"]), "Accept-Language": language},
        )
        assert refused.status_code == 422
        (text,) = refused.json["errors"]["reason"]
        assert [r for r in reasons if r not in text] == [], language
