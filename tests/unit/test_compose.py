"""docker-compose.yml cannot be started here (no Docker engine), so it is checked by reading it:
every command must exist in the CLI, every variable must be one the code reads, and the
topology must be the contract's (Apache Kafka in KRaft mode, PostgreSQL, web, relay,
projections)."""

from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path

import pytest
import yaml

from adapters.codec import parse_master_key
from adapters.settings import VARIABLES, DatabaseUrl, Settings
from app.cli import cmd_keys_new, parser

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
# The settings table of the public contract (docs/contract.md, "Settings (environment)").
CONTRACT_SETTINGS = (
    "CASEWORK_STORE",
    "CASEWORK_VIEWS",
    "CASEWORK_KAFKA",
    "CASEWORK_HOST",
    "CASEWORK_PORT",
    "CASEWORK_SECRET_KEY",
    "CASEWORK_TENANT",
)
PROCESSES = {
    "web": "web",
    "relay": "relay",
    "projections": "projections",
    "policies": "policies",
    "webhooks": "webhooks",
    "agencies": "agencies",
}
# The secrets every process needs the same of, from the operator: a PostgreSQL store cannot
# start without a master key, and one made up inside a container would die with it.
OPERATOR_SECRETS = ("CASEWORK_SECRET_KEY", "CASEWORK_MASTER_KEY", "CASEWORK_SIGNING_KEY")
# What an operator exports before `docker compose up` (see the file's header).
OPERATOR_ENV = {
    "CASEWORK_SECRET_KEY": "a-secret-for-the-test",
    "CASEWORK_MASTER_KEY": "3c" * 32,  # what `casework keys new` prints: 64 hex digits
    "CASEWORK_SIGNING_KEY": "4d" * 32,
}
# and the Kafka principals' passwords (README, "Kafka: SASL/SCRAM and ACLs")
OPERATOR_ENV.update(
    {
        f"KAFKA_{name}_PASSWORD": f"kafka-{name.lower()}-secret"
        for name in (
            "ADMIN",
            "RELAY",
            "PROJECTIONS",
            "POLICIES",
            "AUDITOR",
            "AGENCY_BPJSKES",
            "AGENCIES",
        )
    }
)

_INTERPOLATION = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


def interpolate(value: str, environ: dict[str, str]) -> str:
    """Compose's `${VAR}`, `${VAR:-default}`, `${VAR:?error}` and `$$` substitution."""

    def substitute(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        name = match["braced"] or match["bare"]
        op, arg = match["op"], match["arg"] or ""
        current = environ.get(name)
        missing = current is None or (current == "" and op is not None and op.startswith(":"))
        if op and op.endswith("-") and missing:
            return arg
        if op and op.endswith("?") and missing:
            raise AssertionError(f"compose would refuse to start: {name}: {arg}")
        return current or ""

    return _INTERPOLATION.sub(substitute, value)


def environment(service: dict, environ: dict[str, str] | None = None) -> dict[str, str]:
    """A service's environment (mapping or KEY=VALUE list form), interpolated."""
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) if "=" in item else (item, "") for item in raw)
    env = OPERATOR_ENV if environ is None else environ
    return {str(key): interpolate(str(value), env) for key, value in raw.items()}


def command(service: dict) -> list[str]:
    raw = service.get("command") or []
    return shlex.split(raw) if isinstance(raw, str) else [str(part) for part in raw]


def subcommands() -> dict[str, argparse.ArgumentParser]:
    for action in parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("app.cli.parser() has no subcommands")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict[str, dict]:
    return compose["services"]


def test_every_casework_command_is_a_cli_subcommand_with_valid_arguments(services):
    known = subcommands()
    checked = []
    for name, service in services.items():
        argv = command(service)
        if not argv or argv[0] != "casework":
            continue
        assert len(argv) > 1 and argv[1] in known, (
            f"service {name!r} runs {shlex.join(argv)!r}, but `casework` has no subcommand "
            f"{argv[1] if len(argv) > 1 else ''!r}; known: {', '.join(known)}"
        )
        try:
            parser().parse_args(argv[1:])
        except SystemExit as error:
            raise AssertionError(f"service {name!r}: `casework` rejects {argv[1:]}") from error
        checked.append(name)
    assert sorted(checked) == sorted(PROCESSES), f"casework services found: {checked}"


def test_web_relay_projections_run_their_own_process(services):
    for name, subcommand in PROCESSES.items():
        assert name in services, f"docker-compose.yml has no {name!r} service"
        assert command(services[name]) == ["casework", subcommand], (
            f"service {name!r} must run `casework {subcommand}`, runs {command(services[name])}"
        )
        assert services[name].get("build"), f"service {name!r} must be built from the Dockerfile"


def test_every_casework_variable_is_one_the_code_reads(services):
    for name, service in services.items():
        unknown = sorted(
            key
            for key in environment(service)
            if key.startswith("CASEWORK_") and key not in VARIABLES
        )
        assert not unknown, f"service {name!r} sets {unknown}, which no code reads"


def test_the_contracts_settings_are_set_for_every_process(services):
    assert set(CONTRACT_SETTINGS) <= set(VARIABLES)
    assert set(OPERATOR_SECRETS) <= set(VARIABLES)
    for name in PROCESSES:
        env = environment(services[name])
        missing = [key for key in (*CONTRACT_SETTINGS, *OPERATOR_SECRETS) if not env.get(key)]
        assert not missing, f"service {name!r} does not set {missing}"
        settings = Settings.from_env(env)  # the values are ones the code accepts
        assert settings.tenant == "1571"
        assert settings.kafka is not None
        assert settings.master_key == parse_master_key(OPERATOR_ENV["CASEWORK_MASTER_KEY"])


