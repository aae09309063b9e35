"""The addresses Casework sends to (adapters/outbound.py): an IPv4 address however spelled
is judged by what it names, an IPv4-mapped IPv6 address as its IPv4 address, a URL is
printable ASCII with a port from 1, and a host name is checked again, resolved, when the
sender connects (`outbound.connect`)."""

from __future__ import annotations

import socket

import pytest

from adapters import outbound
from app.dci_protocol import Refused, callback_base
from consumers.webhooks import url_problem


@pytest.mark.parametrize(
    "url, problem",
    [
        # 169.254.169.254 (cloud metadata) in decimal, hex, short-dotted and octal
        ("https://2852039166/latest/meta-data/", "webhook.url_forbidden"),
        ("https://0xa9fea9fe/latest/meta-data/", "webhook.url_forbidden"),
        ("https://169.254.43518/", "webhook.url_forbidden"),
        ("https://0251.0376.0251.0376/", "webhook.url_forbidden"),
        ("https://3758096385/", "webhook.url_forbidden"),  # 224.0.0.1, multicast
        ("https://0/", "webhook.url_forbidden"),  # 0.0.0.0
        # this host (loopback), however spelled: refused unless the deployment allows it
        ("https://2130706433:18096/x", "webhook.url_forbidden"),  # 127.0.0.1
        ("http://2130706433:18096/x", "webhook.url_forbidden"),
        ("https://0x7f.1/hook", "webhook.url_forbidden"),
        # an allowed address, not written as a dotted quad: write it as one
        ("https://167838211/hook", "webhook.url_ip_form"),  # 10.1.2.3
        ("https://010.1.2.3/hook", "webhook.url_ip_form"),  # octal: 8.1.2.3
        ("https://99999999999/hook", "webhook.url_invalid"),  # no address at all
        # an IPv4-mapped IPv6 address is judged as its IPv4 address
        ("https://[::ffff:10.0.0.1]/x", None),
        ("https://10.1.2.3/x", None),
        ("https://[::ffff:169.254.169.254]/x", "webhook.url_forbidden"),
        ("http://[::ffff:127.0.0.1]/x", "webhook.url_forbidden"),
        ("http://[::ffff:10.0.0.1]/x", "webhook.url_not_https"),
        # printable ASCII only, a port from 1
        ("http://127.0.0.1:18095/h\u202e", "webhook.url_invalid"),  # right-to-left override
        ("https://agency.example/caf\u00e9", "webhook.url_invalid"),
        ("https://b\u00fccher.example/hook", "webhook.url_invalid"),
        ("https://xn--bcher-kva.example/hook", None),  # the same host, as it is sent
        ("https://agency.example/hook\x7f", "webhook.url_invalid"),
        ("https://agency.example/\u200bhook", "webhook.url_invalid"),
        ("https://example.com:0/", "webhook.url_invalid"),
        ("https://example.com:1/", None),
        ("https://a%2e.example/hook", "webhook.url_invalid"),
        ("https://agency-1.dinsos.go.id/casework", None),
    ],
)
def test_an_address_is_judged_by_what_it_names(url, problem):
    assert url_problem(url) == problem


@pytest.mark.parametrize(
    "url, allowed",
    [
        ("http://127.0.0.1:55432/", None),  # the store's PostgreSQL, on the system's own host
        ("https://127.0.0.1:6379/", None),
        ("http://localhost:8000/api/v1/commands/x", None),
        ("https://localhost./x", None),
        ("http://[::1]:9092/", None),
        ("http://[::ffff:127.0.0.1]/x", None),
        ("https://127.1.2.3/x", None),
        ("https://2130706433:18096/x", "webhook.url_ip_form"),
        ("http://0x7f.1/hook", "webhook.url_ip_form"),
    ],
)
def test_this_hosts_own_addresses_are_refused_unless_the_deployment_allows_them(url, allowed):
    """An agency must not turn the system's POSTs at its own host's services: a loopback
    endpoint is refused, and accepted (plain http too) only with loopback allowed (tests,
    development: CASEWORK_LOOPBACK_ENDPOINTS=allow)."""
    assert url_problem(url) == "webhook.url_forbidden"
    with pytest.raises(Refused) as refused:
        callback_base(url)
    assert refused.value.code == "err.sender_uri.invalid"
    assert url_problem(url, loopback=True) == allowed


@pytest.mark.parametrize(
    "uri",
    [
        "https://2852039166/latest",
        "https://0xa9fea9fe/latest",
        "https://2130706433:18096/x",
        "https://example.com:0/",
        "https://bpjs.example/dci\u202e",
    ],
)
def test_a_dci_callback_address_follows_the_same_rules(uri):
    with pytest.raises(Refused) as refused:
        callback_base(uri)
    assert refused.value.code == "err.sender_uri.invalid"


def _resolving(monkeypatch, names: dict[str, list[str]]) -> None:
    """getaddrinfo answering these names with these addresses (others as usual)."""
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in names:
            return real(host, port, *args, **kwargs)
        return [
            (
                socket.AF_INET6 if ":" in address else socket.AF_INET,
                socket.SOCK_STREAM,
                socket.IPPROTO_TCP,
                "",
                (address, port, 0, 0) if ":" in address else (address, port),
            )
            for address in names[host]
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.mark.parametrize(
    "scheme, addresses, refused",
    [
        ("https", ["10.0.0.1", "169.254.169.254"], "169.254.169.254"),  # any one refuses all
        ("https", ["10.0.0.1", "127.0.0.1"], "127.0.0.1"),  # this host itself
        ("http", ["::1"], "::1"),
        ("https", ["::ffff:169.254.169.254"], "::ffff:169.254.169.254"),
        ("https", ["224.0.0.1"], "224.0.0.1"),
        ("https", ["0.0.0.0"], "0.0.0.0"),
        ("http", ["10.0.0.1"], "10.0.0.1"),  # plain http: loopback only
    ],
)
def test_the_sender_refuses_a_name_that_resolves_to_a_forbidden_address(
    monkeypatch, scheme, addresses, refused
):
    _resolving(monkeypatch, {"agency.example": addresses})
    connected: list = []
    monkeypatch.setattr(socket, "socket", lambda *a: connected.append(a))  # never reached
    with pytest.raises(outbound.ForbiddenAddress) as error:
        outbound.connect(scheme, ("agency.example", 443), 1.0)
    assert error.value.address == refused
    assert str(error.value) == f"forbidden address {refused}"
    assert connected == []


def test_private_addresses_stay_allowed_when_sending():
    assert outbound.address_problem("https", "10.20.30.40") is None  # a government intranet
    assert outbound.address_problem("https", "::ffff:192.168.1.5") is None
    assert outbound.address_problem("https", "127.0.0.1") == outbound.FORBIDDEN  # this host
    assert outbound.address_problem("https", "127.0.0.1", loopback=True) is None  # allowed
    assert outbound.address_problem("http", "::1", loopback=True) is None
    assert outbound.address_problem("https", "fe80::1%eth0") == outbound.FORBIDDEN


def test_the_sender_connects_to_the_address_it_checked(monkeypatch):
    listener = socket.create_server(("127.0.0.1", 0))
    try:
        port = listener.getsockname()[1]
        _resolving(monkeypatch, {"agency.example": ["127.0.0.1"]})
        sock = outbound.connect("http", ("agency.example", port), 2.0, loopback=True)
        try:
            assert sock.getpeername() == ("127.0.0.1", port)
        finally:
            sock.close()
    finally:
        listener.close()
