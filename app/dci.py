"""The DCI social-registry interface (SPDCI `social_api` v1.0.0) under `/dci/registry/...`.

Agencies (role `agency`, bearer token; the account's agency code is `Actor.opd`) ask this
registry in the DCI envelope (`signature`, `header`, `message`; app/dci_protocol.py):

- `POST /dci/registry/sync/search`: the answer in the response (header action `on-search`);
- `POST /dci/registry/search`: `ACK` now, the same answer POSTed to
  `<sender_uri>/registry/on-search` afterwards;
- `POST /dci/registry/subscribe`: `ACK`, then `<sender_uri>/registry/on-subscribe` with the
  subscription codes; from then on every new household (`REGISTER`, from HouseholdRegistered)
  or new member (`NewHouseHoldMember`, from MemberAdded) the agency may see and the filter
  matches is POSTed to `<sender_uri>/registry/notify`;
- `POST /dci/registry/unsubscribe`: `ACK`, then `<sender_uri>/registry/on-unsubscribe`;
- `POST /dci/registry/txn/status` (`ACK`, then `<sender_uri>/registry/txn/on-status`) and
  `POST /dci/registry/sync/txn/status` (in the response): what became of a transaction.

Identifiers: a NIK is the `UIN` (or `NIN`), a KK number the `HOUSEHOLD_ID`.

Every answer is bound to the caller's data-sharing agreement through the agency filter
(`consumers.agency_filter.AgencyFilter.deliver`): a household's record is built only from the
events `deliver` gives this agency (event types, area, fields, NIKs opened or pseudonyms, no
restricted or erased person), up to the position the filter has applied. A household the
agency may not see, or whose identifier it would not see in clear, is not found. An agency
without an agreement in force is refused (`err.request.forbidden`). Every answer that names
households is one row of the read log (channel `api`); callbacks and notifications count in
the agency's delivery state (channel `dci`).

Callbacks are sent after the answer by one worker thread per web process, which also polls the
store for the subscriptions' events (`DCI_POLL_SECONDS`); a subscription's cursor is claimed in
the database before its notifications are sent, so two processes never send the same one.
"""

from __future__ import annotations

import copy
import datetime as dt
import http.client
import json
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from eventsourcing.utils import get_topic
from flask import Blueprint, Flask, Response, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from adapters import outbound
from adapters.access_log import now_utc
from adapters.bootstrap import reader_codec
from adapters.db import Database
from adapters.signing import Signer
from adapters.store_schema import ensure_migrated
from adapters.stream_events import stream_notifications
from adapters.wire import from_notification
from app import dci_protocol as dci
from app import read_policy
from app.api import MAX_JSON_DEPTH, BadBody, json_body
from app.auth import TooManyFailures, Unauthenticated, api_actor
from app.context import DATABASE_ERRORS, Services, services
from consumers import agency_delivery, agency_filter
from domain.application import Actor
from domain.errors import DomainError
from domain.household import HEAD, Household

log = logging.getLogger("casework.dci")

bp = Blueprint("dci", __name__, url_prefix="/dci")

SUBSCRIPTIONS = "casework_dci_subscriptions"
TRANSACTIONS = "casework_dci_transactions"
MESSAGES = "casework_dci_messages"
EVENT_TOPICS = {
    "HouseholdRegistered": get_topic(Household.HouseholdRegistered),
    "MemberAdded": get_topic(Household.MemberAdded),
}
REG_EVENT_OF = {event: reg for reg, event in dci.REG_EVENT_TYPES.items()}
ENTITY = {"HouseholdRegistered": "Household", "MemberAdded": "Member"}
SCAN = 500  # store events read per step of the notifier
ATTEMPTS = 3  # tries of one callback
TIMEOUT = 10.0  # seconds for one callback

# ---- the registry: lookups bound to the agreement ---------------------------------------------


