"""The cross-OPD view over HTTP and on its page: the answers, their CSV and XLSX forms, each
role's share of them, "one NIK, all aid" across OPDs, and /lintas-opd in Indonesian with its
charts."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from openpyxl import load_workbook

from app.overview_api import PAIR_HEADER, ROW_HEADER
from app.seed_data import nik_for
from domain.application import SYSTEM, make_meta
from domain.city import today as city_today
from domain.household import HEAD
from tests.integration.conftest import authorized_client
from tests.integration.test_eligibility_api import project

pytestmark = pytest.mark.integration

META = make_meta(SYSTEM, "api")
SITI, ANI, DEWI = "1571015203850007", "1571015203850015", "1571015203850023"
# the world's benefits run from 2026 to the end of next year: running today, whatever year
RUNS_UNTIL = f"{city_today().year + 1}-12-31"


def of_2026(months: dict[str, int]) -> dict[str, int]:
    return {month: n for month, n in months.items() if month.startswith("2026-")}


def _household(kk: str, kecamatan: str, kelurahan: str, nik: str, name: str) -> dict:
    return {
        "kk_number": kk,
        "kecamatan": kecamatan,
        "kelurahan": kelurahan,
        "address": "Jl. Kapten Pattimura No. 5",
        "rt": "007",
        "rw": "002",
        "head": {"nik": nik, "name": name, "birth_date": "1985-03-12", "sex": "F"},
    }


@pytest.fixture
def world(web, tokens) -> dict[str, str]:
    """PKH (DINSOS, target 4 families) and ZAKAT (BAZNAS): Siti in Simpang IV Sipin receives
    both (PKH suspended once and resumed), Ani in Tahtul Yaman ZAKAT, Dewi in Simpang IV Sipin
    PKH, terminated."""
    casework = web.extensions["casework"].casework
    for code, opd, target in (("PKH", "DINSOS", 4), ("ZAKAT", "BAZNAS", None)):
        casework.define_program(
            {
                "code": code,
                "name": f"Program {code}",
                "opd": opd,
                "funding": "APBN",
                "kind": "bansos",
                "rules": {"combinable_with": [c for c in ("PKH", "ZAKAT") if c != code]},
                "effective_from": "2025-01-01",
                "yearly_target": target,
            },
            META,
            alongside=("PKH", "ZAKAT"),  # defined together, each listing the other
        )
    ids = {}
    for key, kk, kecamatan, kelurahan, nik in (
        ("siti", "1571010101200003", "Telanaipura", "Simpang IV Sipin", SITI),
        ("ani", "1571010101200004", "Pelayangan", "Tahtul Yaman", ANI),
        ("dewi", "1571010101200005", "Telanaipura", "Simpang IV Sipin", DEWI),
    ):
        ids[key] = str(
            casework.register_household(
                _household(kk, kecamatan, kelurahan, nik, key.title()), META
            ).stream_id
        )
    benefits = {}
    for key, nik, program in (
        ("siti", SITI, "PKH"),
        ("siti", SITI, "ZAKAT"),
        ("ani", ANI, "ZAKAT"),
        ("dewi", DEWI, "PKH"),
    ):
        stored = casework.execute(
            "GrantBenefit",
            {
                "household_id": ids[key],
                "nik": nik,
                "program": program,
                "period_start": "2026-01-01",
                "period_end": RUNS_UNTIL,
                "amount": 1_200_000,
            },
            META,
        )
        benefits[(key, program)] = [
            b for b in casework.get_household(ids[key]).benefits.values() if b["program"] == program
        ][0]["benefit_id"]
        assert stored.stream_id
    siti_pkh = {"household_id": ids["siti"], "benefit_id": benefits[("siti", "PKH")]}
    why = make_meta(SYSTEM, "api", reason="menunggu verifikasi")
    casework.execute(
        "SuspendBenefit",
        {**siti_pkh, "effective_date": "2026-03-01", "reason_code": "other"},
        why,
    )
    casework.execute(
        "ResumeBenefit",
        {**siti_pkh, "effective_date": "2026-05-01", "reason_code": "other"},
        why,
    )
    casework.execute(
        "TerminateBenefit",
        {
            "household_id": ids["dewi"],
            "benefit_id": benefits[("dewi", "PKH")],
            "effective_date": "2026-07-01",
            "reason_code": "graduated",
        },
        META,
    )
    project(web)
    return ids


def test_the_overview_its_exports_and_the_overlaps(web, tokens, world):
    client = authorized_client(web, tokens["sup1"])
    answer = client.get("/api/v1/overview").json
    programs = {p["program"]: p for p in answer["programs"]}
    assert programs["PKH"]["families"] == 1  # Dewi's ended; Siti's runs again
    assert programs["PKH"]["yearly_target"] == 4 and programs["PKH"]["progress"] == 0.25
    assert programs["ZAKAT"]["families"] == 2 and programs["ZAKAT"]["progress"] is None
    assert {o["opd"]: o["families"] for o in answer["opds"]} == {"BAZNAS": 2, "DINSOS": 1}
    assert {(r["kelurahan"], r["program"]): r["families"] for r in answer["rows"]} == {
        ("Simpang IV Sipin", "PKH"): 1,
        ("Simpang IV Sipin", "ZAKAT"): 1,
        ("Tahtul Yaman", "ZAKAT"): 1,
    }
    sipin = client.get("/api/v1/overview", query_string={"kelurahan": "Simpang IV Sipin"}).json
    assert sipin["filters"]["kecamatan"] == "Telanaipura"
    assert {p["program"]: p["families"] for p in sipin["programs"]} == {"PKH": 1, "ZAKAT": 1}

    workbook = load_workbook(io.BytesIO(client.get("/api/v1/overview.xlsx").data))
    rows = list(workbook["rows"].iter_rows(values_only=True))
    assert rows[0] == ROW_HEADER
    assert [list(r) for r in rows[1:]] == [[r[k] for k in ROW_HEADER] for r in answer["rows"]]
    csv = client.get("/api/v1/overview.csv").get_data(as_text=True)
    assert csv.count("\r\n") == 1 + len(answer["rows"])

    overlaps = client.get("/api/v1/overlaps").json
    assert overlaps["programs"] == ["PKH", "ZAKAT"]
    assert overlaps["matrix"] == [[1, 1], [1, 2]]  # Siti holds both
    sheet = load_workbook(io.BytesIO(client.get("/api/v1/overlaps.xlsx").data))["matrix"]
    assert [list(r) for r in sheet.iter_rows(values_only=True)] == [
        ["program", "PKH", "ZAKAT"],
        ["PKH", 1, 1],
        ["ZAKAT", 1, 2],
    ]

    monthly = client.get("/api/v1/overview/monthly", query_string={"program": "PKH"}).json
    months = of_2026({m["month"]: m["families"] for m in monthly["series"][0]["months"]})
    # Siti: every month but March and April (suspended March 1, resumed May 1); Dewi: January
    # to June (terminated July 1)
    assert months == {f"2026-{m:02d}": 2 if m in (1, 2, 5, 6) else 1 for m in range(1, 13)}
    bad = client.get("/api/v1/overview", query_string={"kelurahan": "Atlantis"})
    assert bad.status_code == 422 and bad.json["codes"] == {"kelurahan": ["kelurahan.unknown"]}


def test_each_role_reads_its_share(web, tokens, world):
    baznas = authorized_client(web, tokens["pm_baznas"])
    answer = baznas.get("/api/v1/overview").json
    assert {r["opd"] for r in answer["rows"]} == {"BAZNAS"}  # the rows of their OPD
    assert {p["opd"] for p in answer["programs"]} == {"BAZNAS", "DINSOS"}  # every total
    refused = baznas.get("/api/v1/overview", query_string={"opd": "DINSOS"})
    assert refused.status_code == 403 and refused.json["codes"] == {"opd": ["auth.opd"]}

    worker = authorized_client(web, tokens["cw_sipin"])
    own = worker.get("/api/v1/overview").json  # their kelurahan when they name none
    assert own["filters"]["kelurahan"] == "Simpang IV Sipin"
    assert {r["kelurahan"] for r in own["rows"]} == {"Simpang IV Sipin"}
    assert (
        worker.get("/api/v1/overview", query_string={"kecamatan": "Telanaipura"}).status_code == 403
    )
    assert (
        worker.get("/api/v1/overlaps", query_string={"kelurahan": "Tahtul Yaman"}).status_code
        == 403
    )
    mine = worker.get("/api/v1/overlaps", query_string={"kelurahan": "Simpang IV Sipin"}).json
    assert mine["matrix"] == [[1, 1], [1, 1]]
    assert authorized_client(web, tokens["agency"]).get("/api/v1/overview").status_code == 403


def test_one_nik_all_aid_from_every_opd_with_its_history(web, tokens, world):
    client = authorized_client(web, tokens["auditor"])
    results = client.get(f"/api/v1/persons/{SITI}/benefits").json["results"]
    by_program = {b["program"]: b for b in results}
    assert {(p, b["opd"]) for p, b in by_program.items()} == {
        ("PKH", "DINSOS"),
        ("ZAKAT", "BAZNAS"),
    }
    steps = [(s["change"], s["effective_date"], s["reason"]) for s in by_program["PKH"]["history"]]
    assert steps == [
        ("granted", "2026-01-01", None),
        ("suspended", "2026-03-01", "menunggu verifikasi"),
        ("resumed", "2026-05-01", "menunggu verifikasi"),
    ]
    ended = client.get(f"/api/v1/persons/{DEWI}/benefits").json["results"][0]
    assert ended["status"] == "terminated"
    assert ended["history"][-1]["reason_code"] == "graduated"


def test_a_person_who_moved_out_is_known_with_no_benefit(web, tokens, world):
    """One whose only membership ended (moved out) is a person the system knows: no aid is
    an empty list, not 404 "this NIK is not recorded"."""
    casework = web.extensions["casework"].casework
    child = nik_for("157101", dt.date(2010, 6, 1), "F", 41)
    person = {"nik": child, "name": "Putri", "birth_date": "2010-06-01", "sex": "F"}
    add = {"household_id": world["ani"], "person": person, "relationship": "anak"}
    casework.add_member(add, META)
    client = authorized_client(web, tokens["auditor"])
    assert client.get(f"/api/v1/persons/{child}/benefits").json == {"results": []}
    casework.remove_member(
        {
            "household_id": world["ani"],
            "nik": child,
            "kind": "moved_out",
            "effective_date": "2026-02-01",
        },
        META,
    )
    moved = client.get(f"/api/v1/persons/{child}/benefits")
    assert moved.status_code == 200 and moved.json == {"results": []}
    stranger = nik_for("157101", dt.date(2011, 6, 1), "F", 42)
    unknown = client.get(f"/api/v1/persons/{stranger}/benefits")
    assert unknown.status_code == 404 and unknown.json["codes"] == {"nik": ["nik.unknown"]}


def test_the_page_in_indonesian_with_its_charts(web, world):
    page = web.test_client(user="sup1").get("/lintas-opd?lang=id")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Program lintas OPD" in html
    assert "<polyline" in html and "<progress" in html and "heat-5" in html
    # the monthly chart's axes in words: months by name, the count it draws named
    chart = html.split('id="monthly-title"')[1].split("</svg>")[0]
    months = [
        m for m in re.findall(r'font-size="\d+"[^>]*>([^<]+)</text>', chart) if m != "Keluarga"
    ]
    assert ">Keluarga</text>" in chart
    # its words as big as the page's small print, the chart drawn at its own size (a phone
    # scrolls it): at 11 px they were too small to read
    assert min(int(size) for size in re.findall(r'font-size="(\d+)"', chart)) >= 14
    svg = re.search(r'<svg class="chart" width="(\d+)"[^>]*viewBox="\S+ \S+ (\d+)', chart)
    assert svg and svg.group(1) == svg.group(2)
    assert months and all(re.fullmatch(r"[A-Z][a-z]{2} \d{4}", m) for m in months if m[0].isalpha())
    assert not any(re.fullmatch(r"\d{4}-\d{2}", m) for m in months), months
    assert "Unduh XLSX" in html
    download = web.test_client(user="sup1").get("/lintas-opd/irisan.xlsx")
    assert load_workbook(io.BytesIO(download.data))["Pasangan program"].max_row == 4  # 3 pairs
    assert web.test_client(user="pm_baznas").get("/lintas-opd?opd=DINSOS").status_code == 403


def test_a_program_managers_opd_filter_offers_only_their_own_opd(web, world):
    # another OPD's filter answers 403 (above): the list does not offer it; others see all
    def offered(user: str) -> list[str]:
        html = web.test_client(user=user).get("/lintas-opd?lang=id").get_data(as_text=True)
        select = html.split('<select id="f-opd"', 1)[1].split("</select>", 1)[0]
        return re.findall(r'<option value="([^"]+)"', select)

    assert offered("pm_baznas") == ["BAZNAS"]
    assert "DINSOS" in offered("sup1") and "BAZNAS" in offered("sup1")


def test_a_case_workers_area_filters_offer_only_what_they_may_read(web, world):
    """A case worker reads their kelurahan only (a whole kecamatan or another kelurahan
    answers 403): the filters of /lintas-opd, /rekonsiliasi and the registration form offer
    nothing else, and each choice offered opens."""

    def options(html: str, select: str) -> list[str]:
        if f'<select id="{select}"' not in html:
            return []
        part = html.split(f'<select id="{select}"', 1)[1].split("</select>", 1)[0]
        return re.findall(r'<option value="([^"]*)"', part)

    casework = web.extensions["casework"].casework
    siti = casework.get_household(world["siti"])
    casework.execute(
        "RecordSourceListing",
        {
            "household_id": world["siti"],
            "source": "DTSEN",
            "period": "2026-Q1",
            "reference": "dtsen.csv#row=2",
            "kk_number": siti.kk_number,
            "members": [{"nik": SITI, "relationship": HEAD, "deceased": False}],
            "desil": 2,
            "benefits": [],
        },
        make_meta(SYSTEM, "import:test"),
    )
    project(web)
    worker = web.test_client(user="cw_sipin")
    for path in ("/lintas-opd", "/rekonsiliasi"):
        html = worker.get(path, query_string={"lang": "id"}).get_data(as_text=True)
        assert options(html, "f-kecamatan") == [], path
        assert options(html, "f-kelurahan") == ["Simpang IV Sipin"], path
        chosen = worker.get(path, query_string={"kelurahan": "Simpang IV Sipin"})
        assert chosen.status_code == 200, path
    # the count of their kecamatan is shown, not linked (the whole kecamatan is 403)
    html = worker.get("/rekonsiliasi?lang=id").get_data(as_text=True)
    assert '<th scope="row">Telanaipura</th>' in html
    assert 'href="/rekonsiliasi?kecamatan=' not in html
    form = worker.get("/daftar?lang=id").get_data(as_text=True)
    assert options(form, "f-kecamatan")[1:] == ["Telanaipura"]
    kelurahan = worker.get("/wilayah/kelurahan", query_string={"kecamatan": "Telanaipura"})
    assert options(kelurahan.get_data(as_text=True), "f-kelurahan")[1:] == ["Simpang IV Sipin"]
    # the city's supervisors still choose among every kecamatan and kelurahan
    html = web.test_client(user="sup1").get("/rekonsiliasi?lang=id").get_data(as_text=True)
    assert len(options(html, "f-kecamatan")) == 12 and "" in options(html, "f-kelurahan")
    assert 'href="/rekonsiliasi?kecamatan=Telanaipura"' in html


def test_the_pages_downloads_hold_what_the_api_answers(web, tokens, world):
    """The cross-OPD page's CSV and XLSX and its overlap CSV (what a program manager
    downloads) hold the rows and pairs the API answers, for the whole city and for one
    kelurahan."""
    api = authorized_client(web, tokens["sup1"])
    page = web.test_client(user="sup1")

    def rows_of(text: str) -> list[list[str]]:
        return list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))

    for query in ({}, {"kelurahan": "Simpang IV Sipin"}):
        answer = api.get("/api/v1/overview", query_string=query).json
        expected = [[str(r[k]) for k in ROW_HEADER] for r in answer["rows"]]
        assert expected  # the world has benefits in both
        sheet = rows_of(page.get("/lintas-opd.csv", query_string=query).get_data(as_text=True))
        assert sheet[1:] == expected
        book = load_workbook(io.BytesIO(page.get("/lintas-opd.xlsx", query_string=query).data))
        assert [list(r) for r in book["Per kelurahan"].iter_rows(values_only=True)][1:] == [
            [r[k] for k in ROW_HEADER] for r in answer["rows"]
        ]

        matrix = api.get("/api/v1/overlaps", query_string=query).json
        programs = matrix["programs"]
        pairs = rows_of(
            page.get("/lintas-opd/irisan.csv", query_string=query).get_data(as_text=True)
        )
        for a, b, families in pairs[1:]:
            assert int(families) == matrix["matrix"][programs.index(a)][programs.index(b)]
        api_pairs = api.get("/api/v1/overlaps.csv", query_string=query).get_data(as_text=True)
        assert rows_of(api_pairs)[1:] == pairs[1:]


def test_the_pages_downloads_speak_the_pages_language_and_the_apis_keep_their_names(
    web, tokens, world
):
    """The cross-OPD page's CSV and XLSX are headed (sheets and columns) in the page's
    language, Bahasa Indonesia unless the person chose English; program codes and areas stay
    as they are. The API's files keep the names their clients read (README, OpenAPI)."""
    page = web.test_client(user="sup1")

    def csv_rows(response) -> list[list[str]]:
        return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))

    def book(response) -> dict[str, list[tuple]]:
        workbook = load_workbook(io.BytesIO(response.data))
        return {name: list(workbook[name].values) for name in workbook.sheetnames}

    page.get("/lintas-opd?lang=id")
    rows = csv_rows(page.get("/lintas-opd.csv"))
    assert rows[0] == [
        "OPD pelaksana",
        "Program",
        "Kecamatan",
        "Kelurahan",
        "Keluarga",
        "Jiwa",
        "Nilai (seluruh periode)",
        "Nilai per bulan",
    ]
    assert ["BAZNAS", "ZAKAT", "Telanaipura", "Simpang IV Sipin"] in [r[:4] for r in rows]
    sheets = book(page.get("/lintas-opd.xlsx"))
    assert list(sheets) == ["Per kelurahan", "Per program", "Per OPD"]
    assert sheets["Per program"][0][:3] == ("OPD pelaksana", "Program", "Nama program")
    assert "Bagian target yang tercapai" in sheets["Per program"][0]
    pairs = csv_rows(page.get("/lintas-opd/irisan.csv"))
    assert pairs[0] == ["Program A", "Program B", "Keluarga di keduanya"]
    assert ["PKH", "ZAKAT", "1"] in pairs
    sheets = book(page.get("/lintas-opd/irisan.xlsx"))
    assert list(sheets) == ["Pasangan program", "Matriks irisan program"]
    assert sheets["Matriks irisan program"][0] == ("Program", "PKH", "ZAKAT")

    page.get("/lintas-opd?lang=en")
    assert csv_rows(page.get("/lintas-opd.csv"))[0][4:] == [
        "Families",
        "Persons",
        "Amount (whole periods)",
        "Amount per month",
    ]
    sheets = book(page.get("/lintas-opd.xlsx"))
    assert list(sheets) == ["Per kelurahan", "Per program", "Per OPD"]
    assert sheets["Per program"][0][-1] == "Share of the target reached"
    assert csv_rows(page.get("/lintas-opd/irisan.csv"))[0] == [
        "Program A",
        "Program B",
        "Families in both",
    ]
    assert list(book(page.get("/lintas-opd/irisan.xlsx"))) == ["Program pairs", "Overlap matrix"]

    # the API's files, asked in either language, keep their machine names
    api = authorized_client(web, tokens["sup1"])
    for language in ("id", "en"):
        asked = {"headers": {"Accept-Language": language}}
        assert csv_rows(api.get("/api/v1/overview.csv", **asked))[0] == list(ROW_HEADER)
        assert ROW_HEADER[:4] == ("opd", "program", "kecamatan", "kelurahan")
        sheets = book(api.get("/api/v1/overview.xlsx", **asked))
        assert list(sheets) == ["rows", "programs", "opds"]
        assert sheets["programs"][0][-3:] == ("yearly_target", "city_families", "progress")
        assert csv_rows(api.get("/api/v1/overlaps.csv", **asked))[0] == list(PAIR_HEADER)
        assert PAIR_HEADER == ("program_a", "program_b", "families")
        sheets = book(api.get("/api/v1/overlaps.xlsx", **asked))
        assert list(sheets) == ["pairs", "matrix"] and sheets["matrix"][0][0] == "program"


