"""The household register: search by NIK, KK number or name; a household with its members.

No personal data is kept in clear (UU PDP): a member row has the person's pseudonymous
`subject`, the keyed hash `nik_hash` that a search by NIK looks for (`Casework.nik_key`) and
the token `nik_token` that the web opens to show the NIK to those allowed; a household has
`kk_hash` and `kk_token` likewise. Name and birth date are tokens too (`name_token`,
`birth_date_token`, the person's key), and so are the address, RT and RW (the household's
key): the web opens them for display (`app.disclosure`). A name is found through `name_terms`:
the keyed hashes (`Casework.name_key`) of its words and of their prefixes of 3 letters or more
(`projections.base.name_terms`), never the words themselves. When the person's data is erased
their terms are deleted and the tokens replaced by erasure markers (`erase_person`); the row
stays, marked `erased`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from adapters.codec import ERASED
from adapters.db import Cursor, Database, sort_cache
from projections.base import (
    Deferred,
    Finish,
    Projection,
    counts,
    deferred,
    erased_identity,
    identity,
    live_tables,
    name_words,
    sealed,
    tally,
)

log = logging.getLogger("casework.projections")

# The view's counter of households per kelurahan (`projections.base.tally`): the home page's
# and /metrics' count, kept with the rows instead of counted per request.
HOUSEHOLDS = "households"

TABLES = {
    "households": (
        "CREATE TABLE IF NOT EXISTS {name} ("
        " id VARCHAR(36) PRIMARY KEY, kk_subject VARCHAR(32) NOT NULL,"
        " kk_hash VARCHAR(64), kk_token TEXT NOT NULL,"
        " kecamatan VARCHAR(100) NOT NULL, kelurahan VARCHAR(100) NOT NULL,"
        " address_token TEXT, rt_token TEXT, rw_token TEXT,"
        " version INTEGER NOT NULL, registered_at VARCHAR(40) NOT NULL,"
        " updated_at VARCHAR(40) NOT NULL)"
    ),
    "members": (
        "CREATE TABLE IF NOT EXISTS {name} ("
        " household_id VARCHAR(36) NOT NULL, subject VARCHAR(32) NOT NULL,"
        " nik_hash VARCHAR(64), nik_token TEXT NOT NULL,"
        " name_token TEXT NOT NULL, birth_date_token TEXT,"
        " sex VARCHAR(1) NOT NULL, relationship VARCHAR(30) NOT NULL,"
        " status VARCHAR(20) NOT NULL, seq INTEGER NOT NULL,"
        " restricted INTEGER NOT NULL DEFAULT 0, erased INTEGER NOT NULL DEFAULT 0,"
        " PRIMARY KEY (household_id, subject))"
    ),
    # the keyed hashes of each member's name words and word prefixes (the search by name)
    # (keyed by term and the household's registration time, with its kelurahan, so that a
    # search walks one term's primary key newest first and stops at a page: `_name_query`;
    # households registered at the same moment in descending id order)
    "name_terms": (
        "CREATE TABLE IF NOT EXISTS {name} ("
        " term BIGINT NOT NULL, household_id VARCHAR(36) NOT NULL,"
        " subject VARCHAR(32) NOT NULL, registered_at VARCHAR(40) NOT NULL,"
        " kelurahan VARCHAR(100) NOT NULL,"
        " PRIMARY KEY (term, registered_at, household_id, subject))"
    ),
    # every KK number a household is found by: its own, past and present (a new head gets a
    # new number), and, for a family that split off, the KK it split from (`origin`)
    "kk_numbers": (
        "CREATE TABLE IF NOT EXISTS {name} ("
        " household_id VARCHAR(36) NOT NULL, kk_hash VARCHAR(64) NOT NULL,"
        " kind VARCHAR(10) NOT NULL, PRIMARY KEY (household_id, kk_hash))"
    ),
    # SplitFamily: `split_from` (the KK a family came from) and `split_to` (a family that
    # split from this one), each with the other household's KK number (token)
    "links": (
        "CREATE TABLE IF NOT EXISTS {name} ("
        " household_id VARCHAR(36) NOT NULL, other_id VARCHAR(36) NOT NULL,"
        " direction VARCHAR(10) NOT NULL, kk_token TEXT NOT NULL,"
        " effective_date VARCHAR(10) NOT NULL, members INTEGER NOT NULL,"
        " PRIMARY KEY (household_id, other_id, direction))"
    ),
}
INDEXES = [
    # a relocation updates the terms by subject; a rebuild stages its terms and makes this
    # index again after writing them (`_write_staged_terms`)
    "CREATE INDEX IF NOT EXISTS {name_terms}_subject ON {name_terms} (subject)",
]
# only readers read by these: a rebuild makes them after its events (`Projection.read_indexes`)
READ_INDEXES = [
    "CREATE INDEX IF NOT EXISTS {kk_numbers}_kk ON {kk_numbers} (kk_hash)",
    "CREATE INDEX IF NOT EXISTS {households}_hh_kk ON {households} (kk_hash)",
    "CREATE INDEX IF NOT EXISTS {members}_mem_nik ON {members} (nik_hash)",
    "CREATE INDEX IF NOT EXISTS {members}_mem_subject ON {members} (subject)",
    "CREATE INDEX IF NOT EXISTS {households}_newest ON {households} (registered_at DESC, id)",
]


def term_key(term_hash: str) -> int:
    """A name term as the view keeps it: the first 64 bits of its keyed hash (64 hex digits,
    `Casework.name_key`) as a signed integer, 8 bytes instead of 64. Two different terms share
    one with a chance of about 1 in 10^9 among the city's terms; a search for one would then
    also find the other's families, nothing else."""
    return int.from_bytes(bytes.fromhex(term_hash[:16]), "big", signed=True)


