"""The deployment's settings, read once from the environment (see the README's table)."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from adapters.codec import MasterKeyError, new_master_key, parse_master_key
from adapters.lru import KEY_CACHE
from adapters.signing import parse_signing_key

DEFAULT_STORE = "sqlite:///var/casework.db"
DEFAULT_VIEWS = "sqlite:///var/views.db"

# Every variable the code reads; docker-compose.yml is checked against this list.
VARIABLES = (
    "CASEWORK_STORE",
    "CASEWORK_VIEWS",
    "CASEWORK_KAFKA",
    "CASEWORK_HOST",
    "CASEWORK_PORT",
    "CASEWORK_SECRET_KEY",
    "CASEWORK_MASTER_KEY",
    "CASEWORK_SIGNING_KEY",
    "CASEWORK_TENANT",
    "CASEWORK_PARTITIONS",
    "CASEWORK_WEB_WORKERS",
    "CASEWORK_LOG_LEVEL",
    "CASEWORK_RECONCILE_DESIL_TOLERANCE",
    "CASEWORK_RECONCILE_STALE_MONTHS",
    "CASEWORK_KAFKA_SASL_USERNAME",
    "CASEWORK_KAFKA_SASL_PASSWORD",
    "CASEWORK_KAFKA_SASL_MECHANISM",
    "CASEWORK_KAFKA_SECURITY_PROTOCOL",
    "CASEWORK_LOOPBACK_ENDPOINTS",
    "CASEWORK_AGENCY_RETENTION_DAYS",
)
# SASL mechanisms kafka-python speaks that carry a username and password.
SASL_MECHANISMS = ("SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN")
SECURITY_PROTOCOLS = ("SASL_PLAINTEXT", "SASL_SSL")
# Whether an agency's webhook or DCI callback may be a loopback address (this host itself).
LOOPBACK_ENDPOINTS = ("REFUSE", "ALLOW")


class SettingsError(ValueError):
    """A setting has a value the system cannot use; the message names the variable."""


@dataclass(frozen=True)
class DatabaseUrl:
    """A parsed `sqlite:///PATH` or `postgresql://USER:PASS@HOST:PORT/DB` URL."""

    url: str
    kind: str
    path: str = ""
    user: str = ""
    password: str = ""
    host: str = ""
    port: int = 5432
    dbname: str = ""

    @classmethod
    def parse(cls, url: str, variable: str) -> DatabaseUrl:
        parts = urlsplit(url)
        if parts.scheme == "sqlite":
            path = url[len("sqlite:///") :] if url.startswith("sqlite:///") else ""
            if not path:
                raise SettingsError(f"{variable}: use sqlite:///PATH, for example {DEFAULT_STORE}")
            return cls(url=url, kind="sqlite", path=path)
        if parts.scheme in ("postgresql", "postgres"):
            dbname = parts.path.lstrip("/")
            if not parts.hostname or not dbname:
                raise SettingsError(
                    f"{variable}: use postgresql://USER:PASS@HOST:PORT/DB"
                    " with a host and a database"
                )
            return cls(
                url=url,
                kind="postgresql",
                user=unquote(parts.username or ""),
                password=unquote(parts.password or ""),
                host=parts.hostname,
                port=parts.port or 5432,
                dbname=dbname,
            )
        raise SettingsError(f"{variable}: must start with sqlite:/// or postgresql://")

    def eventsourcing_env(self) -> dict[str, str]:
        """The `eventsourcing` persistence settings for this URL (never the in-memory default)."""
        if self.kind == "sqlite":
            private_file(Path(self.path))
            return {
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": self.path,
                "SQLITE_LOCK_TIMEOUT": "30",
                "APPLICATION_RECORDER_TOPIC": "adapters.recorder:SQLiteRecorder",
            }
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": self.dbname,
            "POSTGRES_HOST": self.host,
            "POSTGRES_PORT": str(self.port),
            "POSTGRES_USER": self.user,
            "POSTGRES_PASSWORD": self.password,
            "POSTGRES_POOL_SIZE": "4",
            "POSTGRES_MAX_OVERFLOW": "8",
            "POSTGRES_LOCK_TIMEOUT": "10",
            "POSTGRES_CONNECT_TIMEOUT": "10",
            "APPLICATION_RECORDER_TOPIC": "adapters.recorder:PostgresRecorder",
        }


def private_file(path: Path) -> None:
    """Create `path` (and its missing folders) readable and writable by its owner only; an
    existing file is left as it is. SQLite gives its WAL and SHM files the database's mode."""
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