def test_a_program_manager_reads_no_other_opds_figures_per_area(web, tokens, world):
    """A program manager reads every OPD's city-wide totals, but asked for a kecamatan or a
    kelurahan, only their own OPD's programs: another OPD's families in each kelurahan would
    rebuild the rows per kelurahan they may not read."""
    baznas = authorized_client(web, tokens["pm_baznas"])
    city = baznas.get("/api/v1/overview").json
    assert {p["program"] for p in city["programs"]} == {"PKH", "ZAKAT"}
    for area in ({"kelurahan": "Simpang IV Sipin"}, {"kecamatan": "Telanaipura"}):
        answer = baznas.get("/api/v1/overview", query_string=area).json
        assert {p["program"]: p["families"] for p in answer["programs"]} == {"ZAKAT": 1}
        assert {o["opd"] for o in answer["opds"]} == {"BAZNAS"}
        pairs = baznas.get("/api/v1/overlaps", query_string=area).json
        assert pairs["programs"] == ["ZAKAT"] and pairs["matrix"] == [[1]]
        series = baznas.get("/api/v1/overview/monthly", query_string=area).json["series"]
        assert [s["program"] for s in series] == ["ZAKAT"]
        page = web.test_client(user="pm_baznas")
        sheet = page.get("/lintas-opd/irisan.csv", query_string=area).get_data(as_text=True)
        assert "PKH" not in sheet and "ZAKAT,ZAKAT,1" in sheet
        book = load_workbook(io.BytesIO(page.get("/lintas-opd.xlsx", query_string=area).data))
        programs = book["Per program"].iter_rows(min_row=2, values_only=True)
        assert {r[1] for r in programs} == {"ZAKAT"}
        html = page.get("/lintas-opd", query_string=area).get_data(as_text=True)
        assert "PKH" not in html
    # a supervisor still reads every OPD's figures at any area
    supervisor = authorized_client(web, tokens["sup1"])
    sipin = supervisor.get("/api/v1/overlaps", query_string={"kelurahan": "Simpang IV Sipin"})
    assert sipin.json["programs"] == ["PKH", "ZAKAT"]