def _name(
    cur: Cursor,
    names: dict[str, str],
    household_id: str,
    subject: str,
    person: dict,
    position: int,
    *,
    new_member: bool = False,
) -> str:
    """The token of the person's name, its terms indexed for the search (replacing any
    earlier ones of this member, unless `new_member`: a member being added to the household
    has none, since terms are only written with their member's row); an erased name is
    never found."""
    name = sealed(person.get("name"))
    staging = _staging(cur, names)
    if staging is not None:  # a rebuild: the terms are written at its end (`_write_terms`)
        if not new_member:
            _void_terms(cur, staging, household_id, subject, position)
        if name.terms:
            cur.executemany(
                f"INSERT INTO {staging['staged']} (term, household_id, subject, position)"
                " VALUES (?, ?, ?, ?)",
                [(term_key(term), household_id, subject, position) for term in name.terms],
            )
        return name.token or ERASED
    if not new_member:
        cur.execute(
            f"DELETE FROM {names['name_terms']} WHERE household_id=? AND subject=?",
            (household_id, subject),
        )
    if name.terms:
        registered_at, kelurahan = cur.execute(
            f"SELECT registered_at, kelurahan FROM {names['households']} WHERE id=?",
            (household_id,),
        ).fetchone()
        cur.executemany(
            f"INSERT INTO {names['name_terms']} (term, household_id, subject, registered_at,"
            " kelurahan) VALUES (?, ?, ?, ?, ?)",
            [
                (term_key(term), household_id, subject, registered_at, kelurahan)
                for term in sorted(name.terms)
            ],
        )
    return name.token or ERASED


def _insert_member(
    cur: Cursor,
    names: dict[str, str],
    household_id: str,
    person: dict,
    relationship: str,
    position: int,
) -> None:
    seq = cur.execute(
        f"SELECT COUNT(*) FROM {names['members']} WHERE household_id=?", (household_id,)
    ).fetchone()[0]
    who = identity(person["nik"])
    name = _name(cur, names, household_id, who.subject, person, position, new_member=True)
    cur.execute(  # a member already in the household fails here, its terms with it
        f"INSERT INTO {names['members']} (household_id, subject, nik_hash, nik_token,"
        " name_token, birth_date_token, sex, relationship, status, seq, erased)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, ?)",
        (
            household_id,
            who.subject,
            who.hash,
            who.token,
            name,
            None if who.erased else sealed(person.get("birth_date")).token,
            person["sex"],
            relationship,
            seq,
            1 if who.erased else 0,
        ),
    )


def _touch(cur: Cursor, names: dict[str, str], envelope: dict[str, Any]) -> None:
    cur.execute(
        f"UPDATE {names['households']} SET version=?, updated_at=? WHERE id=?",
        (envelope["version"], envelope["recorded_at"], envelope["stream_id"]),
    )


