"""Applications for unit tests: the use cases on the in-memory store, with personal fields
encrypted by a key ring in memory (as production encrypts with the store's key store)."""

from __future__ import annotations

from adapters.codec import Codec, KeyRing, MemoryKeyRing
from domain.application import Casework

POPO = {"PERSISTENCE_MODULE": "eventsourcing.popo"}


def memory_casework(keys: KeyRing | None = None, env: dict[str, str] | None = None) -> Casework:
    return Casework(env={**POPO, **(env or {})}, codec=Codec(keys or MemoryKeyRing()))