class Registry:
    """One web process's DCI side: the filter, the tables, the callback worker."""

    def __init__(
        self,
        svc: Services,
        agency_filter: Any,
        record_reads: Callable[..., int],
        record_delivery: Callable[..., None],
        poll_seconds: float = 1.0,
    ) -> None:
        self.svc = svc
        self.filter = agency_filter
        self.record_reads = record_reads
        self.record_delivery = record_delivery
        self.tenant = svc.settings.tenant
        self.sender_id = f"casework.{self.tenant}"
        self.signer = Signer(svc.settings.signing_key)
        self.poll_seconds = poll_seconds
        self.worker: Worker | None = None
        self.lanes = Lanes()
        self._lock = threading.Lock()
        self._schema = False

    @property
    def store(self) -> Database:
        return self.svc.store

    def ensure_tables(self) -> None:
        if self._schema:
            return
        ensure_migrated(self.store)  # the tables: migration 0009_dci
        self._schema = True

    def start(self) -> None:
        """The callback and notification worker (one per process, on the first request)."""
        with self._lock:
            if self.worker is None or not self.worker.is_alive():
                self.worker = Worker(self, self.poll_seconds)
                self.worker.start()

    def stop(self) -> None:
        with self._lock:
            if self.worker is not None:
                self.worker.stop()
                self.worker.join(timeout=TIMEOUT * ATTEMPTS)
                self.worker = None
            self.lanes.stop()

    # -- agreements and households

    def terms(self, agency: str | None) -> Any:
        return self.filter.current(agency) if agency else None

    def deliveries(self, agency: str, household_id: uuid.UUID | str) -> list[Any]:
        """What `deliver` gives this agency of one household, up to the filter's position."""
        upto = self.filter.caught_up_to()
        found = []
        envelopes = [
            from_notification(self.svc.casework, notification, self.tenant, sealed=True)
            for notification in stream_notifications(self.store, household_id, upto)
        ]
        # what the agencies view has applied of this household (AgencyFilter.ready)
        for envelope in envelopes[: self.filter.ready(agency, envelopes)]:
            delivery = self.filter.deliver(agency, envelope)
            if delivery is not None:
                found.append(delivery)
        return found

    def household_for(self, query: dci.Query) -> uuid.UUID | None:
        casework = self.svc.casework
        try:
            if query.id_type in dci.PERSON_ID_TYPES:
                return casework.household_id_for_nik(query.value)
            if query.id_type in dci.HOUSEHOLD_ID_TYPES:
                return casework.household_id_for_kk(query.value)
        except (DomainError, ValueError):
            return None  # not a NIK or KK number this registry could hold
        return None

    def search(self, agency: str, query: dci.Query) -> tuple[list[dict[str, Any]] | None, list]:
        """(records, deliveries behind them) for one query; records None when rejected."""
        if query.reject is not None:
            return None, []
        household_id = self.household_for(query)
        if household_id is None:
            return [], []
        deliveries = self.deliveries(agency, household_id)
        if not deliveries or not identifier_shown(deliveries, query):
            return [], []
        return [household_record(deliveries)], deliveries

    # -- subscriptions

    def subscribe(
        self,
        agency: str,
        terms: Any,
        header: dci.Header,
        transaction_id: str,
        query: dci.Query,
        criteria: Mapping[str, Any],
    ) -> dict[str, Any]:
        """One subscribe_request entry's answer; stores the subscription when accepted."""
        item: dict[str, Any] = {"reference_id": query.reference_id, "timestamp": dci.now()}
        event = dci.REG_EVENT_TYPES[criteria["reg_event_type"]]
        reject = query.reject
        if reject is None and event not in terms.event_types:
            reject = ("rjct.notify_types.invalid", "the agreement does not cover this event type")
        household_id = None
        if reject is None and query.id_type:
            household_id = self.household_for(query)
            deliveries = self.deliveries(agency, household_id) if household_id else []
            if not deliveries or not identifier_shown(deliveries, query):
                reject = ("rjct.person_id.invalid", "no household of this agency's agreement")
        area = json.dumps(query.area)
        if reject is None and self._subscribed(agency, criteria, household_id, area):
            reject = ("rjct.event.already_subscribed", "an active subscription asks the same")
        if reject is not None:
            code, reason = reject
            if code not in SUBSCRIBE_CODES:
                code = "rjct.notify_details.invalid"
            return item | {
                "status": "rjct",
                "status_reason_code": code,
                "status_reason_message": reason,
            }
        code = uuid.uuid4().hex
        after = self.svc.casework.recorder.max_notification_id() or 0
        with self.store.transaction() as cur:
            cur.execute(
                f"INSERT INTO {SUBSCRIPTIONS} (code, agency, reference_id, transaction_id,"
                " reg_event_type, household_id, area, callback, receiver_id, after_position,"
                " status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    code,
                    agency,
                    query.reference_id,
                    transaction_id,
                    criteria["reg_event_type"],
                    str(household_id) if household_id else None,
                    area,
                    header.sender_uri,
                    header.sender_id,
                    after,
                    "subscribe",
                    dci.now(),
                ),
            )
        subscription = {
            "version": dci.VERSION,
            "code": code,
            "subscription_code": code,
            "status": "subscribe",
            "timestamp": dci.now(),
            "reg_type": dci.REG_TYPE,
            "reg_event_type": criteria["reg_event_type"],
            "subscribe_criteria": dict(criteria),
        }
        return item | {"status": "succ", "subscriptions": [subscription]}

    def _subscribed(
        self, agency: str, criteria: Mapping[str, Any], household_id: Any, area: str
    ) -> bool:
        return (
            self.store.query_one(
                f"SELECT 1 FROM {SUBSCRIPTIONS} WHERE agency = ? AND status = 'subscribe'"
                " AND reg_event_type = ? AND COALESCE(household_id, '') = ? AND area = ?",
                (agency, criteria["reg_event_type"], str(household_id or ""), area),
            )
            is not None
        )

    def unsubscribe(self, agency: str, codes: list[str]) -> tuple[list[dict], dict[str, str]]:
        """(subscription_status entries of the codes ended now, {code: the spec's reason} of
        the others: unknown to this agency, or ended before)."""
        done, refused = [], {}
        with self.store.transaction() as cur:
            for code in codes:
                cur.execute(
                    f"UPDATE {SUBSCRIPTIONS} SET status = 'unsubscribe'"
                    " WHERE code = ? AND agency = ? AND status = 'subscribe'",
                    (code, agency),
                )
                if cur.rowcount == 1:
                    done.append({"code": code, "status": "unsubscribe"})
                    continue
                cur.execute(
                    f"SELECT 1 FROM {SUBSCRIPTIONS} WHERE code = ? AND agency = ?", (code, agency)
                )
                ended = cur.fetchone() is not None
                refused[code] = (
                    "rjct.event.already_unsubscribed" if ended else "rjct.subscription_code.invalid"
                )
        return done, refused

    def active_subscriptions(self) -> list[dict[str, Any]]:
        rows = self.store.query(
            f"SELECT code, agency, reg_event_type, household_id, area, callback, receiver_id,"
            f" after_position FROM {SUBSCRIPTIONS} WHERE status = 'subscribe'"
        )
        names = (
            "code",
            "agency",
            "reg_event_type",
            "household_id",
            "area",
            "callback",
            "receiver_id",
            "after_position",
        )
        return [dict(zip(names, row, strict=True)) for row in rows]

    # -- messages received (their ids only: a replay is refused)

    def claim_message(self, agency: str, message_id: str) -> None:
        """Records this agency's message id; raises Refused when it came before. An id is
        kept as long as its message could still pass its message_ts check (MESSAGE_PAST,
        plus MESSAGE_AHEAD for one dated ahead), then let go."""
        kept = dci.MESSAGE_PAST + dci.MESSAGE_AHEAD
        gone = (dt.datetime.now(dt.UTC) - kept).isoformat(timespec="seconds")
        gone = gone.replace("+00:00", "Z")
        with self.store.transaction() as cur:
            cur.execute(f"DELETE FROM {MESSAGES} WHERE received_at < ?", (gone,))
            claimed = cur.execute(
                f"INSERT INTO {MESSAGES} (agency, message_id, received_at) VALUES (?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (agency, message_id, dci.now()),
            ).rowcount
        if claimed != 1:
            raise dci.Refused(
                "err.request.bad",
                "header.message_id",
                "a new id for each message: this one was received before",
                status_reason="rjct.message_id.duplicate",
            )

    def release_message(self, agency: str, message_id: str) -> None:
        with self.store.transaction() as cur:
            cur.execute(
                f"DELETE FROM {MESSAGES} WHERE agency = ? AND message_id = ?",
                (agency, message_id),
            )

    # -- transactions (status only: no personal data is kept)

    def remember(
        self,
        agency: str,
        transaction_id: str,
        correlation_id: str,
        kind: str,
        refs: list[dict[str, Any]],
    ) -> None:
        kept = [
            {
                k: r[k]
                for k in ("reference_id", "timestamp", "status", "status_reason_code")
                if k in r
            }
            for r in refs
        ]
        with self.store.transaction() as cur:
            cur.execute(
                f"INSERT INTO {TRANSACTIONS} (correlation_id, agency, transaction_id, kind, refs,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (correlation_id, agency, transaction_id, kind, json.dumps(kept), now_utc()),
            )

    def transaction(self, agency: str, request_: Mapping[str, Any]) -> dict[str, Any] | None:
        kind = {"subscibe": "subscribe"}.get(request_["txn_type"], request_["txn_type"])
        attribute, value = request_["attribute_type"], request_["attribute_value"]
        # newest first (`created_at` to the microsecond): an agency reusing its reference
        # ids (`r-1` in every batch) asks about its latest request, not its first
        rows = self.store.query(
            f"SELECT correlation_id, transaction_id, refs FROM {TRANSACTIONS}"
            " WHERE agency = ? AND kind = ? ORDER BY created_at DESC",
            (agency, kind),
        )
        for correlation_id, transaction_id, refs_text in rows:
            refs = json.loads(refs_text)
            if attribute == "transaction_id" and transaction_id == value:
                return {
                    "transaction_id": transaction_id,
                    "correlation_id": correlation_id,
                    "search_response": refs,
                }
            if attribute == "correlation_id" and correlation_id == value:
                return {
                    "transaction_id": transaction_id,
                    "correlation_id": correlation_id,
                    "search_response": refs,
                }
            if attribute == "reference_id_list":
                chosen = [r for r in refs if r["reference_id"] in value]
                if chosen:
                    return {
                        "transaction_id": transaction_id,
                        "correlation_id": correlation_id,
                        "search_response": chosen,
                    }
        return None

    # -- notifications

    def notify_step(self) -> int:
        """Send what the subscriptions have to send now; the number of events notified."""
        self.ensure_tables()
        subscriptions = self.active_subscriptions()
        upto = self.filter.caught_up_to()
        waiting = [s for s in subscriptions if int(s["after_position"]) < upto]
        if not waiting:
            return 0
        start = min(int(s["after_position"]) for s in waiting)
        notifications = self.svc.casework.recorder.select_notifications(
            start, SCAN, stop=upto, topics=list(EVENT_TOPICS.values()), inclusive_of_start=False
        )
        scanned = notifications[-1].id if len(notifications) == SCAN else upto
        sent = 0
        for subscription in waiting:
            sent += self._notify(subscription, notifications, scanned)
        return sent

    def _notify(
        self, subscription: dict[str, Any], notifications: Iterable[Any], scanned: int
    ) -> int:
        before = int(subscription["after_position"])
        agency = subscription["agency"]
        event = dci.REG_EVENT_TYPES[subscription["reg_event_type"]]
        candidates = [n for n in notifications if n.id > before and n.topic == EVENT_TOPICS[event]]
        sealed = [
            from_notification(self.svc.casework, n, self.tenant, sealed=True) for n in candidates
        ]
        ready = self.filter.ready(agency, sealed)
        if ready < len(sealed):  # the agencies view has not applied this one yet: stop before
            scanned = sealed[ready]["position"] - 1
            sealed = sealed[:ready]
        if scanned <= before:
            return 0
        with self.store.transaction() as cur:  # claim (before, scanned]: one process sends it
            cur.execute(
                f"UPDATE {SUBSCRIPTIONS} SET after_position = ?"
                " WHERE code = ? AND after_position = ? AND status = 'subscribe'",
                (scanned, subscription["code"], before),
            )
            if cur.rowcount != 1:
                return 0
        # as the register names the area: a subscription stored before filters were read so
        # keeps the names it was sent with ('telanaipura'), and one naming none matches none
        area = dci.area_names([tuple(pair) for pair in json.loads(subscription["area"])])
        deliveries = []
        for envelope in sealed:
            household_id = str(envelope["stream_id"])
            if subscription["household_id"] and household_id != subscription["household_id"]:
                continue
            if isinstance(area, str) or (area and not self._in_area(household_id, area)):
                continue
            delivery = self.filter.deliver(agency, envelope)
            if delivery is not None:
                deliveries.append(delivery)
        if not deliveries:
            return 0
        body = notify_body(self.sender_id, subscription, deliveries)
        self.send(agency, subscription["callback"], "notify", body, deliveries=deliveries)
        return len(deliveries)

    def _in_area(self, household_id: str, area: tuple[tuple[str, str], ...]) -> bool:
        try:
            household = self.svc.casework.get_household(household_id)
        except DomainError:
            return False
        return all(getattr(household, name) == value for name, value in area)

    # -- callbacks

    def signed(self, agency: str, body: dict[str, Any]) -> dict[str, Any]:
        """The message with its `signature` (and `key_id`): the system's Ed25519 signature
        over header and message, as a document of `signed_topic(agency)`; agencies check it
        against `GET /api/v1/keys` (`adapters.signing.Verifier.verify_document`)."""
        return self.signer.sign_document(signed_topic(agency), None, body)

    def later(self, job: Callable[[], None], endpoint: str = "") -> None:
        """Run the job (a callback) after the answer: in order with the other callbacks to the
        same endpoint, on that endpoint's lane (`Lanes`), so that one subscriber's endpoint
        that does not answer delays only its own callbacks."""
        self.start()
        self.lanes.put(endpoint, job)

    def send(
        self,
        agency: str,
        base: str,
        action: str,
        body: dict[str, Any],
        *,
        deliveries: list[Any] | None = None,
    ) -> bool:
        """POST one callback (`<base>/registry/<action>`), a few tries; counted in the
        agency's delivery state (channel dci). The households it names are one row of the
        read log once it is delivered (channel api, endpoint `/dci/registry/<action>`)."""
        deliveries = deliveries or []
        count = len(deliveries)
        position = max((int(d.envelope["position"]) for d in deliveries), default=0)
        url = f"{base}/registry/{action}"
        data = json.dumps(self.signed(agency, body), ensure_ascii=False).encode("utf-8")
        error = None
        for attempt in range(ATTEMPTS):
            try:
                # https, or loopback where allowed (`callback_base`); every address the
                # host resolves to checked when connecting (`adapters.outbound.connect`)
                status = outbound.post(
                    url,
                    data,
                    {"Content-Type": "application/json"},
                    timeout=TIMEOUT,
                    loopback=self.svc.settings.loopback_endpoints,
                )
            except (OSError, http.client.HTTPException) as failure:
                error = f"{action}: {type(failure).__name__}"
            else:
                if 200 <= status < 300:
                    error = None
                    break
                error = f"{action}: HTTP {status}"
            time.sleep(0.2 * 2**attempt)
        try:
            self.record_delivery(
                self.svc.views,
                agency,
                "dci",
                position,
                delivered=count if error is None else 0,
                failed=0 if error is None else max(count, 1),
                error=error,
            )
        except DATABASE_ERRORS as failure:
            log.warning("dci: delivery state not recorded (%s)", type(failure).__name__)
        if error is not None:
            log.warning("dci: callback %s to agency %s failed (%s)", action, agency, error)
        elif deliveries:
            self.record_reads(
                self.store, agency, "api", f"/dci/registry/{action}", [d.read for d in deliveries]
            )
        return error is None