def household_registered(cur: Cursor, names: dict[str, str], envelope: dict[str, Any]) -> None:
    data = envelope["data"]
    kk = identity(data["kk_number"])
    cur.execute(
        f"INSERT INTO {names['households']} (id, kk_subject, kk_hash, kk_token, kecamatan,"
        " kelurahan, address_token, rt_token, rw_token, version, registered_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            envelope["stream_id"],
            kk.subject,
            kk.hash,
            kk.token,
            data["kecamatan"],
            data["kelurahan"],
            *_address(data),
            envelope["version"],
            envelope["recorded_at"],
            envelope["recorded_at"],
        ),
    )
    _insert_member(
        cur, names, envelope["stream_id"], data["head"], "kepala_keluarga", envelope["position"]
    )
    _kk_number(cur, names, envelope["stream_id"], kk, "own")
    tally(cur, names, HOUSEHOLDS, data["kelurahan"], 1)


def _address(data: dict[str, Any]) -> tuple[str | None, ...]:
    """The tokens of a household's address, RT and RW."""
    return tuple(sealed(data.get(field)).token for field in ("address", "rt", "rw"))


def _kk_number(cur: Cursor, names: dict[str, str], household_id: str, kk: Any, kind: str) -> None:
    if kk.hash is None:
        return
    cur.execute(
        f"INSERT INTO {names['kk_numbers']} (household_id, kk_hash, kind) VALUES (?, ?, ?)"
        " ON CONFLICT (household_id, kk_hash) DO UPDATE SET kind=excluded.kind",
        (household_id, kk.hash, kind),
    )


def _link(
    cur: Cursor,
    names: dict[str, str],
    household_id: str,
    other_id: str,
    direction: str,
    kk_number: Any,
    effective_date: str,
    members: int,
) -> None:
    cur.execute(
        f"DELETE FROM {names['links']} WHERE household_id=? AND other_id=? AND direction=?",
        (household_id, other_id, direction),
    )
    cur.execute(
        f"INSERT INTO {names['links']} (household_id, other_id, direction, kk_token,"
        " effective_date, members) VALUES (?, ?, ?, ?, ?, ?)",
        (
            household_id,
            other_id,
            direction,
            identity(kk_number).token,
            effective_date,
            members,
        ),
    )


def household_split_off(cur: Cursor, names: dict[str, str], envelope: dict[str, Any]) -> None:
    """A family formed by members who split from another KK: registered with its members,
    found by its KK number and by the KK it split from, linked to it."""
    household_registered(cur, names, envelope)
    data, household_id = envelope["data"], envelope["stream_id"]
    for person in data["members"]:
        _insert_member(
            cur, names, household_id, person, person["relationship"], envelope["position"]
        )
    origin = data["split_from"]
    _kk_number(cur, names, household_id, identity(origin["kk_number"]), "origin")
    _link(
        cur,
        names,
        household_id,
        origin["household_id"],
        "split_from",
        origin["kk_number"],
        data["effective_date"],
        1 + len(data["members"]),
    )


def family_split(cur: Cursor, names: dict[str, str], envelope: dict[str, Any]) -> None:
    """Members left to form a new family: moved out here, and where they went."""
    data, household_id = envelope["data"], envelope["stream_id"]
    for nik in data["members"]:
        cur.execute(
            f"UPDATE {names['members']} SET status='moved_out' WHERE household_id=? AND subject=?",
            (household_id, identity(nik).subject),
        )
    _link(
        cur,
        names,
        household_id,
        data["new_household_id"],
        "split_to",
        data["new_kk_number"],
        data["effective_date"],
        len(data["members"]),
    )
    _touch(cur, names, envelope)


def member_added(cur: Cursor, names: dict[str, str], envelope: dict[str, Any]) -> None:
    data = envelope["data"]
    _insert_member(
        cur,
        names,
        envelope["stream_id"],
        data["person"],
        data["relationship"],
        envelope["position"],
    )
    _touch(cur, names, envelope)


def _set_status(cur: Cursor, names: dict[str, str], envelope: dict[str, Any], status: str) -> None:
    cur.execute(
        f"UPDATE {names['members']} SET status=? WHERE household_id=? AND subject=?",
        (status, envelope["stream_id"], identity(envelope["data"]["nik"]).subject),
    )
    _touch(cur, names, envelope)


def member_removed(cur: Cursor, names: dict[str, str], envelope: dict[str, Any]) -> None:
    _set_status(cur, names, envelope, envelope["data"]["status"])


def death_recorded(cur: Cursor, names: dict[str, str], envelope: dict[str, Any]) -> None:
    _set_status(cur, names, envelope, "deceased")