def test_bad_filters_are_named_on_every_form(web, tokens, world):
    """An OPD no program belongs to, a program that does not exist and a kelurahan Kota Jambi
    has not: each answer names the field asked, on the API, the page and its downloads; a
    caseworker's kelurahan outside their area is refused with what to do."""
    api = authorized_client(web, tokens["sup1"])
    nobody = api.get("/api/v1/overview", query_string={"opd": "NOPE"})
    assert nobody.status_code == 422 and nobody.json["codes"] == {"opd": ["opd.unknown"]}
    missing = api.get("/api/v1/overview/monthly", query_string={"program": "NOPE"})
    assert missing.status_code == 404 and missing.json["codes"] == {
        "program": ["program.not_found"]
    }
    page = web.test_client(user="sup1")
    for path in ("/lintas-opd.csv", "/lintas-opd.xlsx", "/lintas-opd/irisan.csv"):
        bad = page.get(path, query_string={"kelurahan": "Atlantis", "lang": "id"})
        text = bad.get_data(as_text=True)
        assert bad.status_code == 422 and "Kelurahan:" in text, path
        assert "Muat ulang halaman" not in text  # not the unreadable-request page
    mismatch = page.get(
        "/lintas-opd", query_string={"kecamatan": "Telanaipura", "kelurahan": "Tahtul Yaman"}
    )
    html = mismatch.get_data(as_text=True)
    # the message stands under the kelurahan it is about, which says so to screen readers
    assert mismatch.status_code == 422 and 'id="f-kelurahan-error"' in html
    assert 'aria-describedby="f-kelurahan-error"' in html and 'id="f-opd-error"' not in html
    worker = web.test_client(user="cw_sipin")
    outside = worker.get("/lintas-opd", query_string={"kelurahan": "Tahtul Yaman", "lang": "id"})
    text = outside.get_data(as_text=True)
    assert outside.status_code == 403 and "di luar wilayah" in text
    assert "Halaman ini untuk" not in text  # their role may open the page; the area may not