class Worker(threading.Thread):
    """Polls the subscriptions and sends their notifications (the callbacks go on `Lanes`)."""

    def __init__(self, registry: Registry, poll_seconds: float) -> None:
        super().__init__(name="dci-notifications", daemon=True)
        self.registry = registry
        self.poll_seconds = poll_seconds
        self._stopped = threading.Event()

    def stop(self) -> None:
        self._stopped.set()

    def run(self) -> None:
        while not self._stopped.wait(self.poll_seconds):
            try:
                self.registry.notify_step()
            except Exception as failure:  # noqa: BLE001 - the worker must go on
                log.warning("dci: notification step failed (%s)", type(failure).__name__)


MAX_LANES = 16  # endpoints whose callbacks go out side by side, one thread each
LANE_IDLE_SECONDS = 60.0  # a lane with nothing to send for this long ends


class Lanes:
    """The callbacks, in order per endpoint, each endpoint's on a thread of its own (a lane,
    started when a callback comes, ended when idle), at most MAX_LANES at once: beyond them,
    callbacks share one overflow lane. An endpoint that does not answer (3 tries of 10 s
    each) holds up only the callbacks to it."""

    OVERFLOW = "\0overflow"

    def __init__(self) -> None:
        self._lanes: dict[str, _Lane] = {}
        self._lock = threading.Lock()

    def put(self, endpoint: str, job: Callable[[], None]) -> None:
        with self._lock:
            lane = self._lanes.get(endpoint)
            if lane is None and len(self._lanes) >= MAX_LANES:
                endpoint = self.OVERFLOW
                lane = self._lanes.get(endpoint)
            if lane is None or not lane.take(job):
                lane = self._lanes[endpoint] = _Lane(self, endpoint)
                lane.take(job)
                lane.start()

    def ended(self, lane: _Lane) -> None:
        with self._lock:
            if self._lanes.get(lane.endpoint) is lane:
                del self._lanes[lane.endpoint]

    def stop(self) -> None:
        with self._lock:
            lanes, self._lanes = list(self._lanes.values()), {}
        for lane in lanes:
            lane.close()


