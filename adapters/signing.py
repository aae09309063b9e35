"""Signed messages: the relay signs every envelope it publishes (Ed25519), consumers verify.

What is signed is the whole message, not only its value: the topic, the Kafka key (the
stream id), the value and every header but the signature's own, each length-prefixed
(`signed_bytes`). A value copied into a message with another key, topic or headers does not
verify. The relay signs a chunk of messages at once: one Ed25519 signature over the root of
a Merkle tree (SHA-256) whose leaves are the messages' signed bytes; each message carries
that signature (header `signature`, base64), the id of the key that made it (`key_id`) and
its path to the root (`proof`, base64 of 33-byte steps: a side byte, 0 when the sibling is on
the left, then the sibling's hash), so each message is still checked alone. A message
signed alone has an empty path (its leaf is the root). The public keys are served at
`GET /api/v1/keys` as a JWK set (`Signer.jwks`), so any consumer, an agency's included,
can check a message with `Verifier.from_jwks` and nothing else.

A JSON document kept outside Kafka (an audit anchor: `adapters.chain`) is signed the same way,
as the value of a message of its topic and key signed alone: its canonical bytes are
`signed_bytes(topic, key, document_value(document), [])`, `document_value` being its fields
other than `signature` and `key_id`, as compact JSON with sorted keys; the document carries
`signature` (base64) and `key_id` (`Signer.sign_document`, `Verifier.verify_document`).

The key is an Ed25519 private key's 32-byte seed (`CASEWORK_SIGNING_KEY`, or generated into
`var/signing_key` for an SQLite demo store: adapters/settings.py).
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

SIGNATURE_HEADER = "signature"
KEY_ID_HEADER = "key_id"
PROOF_HEADER = "proof"
OWN_HEADERS = frozenset({SIGNATURE_HEADER, KEY_ID_HEADER, PROOF_HEADER})
CONTEXT = b"casework-message-signature-v1"
ROOT_CONTEXT = b"casework-message-root-v1"
_LEAF, _NODE = b"\x00", b"\x01"

DOCUMENT_OWN = frozenset({SIGNATURE_HEADER, KEY_ID_HEADER})

Headers = Sequence[tuple[str, bytes]]


class BadSignature(ValueError):
    """A message that does not verify; the text says why (never quoting the message)."""


_LENGTH = struct.Struct(">Q").pack


def _field(data: bytes) -> bytes:
    return _LENGTH(len(data)) + data


def _signed_parts(
    start: bytes, key: bytes | None, value: bytes | None, headers: Headers
) -> list[bytes]:
    """`signed_bytes` as the pieces to join, after `start` (the context and the topic)."""
    key, value = key or b"", value or b""
    parts = [start, _LENGTH(len(key)), key, _LENGTH(len(value)), value, b""]
    kept = 0
    for name, data in headers:
        if name not in OWN_HEADERS:
            raw = name.encode()
            data = data or b""
            parts += (_LENGTH(len(raw)), raw, _LENGTH(len(data)), data)
            kept += 1
    parts[5] = _LENGTH(kept)
    return parts


def signed_bytes(topic: str, key: bytes | None, value: bytes | None, headers: Headers) -> bytes:
    """The canonical bytes a signature covers: topic, key, value and the headers other than
    the signature's own, in order, each length-prefixed (no two messages share them)."""
    return b"".join(_signed_parts(CONTEXT + _field(topic.encode()), key, value, headers))


def document_value(document: Mapping[str, Any]) -> bytes:
    """A signed JSON document's value: its fields but `signature` and `key_id`, as compact
    JSON with sorted keys (the same bytes after any JSON round trip)."""
    body = {name: data for name, data in document.items() if name not in DOCUMENT_OWN}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(_LEAF + data).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"".join((_NODE, left, right))).digest()


def merkle(leaves: list[bytes]) -> tuple[bytes, list[bytes]]:
    """The root over these leaf hashes and each leaf's path to it (33-byte steps: side byte,
    0 = sibling on the left, 1 = on the right; a node without a sibling moves up as it is).

    Built level by level, each node's step (its sibling, b"" without one) kept once; the
    paths then from the root down, each node's path its step followed by its parent's."""
    if not leaves:
        raise ValueError("no leaf")
    sha256 = hashlib.sha256
    level, steps_by_level = leaves, []
    while len(level) > 1:
        steps: list[bytes] = []
        upper: list[bytes] = []
        for at in range(0, len(level) - 1, 2):
            left, right = level[at], level[at + 1]
            steps += (b"\x01" + right, b"\x00" + left)
            upper.append(sha256(b"".join((_NODE, left, right))).digest())
        if len(level) % 2:
            steps.append(b"")
            upper.append(level[-1])
        steps_by_level.append(steps)
        level = upper
    paths = [b""]  # the root's; a node's path is its own step, then its parent's path
    for steps in reversed(steps_by_level):
        paths = [step + paths[at >> 1] for at, step in enumerate(steps)]
    return level[0], paths


def root_of(leaf: bytes, path: bytes) -> bytes:
    """The root a leaf's path leads to (ValueError for a malformed path)."""
    if len(path) % 33:
        raise ValueError("malformed proof")
    node = leaf
    for at in range(0, len(path), 33):
        side, sibling = path[at], path[at + 1 : at + 33]
        if side == 1:
            node = _node(node, sibling)
        elif side == 0:
            node = _node(sibling, node)
        else:
            raise ValueError("malformed proof")
    return node


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def key_id(public_raw: bytes) -> str:
    """A public key's id: the start of its SHA-256, 16 hex digits."""
    return hashlib.sha256(public_raw).hexdigest()[:16]


def _public_raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw)