def test_a_family_that_moves_leaves_its_past_months_where_they_were(web, tokens, world):
    """The month-by-month series keeps each month in the kelurahan where the family lived on
    its first day: Ani's family moves on 15 July; January to July stay in Tahtul Yaman, August
    on count in Simpang IV Sipin, and the current counts follow the family."""
    casework = web.extensions["casework"].casework
    casework.execute(
        "RelocateHousehold",
        {
            "household_id": world["ani"],
            "kecamatan": "Telanaipura",
            "kelurahan": "Simpang IV Sipin",
            "address": "Jl. Pindahan No. 2",
            "rt": "003",
            "rw": "001",
            "moved_on": "2026-07-15",
        },
        META,
    )
    project(web)
    client = authorized_client(web, tokens["sup1"])

    def zakat_months(kelurahan: str) -> dict[str, int]:
        query = {"program": "ZAKAT", "kelurahan": kelurahan}
        series = client.get("/api/v1/overview/monthly", query_string=query).json["series"]
        return of_2026({m["month"]: m["families"] for s in series for m in s["months"]})

    assert zakat_months("Tahtul Yaman") == {f"2026-{m:02d}": 1 for m in range(1, 8)}
    # Siti's ZAKAT all year, Ani's from August
    assert zakat_months("Simpang IV Sipin") == {
        f"2026-{m:02d}": 2 if m >= 8 else 1 for m in range(1, 13)
    }
    city = client.get("/api/v1/overview/monthly", query_string={"program": "ZAKAT"}).json
    assert of_2026({m["month"]: m["families"] for m in city["series"][0]["months"]}) == {
        f"2026-{m:02d}": 2 for m in range(1, 13)
    }
    rows = client.get("/api/v1/overview").json["rows"]
    assert {(r["kelurahan"], r["program"]): r["families"] for r in rows} == {
        ("Simpang IV Sipin", "PKH"): 1,
        ("Simpang IV Sipin", "ZAKAT"): 2,
    }