class _Lane(threading.Thread):
    def __init__(self, lanes: Lanes, endpoint: str) -> None:
        super().__init__(name="dci-callbacks", daemon=True)
        self.lanes, self.endpoint = lanes, endpoint
        self.jobs: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._open = True
        self._lock = threading.Lock()

    def take(self, job: Callable[[], None]) -> bool:
        """Queue the job; False once the lane has ended (the caller starts another)."""
        with self._lock:
            if self._open:
                self.jobs.put(job)
            return self._open

    def close(self) -> None:
        with self._lock:
            self._open = False
            self.jobs.put(None)

    def run(self) -> None:
        while True:
            try:
                job = self.jobs.get(timeout=LANE_IDLE_SECONDS)
            except queue.Empty:
                with self._lock:
                    if not self.jobs.empty():
                        continue  # one came just now
                    self._open = False
                self.lanes.ended(self)
                return
            if job is None:
                return
            try:
                job()
            except Exception as failure:  # noqa: BLE001 - the lane must go on
                log.warning("dci: callback failed (%s)", type(failure).__name__)


def signed_topic(agency: str) -> str:
    """What a DCI message to this agency is signed as (bound to the agency: a message meant
    for one agency does not verify as another's)."""
    return f"casework.dci.{agency}"


SUBSCRIBE_CODES = (
    "rjct.reference_id.invalid",
    "rjct.reference_id.duplicate",
    "rjct.timestamp.invalid",
    "rjct.notify_types.invalid",
    "rjct.notify_details.invalid",
    "rjct.person_id.invalid",
    "rjct.event.already_subscribed",
)


