"""What one agency may receive of one event, under its data-sharing agreement.

Every channel to agencies (the agency topics, the HTTP feed, the webhooks, the DCI registry
interface) calls `AgencyFilter.deliver` with the envelope exactly as on `casework.events.v1`
(sealed: personal fields are tokens, `adapters.codec`) and sends what it answers, or nothing.
The rules, in order:

1. the agency's agreement is in force today (`current`: defined, not revoked, today within
   its validity), as the store holds it now when `stored` is given;
2. the version in force at the event's position (the latest recorded before it: a change
   applies from its position on) allows the event type, less what a later version no longer
   allows (`narrowed`);
3. the household (or the person without papers) lies inside the agreement's area, as the
   agencies view knows it now; program events have no area;
4. no person the event names is restricted (UU PDP) or erased (their key is destroyed).

What is delivered: the envelope with `data` reduced to the allowed field paths, plus
`"agreement": {"agency", "version"}`. Personal fields are opened (NIK, names and dates in
clear) or, the default, pseudonymised: an identifier (NIK, KK number) becomes
`HMAC-SHA256(pseudonym_secret, agency:subject)`, stable for one agency and unlinkable
across agencies; other personal fields (names, birth dates, addresses, free text) are left
out. The envelope's free-text `reason`, personal data of its own, is left out (None) unless
it is in clear (a program's or an agreement's).

Callers wait until `caught_up_to()` reaches an event's position before calling `deliver`:
the agencies view must have applied everything up to it (a change or a revocation, a
household's move, a restriction). The view applies each Kafka partition on its own, so an
agreement's own event can trail an event of another partition by a poll: `stored` (the
agreement as the store holds it, `stored_terms`) closes that window for revocations and
narrowing changes (see docs/agencies.md).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from adapters import access_log
from adapters.access_log import Read
from adapters.codec import ERASED_ID, PREFIX, Codec, is_erased
from adapters.db import Database
from adapters.settings import Settings, kept_secret
from domain.agreement import AgencyAgreement, normalize_agency
from domain.city import today as city_today
from domain.errors import DomainError
from domain.use_case import Actor
from projections import agencies as view

# How long the agreements and areas read from the view are reused without asking again
# (`caught_up_to` always refreshes them).
REFRESH_SECONDS = 1.0
PSEUDONYM_PREFIX = "ps1."
_IDENTIFIER_KINDS = ("n", "k")  # NIK, KK number (adapters.codec token kinds)
_PERSON_KIND = "n"
_SHARED_STREAMS_WITH_AREA = ("Household", "ProvisionalPerson")


@dataclass(frozen=True)
class Terms:
    agency: str
    version: int
    from_position: int
    purpose: str
    legal_basis: str
    event_types: frozenset[str]
    fields: Mapping[str, tuple[str, ...]]
    personal: str  # "pseudonym" | "opened"
    kecamatan: frozenset[str]
    kelurahan: frozenset[str]
    valid_from: dt.date
    valid_until: dt.date | None
    revoked_at: int | None  # position of the revocation

    def in_force(self, on: dt.date) -> bool:
        """Not revoked, and `on` within its validity."""
        if self.revoked_at is not None or on < self.valid_from:
            return False
        return self.valid_until is None or on <= self.valid_until

    def covers(self, kecamatan: str | None, kelurahan: str | None) -> bool:
        """Whether a place lies in the agreement's area (empty lists: the whole city)."""
        if not self.kecamatan and not self.kelurahan:
            return True
        return kecamatan in self.kecamatan or (
            kelurahan is not None and kelurahan in self.kelurahan
        )


@dataclass(frozen=True)
class Delivery:
    envelope: dict[str, Any]  # what the agency receives (JSON-ready)
    read: Read  # who it names, for the read log


def terms_of(row: Mapping[str, Any]) -> Terms:
    """A version of the agencies view (`projections.agencies.versions`) as Terms."""
    terms = row["terms"]
    until = terms.get("valid_until")
    return Terms(
        agency=row["agency"],
        version=row["version"],
        from_position=row["from_position"],
        purpose=terms["purpose"],
        legal_basis=terms["legal_basis"],
        event_types=frozenset(terms["event_types"]),
        fields={k: tuple(v) for k, v in (terms.get("fields") or {}).items()},
        personal=terms.get("personal") or "pseudonym",
        kecamatan=frozenset(terms.get("kecamatan") or ()),
        kelurahan=frozenset(terms.get("kelurahan") or ()),
        valid_from=dt.date.fromisoformat(terms["valid_from"]),
        valid_until=dt.date.fromisoformat(until) if until else None,
        revoked_at=row.get("revoked_at"),
    )


