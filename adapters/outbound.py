"""Addresses Casework sends to on an agency's behalf (webhook endpoints, DCI callbacks).

An agency gives the address; the system then POSTs to it from inside the city's network, so
an address must not turn the system against that network: https only (plain http to a
loopback address, for tests and development), no user name or password in it, and never an
address no agency can own: link-local (169.254.0.0/16 and fe80::/10, where cloud metadata
services answer), multicast, unspecified (0.0.0.0, ::) or reserved. Private ranges stay
allowed: agencies on a government intranet have such addresses. A host name is checked as
given, not resolved: what a name resolves to is for the network's egress rules (a deployment
lets the webhook and DCI senders reach only the agencies' networks).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2048
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})

INVALID = "invalid"  # not a usable absolute https/http URL
NOT_HTTPS = "not_https"  # plain http to an address other than a loopback one
FORBIDDEN = "forbidden"  # an address no agency can own


def loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _forbidden(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False  # a host name: not resolved here (module docstring)
    return (
        address.is_link_local
        or address.is_multicast
        or address.is_unspecified
        or (address.is_reserved and not address.is_loopback)
    )


def endpoint_problem(url: object) -> str | None:
    """Why an address is refused (`INVALID`, `NOT_HTTPS`, `FORBIDDEN`), None when it is fine."""
    if not isinstance(url, str) or not url.strip() or len(url) > MAX_URL_LENGTH:
        return INVALID
    if any(ch.isspace() or ord(ch) < 32 for ch in url.strip()):
        return INVALID
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        return INVALID
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.fragment:
        return INVALID
    if parts.username is not None or parts.password is not None:
        return INVALID
    if _forbidden(parts.hostname):
        return FORBIDDEN
    if parts.scheme == "http" and not loopback(parts.hostname):
        return NOT_HTTPS
    return None
