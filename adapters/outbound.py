"""Addresses Casework sends to on an agency's behalf (webhook endpoints, DCI callbacks).

An agency gives the address; the system then POSTs to it from inside the city's network, so
an address must not turn the system against that network: https only, no user name or
password in it, printable ASCII only (a host name in its xn-- form), a port from 1, and never
an address no agency can own: link-local (169.254.0.0/16 and fe80::/10, where cloud metadata
services answer), multicast, unspecified (0.0.0.0, ::), reserved, or loopback (127.0.0.0/8,
::1, localhost: the system's own host, where its database, broker and other services
listen) unless the deployment allows loopback endpoints (`loopback=True`, from
CASEWORK_LOOPBACK_ENDPOINTS=allow: tests and development only; then plain http too, to a
loopback address only). Private ranges stay allowed: agencies on a government intranet have
such addresses. An IPv4 address is written as a dotted quad: the other spellings resolvers
accept (2852039166, 0xa9fea9fe, 0251.0376.0251.0376, 169.254.43518) are refused, and an
IPv4-mapped IPv6 address (::ffff:10.0.0.1) is judged as its IPv4 address.

A host name is checked as given when it is registered, and what it resolves to when the
sender connects (`connect`): every address it resolves to must pass the same rules (plain
http: every one a loopback address, when allowed), and the connection goes to those checked
addresses, not to a second look-up's. The network's egress rules stay the outer fence (a
deployment lets the webhook and DCI senders reach only the agencies' networks).
"""

from __future__ import annotations

import http.client
import ipaddress
import re
import socket
import ssl
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2048
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})
# a host name's labels: letters, digits, hyphens (underscores occur in intranet names)
_HOST_NAME = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?")
# a last label resolvers read as a number: the host is an IPv4 address, however spelled
_NUMBER = re.compile(r"[0-9]+|0x[0-9a-f]*")

INVALID = "invalid"  # not a usable absolute https/http URL
NOT_HTTPS = "not_https"  # plain http to an address other than an allowed loopback one
FORBIDDEN = "forbidden"  # an address no agency can own
NOT_DOTTED = "not_dotted"  # an IPv4 address not written as a dotted quad

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class ForbiddenAddress(OSError):
    """The host resolved to an address the sender must not connect to (`connect`)."""

    def __init__(self, address: str) -> None:
        super().__init__(f"forbidden address {address}")
        self.address = address