def _token_kind(value: Any) -> tuple[str, str] | None:
    """(subject, kind) of a personal-data token; None for anything else."""
    if isinstance(value, str) and value[:4] == PREFIX and len(value) > 38 and value[36] == ".":
        return value[4:36], value[37]
    return None


class AgencyFilter:
    """Decides, for each agency and event, what the agency receives (module docstring).

    `read_key`: the key the read log hashes NIKs with (`Settings.secret_key`, as the web's
    reads are logged); without it a delivery's read names the household only."""

    def __init__(
        self,
        views: Database,
        codec: Codec,
        pseudonym_secret: bytes,
        *,
        read_key: str | None = None,
        stored: Callable[[str], Terms | None] | None = None,
    ) -> None:
        self.views = views
        self.codec = codec
        self.secret = pseudonym_secret
        self.read_key = read_key
        # the agreement as the store holds it now (`stored_terms`): stricter than the view,
        # which may trail it by a poll of another partition
        self.stored = stored
        self._latest: dict[str, Terms | None] = {}
        self._lock = threading.Lock()
        self._loaded_at = 0.0
        self._versions: dict[str, list[Terms]] = {}
        self._areas: dict[str, tuple[str, str | None] | None] = {}
        self._restricted: dict[str, set[str]] = {}

    # --- what the view knows -------------------------------------------------------------

    def caught_up_to(self) -> int:
        """The highest position the agencies view has applied; what it read is read again."""
        position = view.applied_position(self.views)
        self._refresh()
        return position

    def _refresh(self) -> None:
        versions: dict[str, list[Terms]] = {}
        for row in view.versions(self.views):
            versions.setdefault(row["agency"], []).append(terms_of(row))
        latest = {agency: self.stored(agency) for agency in versions} if self.stored else {}
        with self._lock:
            self._versions = versions
            self._latest = latest
            self._areas = {}
            self._restricted = {}
            self._loaded_at = time.monotonic()

    def _fresh(self) -> None:
        if time.monotonic() - self._loaded_at > REFRESH_SECONDS:
            self._refresh()

    def agencies(self) -> list[str]:
        """Every agency that has an agreement (in force or not)."""
        self._fresh()
        return sorted(self._versions)

    def versions(self, agency: str) -> list[Terms]:
        """Every version of the agency's agreement, oldest first."""
        self._fresh()
        return list(self._versions.get(agency, []))

    def current(self, agency: str, today: dt.date | None = None) -> Terms | None:
        """The latest version when it is in force today (not revoked, not expired, already
        valid); else None."""
        self._fresh()
        with self._lock:
            found, stored = self._versions.get(agency), self._latest
        return self._current(agency, found, stored, today or city_today())

    def _current(
        self,
        agency: str,
        found: list[Terms] | None,
        stored_latest: Mapping[str, Terms | None],
        today: dt.date,
    ) -> Terms | None:
        if not found:
            return None
        latest = found[-1]
        if self.stored is not None:
            # a revocation or a change the store holds and the view has not applied yet
            # counts already
            stored = stored_latest.get(agency, latest)
            if stored is None or stored.version < latest.version:
                stored = latest
            if stored.revoked_at is not None or stored.version > latest.version:
                latest = stored
        return latest if latest.in_force(today) else None

    def _area(self, stream_id: str) -> tuple[str, str | None] | None:
        if stream_id not in self._areas:
            self._areas[stream_id] = view.area_of(self.views, stream_id)
        return self._areas[stream_id]

    def _restrictions(self, stream_id: str) -> set[str]:
        if stream_id not in self._restricted:
            self._restricted[stream_id] = view.restricted(self.views, stream_id)
        return self._restricted[stream_id]

    def prefetch(self, envelopes: Iterable[dict[str, Any]]) -> None:
        """Fetch what delivering these envelopes one by one will look up, each kind in one
        look-up: the keys of every person and household their data name (from the key
        store), their streams' areas and restrictions (from the view; kept until the view
        is next read, as those looked up one at a time are)."""
        envelopes = list(envelopes)
        self.codec.load_keys(token for e in envelopes for token in _tokens(e.get("data")))
        streams = {str(e["stream_id"]) for e in envelopes}
        with_area = {
            str(e["stream_id"])
            for e in envelopes
            if e.get("stream_type") in _SHARED_STREAMS_WITH_AREA
        }
        with self._lock:
            areas, restricted = self._areas, self._restricted
        areas.update(view.areas_of(self.views, (s for s in with_area if s not in areas)))
        restricted.update(
            view.restricted_of(self.views, (s for s in streams if s not in restricted))
        )

    def ready(self, agency: str, envelopes: Sequence[dict[str, Any]]) -> int:
        """How many of these envelopes, from the first (in position order), the view has
        applied everything `deliver` needs for: the event's own stream up to its version
        (the household's area, its moves and restrictions all travel in its stream), and this
        agency's agreement as the store holds it (a change the view has not applied yet
        holds everything back). The runner applies each partition on its own, so a position
        below `caught_up_to()` is not enough; a caller delivers these and stops at the first
        one that is not ready, to ask again later: nothing is skipped, nothing judged by
        what the view has not learnt yet."""
        if not envelopes:
            return 0
        if self.stored is not None:
            with self._lock:
                stored = self._latest.get(agency)
            known = self.versions(agency)
            if stored is not None and (
                not known
                or stored.version > known[-1].version
                or (stored.revoked_at is not None) != (known[-1].revoked_at is not None)
            ):
                # the view trails the agreement: a revocation stops `deliver` already, what
                # else changed waits for the view
                return 0 if stored.revoked_at is None else len(envelopes)
        applied = view.applied_versions(self.views, [str(e["stream_id"]) for e in envelopes])
        for count, envelope in enumerate(envelopes):
            if applied.get(str(envelope["stream_id"]), 0) < envelope["version"]:
                return count
        return len(envelopes)

    # --- delivering ----------------------------------------------------------------------

    def deliver(
        self, agency: str, envelope: dict[str, Any], today: dt.date | None = None
    ) -> Delivery | None:
        """What the agency receives of this sealed envelope, or None (module docstring)."""
        return self.deliver_all((agency,), envelope, today).get(agency)

    def deliver_all(
        self, agencies: Iterable[str], envelope: dict[str, Any], today: dt.date | None = None
    ) -> dict[str, Delivery]:
        """`deliver` for each of these agencies at once: what each receives of this sealed
        envelope (an agency that receives nothing is left out). What does not depend on the
        agency is done once for the event: the household's area, the persons the event names,
        their restrictions and erasure, the tokens opened; per agency only its terms, the
        event type, the area against them, the fields and their opened or pseudonym form."""
        self._fresh()
        with self._lock:
            all_versions, stored = self._versions, self._latest
        on = today or city_today()
        position = envelope["position"]
        event_type = envelope["type"]
        stream_id = str(envelope["stream_id"])
        with_area = envelope.get("stream_type") in _SHARED_STREAMS_WITH_AREA
        area: tuple[str, str | None] | None = None
        looked_up = False
        judged: list[tuple[str, Terms]] = []
        for agency in agencies:
            found = all_versions.get(agency)
            latest = self._current(agency, found, stored, on)
            if latest is None or found is None:
                continue
            before = None
            for version in found:  # oldest first
                if version.from_position < position:
                    before = version
            if before is None:
                continue
            terms = narrowed(before, latest)
            if event_type not in terms.event_types:
                continue
            if with_area:
                if not looked_up:
                    area, looked_up = self._area(stream_id), True
                if area is None or not (terms.covers(*area) and latest.covers(*area)):
                    continue
            judged.append((agency, terms))
        if not judged:
            return {}
        data = envelope.get("data") or {}
        identifiers = _identifier_tokens(data)
        if identifiers:
            persons = {_subject(token) for token in identifiers}
            if persons & self._restrictions(stream_id):
                return {}
            if any(self._erased(token) for token in identifiers):
                return {}
        household_id = stream_id if with_area and envelope["stream_type"] == "Household" else None
        base = {key: value for key, value in envelope.items() if key != "data"}
        reason = base.get("reason")
        if _token_kind(reason) or (isinstance(reason, str) and reason.startswith(ERASED_ID)):
            base["reason"] = None
        opened: dict[str, tuple[Any, str | None]] = {}  # token -> (opened, NIK's read hash)
        # Agencies whose terms take the same fields see the same selection; opened, they see
        # the same data (a pseudonym is the agency's own): done once for them. The deliveries
        # of one call may share their data: read them, do not change them.
        selected: dict[tuple[str, ...], dict[str, Any]] = {}
        shown_opened: dict[tuple[str, ...], tuple[Any, list[str]]] = {}
        answers: dict[str, Delivery] = {}
        for agency, terms in judged:
            paths = terms.fields.get(event_type, ())
            if terms.personal == "opened" and paths in shown_opened:
                shown, named = shown_opened[paths]
            else:
                if paths not in selected:
                    selected[paths] = _select(data, paths)
                named = []
                shown = self._personal(selected[paths], terms, named, opened)
                if terms.personal == "opened":
                    shown_opened[paths] = (shown, named)
            out = {**base, "data": shown, "agreement": {"agency": agency, "version": terms.version}}
            subjects = tuple(dict.fromkeys(named)) if self.read_key else ()
            answers[agency] = Delivery(
                envelope=out, read=Read(household_id=household_id, subject_hashes=subjects)
            )
        return answers

    def _erased(self, token: str) -> bool:
        if token.startswith(ERASED_ID):
            return True
        return is_erased(str(self.codec.open(token)))

    def pseudonym(self, agency: str, subject: str) -> str:
        """The stable pseudonym of a data subject for one agency."""
        digest = hmac.new(self.secret, f"{agency}:{subject}".encode(), hashlib.sha256)
        return PSEUDONYM_PREFIX + digest.hexdigest()

    def _personal(
        self,
        value: Any,
        terms: Terms,
        named: list[str],
        opened: dict[str, tuple[Any, str | None]],
    ) -> Any:
        """`value` with each token opened or pseudonymised as the terms say (`named` gets
        the read-log hash of each NIK delivered; `opened` keeps what was opened for the
        event's other agencies); _DROP for a value left out."""
        kind = type(value)
        if kind is dict:
            out = {}
            for key, item in value.items():
                shown_key = self._personal(key, terms, named, opened) if _token_kind(key) else key
                if shown_key is _DROP:
                    continue
                shown = self._personal(item, terms, named, opened)
                if shown is not _DROP:
                    out[shown_key] = shown
            return out
        if kind is list:
            shown_items = (self._personal(i, terms, named, opened) for i in value)
            return [s for s in shown_items if s is not _DROP]
        token = _token_kind(value)
        if token is None:
            return value
        subject, token_kind = token
        wants_hash = token_kind == _PERSON_KIND and self.read_key
        if wants_hash or terms.personal == "opened":
            known = opened.get(value)
            if known is None:
                plain = self.codec.open(value)
                read_hash = None
                if wants_hash:
                    read_hash = access_log.nik_hash(str(self.read_key), str(plain))
                known = opened[value] = (plain, read_hash)
            if wants_hash and known[1] is not None:
                named.append(known[1])
            if terms.personal == "opened":
                return _plain(known[0])
        if token_kind in _IDENTIFIER_KINDS:
            return self.pseudonym(terms.agency, subject)
        return _DROP


