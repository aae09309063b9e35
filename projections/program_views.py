"""What a program's managers read of its targeting: inclusion and exclusion errors, and what a
draft rule version would change (what-if). Read side only: no view of its own, nothing stored.

Both read the eligibility view (its rows, and its facts evaluated as that view evaluates
them: `eligibility.program_answers`) and the beneficiaries view, inside one transaction that is
always rolled back (`snapshot`): one consistent picture, and no way to write.

A family is known by its household id and kelurahan only (no KK number, NIK or name), as the
eligible list discloses it; persons whose processing is restricted are left out, as in both
views.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from adapters.db import Cursor, Database
from projections import beneficiaries, eligibility
from projections.base import live_tables

ERROR_KINDS = ("inclusion", "exclusion", "review")


@contextmanager
def snapshot(db: Database) -> Iterator[Cursor]:
    """A read-only transaction, always rolled back: PostgreSQL refuses any write in it; on
    SQLite a deferred transaction takes no write lock and is rolled back all the same."""
    conn = db.connection
    if db.kind == "sqlite":
        conn.execute("BEGIN DEFERRED")
    else:
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    try:
        yield Cursor(db, conn.cursor())
    finally:
        try:
            conn.execute("ROLLBACK")
        except Exception:  # noqa: BLE001 - the connection may be gone; discard it
            db.close()


def _receiving(cur: Cursor, code: str, day: dt.date | None) -> dict[str, int]:
    """household id -> how many benefits of the program it receives on that day (today by
    default: running then, `beneficiaries.running_on`; a suspension recorded ahead stops none
    yet, a benefit whose period ended serves no more; restricted persons' benefits left out)."""
    names = live_tables(cur.db, beneficiaries.PROJECTION)
    on = (day or eligibility.CLOCK()).isoformat()
    rows = cur.execute(
        f"SELECT b.household_id, COUNT(*) FROM {names['benefits']} b"
        f" WHERE b.program=? AND {beneficiaries.running_on(names)} AND b.restricted=0"
        " GROUP BY b.household_id",
        (code, on, on, on, on),
    ).fetchall()
    return {row[0]: int(row[1]) for row in rows}


def _shown(reason: dict[str, Any]) -> dict[str, Any]:
    return {k: reason[k] for k in ("rule", "rule_version", "passed", "detail", "text", "positions")}


def _eligible(cur: Cursor, code: str, kelurahan: str) -> dict[str, str]:
    """household id -> kelurahan of the families with a visible member eligible for the
    program, as the eligibility view holds them (the eligible list's answer)."""
    names = live_tables(cur.db, eligibility.PROJECTION)
    where, params = ["program=?", "status='eligible'", "restricted=0"], [code]
    if kelurahan:
        where.append("kelurahan=?")
        params.append(kelurahan)
    rows = cur.execute(
        f"SELECT household_id, MIN(kelurahan) FROM {names['results']}"
        f" WHERE {' AND '.join(where)} GROUP BY household_id",
        params,
    ).fetchall()
    return {row[0]: row[1] for row in rows}


def errors(
    db: Database,
    code: str,
    *,
    kelurahan: str = "",
    day: dt.date | None = None,
) -> dict[str, Any] | None:
    """The program's inclusion errors (receiving, ineligible: with the rules that failed),
    exclusion errors (eligible, not receiving) and the receiving families whose eligibility
    needs a person's review (a fact unknown: with the unknown rules); counts per kelurahan.
    Only the receiving families are evaluated again (for which rules failed); the eligible
    ones are read from the eligibility view. None: no such program in the eligibility view."""
    with snapshot(db) as cur:
        receiving = _receiving(cur, code, day)
        answers = eligibility.program_answers(
            cur, code, day=day, kelurahan=kelurahan, households=set(receiving)
        )
        if answers is None:
            return None
        eligible = _eligible(cur, code, kelurahan)
    lists: dict[str, list[dict[str, Any]]] = {kind: [] for kind in ERROR_KINDS}
    for answer in answers:
        family = {
            "household_id": answer["household_id"],
            "kelurahan": answer["kelurahan"],
            "benefits": receiving[answer["household_id"]],
        }
        if answer["status"] == "ineligible":
            failing = [_shown(r) for r in answer["reasons"] if r["passed"] is False]
            lists["inclusion"].append({**family, "reasons": failing})
        elif answer["status"] == "review":
            unknown = [_shown(r) for r in answer["reasons"] if r["passed"] is None]
            lists["review"].append({**family, "reasons": unknown})
    lists["exclusion"] = [
        {"household_id": household_id, "kelurahan": eligible[household_id]}
        for household_id in sorted(eligible)
        if household_id not in receiving
    ]
    counts: dict[str, dict[str, int]] = {}
    for kind in ERROR_KINDS:
        for family in lists[kind]:
            per = counts.setdefault(family["kelurahan"], dict.fromkeys(ERROR_KINDS, 0))
            per[kind] += 1
    return {
        "program": code,
        "kelurahan": kelurahan or None,
        "as_of": (day or eligibility.CLOCK()).isoformat(),
        "totals": {kind: len(lists[kind]) for kind in ERROR_KINDS},
        "by_kelurahan": [{"kelurahan": k, **counts[k]} for k in sorted(counts)],
        **lists,
    }


def what_if(
    db: Database, code: str, rules: dict[str, Any], *, day: dt.date | None = None
) -> dict[str, Any] | None:
    """Every family evaluated with the program's rules in force and with `rules` (a complete
    draft rule set) instead: how many are eligible under each, and per kelurahan which
    families gain and which lose eligibility. Stores nothing. None: no such program."""
    with snapshot(db) as cur:
        now = eligibility.program_answers(cur, code, day=day)
        if now is None:
            return None
        draft = eligibility.program_answers(cur, code, rules, day=day) or []
    before = {a["household_id"]: a for a in now}
    after = {a["household_id"]: a for a in draft}
    gaining: list[dict[str, Any]] = []
    losing: list[dict[str, Any]] = []
    per: dict[str, dict[str, int]] = {}

    def area(name: str) -> dict[str, int]:
        return per.setdefault(
            name, {"eligible_now": 0, "eligible_draft": 0, "gaining": 0, "losing": 0}
        )

    for household_id in sorted(before.keys() | after.keys()):
        old, new = before.get(household_id), after.get(household_id)
        was = old is not None and old["status"] == "eligible"
        will = new is not None and new["status"] == "eligible"
        kelurahan = (new or old)["kelurahan"]  # type: ignore[index]
        counts = area(kelurahan)
        counts["eligible_now"] += was
        counts["eligible_draft"] += will
        family = {"household_id": household_id, "kelurahan": kelurahan}
        if will and not was:
            gaining.append(family)
            counts["gaining"] += 1
        elif was and not will:
            failing = [r for r in new["reasons"] if r["passed"] is not True] if new else []
            losing.append({**family, "reasons": [_shown(r) for r in failing]})
            counts["losing"] += 1
    return {
        "program": code,
        "as_of": (day or eligibility.CLOCK()).isoformat(),
        "rules": rules,
        "totals": {
            "families": len(before.keys() | after.keys()),
            "eligible_now": sum(c["eligible_now"] for c in per.values()),
            "eligible_draft": sum(c["eligible_draft"] for c in per.values()),
            "gaining": len(gaining),
            "losing": len(losing),
        },
        "by_kelurahan": [{"kelurahan": k, **per[k]} for k in sorted(per)],
        "gaining": gaining,
        "losing": losing,
    }
