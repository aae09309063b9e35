"""The register view holds no name, birth date or address in clear, finds a household by the
keyed hashes of its members' name words and word prefixes, and every search a user waits for
reads an index (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from adapters import wire
from app.seed import seed_app
from app.seed_data import generate_households, kk_for, nik_for
from domain.application import SYSTEM, make_meta
from projections import register
from projections.base import apply_batch, live_tables, reveal
from projections.catalog import PROJECTIONS
from tests.integration.conftest import authorized_client

pytestmark = pytest.mark.integration

REGION = "157101"


def person(name: str, born: dt.date, sex: str, serial: int) -> dict:
    return {
        "nik": nik_for(REGION, born, sex, serial),
        "name": name,
        "birth_date": born.isoformat(),
        "sex": sex,
    }


SITI = person("Siti Aminah", dt.date(1985, 3, 12), "F", 1)
BUDI = person("Budi Santoso", dt.date(1982, 4, 10), "M", 2)
DEDI = person("Dédi Nur'aini SANTOSO", dt.date(1979, 1, 5), "M", 3)
AMINAH = person("Aminah Rahmawati", dt.date(1990, 6, 1), "F", 4)


def project(web, projections=(register.PROJECTION,)) -> None:
    """Apply everything stored to these views, as the projection runner would."""
    svc = web.extensions["casework"]
    casework = svc.casework
    notifications = casework.recorder.select_notifications(start=1, limit=100_000)
    envelopes = [
        reveal(casework.codec, wire.from_notification(casework, n, "1571", sealed=True))
        for n in notifications
    ]
    for projection in projections:
        apply_batch(svc.views, projection, envelopes)


def register_family(
    casework, serial: int, head: dict, others: list[dict], relationship: str
) -> str:
    """A household in Simpang IV Sipin (KK and address by `serial`), its head and the others
    added with this relationship; its id."""
    meta = make_meta(SYSTEM, "api")
    stored = casework.register_household(
        {
            "kk_number": kk_for(REGION, dt.date(2010, 1, serial), serial),
            "kecamatan": "Telanaipura",
            "kelurahan": "Simpang IV Sipin",
            "address": f"Jl. Kenanga No. {serial}",
            "rt": "001",
            "rw": "002",
            "head": head,
        },
        meta,
    )
    for other in others:
        casework.add_member(
            {"household_id": stored.stream_id, "person": other, "relationship": relationship},
            meta,
        )
    return stored.stream_id


def move_to_teluk_kenali(casework, household_id: str) -> None:
    """The household moves from Simpang IV Sipin to Teluk Kenali (same kecamatan)."""
    casework.execute(
        "RelocateHousehold",
        {
            "household_id": household_id,
            "kecamatan": "Telanaipura",
            "kelurahan": "Teluk Kenali",
            "address": "Jl. Arif Rahman Hakim No. 12",
            "rt": "003",
            "rw": "001",
            "moved_on": "2025-06-01",
        },
        make_meta(SYSTEM, "api"),
    )


def families(web) -> dict[str, str]:
    """Three households, registered in this order: Siti Aminah with Budi Santoso, then Dédi
    Nur'aini Santoso, then Aminah Rahmawati. Their ids by head."""
    casework = web.extensions["casework"].casework
    ids = {}
    for serial, (head, others) in enumerate(((SITI, [BUDI]), (DEDI, []), (AMINAH, [])), 1):
        ids[head["name"]] = register_family(casework, serial, head, others, "suami")
    project(web)
    return ids


def found(client, query: str, **paging: int) -> list[str]:
    extra = "".join(f"&{key}={value}" for key, value in paging.items())
    response = client.get(f"/api/v1/households?q={query}{extra}")
    assert response.status_code == 200, response.json
    return [household["id"] for household in response.json["results"]]