def member_rejoined(cur: Cursor, names: dict[str, str], envelope: dict[str, Any]) -> None:
    person, relationship = envelope["data"]["person"], envelope["data"]["relationship"]
    household_id, subject = envelope["stream_id"], identity(person["nik"]).subject
    name = _name(cur, names, household_id, subject, person, envelope["position"])
    cur.execute(
        f"UPDATE {names['members']} SET status='active', relationship=?, name_token=?"
        " WHERE household_id=? AND subject=?",
        (relationship, name, household_id, subject),
    )
    _touch(cur, names, envelope)


def member_corrected(cur: Cursor, names: dict[str, str], envelope: dict[str, Any]) -> None:
    """A member's name, birth date, sex or relationship corrected (CorrectMember): the new
    name's terms replace the old ones, so a search finds the corrected name and no longer the
    old."""
    data, household_id = envelope["data"], envelope["stream_id"]
    who = identity(data["nik"])
    if data.get("name") is not None:
        name = _name(cur, names, household_id, who.subject, data, envelope["position"])
        cur.execute(
            f"UPDATE {names['members']} SET name_token=? WHERE household_id=? AND subject=?",
            (name, household_id, who.subject),
        )
    if data.get("birth_date") is not None:
        cur.execute(
            f"UPDATE {names['members']} SET birth_date_token=?"
            " WHERE household_id=? AND subject=? AND erased=0",
            (sealed(data["birth_date"]).token, household_id, who.subject),
        )
    if data.get("sex") is not None:
        cur.execute(
            f"UPDATE {names['members']} SET sex=? WHERE household_id=? AND subject=?",
            (data["sex"], household_id, who.subject),
        )
    if data.get("relationship") is not None:  # schema v2
        cur.execute(
            f"UPDATE {names['members']} SET relationship=? WHERE household_id=? AND subject=?",
            (data["relationship"], household_id, who.subject),
        )
    _touch(cur, names, envelope)


def head_changed(cur: Cursor, names: dict[str, str], envelope: dict[str, Any]) -> None:
    data = envelope["data"]
    kk = identity(data["new_kk_number"])
    cur.execute(
        f"UPDATE {names['households']} SET kk_subject=?, kk_hash=?, kk_token=? WHERE id=?",
        (kk.subject, kk.hash, kk.token, envelope["stream_id"]),
    )
    _kk_number(cur, names, envelope["stream_id"], kk, "own")
    for nik, relationship in data["relationships"].items():
        cur.execute(
            f"UPDATE {names['members']} SET relationship=? WHERE household_id=? AND subject=?",
            (relationship, envelope["stream_id"], identity(nik).subject),
        )
    _touch(cur, names, envelope)


def _set_restricted(
    cur: Cursor, names: dict[str, str], envelope: dict[str, Any], restricted: bool
) -> None:
    """The registry keeps a restricted person (UU PDP), marked "dibatasi"."""
    cur.execute(
        f"UPDATE {names['members']} SET restricted=? WHERE household_id=? AND subject=?",
        (1 if restricted else 0, envelope["stream_id"], identity(envelope["data"]["nik"]).subject),
    )
    _touch(cur, names, envelope)


def processing_restricted(cur: Cursor, names: dict[str, str], envelope: dict[str, Any]) -> None:
    _set_restricted(cur, names, envelope, True)


def restriction_lifted(cur: Cursor, names: dict[str, str], envelope: dict[str, Any]) -> None:
    _set_restricted(cur, names, envelope, False)


def household_relocated(cur: Cursor, names: dict[str, str], envelope: dict[str, Any]) -> None:
    data = envelope["data"]
    before = cur.execute(
        f"SELECT kelurahan FROM {names['households']} WHERE id=?", (envelope["stream_id"],)
    ).fetchone()
    if before is not None:
        tally(cur, names, HOUSEHOLDS, before[0], -1)
        tally(cur, names, HOUSEHOLDS, data["kelurahan"], 1)
    cur.execute(
        f"UPDATE {names['households']} SET kecamatan=?, kelurahan=?, address_token=?,"
        " rt_token=?, rw_token=? WHERE id=?",
        (data["kecamatan"], data["kelurahan"], *_address(data), envelope["stream_id"]),
    )
    cur.execute(  # found through the members' subjects (the terms' index by subject)
        f"UPDATE {names['name_terms']} SET kelurahan=? WHERE subject IN"
        f" (SELECT subject FROM {names['members']} WHERE household_id=?) AND household_id=?",
        (data["kelurahan"], envelope["stream_id"], envelope["stream_id"]),
    )
    _touch(cur, names, envelope)


