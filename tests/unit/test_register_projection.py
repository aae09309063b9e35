"""The register view follows membership changes: removals, deaths, returns, a new head."""

import datetime as dt

import pytest

from adapters.db import Database
from adapters.settings import DatabaseUrl
from adapters.wire import from_notification
from app.disclosure import disclose_household
from app.seed_data import kk_for, nik_for
from domain.application import SYSTEM, make_meta
from projections import register
from projections.base import apply_batch, ensure_schema, reveal
from tests.support.apps import memory_casework

HEAD = {
    "nik": nik_for("157101", dt.date(1980, 1, 1), "M", 1),
    "name": "Budi Santoso",
    "birth_date": "1980-01-01",
    "sex": "M",
}
WIFE = {
    "nik": nik_for("157101", dt.date(1984, 3, 2), "F", 2),
    "name": "Siti Aminah",
    "birth_date": "1984-03-02",
    "sex": "F",
}
SON = {
    "nik": nik_for("157101", dt.date(2004, 5, 6), "M", 3),
    "name": "Rizki Santoso",
    "birth_date": "2004-05-06",
    "sex": "M",
}


@pytest.fixture
def app():
    application = memory_casework()
    yield application
    application.close()


def register_family(app, meta) -> str:
    return app.register_household(
        {
            "kk_number": kk_for("157101", dt.date(2010, 1, 1), 1),
            "kecamatan": "Telanaipura",
            "kelurahan": "Telanaipura",
            "address": "Jl. Sultan Agung No. 1",
            "rt": "001",
            "rw": "002",
            "head": HEAD,
        },
        meta,
    ).stream_id


def project(app, tmp_path):
    db = Database(DatabaseUrl.parse(f"sqlite:///{tmp_path}/views.db", "CASEWORK_VIEWS"))
    ensure_schema(db, [register.PROJECTION])
    envelopes = [
        reveal(app.codec, from_notification(app, n, "1571", sealed=True))
        for n in app.recorder.select_notifications(1, 10_000)
    ]
    apply_batch(db, register.PROJECTION, envelopes)
    return db


def test_the_register_shows_member_status_and_the_new_kk(app, tmp_path):
    meta = make_meta(SYSTEM, "api")
    hid = register_family(app, meta)
    for person, rel in ((WIFE, "istri"), (SON, "anak")):
        app.add_member({"household_id": hid, "person": person, "relationship": rel}, meta)
    new_kk = kk_for("157101", dt.date(2025, 6, 1), 2)
    app.change_head({"household_id": hid, "nik": WIFE["nik"], "new_kk_number": new_kk}, meta)
    app.record_death({"household_id": hid, "nik": HEAD["nik"], "date_of_death": "2025-05-30"}, meta)
    app.remove_member(
        {
            "household_id": hid,
            "nik": SON["nik"],
            "kind": "moved_out",
            "effective_date": "2025-07-01",
        },
        meta,
    )

    shown = register.get_household(project(app, tmp_path), hid)
    assert app.codec.open(shown["kk_token"]) == new_kk
    assert shown["version"] == app.get_household(hid).version
    by_nik = {app.codec.open(m["nik_token"]): m for m in shown["members"]}
    assert by_nik[WIFE["nik"]]["relationship"] == "kepala_keluarga"
    assert by_nik[HEAD["nik"]]["status"] == "deceased"
    assert by_nik[SON["nik"]]["status"] == "moved_out"


def test_a_relocated_household_is_found_at_its_new_address(app, tmp_path):
    meta = make_meta(SYSTEM, "api")
    hid = register_family(app, meta)
    app.execute(
        "RelocateHousehold",
        {
            "household_id": hid,
            "kecamatan": "Jambi Selatan",
            "kelurahan": "Tambak Sari",
            "address": "Jl. Kol. Abunjani No. 3",
            "rt": "010",
            "rw": "004",
            "moved_on": "2025-02-01",
        },
        meta,
    )
    shown = disclose_household(app.codec, register.get_household(project(app, tmp_path), hid))
    assert (shown["kecamatan"], shown["kelurahan"], shown["address"], shown["rt"]) == (
        "Jambi Selatan",
        "Tambak Sari",
        "Jl. Kol. Abunjani No. 3",
        "010",
    )
    assert app.get_household(hid).kelurahan == "Tambak Sari"
