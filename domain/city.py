"""The city this register serves: its time zone, its calendar day, the data controller."""

from __future__ import annotations

import datetime as dt

from domain.texts import N_

WIB = dt.timezone(dt.timedelta(hours=7), "WIB")  # Waktu Indonesia Barat, Kota Jambi's time
TIMEZONE = "Asia/Jakarta"  # WIB by its tz database name (Babel's formatting)


# The data controller under UU PDP (an English msgid; the catalogs hold the Indonesian).
CONTROLLER = N_("Jambi City Government — Social Affairs Office (Dinas Sosial)")


def today() -> dt.date:
    """Today in Kota Jambi (WIB, UTC+7)."""
    return dt.datetime.now(WIB).date()