def household_changed(cur: Cursor, names: dict[str, str], envelope: dict[str, Any]) -> None:
    _touch(cur, names, envelope)


def erase_person(cur: Cursor, names: dict[str, str], subject: str) -> None:
    """The person's key is destroyed: in every household they were a member of, their row
    keeps only the erasure markers (and status, relationship, sex: no longer anyone's), and
    their name is no longer found."""
    marker = erased_identity(subject)
    cur.execute(
        f"UPDATE {names['members']} SET nik_hash=NULL, nik_token=?, name_token=?,"
        " birth_date_token=NULL, erased=1 WHERE subject=?",
        (marker.token, ERASED, subject),
    )
    cur.execute(f"DELETE FROM {names['name_terms']} WHERE subject=?", (subject,))
    staging = _staging(cur, names)
    if staging is not None:  # a rebuild: none of the terms staged so far
        _void_terms(cur, staging, None, subject, None)


# --- a rebuild's name terms ------------------------------------------------------------------
# A rebuild does not write each member's terms into `name_terms` as its events come: that
# table's two indexes, keyed by hashes, are written at random places, which at the city's size
# (4.2 million terms, over a gigabyte) is a page read from the disk cache per term. The terms
# are appended instead to a temporary table of the rebuild's connection (`staged`), with the
# position of the event that gave them; a member whose terms a later event replaces (rejoining)
# or removes (an erasure) is noted in another (`voided`: the terms staged before that position
# no longer count). At the rebuild's end (`Finish`), the terms still counting are written in the
# order of `name_terms`' key, each with its household's registration time and present
# kelurahan, as the events would have left them (a move updates the terms' kelurahan); both
# temporary tables are dropped. A rebuild is one connection: a temporary table lasts as long
# as it, and is gone with it if the rebuild stops.
_STAGED = "name terms"  # the unit the rebuild's batches mark (`Deferred`) once they stage some


def _staging_tables(names: dict[str, str]) -> dict[str, str]:
    """The names of a rebuild's temporary tables of terms (`staged`, `voided`)."""
    return {kind: f"{names['name_terms']}_{kind}" for kind in ("staged", "voided")}


def _staging(cur: Cursor, names: dict[str, str]) -> dict[str, str] | None:
    """In a rebuild, the names of its temporary tables (created on its first call); None
    outside a rebuild."""
    later = deferred(names)
    if later is None:
        return None
    staging = _staging_tables(names)
    if _STAGED not in later.marked:
        cur.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {staging['staged']} ("
            " term BIGINT NOT NULL, household_id VARCHAR(36) NOT NULL,"
            " subject VARCHAR(32) NOT NULL, position BIGINT NOT NULL)"
        )
        cur.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {staging['voided']} ("
            " household_id VARCHAR(36), subject VARCHAR(32) NOT NULL, position BIGINT)"
        )
        later.add([_STAGED])
    return staging


def _void_terms(
    cur: Cursor,
    staging: dict[str, str],
    household_id: str | None,
    subject: str,
    position: int | None,
) -> None:
    """The member's terms staged before `position` no longer count (all of them: None), in
    this household (every household of the person: None)."""
    cur.execute(
        f"INSERT INTO {staging['voided']} (household_id, subject, position) VALUES (?, ?, ?)",
        (household_id, subject, position),
    )


def _write_terms(cur: Cursor, names: dict[str, str], units: list[str]) -> None:
    """The rebuild's end: the staged terms still counting, into `name_terms` in its key's
    order (its subject index made again after them, as one sort instead of 4 million inserts
    at random places)."""
    if _STAGED not in units:
        return
    began = time.monotonic()
    with sort_cache(cur):
        count = _write_staged_terms(cur, names)
    log.info(
        "rebuild of register: %d name terms written in %.1f s", count, time.monotonic() - began
    )