# ---- records from deliveries -----------------------------------------------------------------


def _nik_of(person: Mapping[str, Any] | None) -> str | None:
    return person.get("nik") if isinstance(person, Mapping) else None


def identifier_shown(deliveries: list[Any], query: dci.Query) -> bool:
    """Whether what the agency is given holds the identifier it searched for in clear (an
    agency that sees pseudonyms cannot look a NIK up: that would link the two)."""
    for delivery in deliveries:
        data = delivery.envelope.get("data") or {}
        if query.id_type in dci.HOUSEHOLD_ID_TYPES and query.value in (
            data.get("kk_number"),
            data.get("new_kk_number"),  # HeadChanged
        ):
            return True
        if query.id_type in dci.PERSON_ID_TYPES and query.value in (
            _nik_of(data.get("head")),
            _nik_of(data.get("person")),
        ):
            return True
    return False


def person(data: Mapping[str, Any] | None) -> dict[str, Any]:
    """A person as the spec's household examples show one (identifier, name, sex, birth
    date), with only the fields delivered; the identifier is the NIK (UIN) when the agreement
    opens NIKs, else the agency's pseudonym."""
    if not isinstance(data, Mapping):
        return {}
    found: dict[str, Any] = {}
    nik = data.get("nik")
    if isinstance(nik, str):
        found["identifier_type"] = (
            "UIN" if nik.isascii() and nik.isdigit() and len(nik) == 16 else "PSEUDONYM"
        )
        found["identifier_value"] = nik
    if data.get("name"):
        found["name"] = {"first_name": data["name"]}
    if data.get("sex"):
        found["sex"] = data["sex"]
    if data.get("birth_date"):
        found["birth_date"] = data["birth_date"]
    return found


def member(data: Mapping[str, Any] | None, relationship: str | None) -> dict[str, Any]:
    found: dict[str, Any] = {"demographic_info": {"person": person(data)}}
    nik = _nik_of(data)
    if nik:
        found["member_identifier"] = nik
    if relationship:
        found["relationship_head"] = relationship
    return found


def _attributes(envelope: Mapping[str, Any]) -> list[dict[str, Any]]:
    agreement = envelope.get("agreement") or {}
    return [
        {"name": "stream_id", "value": envelope.get("stream_id")},
        {"name": "agreement_version", "value": agreement.get("version")},
        {"name": "position", "value": envelope.get("position")},
    ]


ADDRESS_FIELDS = ("address", "rt", "rw", "kelurahan", "kecamatan")


def _address(data: Mapping[str, Any]) -> dict[str, Any]:
    address = {name: data[name] for name in ADDRESS_FIELDS if data.get(name)}
    if "address" in address:
        address["address_line1"] = address.pop("address")
    return address


