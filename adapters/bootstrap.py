"""The composition root: every part of a Casework process, built from arguments.

`bootstrap(settings)` gives a `System`; the web (`app.create_app`), every process's `run`
(relay, projections, policies, rebuild), the CLI and the benchmarks take one and ask it for
their parts. A test hands `bootstrap` the parts it wants to replace (a fake producer, an
in-memory application) and gets the real ones for the rest.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer

from adapters.codec import Codec
from adapters.db import VIEWS_PAGE_SIZE, Database
from adapters.keystore import KeyStore
from adapters.lru import KEY_CACHE
from adapters.recorder import PostgresRecorder, SQLiteRecorder
from adapters.settings import DatabaseUrl, Settings, SettingsError
from adapters.store_schema import ensure_migrated
from domain.application import Casework

ProducerFactory = Callable[..., KafkaProducer]
ConsumerFactory = Callable[..., KafkaConsumer]


def open_casework(
    url: DatabaseUrl,
    master_key: bytes,
    *,
    migrate: bool = True,
    key_cache: int = KEY_CACHE,
) -> Casework:
    """The write side on this store: personal fields encrypted with keys from the store's key
    store, new keys written in the same transaction as the first events that use them. The
    store's pending migrations are applied first (unless the caller did: `migrate=False`).
    `key_cache`: how many keys the process keeps (CASEWORK_KEY_CACHE)."""
    db = Database(url)
    if migrate:
        ensure_migrated(db)
    keys = KeyStore(db, master_key, key_cache)
    with db.schema_lock():
        app = Casework(env=url.eventsourcing_env(), codec=Codec(keys, key_cache=key_cache))
    recorder = app.recorder
    if not isinstance(recorder, SQLiteRecorder | PostgresRecorder):
        raise RuntimeError("the store's recorder must be adapters.recorder's (see settings)")
    recorder.attach_keys(keys)
    keys.write_with_events = True
    return app


def open_store_reader(url: DatabaseUrl) -> Casework:
    """The store for a reader that passes personal fields on as they are stored, encrypted
    (the relay: Kafka carries only ciphertext of personal fields)."""
    with Database(url).schema_lock():
        return Casework(env=url.eventsourcing_env())


def keystore_of(app: Casework) -> KeyStore:
    """The key store behind an application built by `open_casework`."""
    codec = app.codec
    if not isinstance(codec, Codec) or not isinstance(codec.ring, KeyStore):
        raise RuntimeError("this application was not built on the store's key store")
    return codec.ring


def drop_unstored_keys(app: Casework) -> int:
    """The personal-data keys made for a save that failed, or for commands refused, dropped
    from memory (`KeyStore.discard_unwritten`; a save writes only the keys its own events use,
    so they would never be stored, only kept). Only in a process where this thread alone
    writes (the seed, an import run from the command line); answers how many were dropped (0
    without the store's key store). The web's threads never call it: a key another thread's
    command still uses must not be dropped."""
    ring = getattr(getattr(app, "codec", None), "ring", None)
    return ring.discard_unwritten() if isinstance(ring, KeyStore) else 0


def reader_codec(store: Database, master_key: bytes, key_cache: int = KEY_CACHE) -> Codec:
    """A codec on the store's key store for a reader that sees each token once (nothing to
    remember); it drops its cached subjects whenever the key store notices an erasure."""
    return Codec(KeyStore(store, master_key, key_cache), remember=False, key_cache=key_cache)


@dataclass
class System:
    """One process's parts. Each is built on first use and kept; `close()` closes them."""

    settings: Settings
    producer_factory: ProducerFactory = KafkaProducer
    consumer_factory: ConsumerFactory = KafkaConsumer
    _casework: Casework | None = None
    _store: Database | None = None
    _views: Database | None = None
    _migrated: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def casework(self) -> Casework:
        with self._lock:
            if self._casework is None:
                self._migrate_store()
                self._casework = open_casework(
                    self.settings.store,
                    self.settings.master_key,
                    migrate=False,
                    key_cache=self.settings.key_cache,
                )
            return self._casework

    @property
    def store(self) -> Database:
        with self._lock:
            return self._migrate_store()

    def _migrate_store(self) -> Database:
        """The store, its pending migrations applied once for this process (lock held)."""
        if self._store is None:
            self._store = Database(self.settings.store)
        if not self._migrated:
            ensure_migrated(self._store)
            self._migrated = True
        return self._store

    @property
    def views(self) -> Database:
        with self._lock:
            if self._views is None:
                self._views = Database(self.settings.views, page_size=VIEWS_PAGE_SIZE)
            return self._views

    def store_reader(self) -> Casework:
        """A fresh application that reads stored events as they are (tokens untouched)."""
        return open_store_reader(self.settings.store)

    def reader_codec(self) -> Codec:
        """A codec for a reader that opens each token once (the projection runner)."""
        return reader_codec(self.store, self.settings.master_key, self.settings.key_cache)

    @property
    def kafka(self) -> str:
        if not self.settings.kafka:
            raise SettingsError("CASEWORK_KAFKA: this process needs the Kafka bootstrap servers")
        return self.settings.kafka

    @property
    def kafka_config(self) -> dict[str, Any]:
        """The settings every Kafka client of this process gets: the SASL credentials."""
        return self.settings.kafka_client_config()

    def producer(self, **config: Any) -> KafkaProducer:
        return self.producer_factory(bootstrap_servers=self.kafka, **self.kafka_config, **config)

    def admin(self, **config: Any) -> KafkaAdminClient:
        return KafkaAdminClient(bootstrap_servers=self.kafka, **self.kafka_config, **config)

    def consumer(self, *topics: str, **config: Any) -> KafkaConsumer:
        return self.consumer_factory(
            *topics, bootstrap_servers=self.kafka, **self.kafka_config, **config
        )

    def close(self) -> None:
        for part in (self._casework, self._store, self._views):
            if part is not None:
                part.close()
        self._casework = self._store = self._views = None


def bootstrap(
    settings: Settings | None = None,
    *,
    casework: Casework | None = None,
    store: Database | None = None,
    views: Database | None = None,
    producer_factory: ProducerFactory = KafkaProducer,
    consumer_factory: ConsumerFactory = KafkaConsumer,
) -> System:
    """The parts of a process: from the environment's settings unless given, each part real
    unless handed in."""
    return System(
        settings=settings or Settings.from_env(),
        producer_factory=producer_factory,
        consumer_factory=consumer_factory,
        _casework=casework,
        _store=store,
        _views=views,
    )
