"""Message signatures (adapters.signing): what verifies and what does not, with the public
key alone, as any consumer holding only `GET /api/v1/keys` checks a message."""

from __future__ import annotations

import json

import pytest

from adapters.settings import Settings, SettingsError
from adapters.signing import BadSignature, Signer, Verifier, parse_signing_key

TOPIC = "casework.events.v1"
KEY = b"6f1c1e8e-2a0b-4f5e-9d1a-1b2c3d4e5f60"
VALUE = b'{"tenant":"1571","position":7,"stream_id":"6f1c1e8e-2a0b-4f5e-9d1a-1b2c3d4e5f60"}'
HEADERS = [("type", b"HouseholdRegistered"), ("position", b"7")]


@pytest.fixture
def signer() -> Signer:
    return Signer(bytes(range(32)))


@pytest.fixture
def public_only(signer) -> Verifier:
    """A verifier built from the published key set, through JSON, as a consumer gets it."""
    return Verifier.from_jwks(json.loads(json.dumps(signer.jwks())))


def test_a_signed_message_verifies_with_the_public_key_set(signer, public_only):
    headers = signer.headers(TOPIC, KEY, VALUE, HEADERS)
    assert dict(headers)["key_id"] == signer.key_id.encode()
    [jwk] = signer.jwks()["keys"]
    assert (jwk["kty"], jwk["crv"], jwk["kid"]) == ("OKP", "Ed25519", signer.key_id)
    assert "d" not in jwk  # never the private half
    public_only.verify(TOPIC, KEY, VALUE, headers)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda t, k, v, h: (t, b"another-stream-id", v, h), id="new key"),
        pytest.param(lambda t, k, v, h: ("casework.agency.x.v1", k, v, h), id="other topic"),
        pytest.param(
            lambda t, k, v, h: (t, k, v.replace(b'"position":7', b'"position":9'), h),
            id="forged position",
        ),
        pytest.param(
            lambda t, k, v, h: (t, k, v.replace(b"1571", b"1572"), h), id="foreign tenant"
        ),
        pytest.param(
            lambda t, k, v, h: (t, k, v, [("type", b"KtpIssued"), *h[1:]]), id="changed header"
        ),
        pytest.param(lambda t, k, v, h: (t, k, v, [*h, ("extra", b"1")]), id="added header"),
    ],
)
def test_any_change_to_a_signed_message_fails(signer, public_only, change):
    headers = signer.headers(TOPIC, KEY, VALUE, HEADERS)
    with pytest.raises(BadSignature, match="bad signature"):
        public_only.verify(*change(TOPIC, KEY, VALUE, headers))


def test_unsigned_and_foreign_keys_fail(signer, public_only):
    with pytest.raises(BadSignature, match="unsigned"):
        public_only.verify(TOPIC, KEY, VALUE, HEADERS)
    other = Signer(bytes(range(1, 33)))
    with pytest.raises(BadSignature, match="unknown signing key"):
        public_only.verify(TOPIC, KEY, VALUE, other.headers(TOPIC, KEY, VALUE, HEADERS))
    # Another key claiming this key's id does not verify either.
    claimed = [
        (n, signer.key_id.encode() if n == "key_id" else d)
        for n, d in other.headers(TOPIC, KEY, VALUE, HEADERS)
    ]
    with pytest.raises(BadSignature, match="bad signature"):
        public_only.verify(TOPIC, KEY, VALUE, claimed)


def test_the_signing_key_setting(tmp_path, monkeypatch):
    assert parse_signing_key("ab" * 32) == bytes.fromhex("ab" * 32)
    with pytest.raises(ValueError):
        parse_signing_key("too short")
    pg = {
        "CASEWORK_STORE": "postgresql://u@h/db",
        "CASEWORK_VIEWS": "postgresql://u@h/views",
        "CASEWORK_SECRET_KEY": "s",
        "CASEWORK_MASTER_KEY": "5e" * 32,
    }
    with pytest.raises(SettingsError, match="CASEWORK_SIGNING_KEY: required"):
        Settings.from_env(pg)
    with pytest.raises(SettingsError, match="CASEWORK_SIGNING_KEY: must be"):
        Settings.from_env({**pg, "CASEWORK_SIGNING_KEY": "x"})
    assert Settings.from_env({**pg, "CASEWORK_SIGNING_KEY": "cd" * 32}).signing_key == bytes(
        [0xCD] * 32
    )
    # An SQLite demo store makes its own, readable by its owner only, and keeps it.
    monkeypatch.chdir(tmp_path)
    sqlite = {"CASEWORK_STORE": f"sqlite:///{tmp_path}/c.db", "CASEWORK_SECRET_KEY": "s"}
    first = Settings.from_env(sqlite).signing_key
    path = tmp_path / "var" / "signing_key"
    assert path.stat().st_mode & 0o777 == 0o600
    assert Settings.from_env(sqlite).signing_key == first
    assert first != Settings.from_env(sqlite).master_key


@pytest.mark.parametrize("size", [1, 2, 3, 7, 250])
def test_a_batch_signed_at_once_verifies_message_by_message(signer, public_only, size):
    messages = [(KEY, VALUE.replace(b":7", f":{i}".encode()), HEADERS) for i in range(size)]
    signed = signer.sign_batch(TOPIC, messages)
    assert len({dict(h)["signature"] for h in signed}) == 1  # one signature for the batch
    for (key, value, _), headers in zip(messages, signed, strict=True):
        public_only.verify(TOPIC, key, value, headers)
    if size > 1:
        # Another message's proof, or a message of the batch with another's value, fails.
        (key, value, _), (_, other, _) = messages[0], messages[1]
        with pytest.raises(BadSignature):
            public_only.verify(TOPIC, key, other, signed[0])
        swapped = [*signed[0][:-1], signed[1][-1]]
        with pytest.raises(BadSignature):
            public_only.verify(TOPIC, key, value, swapped)