def household_record(deliveries: list[Any]) -> dict[str, Any]:
    """The household (the spec's `Household` record) from the events delivered of it, in
    order: registration, members added, removed, rejoined, deceased or corrected, changes of
    head, moves; an event the agreement does not give leaves no trace (a member whose removal
    is not delivered stays)."""
    record: dict[str, Any] = {"@type": "Household"}
    members: dict[str, dict[str, Any]] = {}  # by NIK or pseudonym, in order of joining

    def join(person_data: Any, relationship: str | None) -> None:
        found = member(person_data, relationship)
        found["membership_status"] = "active"
        members[found.get("member_identifier") or f"#{len(members)}"] = found

    def status(nik: Any, value: str) -> None:
        if isinstance(nik, str) and nik in members:
            members[nik]["membership_status"] = value

    def correct(data: Mapping[str, Any]) -> None:
        """A member's name, birth date, sex or relationship corrected (MemberCorrected): what
        was delivered replaces what the member showed, and what the head showed when the
        member is the head (`household_head_info`, by the same NIK or pseudonym)."""
        nik = _nik_of(data)
        if isinstance(nik, str) and nik in members:
            corrected = person(data)
            head = record.get("household_head_info", {}).get("person", {})
            shown = [members[nik]["demographic_info"]["person"]]
            if head.get("identifier_value") == nik:
                shown.append(head)
            for key in ("name", "sex", "birth_date"):
                if key in corrected:
                    for found in shown:
                        found[key] = corrected[key]
            if data.get("relationship"):  # schema v2
                members[nik]["relationship_head"] = data["relationship"]

    def change_head(data: Mapping[str, Any]) -> None:
        """A new head (HeadChanged), as the register applies it: the new KK number, and each
        relationship the event restates (the new head's `kepala_keluarga` among them); a
        member it does not restate keeps the one shown (the register keeps it for review).
        What the agreement leaves out is not guessed: a head or KK number no longer true is
        no longer shown."""
        relationships = data.get("relationships")
        restated = relationships if isinstance(relationships, Mapping) else {}
        head = data.get("nik")
        if not isinstance(head, str):
            head = next((k for k, v in restated.items() if v == HEAD), None)
        for key, relationship in restated.items():
            if key in members and isinstance(relationship, str):
                members[key]["relationship_head"] = relationship
        for key, found in members.items():  # a former head the event does not restate
            if key != head and key not in restated and found.get("relationship_head") == HEAD:
                del found["relationship_head"]
        if head is not None and head in members:
            members[head]["relationship_head"] = HEAD
            record["household_head_info"] = {
                "person": copy.deepcopy(members[head]["demographic_info"]["person"])
            }
        elif head is not None:
            record["household_head_info"] = {"person": person({"nik": head})}
        else:
            record.pop("household_head_info", None)
        if isinstance(data.get("new_kk_number"), str):
            record["household_identifier"] = data["new_kk_number"]
        else:
            record.pop("household_identifier", None)

    for delivery in deliveries:
        envelope = delivery.envelope
        data = envelope.get("data") or {}
        kind = envelope.get("type")
        if kind == "HouseholdRegistered":
            if data.get("kk_number"):
                record["household_identifier"] = data["kk_number"]
            if address := _address(data):
                record["address"] = address
            if data.get("head"):
                record["household_head_info"] = {"person": person(data["head"])}
                join(data["head"], HEAD)
            record["registration_date"] = envelope.get("occurred_at")
        elif kind in ("MemberAdded", "MemberRejoined"):
            join(data.get("person"), data.get("relationship"))
        elif kind == "MemberRemoved":
            status(data.get("nik"), data.get("status") or "removed")
        elif kind == "DeathRecorded":
            status(data.get("nik"), "deceased")
        elif kind == "MemberCorrected":
            correct(data)
        elif kind == "HeadChanged":
            change_head(data)
        elif kind == "HouseholdRelocated" and (address := _address(data)):
            record["address"] = address
        record["last_update"] = envelope.get("recorded_at")
    listed = list(members.values())
    record["household_size"] = sum(1 for m in listed if m["membership_status"] == "active")
    record["member_list"] = [{"household_member": m} for m in listed]
    record["additional_attributes"] = _attributes(deliveries[-1].envelope)
    return record


def notify_body(
    sender_id: str, subscription: Mapping[str, Any], deliveries: list[Any]
) -> dict[str, Any]:
    events = []
    for delivery in deliveries:
        envelope = delivery.envelope
        kind = envelope["type"]
        if kind == "HouseholdRegistered":
            records = household_record([delivery])
        else:
            data = envelope.get("data") or {}
            records = {
                "@type": "Member",
                "household_member": member(data.get("person"), data.get("relationship")),
                "additional_attributes": _attributes(envelope),
            }
        events.append(
            {
                "reference_id": f"{subscription['code']}:{envelope['position']}",
                "timestamp": dci.now(),
                "data": {
                    "version": dci.VERSION,
                    "reg_type": dci.REG_TYPE,
                    "reg_event_type": REG_EVENT_OF[kind],
                    "response_entity": ENTITY[kind],
                    "reg_records": records,
                },
            }
        )
    header = dci.callback_header(
        "notify", sender_id, subscription["receiver_id"], len(events), len(events)
    )
    message = {"transaction_id": subscription["code"], "notify_event": events}
    return {"header": header, "message": message}


# ---- the routes -------------------------------------------------------------------------------


def registry(app: Flask | None = None) -> Registry:
    """This app's registry, made on first use, on the agency filter of its databases
    (`DCI_POLL_SECONDS`: how often the subscriptions are polled, 1 s)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    found = app.extensions.get("casework.dci")
    if found is None:
        svc = app.extensions["casework"]
        settings = svc.settings
        chosen = agency_filter.AgencyFilter(
            svc.views,
            reader_codec(svc.store, settings.master_key, settings.key_cache),
            agency_filter.pseudonym_secret(settings),
            read_key=settings.secret_key,
            stored=agency_filter.stored_terms(svc.casework),
        )
        found = Registry(
            svc,
            chosen,
            agency_filter.record_reads,
            agency_delivery.record_delivery,
            float(app.config.get("DCI_POLL_SECONDS", 1.0)),
        )
        app.extensions["casework.dci"] = found
    return found


def _answer(body: dict[str, Any], status: int = 200) -> Response:
    return Response(
        json.dumps(body, ensure_ascii=False), status=status, mimetype="application/json"
    )


# The synchronous routes and the action of their answer's header.
SYNC_ACTIONS = {"dci.sync_search": "on-search", "dci.sync_txn_status": "txn-on-status"}


def _refused(refusal: dci.Refused) -> Response:
    """The ERR answer: an asynchronous route's acknowledgement, or a synchronous route's
    answer with its header's status rjct (both with the HTTP error shape, `errors`)."""
    action = SYNC_ACTIONS.get(request.endpoint or "")
    if action is None:
        body = dci.err(refusal.code, refusal.message)
    else:
        body = dci.sync_err(refusal, action, f"casework.{services().settings.tenant}")
    return _answer(body, refusal.status)


