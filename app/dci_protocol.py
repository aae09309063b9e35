"""The DCI social-registry protocol (SPDCI `social_api` v1.0.0): the `signature` / `header` /
`message` envelope, its checks and the answers, with no database and no network.

app/dci.py serves it; this module only reads requests and builds answers, so every shape is
checked in one place (tests/unit/test_dci_protocol.py, and against the spec's OpenAPI document
in the integration tests).

What is checked before anything runs (a failure is an `ERR` acknowledgement naming the field,
`Refused`): the header's `message_id`, `message_ts` (ISO 8601 with a zone, within the last
`MESSAGE_PAST` and at most `MESSAGE_AHEAD` ahead of this server's clock; a `message_id` the
agency sent before is a replay, `rjct.message_id.duplicate`: app/dci.py), `action` (the
route's), `sender_id`, `total_count`, `version` (1.0.0), `is_msg_encrypted` (encrypted
messages are not supported), `sender_uri` on the asynchronous routes (https, or http to a
loopback address only); then the message's own required fields. What concerns one request of
a batch (a query this registry does not answer) is that request's `rjct` status with the
spec's reason code, not an error of the whole message.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from adapters import outbound
from app.schemas import text_problem
from domain.regions import find_kecamatan, kelurahan_matches

VERSION = "1.0.0"
MAX_BATCH = 50  # requests in one message
MAX_TEXT = 99  # the spec's maxLength of ids
REG_TYPE = "ns:org:RegistryType:Social"
# When a message may say it was sent: a sender's clock may be a little ahead, a queued
# message a little late; the year 9999 (or 1) is neither.
MESSAGE_PAST = dt.timedelta(days=30)
MESSAGE_AHEAD = dt.timedelta(days=1)

# The registry events this interface knows (the spec's reg_event_type) and the event each
# one stands for in the store.
REG_EVENT_TYPES = {"REGISTER": "HouseholdRegistered", "NewHouseHoldMember": "MemberAdded"}
# Identifier types (code directory CD.COM.01): a NIK is the UIN / NIN, a KK number the
# household's id.
PERSON_ID_TYPES = ("UIN", "NIN")
HOUSEHOLD_ID_TYPES = ("HOUSEHOLD_ID",)
ID_TYPES = PERSON_ID_TYPES + HOUSEHOLD_ID_TYPES
QUERY_TYPES = ("idtype-value", "expression", "predicate")
AREA_ATTRIBUTES = ("kecamatan", "kelurahan")


class Refused(Exception):
    """A message refused as a whole: the `ERR` acknowledgement (`code` from the spec's Error
    codes, `message` naming the field), answered with HTTP `status`; on a synchronous route
    the header's status reason is `status_reason`, else the field's (`HEADER_REASONS`)."""

    def __init__(
        self,
        code: str,
        field: str,
        reason: str,
        status: int = 400,
        status_reason: str | None = None,
    ) -> None:
        super().__init__(f"{field}: {reason}")
        self.code = code
        self.field = field
        self.reason = reason
        self.status = status
        self.status_reason = status_reason

    @property
    def message(self) -> str:
        return f"{self.field}: {self.reason}"[:999]


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def new_id() -> str:
    return uuid.uuid4().hex


# ---- reading requests ------------------------------------------------------------------------


def _object(value: Any, field: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise Refused("err.request.bad", field, "required, a JSON object")
    return value


def _text(parent: Mapping[str, Any], name: str, field: str, *, required: bool = True) -> str:
    value = parent.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise Refused("err.request.bad", field, "required, a non-empty string")
    if len(value) > MAX_TEXT:
        raise Refused("err.request.bad", field, f"at most {MAX_TEXT} characters")
    return value


def timestamp(value: Any, field: str) -> dt.datetime:
    """An ISO 8601 date-time with its zone (the spec's `message_ts` format)."""
    if not isinstance(value, str):
        raise Refused("err.request.bad", field, "required, an ISO 8601 date-time with zone")
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Refused(
            "err.request.bad", field, "not an ISO 8601 date-time, e.g. 2026-01-31T08:00:00Z"
        ) from None
    if moment.tzinfo is None:
        raise Refused("err.request.bad", field, "give the time zone, e.g. 2026-01-31T08:00:00Z")
    return moment


def sent_at(value: Any, field: str = "header.message_ts") -> dt.datetime:
    """A message's `message_ts`: a `timestamp` within the last MESSAGE_PAST and at most
    MESSAGE_AHEAD ahead of this server's clock."""
    moment = timestamp(value, field)
    current = dt.datetime.now(dt.UTC)
    if not current - MESSAGE_PAST <= moment <= current + MESSAGE_AHEAD:
        raise Refused(
            "err.request.bad",
            field,
            f"the moment the message is sent: within the last {MESSAGE_PAST.days} days and at"
            " most a day ahead of this server's clock (UTC now: "
            f"{current.isoformat(timespec='seconds').replace('+00:00', 'Z')})",
        )
    return moment


def callback_base(uri: Any, field: str = "header.sender_uri", loopback: bool = False) -> str:
    """The subscriber's callback address: https, not on this host; a loopback address (and
    then plain http too) only where the deployment allows it (`loopback`: tests and
    development). Callbacks go to `<sender_uri>/registry/<action>`."""
    if not isinstance(uri, str) or not uri.strip():
        raise Refused("err.sender_uri.invalid", field, "required on this asynchronous route")
    if outbound.endpoint_problem(uri, loopback) is None:
        return uri.strip().rstrip("/")
    raise Refused(
        "err.sender_uri.invalid",
        field,
        "an https address of the agency's own (not this registry's host, nor a link-local,"
        " multicast or unspecified address)",
    )


@dataclass(frozen=True)
class Header:
    message_id: str
    sender_id: str
    sender_uri: str | None
    receiver_id: str | None


def _unwritable(body: Any) -> str | None:
    """The field (`message.search_request[0].reference_id`) of a text in the body holding a
    character no text may hold (`app.schemas.text_problem`): a control character such as NUL
    (PostgreSQL cannot store it), a text-direction mark, or a lone surrogate (JSON's
    "\\ud800", no valid Unicode: it could not be written back in an answer). None when every
    text is sound."""
    pending: list[tuple[Any, str]] = [(body, "")]
    while pending:
        value, field = pending.pop()
        if isinstance(value, str):
            if text_problem(value):
                return field or "body"
        elif isinstance(value, Mapping):
            pending.extend(
                (child, f"{field}.{name}" if field else str(name)) for name, child in value.items()
            )
        elif isinstance(value, list):
            pending.extend((child, f"{field}[{at}]") for at, child in enumerate(value))
    return None


def read_envelope(
    body: Any, action: str, *, asynchronous: bool, loopback: bool = False
) -> tuple[Header, Mapping]:
    """The envelope's header (checked) and its message (an object); raises Refused.
    `loopback`: whether a callback address may be on this host (`callback_base`)."""
    if not isinstance(body, Mapping):
        raise Refused("err.request.bad", "body", "a JSON object with header and message")
    unwritable = _unwritable(body)
    if unwritable is not None:
        raise Refused(
            "err.request.bad",
            unwritable,
            "text without control or text-direction characters or lone surrogates",
        )
    signature = body.get("signature")
    if signature is not None and not isinstance(signature, str):
        raise Refused("err.signature.invalid", "signature", "a string when given")
    header = _object(body.get("header"), "header")
    version = header.get("version", VERSION)
    if version != VERSION:
        raise Refused("err.version.not_supported", "header.version", f"only {VERSION}")
    message_id = _text(header, "message_id", "header.message_id")
    sent_at(header.get("message_ts"))
    if header.get("action") != action:
        raise Refused("err.request.bad", "header.action", f"must be {action!r} on this route")
    sender_id = _text(header, "sender_id", "header.sender_id")
    total = header.get("total_count")
    if not isinstance(total, int) or isinstance(total, bool) or total < 0:
        raise Refused("err.request.bad", "header.total_count", "required, a whole number")
    if header.get("is_msg_encrypted", False) is not False:
        raise Refused(
            "err.encryption.invalid", "header.is_msg_encrypted", "encrypted messages unsupported"
        )
    receiver_id = header.get("receiver_id")
    if receiver_id is not None and not isinstance(receiver_id, str):
        raise Refused("err.receiver_id.invalid", "header.receiver_id", "a string when given")
    sender_uri = (
        callback_base(header.get("sender_uri"), loopback=loopback) if asynchronous else None
    )
    message = _object(body.get("message"), "message")
    return Header(message_id, sender_id, sender_uri, receiver_id), message


def _batch(message: Mapping[str, Any], name: str) -> list[Mapping[str, Any]]:
    items = message.get(name)
    if not isinstance(items, list) or not items:
        raise Refused("err.request.bad", f"message.{name}", "required, a non-empty list")
    if len(items) > MAX_BATCH:
        raise Refused("err.request.bad", f"message.{name}", f"at most {MAX_BATCH} requests")
    for index, item in enumerate(items):
        where = f"message.{name}[{index}]"
        _object(item, where)
        _text(item, "reference_id", f"{where}.reference_id")
        timestamp(item.get("timestamp"), f"{where}.timestamp")
    return items


@dataclass(frozen=True)
class Query:
    """One request of a batch: what it asks, or why it is rejected (`reject`: the spec's
    status reason code and a message)."""

    reference_id: str
    id_type: str = ""
    value: str = ""
    area: tuple[tuple[str, str], ...] = ()  # predicate: (attribute, value) pairs
    reg_event_type: str | None = None
    page_size: int | None = None
    page_number: int = 1
    reject: tuple[str, str] | None = None


def read_search(message: Mapping[str, Any]) -> tuple[str, list[Query]]:
    """A SearchRequest: its transaction_id and each request's query."""
    transaction_id = _text(message, "transaction_id", "message.transaction_id")
    queries = []
    for index, item in enumerate(_batch(message, "search_request")):
        where = f"message.search_request[{index}].search_criteria"
        criteria = _object(item.get("search_criteria"), where)
        queries.append(_query(item["reference_id"], criteria, where, "query_type", "query"))
    return transaction_id, _no_duplicates(queries)


def _no_duplicates(queries: list[Query]) -> list[Query]:
    """A reference_id met again in the batch: that request is rejected (the first stands)."""
    seen: set[str] = set()
    found = []
    for query in queries:
        if query.reference_id in seen:
            reason = "reference_id already used in this message"
            query = Query(query.reference_id, reject=("rjct.reference_id.duplicate", reason))
        seen.add(query.reference_id)
        found.append(query)
    return found


def _query(
    reference_id: str, criteria: Mapping[str, Any], where: str, type_name: str, query_name: str
) -> Query:
    query_type = criteria.get(type_name, "idtype-value" if type_name == "filter_type" else None)
    if query_type not in QUERY_TYPES:
        raise Refused(
            "err.request.bad", f"{where}.{type_name}", f"required, one of {', '.join(QUERY_TYPES)}"
        )
    if query_name not in criteria:
        raise Refused("err.request.bad", f"{where}.{query_name}", "required")
    event_type = criteria.get("reg_event_type")
    if event_type is not None and not is_event_type(event_type):
        raise Refused(
            "err.request.bad",
            f"{where}.reg_event_type",
            f"one of {', '.join(REG_EVENT_TYPES)}",
        )
    query = criteria[query_name]
    base: dict[str, Any] = {"reference_id": reference_id, "reg_event_type": event_type}
    try:
        size, number = _pagination(criteria.get("pagination"), f"{where}.pagination")
    except Refused as refused:  # this request's own fault: its status, not the message's
        return Query(**base, reject=("rjct.pagination.invalid", refused.message))
    base |= {"page_size": size, "page_number": number}
    if query_type == "idtype-value":
        if not isinstance(query, Mapping):
            raise Refused("err.request.bad", f"{where}.{query_name}", "an object {type, value}")
        id_type, value = query.get("type"), query.get("value")
        if id_type not in ID_TYPES:
            reason = f"identifier type: one of {', '.join(ID_TYPES)}"
            return Query(**base, reject=("rjct.search_criteria.invalid", reason))
        if not isinstance(value, (str, int)) or isinstance(value, bool) or not str(value).strip():
            reason = "identifier value: a NIK or KK number"
            return Query(**base, reject=("rjct.search_criteria.invalid", reason))
        value = str(value).strip()
        if not (len(value) == 16 and value.isascii() and value.isdigit()):
            # it matches no one: say what to correct rather than answer "no such record"
            reason = "identifier value: a NIK or KK number, 16 digits"
            return Query(**base, reject=("rjct.search_criteria.invalid", reason))
        return Query(**base, id_type=id_type, value=value)
    if query_type == "predicate" and isinstance(query, list) and type_name == "filter_type":
        area = []
        for predicate in query:
            expression = predicate.get("expression1") if isinstance(predicate, Mapping) else None
            if (
                not isinstance(expression, Mapping)
                or expression.get("attribute_name") not in AREA_ATTRIBUTES
                or expression.get("operator") != "eq"
                or not isinstance(expression.get("attribute_value"), str)
                or predicate.get("condition", "and") != "and"
                or "expression2" in predicate
            ):
                reason = "predicates: kecamatan or kelurahan eq a name, joined by and"
                return Query(**base, reject=("rjct.filter.invalid", reason))
            area.append((expression["attribute_name"], expression["attribute_value"]))
        named = area_names(area)
        if isinstance(named, str):
            return Query(**base, reject=("rjct.filter.invalid", named))
        return Query(**base, area=named)
    reason = "this registry answers idtype-value queries (UIN, NIN, HOUSEHOLD_ID)"
    if type_name == "filter_type":
        reason = "filters: idtype-value (UIN, NIN, HOUSEHOLD_ID) or area predicates"
    return Query(**base, reject=("rjct.search_criteria.invalid", reason))


def area_names(area: list[tuple[str, str]]) -> tuple[tuple[str, str], ...] | str:
    """The predicates' kecamatan and kelurahan as the register names them (a name in any case,
    a code or an accepted spelling of Kota Jambi's, as the API's `kecamatan=` and `kelurahan=`
    read them), so a filter matches the households it names; or why one names none (or a
    kelurahan of another kecamatan than the one named)."""
    named, kecamatan = [], []
    for name, value in area:
        if name == "kecamatan":
            found = find_kecamatan(value)
            if found is None:
                return f"kecamatan: none of Kota Jambi is named {value[:40]!r}"
            named.append((name, found.name))
            kecamatan.append(found)
    for name, value in area:
        if name == "kelurahan":
            within = {k.name for k in kecamatan}
            matches = {kel for kec, kel in kelurahan_matches(value) if not within or kec in within}
            if len(matches) != 1:
                where = "in the kecamatan named" if kecamatan else "of Kota Jambi"
                return f"kelurahan: none {where} is named {value[:40]!r}"
            named.append((name, matches.pop()))
    return tuple(named)


def is_event_type(value: Any) -> bool:
    """Whether `value` names one of REG_EVENT_TYPES (a string: a list or an object is none)."""
    return isinstance(value, str) and value in REG_EVENT_TYPES


def _pagination(value: Any, field: str) -> tuple[int | None, int]:
    if value is None:
        return None, 1
    if not isinstance(value, Mapping):
        raise Refused("err.request.bad", field, "an object {page_size, page_number}")
    size, number = value.get("page_size"), value.get("page_number", 1)
    for name, item in (("page_size", size), ("page_number", number)):
        # an integer only: not a bool, nor a float (1e400 is infinity, NaN no number at all)
        if not isinstance(item, int) or isinstance(item, bool):
            raise Refused("err.request.bad", f"{field}.{name}", "a whole number")
        if item < 1:
            raise Refused("err.request.bad", f"{field}.{name}", "1 or more")
    return size, number


def read_subscribe(message: Mapping[str, Any]) -> tuple[str, list[tuple[Query, dict]]]:
    """A SubscribeRequest: its transaction_id and each request's filter (a Query) with its
    criteria as sent (echoed in the answer)."""
    transaction_id = _text(message, "transaction_id", "message.transaction_id")
    found = []
    for index, item in enumerate(_batch(message, "subscribe_request")):
        where = f"message.subscribe_request[{index}].subscribe_criteria"
        criteria = _object(item.get("subscribe_criteria"), where)
        if not is_event_type(criteria.get("reg_event_type")):
            raise Refused(
                "err.request.bad",
                f"{where}.reg_event_type",
                f"required, one of {', '.join(REG_EVENT_TYPES)}",
            )
        query = _query(item["reference_id"], criteria, where, "filter_type", "filter")
        found.append((query, dict(criteria)))
    unique = _no_duplicates([query for query, _ in found])
    return transaction_id, [
        (query, criteria) for query, (_, criteria) in zip(unique, found, strict=True)
    ]


def read_unsubscribe(message: Mapping[str, Any]) -> tuple[str, list[str]]:
    """An UnSubscribeRequest: its transaction_id and the codes (`subscription_codes`; the
    spec's misspelt `sunscription_codes` is read too)."""
    transaction_id = _text(message, "transaction_id", "message.transaction_id")
    timestamp(message.get("timestamp"), "message.timestamp")
    codes = message.get("subscription_codes", message.get("sunscription_codes"))
    if not isinstance(codes, list) or not codes:
        raise Refused("err.request.bad", "message.subscription_codes", "required, a list")
    if len(codes) > MAX_BATCH or not all(isinstance(c, str) and 0 < len(c) <= 99 for c in codes):
        raise Refused(
            "err.request.bad", "message.subscription_codes", f"at most {MAX_BATCH} codes (text)"
        )
    return transaction_id, codes


TXN_TYPES = ("search", "subscibe", "receipt")  # sic: the spec's spelling
ATTRIBUTE_TYPES = ("transaction_id", "reference_id_list", "correlation_id")


def read_txn_status(message: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    transaction_id = _text(message, "transaction_id", "message.transaction_id")
    where = "message.txnstatus_request"
    request = _object(message.get("txnstatus_request"), where)
    _text(request, "reference_id", f"{where}.reference_id")
    if request.get("txn_type") not in TXN_TYPES:
        raise Refused("err.request.bad", f"{where}.txn_type", f"one of {', '.join(TXN_TYPES)}")
    kind = request.get("attribute_type")
    if kind not in ATTRIBUTE_TYPES:
        raise Refused(
            "err.request.bad", f"{where}.attribute_type", f"one of {', '.join(ATTRIBUTE_TYPES)}"
        )
    value = request.get("attribute_value")
    if kind == "reference_id_list":
        if (
            not isinstance(value, list)
            or len(value) > MAX_BATCH
            or not all(isinstance(v, str) for v in value)
        ):
            raise Refused(
                "err.request.bad",
                f"{where}.attribute_value",
                f"a list of at most {MAX_BATCH} reference ids",
            )
    elif not isinstance(value, str) or not value:
        raise Refused("err.request.bad", f"{where}.attribute_value", f"the {kind}")
    return transaction_id, dict(request)


# ---- answers ---------------------------------------------------------------------------------


def ack(correlation_id: str) -> dict[str, Any]:
    """The acknowledgement of an accepted asynchronous message (the spec's Response)."""
    return {"message": {"ack_status": "ACK", "timestamp": now(), "correlation_id": correlation_id}}


def err(code: str, message: str, correlation_id: str | None = None) -> dict[str, Any]:
    """A refused message: the spec's Response with ack_status ERR and its Error, plus the
    HTTP error shape (`errors`), so the body is what either description of the answer says."""
    error = {"code": code, "message": message[:999]}
    return {
        "message": {
            "ack_status": "ERR",
            "timestamp": now(),
            "correlation_id": correlation_id or new_id(),
            "error": error,
        },
        "errors": [error],
    }


# The header's status reason (MsgHeaderStatusReasonCode) of a refused synchronous message.
HEADER_REASONS = {
    "header.version": "rjct.version.invalid",
    "header.message_ts": "rjct.message_ts.invalid",
    "header.action": "rjct.action.invalid",
    "header.total_count": "rjct.total_count.invalid",
}


def sync_err(refusal: Refused, action: str, sender_id: str) -> dict[str, Any]:
    """A refused synchronous message: the synchronous answer's envelope with its header's
    status `rjct` and the reason (the spec's answer to a sync route has a header and no ack),
    plus the HTTP error shape (`errors`) with the Error code."""
    header = callback_header(action, sender_id, "", 0, 0)
    header.pop("receiver_id")
    header["status"] = "rjct"
    reason = refusal.status_reason or HEADER_REASONS.get(refusal.field)
    if reason is not None:
        header["status_reason_code"] = reason
    header["status_reason_message"] = refusal.message
    return {"header": header, "errors": [{"code": refusal.code, "message": refusal.message}]}


def callback_header(
    action: str, sender_id: str, receiver_id: str, total: int, completed: int
) -> dict[str, Any]:
    """The header of a message this registry sends (MsgCallbackHeader)."""
    return {
        "version": VERSION,
        "message_id": new_id(),
        "message_ts": now(),
        "action": action,
        "status": "succ",
        "total_count": total,
        "completed_count": completed,
        "sender_id": sender_id,
        "receiver_id": receiver_id,
        "is_msg_encrypted": False,
    }


def search_item(query: Query, records: list[dict[str, Any]] | None) -> dict[str, Any]:
    """One search_response entry: `succ` with the page of records, or `rjct` with the
    query's reason."""
    item: dict[str, Any] = {"reference_id": query.reference_id, "timestamp": now()}
    if query.reject is not None or records is None:
        code, reason = query.reject or ("rjct.search_criteria.invalid", "not answered")
        return item | {
            "status": "rjct",
            "status_reason_code": code,
            "status_reason_message": reason,
        }
    size = query.page_size or max(len(records), 1)
    start = (query.page_number - 1) * size
    return item | {
        "status": "succ",
        "data": {"version": VERSION, "reg_records": records[start : start + size]},
        "pagination": {
            "page_size": size,
            "page_number": query.page_number,
            "total_count": len(records),
        },
        "locale": "eng",
    }