_DROP = object()


def narrowed(terms: Terms, latest: Terms) -> Terms:
    """The version in force at an event's position, less what the latest version no longer
    allows: a change applies from its position on, but nothing an agreement has stopped
    allowing leaves the system after that change, whatever the event's position (event types
    and field paths are intersected, opened personal fields become pseudonyms when the latest
    version says so; `deliver` checks the area against both)."""
    if latest.version <= terms.version:
        return terms
    types = terms.event_types & latest.event_types
    fields = {
        kind: tuple(p for p in paths if p in latest.fields.get(kind, ()))
        for kind, paths in terms.fields.items()
        if kind in types
    }
    personal = "pseudonym" if "pseudonym" in (terms.personal, latest.personal) else "opened"
    return replace(terms, event_types=types, fields=fields, personal=personal)


def stored_terms(casework: Any) -> Callable[[str], Terms | None]:
    """`AgencyFilter(stored=...)`: an agency's agreement as the store holds it now (its
    latest version, revoked or not), from the application's repository. The filter asks on
    every refresh (each `caught_up_to`, several times a second for a waiting feed request):
    the stream's last stored version is one indexed row, and the agreement is rebuilt only
    when it has moved."""
    known: dict[str, tuple[int, Terms]] = {}

    def latest(agency: str) -> Terms | None:
        try:
            stream = AgencyAgreement.create_id(normalize_agency(agency))
        except DomainError:
            return None
        last = casework.recorder.select_events(stream, desc=True, limit=1)
        if not last:
            return None
        version = last[0].originator_version
        if agency in known and known[agency][0] == version:
            return known[agency][1]
        agreement = casework.get_agency_agreement(agency)
        terms = agreement.terms
        found = terms_of(
            {
                "agency": agreement.agency,
                "version": terms["version"],
                "from_position": 0,
                "terms": terms,
                "revoked_at": 0 if agreement.revoked else None,
            }
        )
        known[agency] = (agreement.version, found)
        return found

    return latest


