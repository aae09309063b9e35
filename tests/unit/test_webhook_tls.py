"""The webhook sender's https connection: the socket to the host's checked address
(`adapters.outbound.connect`), then TLS verifying the certificate for the host name, against
a real TLS server on a loopback address (a certificate made for the test)."""

from __future__ import annotations

import datetime as dt
import http.server
import ipaddress
import ssl
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from adapters import outbound
from adapters.outbound import CheckedTlsConnection


def certificate(tmp_path, name: str) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName(name), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path)


class Receiver(http.server.BaseHTTPRequestHandler):
    bodies: list[bytes] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        Receiver.bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def tls_server(tmp_path):
    cert, key = certificate(tmp_path, "localhost")
    server = http.server.HTTPServer(("127.0.0.1", 0), Receiver)
    served = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    served.load_cert_chain(cert, key)
    server.socket = served.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    trusting = ssl.create_default_context(cafile=cert)
    yield server.server_address[1], trusting
    server.shutdown()
    server.server_close()


def test_an_https_post_reaches_the_checked_address_over_verified_tls(tls_server):
    port, trusting = tls_server
    Receiver.bodies = []
    connection = CheckedTlsConnection("localhost", port, 5.0, trusting, loopback=True)
    connection.request("POST", "/hook", body=b'{"n": 1}', headers={"Content-Type": "x"})
    assert connection.getresponse().status == 204
    assert Receiver.bodies == [b'{"n": 1}']
    connection.close()
    # the certificate is verified: one no trusted authority signed is refused
    untrusted = CheckedTlsConnection(
        "localhost", port, 5.0, ssl.create_default_context(), loopback=True
    )
    with pytest.raises(ssl.SSLCertVerificationError):
        untrusted.request("POST", "/hook", body=b"{}")
    assert Receiver.bodies == [b'{"n": 1}']


def test_an_https_host_naming_a_forbidden_address_is_not_connected():
    connection = CheckedTlsConnection("169.254.169.254", 443, 5.0, ssl.create_default_context())
    with pytest.raises(outbound.ForbiddenAddress):
        connection.request("POST", "/latest/meta-data/", body=b"{}")
