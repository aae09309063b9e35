"""Shared fixtures: the real embedded broker, fresh SQLite and PostgreSQL databases."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from argon2 import profiles

from adapters.bootstrap import open_casework
from adapters.broker import EmbeddedBroker
from adapters.credentials import use_parameters
from adapters.db import Database
from adapters.settings import DatabaseUrl, Settings
from adapters.store_schema import migrate
from domain.application import Casework
from tests.support.events import TEST_SIGNING_KEY

PG_ADMIN = os.environ.get("CASEWORK_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
ROOT = Path(__file__).resolve().parent.parent
BACKENDS = ["sqlite", "postgresql"]
TEST_MASTER_KEY = "5e" * 32  # every integration test's master key (fixed: tests compare runs)


def _pg_admin() -> psycopg.Connection:
    url = DatabaseUrl.parse(PG_ADMIN, "CASEWORK_TEST_PG")
    try:
        return psycopg.connect(
            host=url.host,
            port=url.port,
            user=url.user,
            password=url.password or None,
            dbname=url.dbname,
            autocommit=True,
            connect_timeout=5,
        )
    except psycopg.OperationalError as error:
        pytest.fail(
            f"PostgreSQL at {url.host}:{url.port} does not answer ({error.__class__.__name__}); "
            "run the suite with `make test`, which starts one, or set CASEWORK_TEST_PG"
        )


def _pg_url(name: str) -> str:
    admin_url = DatabaseUrl.parse(PG_ADMIN, "CASEWORK_TEST_PG")
    auth = admin_url.user + (f":{admin_url.password}" if admin_url.password else "")
    return f"postgresql://{auth}@{admin_url.host}:{admin_url.port}/{name}"


@pytest.fixture
def pg_database() -> Iterator[Callable[..., str]]:
    """Makes fresh PostgreSQL databases (empty, or copies of `template`) and drops them after
    the test."""
    made: list[str] = []

    def make(template: str | None = None) -> str:
        name = f"cw_{uuid.uuid4().hex[:12]}"
        with _pg_admin() as conn:
            conn.execute(f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else ""))
        made.append(name)
        return _pg_url(name)

    yield make
    with _pg_admin() as conn:
        for name in made:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def migrated_pg_store() -> Iterator[Callable[[], str]]:
    """The name of a PostgreSQL database holding a store with every migration applied, made
    by this test process on first use (`adapters.store_schema.migrate`) and dropped at its end.
    A test's store is a copy of it (`CREATE DATABASE ... TEMPLATE`): migrating an empty
    database for each of the suite's hundreds of PostgreSQL tests cost 0.3-3 s each, the copy
    a fraction of that; the application's own migrate at start then finds nothing pending, as
    on every start but the first. The migrations themselves are tested on empty databases
    (`empty_backend`: tests/integration/test_store_schema.py)."""
    made: list[str] = []

    def name() -> str:
        if not made:
            template = f"cw_template_{uuid.uuid4().hex[:12]}"
            with _pg_admin() as conn:
                conn.execute(f"CREATE DATABASE {template}")
            made.append(template)
            store = Database(DatabaseUrl.parse(_pg_url(template), "CASEWORK_STORE"))
            try:
                migrate(store)
            finally:
                store.close()
        return made[0]

    yield name
    if made:
        with _pg_admin() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {made[0]} WITH (FORCE)")


@pytest.fixture(params=BACKENDS)
def empty_backend(request, tmp_path, pg_database) -> dict[str, str]:
    """Store and read-model URLs on one database kind (the same tests run on both), both
    databases empty: for the tests of the store's migrations."""
    if request.param == "sqlite":
        return {
            "CASEWORK_STORE": f"sqlite:///{tmp_path}/casework.db",
            "CASEWORK_VIEWS": f"sqlite:///{tmp_path}/views.db",
        }
    return {"CASEWORK_STORE": pg_database(), "CASEWORK_VIEWS": pg_database()}


@pytest.fixture(scope="session")
def migrated_sqlite_store(tmp_path_factory) -> Callable[[], Path]:
    """A SQLite store file with every migration applied, made by this test process on first
    use: a test's store is a copy of it (`migrated_pg_store` says why)."""
    made: list[Path] = []

    def path() -> Path:
        if not made:
            file = tmp_path_factory.mktemp("migrated-store") / "casework.db"
            store = Database(DatabaseUrl.parse(f"sqlite:///{file}", "CASEWORK_STORE"))
            try:
                migrate(store)
            finally:
                store.close()
            made.append(file)
        return made[0]

    return path