@pytest.mark.parametrize("variable", OPERATOR_SECRETS)
def test_the_secrets_come_from_the_operator_not_the_file(services, variable):
    for name in PROCESSES:
        raw = services[name]["environment"][variable]
        assert re.fullmatch(rf"\$\{{{variable}(:\?[^}}]*)?\}}", raw), (
            f"service {name!r}: {variable} must be ${{{variable}:?...}}, not {raw!r}"
        )
        others = {k: v for k, v in OPERATOR_ENV.items() if k != variable}
        with pytest.raises(AssertionError, match=variable):
            environment(services[name], environ=others)  # compose refuses to start without it


def test_the_operator_is_told_how_to_make_a_master_key(services):
    raw = services["web"]["environment"]["CASEWORK_MASTER_KEY"]
    assert "casework keys new" in raw
    assert parser().parse_args(["keys", "new"]).func is cmd_keys_new


def test_kafka_is_apache_kafka_in_kraft_mode(services):
    # the broker; `kafka-init` (the same image, run once for users, topics and ACLs) is no broker
    kafka = [
        name
        for name, svc in services.items()
        if "kafka" in str(svc.get("image", "")) and svc.get("network_mode") != "service:kafka"
    ]
    assert kafka == ["kafka"], f"expected one Kafka service named 'kafka', found {kafka}"
    service = services["kafka"]
    assert re.fullmatch(r"apache/kafka:\d+\.\d+\.\d+", service["image"]), service["image"]
    env = environment(service)
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"].startswith(f"{env['KAFKA_NODE_ID']}@")
    assert "KAFKA_ZOOKEEPER_CONNECT" not in env
    # the clients' listener (SASL/SCRAM; tests/unit/test_kafka_acls.py)
    assert "SASL://kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"].split(",")
    for key in (
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR",
    ):
        assert env[key] == "1", f"{key} must be 1 on a single broker"
    zookeeper = [
        name for name, svc in services.items() if "zookeeper" in f"{name} {svc.get('image', '')}"
    ]
    assert not zookeeper, f"KRaft needs no ZooKeeper, found {zookeeper}"
    assert "kafka-broker-api-versions.sh" in str(service["healthcheck"]["test"])
    for name in PROCESSES:
        assert environment(services[name])["CASEWORK_KAFKA"] == "kafka:9092"


def test_store_and_views_are_separate_databases_on_the_postgres_service(services):
    postgres = services.get("postgres")
    assert postgres is not None, "docker-compose.yml has no 'postgres' service"
    assert re.fullmatch(r"postgres:\d+(\.\d+)?", postgres["image"]), postgres["image"]
    assert "pg_isready" in str(postgres["healthcheck"]["test"])
    pg_env = environment(postgres)
    init_dir = next(
        (
            ROOT / volume.split(":")[0]
            for volume in postgres.get("volumes", [])
            if volume.split(":")[1] == "/docker-entrypoint-initdb.d"
        ),
        None,
    )
    assert init_dir is not None and init_dir.is_dir(), "no init scripts mounted into postgres"
    init_sql = "\n".join(path.read_text() for path in sorted(init_dir.iterdir()))
    for name in PROCESSES:
        env = environment(services[name])
        store = DatabaseUrl.parse(env["CASEWORK_STORE"], "CASEWORK_STORE")
        views = DatabaseUrl.parse(env["CASEWORK_VIEWS"], "CASEWORK_VIEWS")
        for url in (store, views):
            assert (url.kind, url.host, url.port) == ("postgresql", "postgres", 5432), url
            credentials = (pg_env["POSTGRES_USER"], pg_env["POSTGRES_PASSWORD"])
            assert (url.user, url.password) == credentials, "the URLs must use postgres' account"
        assert store.dbname == pg_env["POSTGRES_DB"], "the store is the database the image creates"
        assert views.dbname != store.dbname, "read models need their own database"
        assert re.search(rf"CREATE DATABASE\s+\"?{views.dbname}\b", init_sql), (
            f"no init script in {init_dir} creates {views.dbname}"
        )


def test_processes_wait_for_healthy_dependencies_and_restart(services):
    for name in PROCESSES:
        service = services[name]
        assert service.get("restart") == "unless-stopped", name
        depends = service.get("depends_on") or {}
        for dependency in ("kafka", "postgres"):
            assert depends.get(dependency, {}).get("condition") == "service_healthy", (
                f"service {name!r} must wait for {dependency} to be healthy"
            )
            assert services[dependency].get("healthcheck"), f"{dependency} has no healthcheck"
    assert services["projections"]["deploy"]["replicas"] == 2


def test_the_web_listens_on_all_interfaces_on_its_published_port(services):
    env = environment(services["web"])
    assert env["CASEWORK_HOST"] == "0.0.0.0"
    published = [str(port).rsplit(":", 1)[-1] for port in services["web"].get("ports", [])]
    assert env["CASEWORK_PORT"] in published, f"web listens on {env['CASEWORK_PORT']}"


def test_the_image_installs_the_package_and_the_front_end_libraries():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", dockerfile, re.MULTILINE)
    assert "npm ci --omit=dev" in dockerfile, "htmx must be served from node_modules"
    assert re.search(r"pip install\b.*-e \.", dockerfile)
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", "node_modules", "var"} <= set(ignored)


def test_interpolation_follows_compose():
    env = {"SET": "value", "EMPTY": ""}
    assert interpolate("${SET:-x} ${UNSET:-x} ${EMPTY:-x} ${EMPTY-x} $$SET $SET", env) == (
        "value x x  $SET value"
    )
    with pytest.raises(AssertionError, match="UNSET: needed"):
        interpolate("${UNSET:?needed}", env)