def _write_staged_terms(cur: Cursor, names: dict[str, str]) -> int:
    staging = _staging_tables(names)
    staged, voided = staging["staged"], staging["voided"]
    terms, households = names["name_terms"], names["households"]
    subject_index = f"{terms}_subject"
    log.info("rebuild of register: writing the staged name terms in their key's order")
    cur.execute(f"CREATE INDEX {voided}_subject ON {voided} (subject)")
    cur.execute(f"DROP INDEX IF EXISTS {subject_index}")
    written = cur.execute(
        f"INSERT INTO {terms} (term, household_id, subject, registered_at, kelurahan)"
        f" SELECT s.term, s.household_id, s.subject, h.registered_at, h.kelurahan"
        f" FROM {staged} AS s JOIN {households} AS h ON h.id = s.household_id"
        f" WHERE NOT EXISTS (SELECT 1 FROM {voided} AS v WHERE v.subject = s.subject"
        "  AND (v.household_id IS NULL OR v.household_id = s.household_id)"
        "  AND (v.position IS NULL OR v.position > s.position))"
        " ORDER BY s.term, h.registered_at, s.household_id, s.subject"
    ).rowcount
    cur.execute(f"CREATE INDEX IF NOT EXISTS {subject_index} ON {terms} (subject)")
    cur.execute(f"DROP TABLE {staged}")
    cur.execute(f"DROP TABLE {voided}")
    return written


def _left_terms(cur: Cursor, names: dict[str, str], left: Deferred) -> list[str]:
    return [_STAGED] if _STAGED in left.marked else []


HANDLERS = {
    "HouseholdRegistered": household_registered,
    "MemberAdded": member_added,
    "MemberRemoved": member_removed,
    "DeathRecorded": death_recorded,
    "MemberRejoined": member_rejoined,
    "MemberCorrected": member_corrected,
    "HeadChanged": head_changed,
    "HouseholdRelocated": household_relocated,
    "HouseholdSplitOff": household_split_off,
    "FamilySplit": family_split,
    "ProcessingRestricted": processing_restricted,
    "RestrictionLifted": restriction_lifted,
}

PROJECTION = Projection(
    name="register",
    rebuild_weight=4.2,
    tables=TABLES,
    handlers=HANDLERS,
    # the registry may keep restricted persons (shown with `restricted`)
    serves="registry",
    indexes=INDEXES,
    read_indexes=READ_INDEXES,
    # v2: members.restricted; v3: no NIK or KK number in clear (subject, hash, token), erased;
    # v4: every KK number a household held (kk_numbers) and split families' links;
    # v5: no name, birth date or address in clear (tokens), names found by keyed hashes;
    # v6: households counted per kelurahan (the counts table) as they are registered and move;
    # v7: the kept counters renamed (kept_counts), apart from any view's own tables;
    # v8: each name term with its household's registration time and kelurahan (the search
    # by name reads one term's key newest first); v9: the terms as 64-bit integers
    # (`term_key`), not 64 hex digits (484 MB less at the city's size)
    version=9,
    stream_touches={"Household": household_changed},  # its version and time only
    ignores=frozenset(
        {
            # streams without a household's members or address
            *("KkIndex", "NikIndex", "PendingChange", "PendingIndex", "Program"),
            *("ProgramCatalog", "ProvisionalPerson", "TokenIndex", "User", "AgencyAgreement"),
            # household events that change neither members nor address (version only)
            *("BenefitGranted", "BenefitResumed", "BenefitReviewOpened", "BenefitSuspended"),
            *("BenefitTerminated", "CaseNoteAdded", "EmpowermentCompleted"),
            *("BenefitReviewDecided", "BenefitReviewOverdue"),
            *("EmpowermentEnrolled", "ErasureRefused", "KtpIssued", "NibRegistered"),
            *("NibRevoked", "ObjectionFiled", "ObjectionLapsed", "ObjectionResolved"),
            *("ProvisionalIdentityLinked", "VerificationRecorded", "WelfareAssessed"),
            "SourceListingRecorded",
        }
    ),
    on_erasure=erase_person,
    finish=Finish(units=_left_terms, apply=_write_terms, unit="name terms"),
)

# A search by name looks for this many of its words at most.
MAX_WORDS = 8

_HOUSEHOLD_KEYS = (
    "id",
    "kk_token",
    "kecamatan",
    "kelurahan",
    "address_token",
    "rt_token",
    "rw_token",
    "version",
    "registered_at",
)
_HOUSEHOLD_COLUMNS = ", ".join(_HOUSEHOLD_KEYS)


