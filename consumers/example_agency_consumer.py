"""An agency's reader of its topic `casework.agency.<CODE>.v1`: a runnable example.

    python -m consumers.example_agency_consumer --bootstrap kafka:9092 --agency BPJSKES \\
        --keys-url https://casework.example/api/v1/keys --state bpjskes-handled.sqlite

It needs only kafka-python, cryptography and the standard library (nothing of Casework: copy
it), and does what every agency's reader should:
- reads `isolation_level="read_committed"`: the topic is written in Kafka transactions, and
  only committed ones count;
- checks each message's signature with the system's public keys (the JWK set that
  `GET /api/v1/keys` answers) before using it, and refuses what does not verify;
- handles each event once: it keeps the `event_id` of every event it handled in a small
  SQLite file (`--state`), marked right after the event is handled, and passes over an id
  already there (a message the topic holds twice, or one read again after a crash);
- commits its offsets only after handling what it read (at least once): after a crash
  before the commit it reads those messages again, and passes over them by their ids. Only
  an event handled but not yet marked when the reader stopped is handled again (mark it in
  the same transaction as your own write to close that gap);
- assigns the topic's partitions itself instead of joining a group (no rebalance wait); the
  group id only keeps its offsets.

Each verified event is printed as one JSON line on standard output; refusals go to standard
error with the reason (never the message's content).

The signature (Casework's adapters/signing.py) covers the topic, the key, the value and the
headers other than `signature`, `key_id` and `proof`, each length-prefixed. The system signs
a batch at once: the leaves of a SHA-256 Merkle tree are those bytes, the `signature` header
is an Ed25519 signature over the root, and `proof` is this message's path to the root
(33-byte steps: a side byte, 0 when the sibling is on the left, then the sibling's hash).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import sqlite3
import struct
import sys
import time
import urllib.request
from collections.abc import Iterable, Sequence
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

CONTEXT = b"casework-message-signature-v1"
ROOT_CONTEXT = b"casework-message-root-v1"
OWN_HEADERS = ("signature", "key_id", "proof")


class Refused(Exception):
    """A message that does not verify."""


def _length(data: bytes) -> bytes:
    return struct.pack(">Q", len(data)) + data


def signed_bytes(topic: str, key: bytes | None, value: bytes | None, headers: Sequence) -> bytes:
    kept = [(name, data or b"") for name, data in headers if name not in OWN_HEADERS]
    parts = [CONTEXT, _length(topic.encode()), _length(key or b""), _length(value or b"")]
    parts.append(struct.pack(">Q", len(kept)))
    for name, data in kept:
        parts += [_length(name.encode()), _length(data)]
    return b"".join(parts)


def merkle_root(leaf: bytes, proof: bytes) -> bytes:
    if len(proof) % 33:
        raise Refused("malformed proof")
    node = hashlib.sha256(b"\x00" + leaf).digest()
    for at in range(0, len(proof), 33):
        side, sibling = proof[at], proof[at + 1 : at + 33]
        if side == 1:
            node = hashlib.sha256(b"\x01" + node + sibling).digest()
        elif side == 0:
            node = hashlib.sha256(b"\x01" + sibling + node).digest()
        else:
            raise Refused("malformed proof")
    return node


def load_keys(jwks: dict[str, Any]) -> dict[str, Ed25519PublicKey]:
    """The Ed25519 keys of a JWK set, by key id."""
    keys = {}
    for jwk in jwks.get("keys", []):
        if jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519":
            raw = base64.urlsafe_b64decode(jwk["x"] + "=" * (-len(jwk["x"]) % 4))
            keys[jwk["kid"]] = Ed25519PublicKey.from_public_bytes(raw)
    return keys


def verify(keys: dict[str, Ed25519PublicKey], topic: str, record: Any) -> None:
    """Raise Refused unless the record carries a valid signature by one of the keys."""
    headers = list(record.headers or ())
    found = {name: data for name, data in headers if name in OWN_HEADERS}
    if not found.get("signature"):
        raise Refused("unsigned")
    public = keys.get((found.get("key_id") or b"").decode(errors="replace"))
    if public is None:
        raise Refused("unknown signing key")
    try:
        signature = base64.b64decode(found["signature"], validate=True)
        proof = base64.b64decode(found.get("proof") or b"", validate=True)
    except ValueError:
        raise Refused("malformed signature") from None
    root = merkle_root(signed_bytes(topic, record.key, record.value, headers), proof)
    try:
        public.verify(signature, ROOT_CONTEXT + root)
    except InvalidSignature:
        raise Refused("bad signature") from None


def fetch_keys(url: str | None, path: str | None) -> dict[str, Ed25519PublicKey]:
    if path:
        with open(path, encoding="utf-8") as file:
            return load_keys(json.load(file))
    if not url:
        raise SystemExit("give --keys-url or --keys-file")
    with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 - the operator's URL
        return load_keys(json.load(answer))


class Handled:
    """The ids of the events handled, in a SQLite file that outlives this reader."""

    def __init__(self, path: str) -> None:
        self._db = sqlite3.connect(path)
        self._db.execute("CREATE TABLE IF NOT EXISTS handled (event_id TEXT PRIMARY KEY)")
        self._db.commit()

    def __contains__(self, event_id: str) -> bool:
        found = self._db.execute("SELECT 1 FROM handled WHERE event_id = ?", (event_id,))
        return found.fetchone() is not None

    def add(self, event_id: str) -> None:
        self._db.execute("INSERT OR IGNORE INTO handled (event_id) VALUES (?)", (event_id,))
        self._db.commit()  # durable before the next event is handled

    def close(self) -> None:
        self._db.close()


def partitions(bootstrap: str, topic: str, config: dict[str, Any]) -> list[TopicPartition]:
    """The topic's partitions (asked without naming it: some brokers create a topic that is
    asked for by name)."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, **config)
    try:
        return [
            TopicPartition(topic, p["partition_index"])
            for t in admin.describe_topics()
            if t["name"] == topic
            for p in t["partitions"]
        ]
    finally:
        admin.close()


def arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m consumers.example_agency_consumer",
        description="Read an agency's Casework topic (read_committed), verify every message's"
        " signature and print each event as a JSON line.",
    )
    parser.add_argument("--bootstrap", required=True, help="Kafka bootstrap servers")
    parser.add_argument("--agency", required=True, help="the agency's code, e.g. BPJSKES")
    parser.add_argument("--keys-url", help="Casework's GET /api/v1/keys (a JWK set)")
    parser.add_argument("--keys-file", help="the same JWK set saved in a file")
    parser.add_argument("--group", help="the consumer group keeping offsets (agency-CODE)")
    parser.add_argument(
        "--state",
        required=True,
        metavar="FILE",
        help="a SQLite file keeping the ids of the events handled (made when missing; keep it"
        " between runs: an event whose id it holds is not handled again)",
    )
    parser.add_argument(
        "--idle-exit",
        type=float,
        default=None,
        metavar="SECONDS",
        help="stop after this long without a message (default: run until interrupted)",
    )
    parser.add_argument(
        "--sasl-username", default=os.environ.get("KAFKA_USERNAME"), help="SCRAM user"
    )
    parser.add_argument(
        "--sasl-password-env",
        default="KAFKA_PASSWORD",
        help="the variable holding the SCRAM password (default KAFKA_PASSWORD)",
    )
    return parser.parse_args(argv)


def client_config(args: argparse.Namespace) -> dict[str, Any]:
    if not args.sasl_username:
        return {}
    return {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": args.sasl_username,
        "sasl_plain_password": os.environ.get(args.sasl_password_env, ""),
    }


def consume(args: argparse.Namespace, out=sys.stdout, err=sys.stderr) -> int:
    """Read, verify, print; the number of events printed."""
    topic = f"casework.agency.{args.agency}.v1"
    keys = fetch_keys(args.keys_url, args.keys_file)
    config = client_config(args)
    found = partitions(args.bootstrap, topic, config)
    if not found:
        print(f"no topic {topic} yet", file=err)
        return 0
    consumer = KafkaConsumer(
        bootstrap_servers=args.bootstrap,
        group_id=args.group or f"agency-{args.agency}",
        enable_auto_commit=False,
        isolation_level="read_committed",
        auto_offset_reset="earliest",
        **config,
    )
    consumer.assign(found)
    handled = Handled(args.state)
    printed = 0
    quiet_since = time.monotonic()
    try:
        while args.idle_exit is None or time.monotonic() - quiet_since < args.idle_exit:
            batches = consumer.poll(timeout_ms=500)
            if not batches:
                continue
            quiet_since = time.monotonic()
            for records in batches.values():
                for record in records:
                    printed += handle(keys, topic, record, handled, out, err)
            consumer.commit()  # after handling: at least once
    except KeyboardInterrupt:
        pass
    finally:
        consumer.close(autocommit=False)
        handled.close()
    return printed


def handle(keys, topic: str, record: Any, handled: Handled, out, err) -> int:
    """Verify one record and handle its event (print it) unless its id was handled before;
    1 when handled now."""
    where = f"{topic}[{record.partition}]@{record.offset}"
    try:
        verify(keys, topic, record)
        event = json.loads(record.value)
        event_id = event["event_id"]
        if not isinstance(event_id, str) or not event_id:
            raise ValueError("no event_id")
    except (Refused, ValueError, KeyError, TypeError) as refused:
        print(f"refused {where}: {refused}", file=err)
        return 0
    if event_id in handled:
        return 0  # handled already: delivered twice, or read again after a crash
    print(json.dumps(event, ensure_ascii=False, sort_keys=True), file=out, flush=True)
    handled.add(event_id)
    return 1


def main(argv: Iterable[str] | None = None) -> int:
    consume(arguments(list(argv) if argv is not None else None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