def test_a_name_is_found_by_its_words_and_their_beginnings(web, admin_token):
    ids = families(web)
    siti, dedi, aminah = ids[SITI["name"]], ids[DEDI["name"]], ids[AMINAH["name"]]
    client = authorized_client(web, admin_token)

    assert found(client, "santoso") == [dedi, siti]  # a whole word; the newest first
    assert found(client, "san") == [dedi, siti]  # a word's first 3 letters or more
    assert found(client, "aminah") == [aminah, siti]
    assert found(client, "aminah%20siti") == [siti]  # every word, in any order
    assert found(client, "SITI%20am%C3%ADn") == [siti]  # case and accents aside
    assert found(client, "dedi%20nuraini") == [dedi]  # the accent and apostrophe of the name
    assert found(client, "nur%27ai") == [dedi]
    # never inside a word, nor by fewer than 3 letters, nor by two members' words together
    for query in ("minah", "ntoso", "sa", "siti%20budi", "aminahx"):
        assert found(client, query) == [], query
    # pages, in the same stable order
    assert [found(client, "santoso", limit=1, offset=n) for n in (0, 1, 2)] == [[dedi], [siti], []]
    # what is shown is opened from the tokens
    [household] = client.get("/api/v1/households?q=rahmawati").json["results"]
    assert household["address"] == "Jl. Kenanga No. 3"
    assert [(m["name"], m["birth_date"]) for m in household["members"]] == [
        (AMINAH["name"], AMINAH["birth_date"])
    ]
    page = web.test_client().get("/?q=budi+santoso")
    assert page.status_code == 200 and SITI["name"] in page.get_data(as_text=True)


def plan(views, statement: str, params: list) -> str:
    """The database's plan for a statement: on PostgreSQL with sequential scans priced out,
    so that a plan without an index shows (a table of three rows is scanned otherwise)."""
    if views.kind == "sqlite":
        rows = views.query(f"EXPLAIN QUERY PLAN {statement}", params)
        return "\n".join(str(row[-1]) for row in rows)
    with views.transaction() as cur:
        cur.execute("SET LOCAL enable_seqscan = off")
        rows = cur.execute(f"EXPLAIN {statement}", params).fetchall()
    return "\n".join(row[0] for row in rows)


def test_the_searches_by_name_nik_and_kk_read_indexes(web):
    families(web)
    svc = web.extensions["casework"]
    views, casework = svc.views, svc.casework
    tables = live_tables(views, register.PROJECTION)
    searches = {
        "name": {"q": "siti amin", "name_key": casework.name_key},
        "nik": {"nik_hash": casework.nik_key(SITI["nik"])},
        "kk": {"kk_hash": casework.kk_key(kk_for(REGION, dt.date(2010, 1, 1), 1))},
    }
    scanned = "|".join(
        tables[name] for name in ("households", "members", "name_terms", "kk_numbers")
    )
    full_scan = re.compile(rf"\b(SCAN|Seq Scan on) ({scanned})\b")
    for what, criteria in searches.items():
        statement, params = register.search_query(views, **criteria)
        shown = plan(views, statement, params)
        assert not full_scan.search(shown), f"{what}: {shown}"
        assert "USING" in shown or "Index" in shown, f"{what}: {shown}"
        assert len(register.search(views, **criteria)) == 1, what


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_views_file_holds_no_name_or_street_address_in_clear(web, backend, tmp_path):
    seed_app(web.extensions["casework"].casework, 8, history=False)
    project(web, PROJECTIONS.values())
    web.extensions["casework"].views.close()
    seeded = list(generate_households(8))
    names = [f["register"]["head"]["name"] for f in seeded] + [
        m["person"]["name"] for f in seeded for m in f["members"]
    ]
    addresses = [f["register"]["address"] for f in seeded]
    # long enough that no ciphertext (base64) or hash (hex) holds them by chance
    secrets = [text for text in names + addresses if " " in text or len(text) >= 8]
    assert len(secrets) >= 10
    raw = b"".join(path.read_bytes() for path in Path(tmp_path).glob("views.db*") if path.is_file())
    assert seeded[0]["register"]["kelurahan"].encode() in raw  # what is in clear is read
    leaked = [
        text
        for text in secrets
        for form in {text, text.lower(), text.upper()}
        if form.encode() in raw
    ]
    assert leaked == []
    # birth dates: none but in the eligibility view's facts, which its rules read
    births = {m["person"]["birth_date"] for f in seeded for m in f["members"]}
    births |= {f["register"]["head"]["birth_date"] for f in seeded}
    views = web.extensions["casework"].views
    tables = [
        row[0]
        for row in views.query("SELECT name FROM sqlite_master WHERE type='table'")
        if not row[0].startswith("eligibility_")
    ]
    cells = [
        str(value)
        for table in tables
        for row in views.query(f"SELECT * FROM {table}")
        for value in row
        if value is not None
    ]
    assert [cell for cell in cells if any(born in cell for born in births)] == []