def _households(db: Database, names: dict[str, str], rows: list[tuple]) -> list[dict[str, Any]]:
    if not rows:
        return []
    ids = [row[0] for row in rows]
    marks = ",".join("?" for _ in ids)
    members: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
    for row in db.query(
        f"SELECT household_id, subject, nik_token, name_token, birth_date_token, sex,"
        " relationship, status,"
        f" restricted, erased FROM {names['members']} WHERE household_id IN ({marks})"
        " ORDER BY household_id, seq",
        ids,
    ):
        hid, subject, token, name, birth_date, sex, relationship, status, restricted, erased = row
        members[hid].append(
            {
                "subject": subject,
                "nik_token": token,
                "name_token": name,
                "birth_date_token": birth_date,
                "sex": sex,
                "relationship": relationship,
                "status": status,
                "restricted": bool(restricted),
                "erased": bool(erased),
            }
        )
    links: dict[str, dict[str, Any]] = {i: {"split_from": None, "splits": []} for i in ids}
    for hid, other, direction, token, effective_date, count in db.query(
        f"SELECT household_id, other_id, direction, kk_token, effective_date, members"
        f" FROM {names['links']} WHERE household_id IN ({marks})"
        " ORDER BY household_id, effective_date, other_id",
        ids,
    ):
        link = {
            "household_id": other,
            "kk_token": token,
            "effective_date": effective_date,
            "members": count,
        }
        if direction == "split_from":
            links[hid]["split_from"] = link
        else:
            links[hid]["splits"].append(link)
    return [
        dict(zip(_HOUSEHOLD_KEYS, row, strict=True), members=members[row[0]], **links[row[0]])
        for row in rows
    ]


def get_household(db: Database, household_id: str) -> dict[str, Any] | None:
    names = live_tables(db, PROJECTION)
    rows = db.query(
        f"SELECT {_HOUSEHOLD_COLUMNS} FROM {names['households']} WHERE id=?", (household_id,)
    )
    found = _households(db, names, rows)
    return found[0] if found else None


def get_households(db: Database, household_ids: list[str]) -> list[dict[str, Any]]:
    """The households of these ids the view holds, in one look-up (a page naming several: the
    review queue), in no particular order; an id the view does not hold is left out."""
    if not household_ids:
        return []
    names = live_tables(db, PROJECTION)
    marks = ",".join("?" for _ in household_ids)
    rows = db.query(
        f"SELECT {_HOUSEHOLD_COLUMNS} FROM {names['households']} WHERE id IN ({marks})",
        list(household_ids),
    )
    return _households(db, names, rows)


def search(
    db: Database,
    *,
    nik_hash: str = "",
    kk_hash: str = "",
    q: str = "",
    kelurahan_in: tuple[str, ...] | None = None,
    limit: int = 50,
    offset: int = 0,
    name_key: Callable[[str], str] | None = None,
) -> list[dict[str, Any]]:
    """Households matching every criterion given; with none given, the newest ones.

    A NIK or KK number is looked for by its keyed hash (`Casework.nik_key`, `kk_key`);
    `kelurahan_in` (a case worker's area) keeps only households of those kelurahan. `q`
    finds the households with a member whose name has every word of `q` (its first
    MAX_WORDS), in any order, as a word or as a word's beginning of 3 letters or more; case,
    accents and apostrophes aside (`projections.base.name_words`), never inside a word. It is
    looked for by the words' keyed hashes: `name_key` (`Casework.name_key`) is required with
    `q`."""
    statement, params = search_query(
        db,
        nik_hash=nik_hash,
        kk_hash=kk_hash,
        q=q,
        kelurahan_in=kelurahan_in,
        limit=limit,
        offset=offset,
        name_key=name_key,
    )
    if not statement:
        return []
    return _households(db, live_tables(db, PROJECTION), db.query(statement, params))