def _plain(value: Any) -> Any:
    """An opened value as plain JSON types (an opened identifier is a str subclass)."""
    if isinstance(value, str):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _select(data: Mapping[str, Any], paths: tuple[str, ...]) -> dict[str, Any]:
    """The data reduced to these field paths (`name`, or `parent.child` in a nested record)."""
    out: dict[str, Any] = {}
    for path in paths:
        parent, dot, child = path.partition(".")
        if parent not in data:
            continue
        if not dot:
            out[parent] = _copy(data[parent])
            continue
        nested = data[parent]
        if isinstance(nested, dict) and child in nested:
            target = out.setdefault(parent, {})
            if isinstance(target, dict):
                target[child] = _copy(nested[child])
    return out


_SCALARS = (str, int, float, bool, type(None))


def _copy(value: Any) -> Any:
    """A copy of a JSON value as plain JSON types (what a round trip through JSON gives),
    without the round trip for what is plain already."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is dict and all(type(k) is str for k in value):
        return {k: _copy(v) for k, v in value.items()}
    if kind is list:
        return [_copy(v) for v in value]
    return json.loads(json.dumps(value))


def _tokens(value: Any) -> Iterator[str]:
    """Every personal-data token in the data, keys included."""
    if isinstance(value, dict):
        for key, sub in value.items():
            yield from _tokens(key)
            yield from _tokens(sub)
    elif isinstance(value, list):
        for sub in value:
            yield from _tokens(sub)
    elif isinstance(value, str) and value[:4] == PREFIX:
        yield value


def _identifier_tokens(value: Any) -> list[str]:
    """Every NIK token (or erased NIK marker) in the data, keys included."""
    found: list[str] = []

    def walk(item: Any) -> None:
        if isinstance(item, dict):
            for key, sub in item.items():
                walk(key)
                walk(sub)
        elif isinstance(item, list):
            for sub in item:
                walk(sub)
        elif isinstance(item, str):
            token = _token_kind(item)
            if (token and token[1] == _PERSON_KIND) or item.startswith(ERASED_ID):
                found.append(item)

    walk(value)
    return found


def _subject(token: str) -> str:
    """The subject of a NIK token or of an erased NIK's marker."""
    kind = _token_kind(token)
    return kind[0] if kind else token[len(ERASED_ID) :]