def public_jwk(public_raw: bytes) -> dict[str, str]:
    """One public key as a JWK (RFC 8037: OKP, Ed25519)."""
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": _b64url(public_raw),
        "kid": key_id(public_raw),
        "alg": "EdDSA",
        "use": "sig",
    }


class Signer:
    """Signs messages with the system's private key."""

    def __init__(self, seed: bytes) -> None:
        if len(seed) != 32:
            raise ValueError("an Ed25519 signing key is 32 bytes")
        self._key = Ed25519PrivateKey.from_private_bytes(seed)
        self.public_raw = _public_raw(self._key.public_key())
        self.key_id = key_id(self.public_raw)
        self._key_id_header = (KEY_ID_HEADER, self.key_id.encode())

    def headers(
        self, topic: str, key: bytes | None, value: bytes | None, headers: Headers
    ) -> list[tuple[str, bytes]]:
        """The message's headers with its signature, key id and (empty) proof added."""
        return self.sign_batch(topic, [(key, value, headers)])[0]

    def sign_batch(
        self, topic: str, messages: Sequence[tuple[bytes | None, bytes | None, Headers]]
    ) -> list[list[tuple[str, bytes]]]:
        """Each message's headers with the signature of the whole batch and its own proof:
        one Ed25519 signature for all of them."""
        if not messages:
            return []
        # Each leaf hashed in one call over its canonical bytes (`signed_bytes`), the leaf
        # prefix and the topic's part joined once for the batch.
        start, sha256, join = _LEAF + CONTEXT + _field(topic.encode()), hashlib.sha256, b"".join
        leaves = [sha256(join(_signed_parts(start, k, v, h))).digest() for k, v, h in messages]
        root, paths = merkle(leaves)
        signature = (SIGNATURE_HEADER, base64.b64encode(self._key.sign(ROOT_CONTEXT + root)))
        return [
            [*h, signature, self._key_id_header, (PROOF_HEADER, base64.b64encode(path))]
            for (_, _, h), path in zip(messages, paths, strict=True)
        ]

    def sign_document(
        self, topic: str, key: bytes | None, document: Mapping[str, Any]
    ) -> dict[str, Any]:
        """The document with its `signature` and `key_id`: signed as the value of a message of
        `topic` with `key`, alone (`document_value`)."""
        body = {name: data for name, data in document.items() if name not in DOCUMENT_OWN}
        found = dict(self.headers(topic, key, document_value(body), []))
        return {
            **body,
            SIGNATURE_HEADER: found[SIGNATURE_HEADER].decode(),
            KEY_ID_HEADER: self.key_id,
        }

    def verifier(self) -> Verifier:
        return Verifier({self.key_id: self.public_raw})

    def jwks(self) -> dict[str, Any]:
        return {"keys": [public_jwk(self.public_raw)]}


class Verifier:
    """Checks messages against the system's public keys (by key id)."""

    def __init__(self, public_keys: Mapping[str, bytes]) -> None:
        self._keys = {
            kid: Ed25519PublicKey.from_public_bytes(raw) for kid, raw in public_keys.items()
        }

    @classmethod
    def from_jwks(cls, jwks: Mapping[str, Any]) -> Verifier:
        """From what `GET /api/v1/keys` answers (the Ed25519 keys of the set)."""
        keys: dict[str, bytes] = {}
        for jwk in jwks.get("keys", []):
            if jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519":
                raw = _unb64url(jwk["x"])
                keys[jwk.get("kid") or key_id(raw)] = raw
        return cls(keys)

    def verify(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: Iterable[tuple[str, bytes]] | None,
    ) -> None:
        """Raise BadSignature unless the message carries a valid signature by a known key."""
        given = list(headers or ())
        found = {name: data for name, data in given if name in OWN_HEADERS}
        signature, kid = found.get(SIGNATURE_HEADER), found.get(KEY_ID_HEADER)
        if not signature:
            raise BadSignature("unsigned: no signature header")
        public = self._keys.get((kid or b"").decode(errors="replace"))
        if public is None:
            raise BadSignature("unknown signing key")
        try:
            raw = base64.b64decode(signature, validate=True)
            path = base64.b64decode(found.get(PROOF_HEADER) or b"", validate=True)
            root = root_of(leaf_hash(signed_bytes(topic, key, value, given)), path)
        except ValueError:
            raise BadSignature("bad signature: malformed signature or proof") from None
        try:
            public.verify(raw, ROOT_CONTEXT + root)
        except InvalidSignature:
            raise BadSignature("bad signature: the message was not signed as it is") from None

    def verify_document(self, topic: str, key: bytes | None, document: Mapping[str, Any]) -> None:
        """Raise BadSignature unless the document (`Signer.sign_document`) carries a valid
        signature by a known key over its fields as they are."""
        signature, kid = document.get(SIGNATURE_HEADER), document.get(KEY_ID_HEADER)
        if not isinstance(signature, str) or not signature:
            raise BadSignature("unsigned: no signature field")
        if not isinstance(kid, str):
            raise BadSignature("unknown signing key")
        self.verify(
            topic,
            key,
            document_value(document),
            [(SIGNATURE_HEADER, signature.encode()), (KEY_ID_HEADER, kid.encode())],
        )


def parse_signing_key(raw: str) -> bytes:
    """The 32-byte seed from its text form: 64 hex digits or base64 (as the master key)."""
    text = raw.strip()
    try:
        if len(text) == 64 and all(c in "0123456789abcdefABCDEF" for c in text):
            seed = bytes.fromhex(text)
        else:
            seed = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except ValueError:
        seed = b""
    if len(seed) != 32:
        raise ValueError("must be 32 random bytes as 64 hex digits or base64")
    return seed
