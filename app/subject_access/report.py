"""The subject access report's content: for one NIK, everything held about the person and
the processing trail (rendered by app/subject_access/render.py, served by routes.py).

Drawn from the event store, read through the revealing mapper so that the person's data is
in clear in the report (or shows as erased): the NikIndex stream, found by the NIK's keyed
hash, names every household the NIK ever belonged to; the events of those households that
mention the NIK, or a benefit or enrolment of it; the person's provisional-identity streams;
then the access log (reads matched by the NIK's HMAC or by the household id) and the relay's
recorded position (the events already published to `casework.events.v1`). Reads by `agency`
accounts count as data that left the system too.

The NIK is never written to a log line: the access log stores the route and the HMAC.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from eventsourcing.application import AggregateNotFoundError
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from adapters.db import Database
from adapters.topics import EVENTS
from app import access_log
from app.history import stream_history
from app.privacy import GENERAL_BASIS, LEGAL_REVIEW_NOTE, legal_basis
from domain.application import Casework
from domain.city import CONTROLLER
from domain.errors import NotFound
from domain.household import MEMBER_FIELDS, Household, NikIndex
from domain.personal_data import FIELDS
from projections.status import events_table, relay_state

# Stored in the access log as the reason of every report (data, not interface text).
REASON = "permintaan akses subjek data"
LEGAL_BASIS = (
    _l(
        "Law 27/2022 on Personal Data Protection, Article 7: a data subject has the right to "
        "access and obtain a copy of the personal data about them."
    ),
    _l(
        "Law 27/2022, Article 32: the controller must give the data subject access to the "
        "personal data processed and its processing trail, within 3 x 24 hours of the request."
    ),
)
# What the report shows of the person: every member field that is personal data.
PERSON_FIELDS = tuple(name for name in MEMBER_FIELDS if FIELDS[name].category is not None)


class UnknownNik(LookupError):
    """No NikIndex stream: the NIK was never a member of a household here."""


# --- gathering ----------------------------------------------------------------------------


def _mentions(value: Any, needles: set[str]) -> bool:
    if isinstance(value, str):
        return value in needles
    if isinstance(value, dict):
        return any(str(k) in needles or _mentions(v, needles) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_mentions(v, needles) for v in value)
    return False


def _positions(store: Database, stream_ids: Sequence[uuid.UUID]) -> dict[tuple[str, int], int]:
    """(stream id, version) -> notification position, for these streams (one query)."""
    if not stream_ids:
        return {}
    table, column = events_table(store)
    keys: list[Any] = [s.hex if store.kind == "sqlite" else s for s in stream_ids]
    rows = store.query(
        f"SELECT originator_id, originator_version, {column} FROM {table}"
        f" WHERE originator_id IN ({', '.join('?' * len(keys))})",
        keys,
    )
    return {(str(uuid.UUID(str(r[0]))), int(r[1])): int(r[2]) for r in rows}


def _events(casework: Casework, stream_id: uuid.UUID, stream_type: str) -> list[dict[str, Any]]:
    return [
        {"stream_type": stream_type, "stream_id": str(stream_id), **e}
        for e in stream_history(casework, stream_id)
    ]


def _reads(store: Database, nik_hash: str, household_ids: Iterable[str]) -> list[dict[str, Any]]:
    """Access-log rows naming the NIK's hash (searched or among the members) or a household.

    A row names every household and person one request read (`adapters.access_log`): the
    rows are found through the log's index of households and searched NIKs (`reads_of`; a
    member is logged with one of their households, and `household_ids` are all of the
    person's), then each row is told apart as read by the NIK or by a household."""
    households = list(dict.fromkeys(household_ids))
    rows = access_log.reads_of(store, [nik_hash, *households])
    reads = []
    for row in rows:
        by_nik = nik_hash in access_log.subjects_of(row)
        shown = [h for h in access_log.households_of(row) if h in households]
        if not by_nik and not shown:
            continue  # a term row its log row does not bear out (the terms are not chained)
        reads.append(
            {
                "id": row["id"],
                "at": row["at"],
                "actor_id": row["actor_id"],
                "actor_role": row["actor_role"],
                "actor_opd": row["actor_opd"],
                "channel": row["channel"],
                "endpoint": row["endpoint"],
                # the person's own households among those the request showed, no other
                "household_id": ",".join(shown) or None,
                "reason": row["reason"],
                "matched_by": "nik" if by_nik else "household",
            }
        )
    return reads


def _program_names(casework: Casework) -> dict[str, Any]:
    try:
        return {p.code: p for p in casework.list_programs()}
    except AggregateNotFoundError:
        return {}