# --- the pseudonym secret and the read log ---------------------------------------------------

PSEUDONYM_KEY_VARIABLE = "CASEWORK_PSEUDONYM_KEY"


def pseudonym_secret(settings: Settings, environ: Mapping[str, str] | None = None) -> bytes:
    """The secret agency pseudonyms are keyed with: CASEWORK_PSEUDONYM_KEY (64 hex digits);
    else, with an SQLite store, one generated into var/pseudonym_key like the other keys;
    with a PostgreSQL store, derived from the master key (every process holds that one), so
    all processes agree without another variable."""
    env = os.environ if environ is None else environ
    raw = (env.get(PSEUDONYM_KEY_VARIABLE) or "").strip()
    if not raw and settings.store.kind == "sqlite":
        raw = kept_secret(Path("var") / "pseudonym_key")
    if raw:
        try:
            secret = bytes.fromhex(raw)
        except ValueError:
            raise ValueError(f"{PSEUDONYM_KEY_VARIABLE}: 64 hex digits") from None
        if len(secret) < 16:
            raise ValueError(f"{PSEUDONYM_KEY_VARIABLE}: 64 hex digits")
        return secret
    return hmac.new(settings.master_key, b"casework agency pseudonyms v1", hashlib.sha256).digest()


def agency_actor(agency: str) -> Actor:
    """Who an agency delivery is logged as."""
    return Actor(id=f"agency:{agency}", role="agency", opd=agency)


def record_reads(
    store: Database, agency: str, channel: str, endpoint: str, reads: list[Read]
) -> int:
    """One read-log row for a delivered batch (those of its reads that name a household or a
    person); the rows written (0 or 1)."""
    return record_batch_reads(store, channel, [(agency, endpoint, reads)])


def record_batch_reads(
    store: Database, channel: str, deliveries: Sequence[tuple[str, str, list[Read]]]
) -> int:
    """`record_reads` for several agencies' deliveries of one batch, (agency, endpoint,
    reads) each: one read-log row each, written in one transaction; the rows written."""
    return access_log.append_many(
        store,
        [
            access_log.Entry(
                agency_actor(agency),
                channel,
                endpoint,
                [r for r in reads if r.household_id or r.nik_hash or r.subject_hashes],
            )
            for agency, endpoint, reads in deliveries
        ],
    )