def _address(host: str) -> Address | None:
    """The IP address a host literal names (an IPv4-mapped IPv6 one as its IPv4 address);
    None for a host name."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _numeric(host: str) -> bool:
    """Whether resolvers read this host as an IPv4 address (its last label a decimal, octal
    or hex number), whether or not it is written as a dotted quad."""
    labels = host.rstrip(".").split(".")
    return bool(_NUMBER.fullmatch(labels[-1]))


def _loopback_host(host: str) -> bool:
    if host.lower().rstrip(".") in LOOPBACK_NAMES:
        return True
    address = _address(host)
    return address is not None and address.is_loopback


def _forbidden_address(address: Address, loopback: bool) -> bool:
    if address.is_loopback:
        return not loopback
    return (
        address.is_link_local
        or address.is_multicast
        or address.is_unspecified
        or address.is_reserved
    )


def _forbidden(host: str, loopback: bool) -> bool:
    if _loopback_host(host):
        return not loopback
    address = _address(host)
    if address is None:
        return False  # a host name: its addresses are checked when connecting (`connect`)
    return _forbidden_address(address, loopback)


def _host_problem(host: str, loopback: bool) -> str | None:
    if _address(host) is not None:
        return None
    if _numeric(host):
        # 2130706433, 0x7f000001, 0177.0.0.1, 127.1: an address, judged by what it names
        try:
            named = ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return INVALID  # no address at all (a number beyond 32 bits)
        return FORBIDDEN if _forbidden_address(named, loopback) else NOT_DOTTED
    if not _HOST_NAME.fullmatch(host):
        return INVALID
    return None


def endpoint_problem(url: object, loopback: bool = False) -> str | None:
    """Why an address is refused (`INVALID`, `NOT_HTTPS`, `FORBIDDEN`, `NOT_DOTTED`), None
    when it is fine; `loopback`: whether this deployment allows loopback endpoints."""
    if not isinstance(url, str) or not url.strip() or len(url) > MAX_URL_LENGTH:
        return INVALID
    # printable ASCII only: no control, bidi or other non-ASCII character (http.client
    # sends the request line as ASCII)
    if any(not 32 < ord(ch) < 127 for ch in url.strip()):
        return INVALID
    try:
        parts = urlsplit(url.strip())
        port = parts.port  # raises ValueError for a port out of range
    except ValueError:
        return INVALID
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.fragment:
        return INVALID
    if parts.username is not None or parts.password is not None or port == 0:
        return INVALID
    problem = _host_problem(parts.hostname, loopback)
    if problem is not None:
        return problem
    if _forbidden(parts.hostname, loopback):
        return FORBIDDEN
    if parts.scheme == "http" and not _loopback_host(parts.hostname):
        return NOT_HTTPS
    return None


def address_problem(scheme: str, address: str, loopback: bool = False) -> str | None:
    """Why the sender must not connect to an address a host resolved to (`FORBIDDEN`,
    `NOT_HTTPS`), None when it may: the rules of `endpoint_problem`."""
    found = _address(address.split("%", 1)[0])  # without an IPv6 scope (fe80::1%eth0)
    if found is None or _forbidden_address(found, loopback):
        return FORBIDDEN
    if scheme == "http" and not found.is_loopback:
        return NOT_HTTPS
    return None


def connect(
    scheme: str, address: tuple[str, int], timeout: float | None, loopback: bool = False
) -> socket.socket:
    """`socket.create_connection` for the senders: the host is resolved once, every address
    it resolves to is checked (`address_problem`; raises ForbiddenAddress before connecting
    anywhere when one is refused), and the socket connects to one of those addresses."""
    host, port = address
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    for *_, sockaddr in found:
        if address_problem(scheme, str(sockaddr[0]), loopback) is not None:
            raise ForbiddenAddress(str(sockaddr[0]))
    error: OSError | None = None
    for family, kind, proto, _name, sockaddr in found:
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(timeout)
            sock.connect(sockaddr)
            return sock
        except OSError as failed:
            sock.close()
            error = failed
    raise error or OSError(f"{host} resolved to no address")


class CheckedConnection(http.client.HTTPConnection):
    """A plain http connection whose host is resolved and checked when it connects
    (`connect`), not looked up again by name."""

    def __init__(self, host: str, port: int, timeout: float, loopback: bool = False) -> None:
        super().__init__(host, port, timeout=timeout)
        self.loopback = loopback

    def connect(self) -> None:
        self.sock = connect("http", (self.host, self.port), self.timeout, self.loopback)


class CheckedTlsConnection(http.client.HTTPSConnection):
    """The same for https: the checked socket, then TLS with the sender's context, the
    certificate verified for the host name."""

    def __init__(
        self, host: str, port: int, timeout: float, tls: ssl.SSLContext, loopback: bool = False
    ) -> None:
        super().__init__(host, port, timeout=timeout, context=tls)
        self.tls = tls
        self.loopback = loopback

    def connect(self) -> None:
        sock = connect("https", (self.host, self.port), self.timeout, self.loopback)
        self.sock = self.tls.wrap_socket(sock, server_hostname=self.host)


def post(
    url: str, body: bytes, headers: dict[str, str], timeout: float, loopback: bool = False
) -> int:
    """One POST to an endpoint (`endpoint_problem` passed), over a checked connection closed
    after it: the receiver's status. Raises ForbiddenAddress, OSError or HTTPException."""
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
    connection: http.client.HTTPConnection = (
        CheckedTlsConnection(host, port, timeout, ssl.create_default_context(), loopback)
        if parts.scheme == "https"
        else CheckedConnection(host, port, timeout, loopback)
    )
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("POST", target, body=body, headers=headers)
        answer = connection.getresponse()
        answer.read(65536)
        return answer.status
    finally:
        connection.close()