def _int(environ: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
        raise SettingsError(f"{name}: must be a whole number from {low} to {high}, got {raw!r}")
    return int(raw)


def _secret_key(environ: Mapping[str, str], var_dir: Path) -> str:
    if environ.get("CASEWORK_SECRET_KEY"):
        return environ["CASEWORK_SECRET_KEY"]
    return _generated(var_dir / "secret_key")


def _generated(path: Path) -> str:
    """The key kept in `path`, a fresh one (32 random bytes, hex) written there first if the
    file is missing: readable by its owner only, created once even by racing processes."""
    if not path.exists():
        if not path.parent.exists():
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process created it first
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(new_master_key() + "\n")
    raw = path.read_text().strip()
    while not raw:  # the creating process has not written it yet
        time.sleep(0.01)
        raw = path.read_text().strip()
    return raw


def kept_secret(path: Path) -> str:
    """A secret kept in `path` (64 hex digits), generated there on first use like the keys
    of var/ (e.g. the agency pseudonym key, `consumers.agency_filter.pseudonym_secret`)."""
    return _generated(path)


def _signing_key(environ: Mapping[str, str], var_dir: Path, store: DatabaseUrl) -> bytes:
    """CASEWORK_SIGNING_KEY, the Ed25519 key that signs every published message; for an
    SQLite store without it, one generated into var/. A PostgreSQL store needs the variable:
    every process must hold the same key (the relay signs, the consumers verify)."""
    raw = environ.get("CASEWORK_SIGNING_KEY", "").strip()
    if not raw:
        if store.kind != "sqlite":
            raise SettingsError(
                "CASEWORK_SIGNING_KEY: required with a PostgreSQL store; create one with"
                " `casework keys new` (README, Settings)"
            )
        raw = _generated(var_dir / "signing_key")
    try:
        return parse_signing_key(raw)
    except ValueError as error:
        raise SettingsError(f"CASEWORK_SIGNING_KEY: {error}") from None


def _master_key(environ: Mapping[str, str], var_dir: Path, store: DatabaseUrl) -> bytes:
    """CASEWORK_MASTER_KEY; for an SQLite store without it, one generated into var/.

    A PostgreSQL store needs the variable: a key generated inside a container would be
    lost with it, and every personal field with it."""
    raw = environ.get("CASEWORK_MASTER_KEY", "").strip()
    if not raw:
        if store.kind != "sqlite":
            raise SettingsError(
                "CASEWORK_MASTER_KEY: required with a PostgreSQL store; create one with"
                " `casework keys new` and keep a copy offline (README, Master key)"
            )
        raw = _generated(var_dir / "master_key")
    try:
        return parse_master_key(raw)
    except MasterKeyError as error:
        raise SettingsError(f"CASEWORK_MASTER_KEY: {error}") from None


@dataclass(frozen=True)
class Settings:
    store: DatabaseUrl
    views: DatabaseUrl
    kafka: str | None
    host: str
    port: int
    secret_key: str = field(repr=False)
    master_key: bytes = field(repr=False)
    signing_key: bytes = field(repr=False)
    tenant: str
    partitions: int
    web_workers: int
    log_level: str
    # personal-data keys a process keeps in memory (adapters.lru): the city's ~950,000 fit
    key_cache: int = KEY_CACHE
    # Kafka SASL (production: SCRAM-SHA-512, one principal per process; docker-compose.yml).
    kafka_sasl_username: str | None = None
    kafka_sasl_password: str | None = field(default=None, repr=False)
    kafka_sasl_mechanism: str = "SCRAM-SHA-512"
    kafka_security_protocol: str = "SASL_PLAINTEXT"
    # The reconciliation's rule (projections.reconciliation.Rule): deciles the sources may
    # differ by, and the months a source's listing may be older than the family's newest.
    reconcile_desil_tolerance: int = 1
    reconcile_stale_months: int = 12
    # Webhook and DCI callback addresses on this host (127.0.0.1, ::1, localhost: where the
    # store, broker and other services listen) are refused unless allowed: tests, development.
    loopback_endpoints: bool = False
    # Days the agency topics keep a message (consumers.agency_producer): an erased person's
    # data in clear there is gone after them (UU PDP). The events topic is kept for ever.
    agency_retention_days: int = 30

    def kafka_client_config(self) -> dict[str, str]:
        """What every kafka-python client (producer, consumer, admin) of this process is
        given besides its own settings: the SASL credentials, or nothing without them."""
        if not self.kafka_sasl_username:
            return {}
        return {
            "security_protocol": self.kafka_security_protocol,
            "sasl_mechanism": self.kafka_sasl_mechanism,
            "sasl_plain_username": self.kafka_sasl_username,
            "sasl_plain_password": self.kafka_sasl_password or "",
        }

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        tenant = env.get("CASEWORK_TENANT", "1571").strip()
        if len(tenant) != 4 or not (tenant.isascii() and tenant.isdigit()):
            raise SettingsError(
                f"CASEWORK_TENANT: a 4-digit Kemendagri code like 1571, got {tenant!r}"
            )
        store = DatabaseUrl.parse(env.get("CASEWORK_STORE") or DEFAULT_STORE, "CASEWORK_STORE")
        return cls(
            store=store,
            views=DatabaseUrl.parse(env.get("CASEWORK_VIEWS") or DEFAULT_VIEWS, "CASEWORK_VIEWS"),
            kafka=(env.get("CASEWORK_KAFKA") or "").strip() or None,
            host=env.get("CASEWORK_HOST") or "127.0.0.1",
            port=_int(env, "CASEWORK_PORT", 8000, 1, 65535),
            secret_key=_secret_key(env, Path("var")),
            master_key=_master_key(env, Path("var"), store),
            signing_key=_signing_key(env, Path("var"), store),
            tenant=tenant,
            partitions=_int(env, "CASEWORK_PARTITIONS", 6, 1, 1000),
            web_workers=_int(env, "CASEWORK_WEB_WORKERS", 2, 1, 64),
            log_level=(env.get("CASEWORK_LOG_LEVEL") or "INFO").upper(),
            key_cache=_int(env, "CASEWORK_KEY_CACHE", KEY_CACHE, 1000, 100_000_000),
            # deciles run from 1 to 10: a tolerance of 9 or more never finds a difference
            reconcile_desil_tolerance=_int(env, "CASEWORK_RECONCILE_DESIL_TOLERANCE", 1, 0, 8),
            # 0: any listing older than the family's newest is stale; at most 50 years
            reconcile_stale_months=_int(env, "CASEWORK_RECONCILE_STALE_MONTHS", 12, 0, 600),
            loopback_endpoints=_choice(env, "CASEWORK_LOOPBACK_ENDPOINTS", LOOPBACK_ENDPOINTS)
            == "ALLOW",
            agency_retention_days=_int(env, "CASEWORK_AGENCY_RETENTION_DAYS", 30, 1, 3650),
            **_kafka_sasl(env),
        )


def _choice(environ: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    value = (environ.get(name) or choices[0]).strip().upper()
    if value not in choices:
        raise SettingsError(f"{name}: one of {', '.join(choices)}, got {value!r}")
    return value


def _kafka_sasl(environ: Mapping[str, str]) -> dict[str, str | None]:
    """CASEWORK_KAFKA_SASL_*: a username needs its password (and the other way round)."""
    username = (environ.get("CASEWORK_KAFKA_SASL_USERNAME") or "").strip() or None
    password = environ.get("CASEWORK_KAFKA_SASL_PASSWORD") or None
    if bool(username) != bool(password):
        raise SettingsError(
            "CASEWORK_KAFKA_SASL_USERNAME and CASEWORK_KAFKA_SASL_PASSWORD: set both"
            " (the process's Kafka principal and its password) or neither"
        )
    return {
        "kafka_sasl_username": username,
        "kafka_sasl_password": password,
        "kafka_sasl_mechanism": _choice(environ, "CASEWORK_KAFKA_SASL_MECHANISM", SASL_MECHANISMS),
        "kafka_security_protocol": _choice(
            environ, "CASEWORK_KAFKA_SECURITY_PROTOCOL", SECURITY_PROTOCOLS
        ),
    }