# An HTTP error under /dci/ (a wrong method, an unknown route, the database away) in the spec's
# shapes, as every other refusal of the registry: its code and what to do.
HTTP_ERRORS = {
    404: ("err.request.not_found", "route", "one of the /dci/registry/... routes (POST)"),
    405: ("err.request.bad", "method", "POST"),
    413: ("err.request.bad", "body", "at most 1 MB"),
    500: ("err.service.unavailable", "service", "try again later"),
    503: ("err.service.unavailable", "service", "try again later"),
}


def http_error(status: int) -> Response:
    """The answer to an HTTP error on a /dci/ path (the handlers in app/__init__.py)."""
    code, field, reason = HTTP_ERRORS.get(status, ("err.request.bad", "request", "not served"))
    return _refused(dci.Refused(code, field, reason, status))


@bp.before_app_request
def _resume() -> None:
    """Once per process, at its first request: the notifier again when subscriptions wait
    (after a restart; otherwise the first asynchronous DCI request starts it)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if app.extensions.get("casework.dci_resumed"):
        return
    app.extensions["casework.dci_resumed"] = True
    store = services().store
    try:
        waiting = store.table_exists(SUBSCRIPTIONS) and store.query_one(
            f"SELECT 1 FROM {SUBSCRIPTIONS} WHERE status = 'subscribe'"
        )
    except DATABASE_ERRORS as failure:
        log.warning("dci: subscriptions not read (%s)", type(failure).__name__)
        return
    if waiting:
        registry(app).start()


@bp.before_request
def _guard() -> Response | None:
    """Least privilege (app/read_policy.py): 401 without a valid token, 403 for any role but
    an agency's; both in the spec's error shapes."""
    if request.endpoint is None:
        return None
    policy = read_policy.policy_for(request.endpoint)
    try:
        actor = api_actor(services().casework)
    except Unauthenticated:
        refusal = dci.Refused(
            "err.request.unauthorized", "authorization", "a valid bearer token", 401
        )
        response = _refused(refusal)
        response.headers["WWW-Authenticate"] = 'Bearer realm="casework"'
        return response
    except TooManyFailures as failure:
        refusal = dci.Refused("err.request.too_many_requests", "authorization", "wait", 429)
        response = _refused(refusal)
        response.headers["Retry-After"] = str(failure.seconds)
        return response
    if actor.role not in policy.roles:
        return _refused(dci.Refused("err.request.forbidden", "actor", "agencies only", 403))
    request.environ["casework.dci_actor"] = actor
    return None


def _actor() -> Actor:
    return request.environ["casework.dci_actor"]


def _body() -> Any:
    """The request's JSON body, read as /api/v1 reads it (app.api.json_body: at most
    MAX_JSON_DEPTH levels deep, so a body nested thousands of levels is refused, not a
    RecursionError); raises Refused."""
    try:
        body = json_body()
    except RequestEntityTooLarge:  # the app's limit (MAX_CONTENT_LENGTH), in the spec's shape
        raise dci.Refused("err.request.bad", "body", "at most 1 MB", 413) from None
    except BadBody as bad:
        reason = "a JSON object (Content-Type: application/json)"
        if bad.code == "body.too_deep":
            reason = f"nested at most {MAX_JSON_DEPTH} levels deep"
        elif bad.code == "body.duplicate_key":
            reason = "given once only (this field is named more than once)"
        raise dci.Refused("err.request.bad", bad.field, reason) from None
    if body is None:
        raise dci.Refused(
            "err.request.bad", "body", "a JSON object (Content-Type: application/json)"
        )
    return body


def _agreement(reg: Registry) -> tuple[str, Any]:
    agency = _actor().opd
    terms = reg.terms(agency)
    if terms is None:
        raise dci.Refused(
            "err.request.forbidden", "agreement", "no data-sharing agreement in force", 403
        )
    return agency, terms


def _run(action: str, asynchronous: bool, work: Callable[..., Response]) -> Response:
    try:
        header, message = dci.read_envelope(
            _body(),
            action,
            asynchronous=asynchronous,
            loopback=services().settings.loopback_endpoints,
        )
        reg = registry()
        reg.ensure_tables()
        agency, terms = _agreement(reg)
        reg.claim_message(agency, header.message_id)
        try:
            return work(reg, agency, terms, header, message)
        except dci.Refused:
            # a message refused was not taken: the sender may correct it and send it again
            reg.release_message(agency, header.message_id)
            raise
    except dci.Refused as refusal:
        return _refused(refusal)


def _searched(
    reg: Registry, agency: str, message: Mapping[str, Any], correlation_id: str
) -> tuple[dict[str, Any], list]:
    transaction_id, queries = dci.read_search(message)
    items, reads = [], []
    for query in queries:
        records, deliveries = reg.search(agency, query)
        items.append(dci.search_item(query, records))
        reads.extend(deliveries)
    answer = {
        "transaction_id": transaction_id,
        "correlation_id": correlation_id,
        "search_response": items,
    }
    reg.remember(agency, transaction_id, correlation_id, "search", items)
    return answer, reads


def _record(reg: Registry, agency: str, endpoint: str, deliveries: list) -> None:
    if deliveries:
        reg.record_reads(reg.store, agency, "api", endpoint, [d.read for d in deliveries])


def _answer_body(
    reg: Registry, header: dci.Header, action: str, message: dict[str, Any], total: int, done: int
) -> dict[str, Any]:
    """An answer as the subscriber receives it: the callback header (how many requests,
    how many completed) and the message."""
    return {
        "header": dci.callback_header(action, reg.sender_id, header.sender_id, total, done),
        "message": message,
    }


def _succeeded(items: list[dict[str, Any]]) -> int:
    return sum(1 for i in items if i["status"] == "succ")


def _acknowledged(
    reg: Registry,
    agency: str,
    header: dci.Header,
    action: str,
    body: dict[str, Any],
    correlation_id: str,
    deliveries: list[Any] | None = None,
) -> Response:
    """ACK at once; the answer POSTed to `<sender_uri>/registry/<action>` after it."""
    reg.later(
        lambda: reg.send(agency, header.sender_uri, action, body, deliveries=deliveries),
        endpoint=header.sender_uri,
    )
    return _answer(dci.ack(correlation_id))


@bp.post("/registry/sync/search")
def sync_search() -> Response:
    def work(reg, agency, terms, header, message):
        correlation_id = dci.new_id()
        answer, deliveries = _searched(reg, agency, message, correlation_id)
        _record(reg, agency, request.url_rule.rule, deliveries)
        items = answer["search_response"]
        body = _answer_body(reg, header, "on-search", answer, len(items), _succeeded(items))
        return _answer(reg.signed(agency, body))

    return _run("search", False, work)


@bp.post("/registry/search")
def search() -> Response:
    def work(reg, agency, terms, header, message):
        correlation_id = dci.new_id()
        answer, deliveries = _searched(reg, agency, message, correlation_id)
        items = answer["search_response"]
        body = _answer_body(reg, header, "on-search", answer, len(items), _succeeded(items))
        return _acknowledged(reg, agency, header, "on-search", body, correlation_id, deliveries)

    return _run("search", True, work)


@bp.post("/registry/subscribe")
def subscribe() -> Response:
    def work(reg, agency, terms, header, message):
        transaction_id, requests = dci.read_subscribe(message)
        correlation_id = dci.new_id()
        items = [
            reg.subscribe(agency, terms, header, transaction_id, query, criteria)
            for query, criteria in requests
        ]
        reg.remember(agency, transaction_id, correlation_id, "subscribe", items)
        message = {
            "transaction_id": transaction_id,
            "correlation_id": correlation_id,
            "subscribe_response": items,
        }
        body = _answer_body(reg, header, "on-subscribe", message, len(items), _succeeded(items))
        return _acknowledged(reg, agency, header, "on-subscribe", body, correlation_id)

    return _run("subscribe", True, work)


@bp.post("/registry/unsubscribe")
def unsubscribe() -> Response:
    def work(reg, agency, terms, header, message):
        transaction_id, codes = dci.read_unsubscribe(message)
        correlation_id = dci.new_id()
        done, refused = reg.unsubscribe(agency, codes)
        answer: dict[str, Any] = {
            "transaction_id": transaction_id,
            "correlation_id": correlation_id,
            "timestamp": dci.now(),
            "status": "succ" if not refused else "rjct",
            "subscription_status": done,
        }
        if refused:
            answer["status_reason_code"] = sorted(refused.values())[-1]
            answer["status_reason_message"] = "; ".join(
                f"{code}: {reason}" for code, reason in refused.items()
            )[:999]
        body = _answer_body(reg, header, "on-unsubscribe", answer, len(codes), len(done))
        return _acknowledged(reg, agency, header, "on-unsubscribe", body, correlation_id)

    return _run("unsubscribe", True, work)


def _status(
    reg: Registry, agency: str, header: dci.Header, message: Mapping[str, Any]
) -> dict[str, Any]:
    transaction_id, request_ = dci.read_txn_status(message)
    found = reg.transaction(agency, request_)
    if found is None:
        raise dci.Refused(
            "err.request.not_found",
            "message.txnstatus_request.attribute_value",
            "no transaction of this agency matches",
            404,
        )
    message = {
        "transaction_id": transaction_id,
        "correlation_id": found["correlation_id"],
        "txnstatus_response": {"txn_type": request_["txn_type"], "txn_status": found},
    }
    return _answer_body(reg, header, "txn-on-status", message, 1, 1)


@bp.post("/registry/sync/txn/status")
def sync_txn_status() -> Response:
    def work(reg, agency, terms, header, message):
        return _answer(reg.signed(agency, _status(reg, agency, header, message)))

    return _run("txn-status", False, work)


@bp.post("/registry/txn/status")
def txn_status() -> Response:
    def work(reg, agency, terms, header, message):
        body = _status(reg, agency, header, message)
        correlation_id = body["message"]["correlation_id"]
        return _acknowledged(reg, agency, header, "txn/on-status", body, correlation_id)

    return _run("txn-status", True, work)
