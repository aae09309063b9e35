"""The disclosure rules: what of a person's data an answer or a page shows.

The read models keep no NIK, KK number, name, birth date or address in clear, only tokens
(projections.register). What a page or an answer shows is opened here, with the write side's
codec (the keys of a page's tokens fetched at once: `disclose_households`); an erased person
shows as erased (`erased: true`, no NIK, name or birth date).
"""

from __future__ import annotations

from typing import Any

from adapters.codec import Codec, is_erased
from adapters.wire import rfc3339
from app.context import services
from domain.application import Casework
from domain.errors import NotFound
from domain.personal_data import FIELDS, Stored


def opened(codec: Codec, token: str | None) -> str | None:
    """The clear value of a token from a view, None when erased (or missing)."""
    if not token:
        return None
    value = codec.reveal(token)
    return None if is_erased(value) else str(value)


def kept_secret(name: str) -> bool:
    """Whether a field is stored encrypted (or as an identifier's token): shown as null once its
    person is erased (domain.personal_data.FIELDS)."""
    found = FIELDS.get(name)
    return found is not None and found.stored is not Stored.CLEAR


def masked_nik(nik: str | None) -> str | None:
    """A NIK as shown to a role that does not need it (app/read_policy.py, Nik): the first 4
    digits (the kabupaten/kota) and the last 2 kept, every other digit `*`, e.g.
    `1571**********12`; None stays None (an erased person)."""
    if not nik:
        return nik
    if len(nik) <= 6:
        return "*" * len(nik)
    return nik[:4] + "*" * (len(nik) - 6) + nik[-2:]


def disclose_member(codec: Codec, member: dict[str, Any]) -> dict[str, Any]:
    """A member row of the register view as shown: NIK, name and birth date opened, or the
    person erased."""
    nik = opened(codec, member.get("nik_token"))
    erased = bool(member.get("erased")) or nik is None
    shown = {
        "nik": nik,
        "name": opened(codec, member.get("name_token")),
        "birth_date": opened(codec, member.get("birth_date_token")),
        "sex": member["sex"],
        "relationship": member["relationship"],
        "status": member["status"],
    }
    if erased:
        shown.update({name: None for name in shown if kept_secret(name)})
    return {**shown, "restricted": bool(member.get("restricted")), "erased": erased}


# A household's fields the register view keeps as tokens, and the names they are shown by.
_SEALED_FIELDS = {"address_token": "address", "rt_token": "rt", "rw_token": "rw"}


def _tokens(row: dict[str, Any]) -> list[str | None]:
    """Every token of a household row of the register view."""
    found = [row.get("kk_token"), *(row.get(token) for token in _SEALED_FIELDS)]
    for member in row.get("members", []):
        found += [member.get(name) for name in ("nik_token", "name_token", "birth_date_token")]
    links = [row.get("split_from") or {}, *row.get("splits", [])]
    return found + [link.get("kk_token") for link in links]


def disclose_households(codec: Codec, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Households of the register view as shown (`disclose_household`), the keys of all their
    tokens fetched in one pass (and not again for each household)."""
    codec.load_keys(token for row in rows for token in _tokens(row))
    return [_disclosed(codec, row) for row in rows]


def disclose_household(codec: Codec, row: dict[str, Any]) -> dict[str, Any]:
    """A household of the register view as shown: KK number, address, NIKs, names and birth
    dates opened."""
    codec.load_keys(_tokens(row))
    return _disclosed(codec, row)


def _disclosed(codec: Codec, row: dict[str, Any]) -> dict[str, Any]:
    """`disclose_household` once its tokens' keys are loaded."""
    rest = {
        _SEALED_FIELDS.get(key, key): opened(codec, value) if key in _SEALED_FIELDS else value
        for key, value in row.items()
        if key not in ("id", "kk_token", "members")
    }

    def link(found: dict[str, Any]) -> dict[str, Any]:  # a split family's (SplitFamily)
        shown = {k: v for k, v in found.items() if k != "kk_token"}
        return {**shown, "kk_number": opened(codec, found.get("kk_token"))}

    if rest.get("split_from"):
        rest["split_from"] = link(rest["split_from"])
    if "splits" in rest:
        rest["splits"] = [link(found) for found in rest["splits"]]
    return {
        "id": row["id"],
        "kk_number": opened(codec, row.get("kk_token")),
        **rest,
        "members": [disclose_member(codec, m) for m in row["members"]],
    }


def disclose_beneficiary(codec: Codec, row: dict[str, Any]) -> dict[str, Any]:
    """A benefit as the program sees it: the recipient's NIK opened (null once erased)."""
    nik = opened(codec, row["nik_token"])
    return {
        "benefit_id": row["benefit_id"],
        "household_id": row["household_id"],
        "lives_in": row.get("lives_in") or row["household_id"],
        "nik": None if row["erased"] else nik,
        "program": row["program"],
        "period_start": row["period_start"],
        "period_end": row["period_end"],
        "amount": row["amount"],
        "status": row["status"],
        "erased": bool(row["erased"]) or nik is None,
    }


def public_state(state: dict[str, Any]) -> dict[str, Any]:
    """The household's state as the API answers it: an erased person is `erased: true` with
    no NIK, name or birth date; any other erased value (a marker) is null."""
    members = []
    for member in state.get("members", []):
        erased = bool(member.get("erased")) or is_erased(member.get("nik"))
        shown = _scrubbed(member)
        if erased:
            shown.update({name: None for name in shown if kept_secret(name)})
        members.append({**shown, "erased": erased})
    return {**_scrubbed({k: v for k, v in state.items() if k != "members"}), "members": members}


def _scrubbed(value: Any) -> Any:
    if isinstance(value, str):
        return None if is_erased(value) else value
    if isinstance(value, dict):
        return {k: _scrubbed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrubbed(v) for v in value]
    return value


def household_from_store(casework: Casework, household_id: str) -> dict[str, Any] | None:
    """The household as the event store knows it now: the whole state when the aggregate
    offers it (`as_dict`), else the register's fields."""
    try:
        household = casework.get_household(household_id)
    except NotFound:
        return None
    if hasattr(household, "as_dict"):
        state = public_state(household.as_dict())
        return {**state, "registered_at": rfc3339(household.created_on)}
    return {
        "id": str(household.id),
        "kk_number": household.kk_number,
        "kecamatan": household.kecamatan,
        "kelurahan": household.kelurahan,
        "address": household.address,
        "rt": household.rt,
        "rw": household.rw,
        "version": household.version,
        "registered_at": rfc3339(household.created_on),
        "members": public_state({"members": list(household.members.values())})["members"],
    }


def codec() -> Codec:
    """The write side's codec, which opens the views' tokens."""
    found = services().casework.codec
    if not isinstance(found, Codec):
        raise RuntimeError("the web reads the store through the revealing mapper (bootstrap)")
    return found