def test_a_benefit_counts_as_current_only_within_its_period(web, tokens, world):
    """Rina's family in Pasir Putih received ZAKAT last year (its period has ended, nothing
    terminated it) and will receive PKH from next month: neither is a current benefit. The
    totals, the rows, the OPDs' families, the target's progress and the overlap matrix are
    the world's as before; the month-by-month chart shows the ended ZAKAT in its months only,
    and its month of today equals the current count."""
    casework = web.extensions["casework"].casework
    today = city_today()
    rina = nik_for("157101", dt.date(1985, 3, 12), "F", 51)
    household_id = str(
        casework.register_household(
            _household("1571010101200006", "Jambi Selatan", "Pasir Putih", rina, "Rina"), META
        ).stream_id
    )
    last_year = today.year - 1
    next_month = dt.date(today.year + (today.month == 12), today.month % 12 + 1, 1)
    for program, start, end in (
        ("ZAKAT", f"{last_year}-01-01", f"{last_year}-12-31"),
        ("PKH", next_month.isoformat(), f"{next_month.year + 1}-12-31"),
    ):
        grant = {"household_id": household_id, "nik": rina, "program": program}
        grant |= {"period_start": start, "period_end": end, "amount": 1_200_000}
        casework.execute("GrantBenefit", grant, META)
    project(web)
    client = authorized_client(web, tokens["sup1"])

    answer = client.get("/api/v1/overview").json
    programs = {p["program"]: p for p in answer["programs"]}
    assert (programs["PKH"]["families"], programs["PKH"]["progress"]) == (1, 0.25)
    assert programs["ZAKAT"]["families"] == 2
    assert programs["ZAKAT"]["amount"] == 2 * 1_200_000
    assert {o["opd"]: o["families"] for o in answer["opds"]} == {"BAZNAS": 2, "DINSOS": 1}
    assert {r["kelurahan"] for r in answer["rows"]} == {"Simpang IV Sipin", "Tahtul Yaman"}
    pasir = client.get("/api/v1/overview", query_string={"kelurahan": "Pasir Putih"}).json
    assert (pasir["programs"], pasir["opds"], pasir["rows"]) == ([], [], [])
    csv_rows = client.get("/api/v1/overview.csv").get_data(as_text=True)
    assert "Pasir Putih" not in csv_rows
    assert client.get("/api/v1/overlaps").json["matrix"] == [[1, 1], [1, 2]]
    assert (
        client.get("/api/v1/overlaps", query_string={"kelurahan": "Pasir Putih"}).json["pairs"]
        == []
    )

    monthly = client.get("/api/v1/overview/monthly", query_string={"kelurahan": "Pasir Putih"})
    series = {s["program"]: s["months"] for s in monthly.json["series"]}
    assert [m["month"] for m in series["ZAKAT"]] == [f"{last_year}-{m:02d}" for m in range(1, 13)]
    assert series["PKH"][0]["month"] == next_month.isoformat()[:7]
    city = client.get("/api/v1/overview/monthly", query_string={"program": "ZAKAT"}).json
    now = {m["month"]: m["families"] for m in city["series"][0]["months"]}
    assert now.get(today.isoformat()[:7], 0) == programs["ZAKAT"]["families"]

    # the page says what it counts, and of which day; Rina's kelurahan has nothing running
    html = web.test_client(user="sup1").get("/lintas-opd?lang=id").get_data(as_text=True)
    months = (
        "Januari Februari Maret April Mei Juni Juli Agustus September Oktober November Desember"
    ).split()
    day = f"{today.day} {months[today.month - 1]} {today.year}"
    assert f"bantuan yang berjalan hari ini, {day}" in html
    assert "Setiap sel: keluarga yang hari ini menerima bantuan berjalan dari kedua" in html
    pasir_page = web.test_client(user="sup1").get(
        "/lintas-opd", query_string={"lang": "id", "kelurahan": "Pasir Putih"}
    )
    programs_part = pasir_page.get_data(as_text=True).split('id="programs-title"')[1]
    programs_part = programs_part.split("</section>")[0]
    assert "Belum ada bantuan yang berjalan di sini." in programs_part