def build_report(casework: Casework, store: Database, secret_key: str, nik: str) -> dict[str, Any]:
    """The whole report for a well-formed NIK, its texts in the request's language; raises
    UnknownNik."""
    started = time.perf_counter()
    index_id = NikIndex.create_id(casework.nik_key(nik))
    try:
        index = casework.repository.get(index_id)
    except AggregateNotFoundError:
        raise UnknownNik from None
    if casework.person_subject(nik) is None:
        # Erased: the key that found the person is destroyed, so nothing is held about them
        # and the NIK no longer leads to a household (the index stream stays, keyed, unread).
        raise UnknownNik
    index_events = _events(casework, index_id, "NikIndex")
    household_ids = list(
        dict.fromkeys(
            str(e["data"]["household_id"]) for e in index_events if e["data"].get("household_id")
        )
    )
    current_id = str(index.household_id)
    programs = _program_names(casework)

    events = list(index_events)
    households, benefits, nibs, enrollments, objections, assessments = [], [], [], [], [], []
    provisional: list[dict[str, Any]] = []
    person: dict[str, Any] | None = None
    streams = [index_id]
    for household_id in household_ids:
        try:
            household: Household = casework.get_household(household_id)
        except NotFound:
            continue
        streams.append(household.id)
        state = household.as_dict()
        member = household.members.get(nik)
        place = {
            "household_id": household_id,
            "kk_number": household.kk_number,
            "kk_history": state["kk_history"],
            "address": household.address,
            "rt": household.rt,
            "rw": household.rw,
            "kecamatan": household.kecamatan,
            "kelurahan": household.kelurahan,
            "current": household_id == current_id,
        }
        households.append(place)
        if member is not None and (household_id == current_id or person is None):
            person = {
                **{k: member.get(k) for k in PERSON_FIELDS},
                "is_head": household.head_nik == nik,
                "active_claim": bool(index.active),
                **{k: place[k] for k in ("household_id", "kk_number", "address", "rt", "rw")},
                **{k: place[k] for k in ("kecamatan", "kelurahan")},
            }
        own_benefits = [b for b in state["benefits"] if b["nik"] == nik]
        own_enrollments = [e for e in state["enrollments"] if e["nik"] == nik]
        for benefit in own_benefits:
            program = programs.get(benefit["program"])
            benefits.append(
                {
                    "household_id": household_id,
                    **benefit,
                    "program_name": getattr(program, "name", None),
                    "legal_basis": (
                        legal_basis(program.funding, program.kind) if program is not None else []
                    ),
                }
            )
        nibs.extend({"household_id": household_id, **n} for n in state["nibs"] if n["nik"] == nik)
        enrollments.extend({"household_id": household_id, **e} for e in own_enrollments)
        objections.extend(
            {"household_id": household_id, **o}
            for o in state["objections"]
            if o["objector_nik"] == nik
        )
        for source, records in state["assessments"].items():
            assessments.extend(
                {"household_id": household_id, "source": source, **r} for r in records
            )
        needles = {
            nik,
            *(b["benefit_id"] for b in own_benefits),
            *(e["enrollment_id"] for e in own_enrollments),
        }
        events.extend(
            e for e in _events(casework, household.id, "Household") if _mentions(e["data"], needles)
        )
        for person_id in (member or {}).get("provisional_person_ids", []):
            try:
                found = casework.get_provisional_person(person_id)
            except NotFound:
                continue
            streams.append(found.id)
            provisional.append(found.as_dict())
            events.extend(_events(casework, found.id, "ProvisionalPerson"))

    relay_position, _published = relay_state(store)
    positions = _positions(store, streams)
    for event in events:
        event["position"] = positions.get((event["stream_id"], event["version"]))
        sent = event["position"] is not None and event["position"] <= relay_position
        event["published"] = sent
        event["topic"] = EVENTS if sent else None
    events.sort(key=lambda e: (e["position"] is None, e["position"] or 0))

    hashed = access_log.nik_hash(secret_key, nik)
    reads = _reads(store, hashed, household_ids)
    program_bases = {b for benefit in benefits for b in benefit["legal_basis"]}
    return {
        "report": "subject_access",
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "controller": gettext(CONTROLLER),
        "legal_basis": [
            *map(str, LEGAL_BASIS),
            str(GENERAL_BASIS),
            *sorted(program_bases - {str(GENERAL_BASIS)}),
        ],
        "legal_review_note": str(LEGAL_REVIEW_NOTE),
        "nik": nik,
        "nik_hash": hashed,
        "person": person,
        "households": households,
        "provisional_identities": provisional,
        "benefits": benefits,
        "nibs": nibs,
        "empowerment": enrollments,
        "objections_filed": objections,
        "welfare_assessments": assessments,
        "events": events,
        "reads": reads,
        "disclosures": {
            "relay_position": relay_position,
            "published_events": [
                {
                    "topic": EVENTS,
                    "position": e["position"],
                    "event_id": e["event_id"],
                    "type": e["type"],
                    "recorded_at": e["recorded_at"],
                }
                for e in events
                if e["published"]
            ],
            "agency_reads": [r for r in reads if r["actor_role"] == "agency"],
        },
        "generation_ms": round((time.perf_counter() - started) * 1000, 1),
    }