def test_a_search_in_an_area_finds_a_family_where_it_lives_now(web):
    """A case worker's search reads the name index of their kelurahan: a family that moved is
    found in its new kelurahan, no longer in the old one, and the newest family comes first."""
    ids = families(web)
    svc = web.extensions["casework"]
    move_to_teluk_kenali(svc.casework, ids[SITI["name"]])
    project(web)

    def area(query: str, *kelurahan: str) -> list[str]:
        return [
            h["id"]
            for h in register.search(
                svc.views, q=query, kelurahan_in=kelurahan, name_key=svc.casework.name_key
            )
        ]

    assert area("santoso", "Teluk Kenali") == [ids[SITI["name"]]]
    assert area("santoso", "Simpang IV Sipin") == [ids[DEDI["name"]]]
    assert area("santoso", "Simpang IV Sipin", "Teluk Kenali") == [
        ids[DEDI["name"]],
        ids[SITI["name"]],
    ]
    assert area("siti aminah", "Simpang IV Sipin") == []
    assert area("siti aminah", "Teluk Kenali") == [ids[SITI["name"]]]


def test_the_results_name_the_member_a_household_was_found_by(web):
    """A search for a member who is not the head listed only the head's name and NIK: the case
    worker could not tell which family holds the person looked for, nor why it was listed."""
    ids = families(web)
    client = web.test_client()

    def row(page: str, household_id: str) -> str:
        pattern = rf"<tr>\s*<td><a[^>]*/rumah-tangga/{household_id}.*?</tr>"
        found_row = re.search(pattern, page, re.S)
        assert found_row, f"no row for {household_id}"
        return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found_row.group(0)))

    page = client.get("/?q=budi+san").get_data(as_text=True)
    assert "Anggota yang cocok: Budi Santoso (Suami)" in row(page, ids[SITI["name"]])
    page = client.get(f"/?q={BUDI['nik']}").get_data(as_text=True)
    assert "Anggota yang cocok: Budi Santoso (Suami)" in row(page, ids[SITI["name"]])
    # the head found by their own name: said by the head column already
    page = client.get("/?q=siti").get_data(as_text=True)
    assert "Anggota yang cocok" not in row(page, ids[SITI["name"]])
    # a word matched by the head and another by a member: no member has every word
    page = client.get("/?q=santoso").get_data(as_text=True)
    assert "Anggota yang cocok: Budi Santoso (Suami)" in row(page, ids[SITI["name"]])
    assert "Anggota yang cocok" not in row(page, ids[DEDI["name"]])


def test_a_page_past_the_last_says_so_and_leads_back_not_that_nothing_exists(web):
    """A page past the last (a link kept from before, households moved away since) said "No
    household has been registered yet" or "No household matches", with no way back."""
    families(web)
    client = web.test_client()
    for path, wrong in (
        ("/?halaman=2", "Belum ada rumah tangga terdaftar"),
        ("/?q=santoso&halaman=5", "Tidak ada rumah tangga yang cocok"),
    ):
        page = client.get(path).get_data(as_text=True)
        assert "Tidak ada lagi di halaman ini." in page, path
        assert wrong not in page, path
        assert "Kembali ke halaman pertama" in page, path
    assert "Tidak ada lagi di halaman ini." not in client.get("/?q=nobodyzz").get_data(
        as_text=True
    )