def search_query(
    db: Database,
    *,
    nik_hash: str = "",
    kk_hash: str = "",
    q: str = "",
    kelurahan_in: tuple[str, ...] | None = None,
    limit: int = 50,
    offset: int = 0,
    name_key: Callable[[str], str] | None = None,
) -> tuple[str, list[Any]]:
    """The statement `search` runs for these criteria and its parameters; ("", []) when
    nothing can match (a name with no letters, no kelurahan)."""
    names = live_tables(db, PROJECTION)
    hh, mem = names["households"], names["members"]
    if q and not nik_hash and not kk_hash:
        return _name_query(names, q, kelurahan_in, limit, offset, name_key)
    where: list[str] = []
    params: list[Any] = []
    if nik_hash:
        where.append(f"id IN (SELECT household_id FROM {mem} WHERE nik_hash=?)")
        params.append(nik_hash)
    if kk_hash:  # the number it holds, one it held before, or the KK it split from
        where.append(f"id IN (SELECT household_id FROM {names['kk_numbers']} WHERE kk_hash=?)")
        params.append(kk_hash)
    if q:
        words = sorted(set(name_words(q)[:MAX_WORDS]))
        if not words:
            return "", []  # nothing a name is made of
        if name_key is None:
            raise TypeError("a search by name needs name_key (Casework.name_key)")
        found = " INTERSECT ".join(
            f"SELECT household_id, subject FROM {names['name_terms']} WHERE term=?" for _ in words
        )
        where.append(f"id IN (SELECT household_id FROM ({found}) AS found)")
        params.extend(term_key(name_key(word)) for word in words)
    if kelurahan_in is not None:
        if not kelurahan_in:
            return "", []
        where.append(f"kelurahan IN ({', '.join('?' * len(kelurahan_in))})")
        params.extend(kelurahan_in)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    statement = (
        f"SELECT {_HOUSEHOLD_COLUMNS} FROM {hh} {clause}"
        " ORDER BY registered_at DESC, id LIMIT ? OFFSET ?"
    )
    return statement, [*params, limit, offset]


def _name_query(
    names: dict[str, str],
    q: str,
    kelurahan_in: tuple[str, ...] | None,
    limit: int,
    offset: int,
    name_key: Callable[[str], str] | None,
) -> tuple[str, list[Any]]:
    """The search by name alone (in a case worker's kelurahan or everywhere): one term's
    primary key read newest household first (its longest word, likely the rarest), each member
    found kept only if the same member has every other word, until a page of households is
    found. A common word's thousands of matches are neither collected nor sorted."""
    words = sorted(set(name_words(q)[:MAX_WORDS]), key=lambda w: (-len(w), w))
    if not words:
        return "", []  # nothing a name is made of
    if name_key is None:
        raise TypeError("a search by name needs name_key (Casework.name_key)")
    if kelurahan_in is not None and not kelurahan_in:
        return "", []
    terms = names["name_terms"]
    conditions = ["t.term=?"]
    params: list[Any] = [term_key(name_key(words[0]))]
    if kelurahan_in is not None:
        conditions.append(f"t.kelurahan IN ({', '.join('?' * len(kelurahan_in))})")
        params.extend(kelurahan_in)
    for at, word in enumerate(words[1:]):
        conditions.append(
            f"EXISTS (SELECT 1 FROM {terms} AS w{at} WHERE w{at}.term=?"
            f" AND w{at}.registered_at=t.registered_at AND w{at}.household_id=t.household_id"
            f" AND w{at}.subject=t.subject)"
        )
        params.append(term_key(name_key(word)))
    page = (
        f"SELECT DISTINCT t.registered_at, t.household_id FROM {terms} AS t"
        f" WHERE {' AND '.join(conditions)}"
        " ORDER BY t.registered_at DESC, t.household_id DESC LIMIT ? OFFSET ?"
    )
    hh = names["households"]
    statement = (
        f"SELECT {', '.join(f'{hh}.{key}' for key in _HOUSEHOLD_KEYS)} FROM ({page}) AS page"
        f" JOIN {hh} ON {hh}.id = page.household_id"
        " ORDER BY page.registered_at DESC, page.household_id DESC"
    )
    return statement, [*params, limit, offset]


def households_per_kelurahan(db: Database) -> dict[str, int]:
    """Households per kelurahan, from the counter kept with the rows (no count over them)."""
    return counts(db, live_tables(db, PROJECTION), HOUSEHOLDS)


def count_households(db: Database) -> int:
    """Households in the register: the per-kelurahan counters summed (a few rows)."""
    return sum(households_per_kelurahan(db).values())


def all_rows(db: Database) -> dict[str, list[tuple]]:
    """Every row of the live generation, ordered: for comparing a view with a rebuild."""
    names = live_tables(db, PROJECTION)
    return {
        "households": db.query(f"SELECT * FROM {names['households']} ORDER BY id"),
        "members": db.query(f"SELECT * FROM {names['members']} ORDER BY household_id, subject"),
        "kk_numbers": db.query(
            f"SELECT * FROM {names['kk_numbers']} ORDER BY household_id, kk_hash"
        ),
        "name_terms": db.query(
            f"SELECT * FROM {names['name_terms']} ORDER BY term, household_id, subject"
        ),
        "links": db.query(
            f"SELECT * FROM {names['links']} ORDER BY household_id, other_id, direction"
        ),
    }