@pytest.fixture(params=BACKENDS)
def backend(
    request, tmp_path, pg_database, migrated_pg_store, migrated_sqlite_store
) -> dict[str, str]:
    """Store and read-model URLs on one database kind (the same tests run on both): the store
    a copy of a migrated one (`migrated_pg_store`, `migrated_sqlite_store`), as a store is
    after its first start; the read models' database empty."""
    if request.param == "sqlite":
        shutil.copy(migrated_sqlite_store(), tmp_path / "casework.db")  # its mode too (0600)
        return {
            "CASEWORK_STORE": f"sqlite:///{tmp_path}/casework.db",
            "CASEWORK_VIEWS": f"sqlite:///{tmp_path}/views.db",
        }
    return {"CASEWORK_STORE": pg_database(migrated_pg_store()), "CASEWORK_VIEWS": pg_database()}


@pytest.fixture
def broker(tmp_path) -> Iterator[EmbeddedBroker]:
    with EmbeddedBroker(log_path=tmp_path / "broker.log") as running:
        yield running


@pytest.fixture
def env(backend, broker, tmp_path) -> dict[str, str]:
    """The environment a `casework` process of this test runs with."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("CASEWORK_")},
        **backend,
        "CASEWORK_KAFKA": broker.bootstrap,
        "CASEWORK_SECRET_KEY": "test-secret",
        "CASEWORK_MASTER_KEY": TEST_MASTER_KEY,
        "CASEWORK_SIGNING_KEY": TEST_SIGNING_KEY,
        "CASEWORK_PARTITIONS": "6",
        "CASEWORK_LOG_LEVEL": "INFO",
        "CASEWORK_LOOPBACK_ENDPOINTS": "allow",  # the tests' receivers listen on 127.0.0.1
    }


@pytest.fixture
def settings(env) -> Settings:
    return Settings.from_env(env)


@pytest.fixture
def casework(settings) -> Iterator[Casework]:
    app = open_casework(settings.store, settings.master_key)
    yield app
    app.close()


@pytest.fixture
def store_db(settings) -> Iterator[Database]:
    db = Database(settings.store)
    yield db
    db.close()


@pytest.fixture
def views_db(settings) -> Iterator[Database]:
    db = Database(settings.views)
    yield db
    db.close()


class Processes:
    """`casework` subcommands started as real processes, killed at the end of the test."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.running: list[subprocess.Popen] = []

    def start(self, *args: str, name: str | None = None) -> subprocess.Popen:
        log_file = self.logs / f"{name or args[0]}-{len(self.running)}.log"
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", *args],
            env=self.env,
            cwd=ROOT,
            stdout=open(log_file, "ab"),
            stderr=subprocess.STDOUT,  # noqa: SIM115
        )
        proc.log_file = log_file  # type: ignore[attr-defined]
        self.running.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in self.running:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.running:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()

    def print_logs(self, tail: int = 4000) -> None:
        """Show the end of each process's log (for a failed test's report)."""
        for proc in self.running:
            text = proc.log_file.read_text(errors="replace")  # type: ignore[attr-defined]
            print(f"--- {proc.log_file.name} (exit {proc.returncode}) ---")  # type: ignore[attr-defined]
            print(text[-tail:])


def pytest_configure(config: pytest.Config) -> None:
    """The tests' accounts hash their passwords with argon2-cffi's cheapest parameters (its
    profile for tests): a production hash costs about 0.1-0.5 s of CPU here, and the suite
    signs in thousands of throwaway accounts. The hashing and its checks are the same code."""
    use_parameters(profiles.CHEAPEST)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """`make test` runs the suite in three pytest-xdist workers (`--dist loadgroup`). The tests
    of an e2e or unit module stay together in one worker, in their order: they share
    module-scoped fixtures (the e2e live server and what its earlier tests made). Each
    integration test has its own databases, broker and processes, so it goes to whichever
    worker is free."""
    for item in items:
        if "integration" not in item.path.relative_to(ROOT).parts:
            item.add_marker(pytest.mark.xdist_group(item.module.__name__))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture
def processes(env, tmp_path, request) -> Iterator[Processes]:
    procs = Processes(env, tmp_path)
    yield procs
    procs.stop_all()
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        procs.print_logs()


def wait_until(predicate: Callable[[], object], timeout: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
