"""docker-compose.yml's Kafka is locked down (read from the file: no Docker engine here): a
SASL/SCRAM-SHA-512 listener for the clients, an authorizer that allows nothing unless an ACL
grants it, and the ACLs the one-shot `kafka-init` service makes with kafka-acls: only the
relay's principal writes casework.events.v1, the projections and the policies only read it,
each agency reads only its own topic; each process signs in as its own principal."""

from __future__ import annotations

import shlex
from collections.abc import Iterator

import pytest
import yaml

from adapters.settings import Settings
from tests.unit.test_compose import COMPOSE, OPERATOR_ENV, environment

EVENTS = "casework.events.v1"
READ_ONLY = {"User:projections", "User:policies"}
WRITES = {"Write", "All", "Alter", "Create", "Delete"}


def init_commands(services: dict) -> Iterator[list[str]]:
    """The init service's script, one command per line, as the shell would split it."""
    script = "\n".join(str(part) for part in services["kafka-init"]["command"])
    for line in script.replace("$$", "$").splitlines():
        if line.strip():
            yield shlex.split(line)


def options(argv: list[str], name: str) -> list[str]:
    return [argv[i + 1] for i, arg in enumerate(argv[:-1]) if arg == name]


def acls(services: dict) -> list[dict]:
    """Each kafka-acls --add: its principals, operations and resource."""
    found = []
    for argv in init_commands(services):
        if not argv[0].endswith("kafka-acls.sh"):
            continue
        assert "--add" in argv and "--deny-principal" not in argv, argv
        kind = next(
            k for k in ("--topic", "--group", "--cluster", "--transactional-id") if k in argv
        )
        found.append(
            {
                "principals": set(options(argv, "--allow-principal")),
                "operations": set(options(argv, "--operation")),
                "kind": kind,
                "resource": options(argv, kind)[0] if kind != "--cluster" else "",
                "prefixed": options(argv, "--resource-pattern-type") == ["prefixed"],
            }
        )
    return found


def covers(acl: dict, kind: str, name: str) -> bool:
    if acl["kind"] != kind:
        return False
    return name.startswith(acl["resource"]) if acl["prefixed"] else acl["resource"] == name


@pytest.fixture(scope="module")
def services() -> dict:
    return yaml.safe_load(COMPOSE.read_text())["services"]


def test_the_broker_authenticates_with_scram_and_allows_nothing_unlisted(services):
    env = environment(services["kafka"])
    assert env["KAFKA_LISTENER_NAME_SASL_SASL_ENABLED_MECHANISMS"] == "SCRAM-SHA-512"
    protocols = dict(p.split(":") for p in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    assert protocols["SASL"] == "SASL_PLAINTEXT"
    # every listener reachable from other containers is a SASL one
    for listener in env["KAFKA_LISTENERS"].split(","):
        name, address = listener.split("://")
        if not address.startswith("127.0.0.1:"):
            assert protocols[name].startswith("SASL_"), listener
    assert env["KAFKA_AUTHORIZER_CLASS_NAME"].endswith("StandardAuthorizer")
    assert env["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"] == "false"
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"


def test_only_the_relay_writes_the_events_topic(services):
    found = acls(services)
    writers = {
        principal
        for acl in found
        if covers(acl, "--topic", EVENTS) and acl["operations"] & WRITES
        for principal in acl["principals"]
    }
    assert writers == {"User:relay"}
    readers = {
        principal
        for acl in found
        if covers(acl, "--topic", EVENTS) and "Read" in acl["operations"]
        for principal in acl["principals"]
    }
    assert readers == READ_ONLY | {"User:agencies"}
    # the projections and the policies read their own consumer groups and write only the DLQ
    for principal in READ_ONLY:
        written = {
            acl["resource"]
            for acl in found
            if principal in acl["principals"] and acl["operations"] & WRITES
        }
        assert written == {"casework.dlq.v1"}, principal
        group = "casework-" + principal.split(":")[1]
        assert any(
            principal in acl["principals"] and covers(acl, "--group", f"{group}.topic-id")
            for acl in found
        ), principal


def test_each_agency_reads_only_its_own_topic(services):
    found = acls(services)
    agencies = {
        principal
        for acl in found
        for principal in acl["principals"]
        if principal.startswith("User:agency-")
    }
    assert agencies, "no agency principal"
    for principal in agencies:
        code = principal.removeprefix("User:agency-")
        granted = [acl for acl in found if principal in acl["principals"]]
        topics = {acl["resource"] for acl in granted if acl["kind"] == "--topic"}
        assert topics == {f"casework.agency.{code}.v1"}, principal
        assert all(acl["operations"] <= {"Read", "Describe"} for acl in granted), principal
        assert not any(covers(acl, "--topic", EVENTS) for acl in granted)


def test_every_principal_with_an_acl_is_a_scram_user_made_by_the_init_service(services):
    users = {
        options(argv, "--entity-name")[0]
        for argv in init_commands(services)
        if argv[0].endswith("kafka-configs.sh")
        and "users" in options(argv, "--entity-type")
        and any(c.startswith("SCRAM-SHA-512=") for c in options(argv, "--add-config"))
    }
    principals = {p.removeprefix("User:") for acl in acls(services) for p in acl["principals"]}
    assert principals <= users
    assert {"relay", "projections", "policies"} <= users


def test_the_agency_producer_writes_only_the_agency_topics_and_the_dlq(services):
    granted = [acl for acl in acls(services) if "User:agencies" in acl["principals"]]
    written = {
        (acl["kind"], acl["resource"], acl["prefixed"])
        for acl in granted
        if acl["operations"] & WRITES
    }
    assert written == {
        ("--topic", "casework.dlq.v1", False),
        ("--topic", "casework.agency.", True),
        ("--transactional-id", "casework-agencies", True),  # casework-agencies[-N]: workers
    }
    assert any(covers(acl, "--group", "casework-agencies.topic-id") for acl in granted)
    # it reads how far the projection runner got (the agencies view), nothing of its data
    runner_group = [acl for acl in granted if covers(acl, "--group", "casework-projections.x")]
    assert runner_group and all(acl["operations"] == {"Describe"} for acl in runner_group)


@pytest.mark.parametrize("name", ["relay", "projections", "policies", "agencies"])
def test_each_process_signs_in_as_its_own_principal(services, name):
    settings = Settings.from_env(environment(services[name]))
    config = settings.kafka_client_config()
    assert config["sasl_plain_username"] == name
    assert config["sasl_mechanism"] == "SCRAM-SHA-512"
    assert config["security_protocol"] == "SASL_PLAINTEXT"
    assert config["sasl_plain_password"] == OPERATOR_ENV[f"KAFKA_{name.upper()}_PASSWORD"]


def test_the_web_has_no_kafka_principal(services):
    assert Settings.from_env(environment(services["web"])).kafka_client_config() == {}


def test_the_agency_producer_may_set_the_agency_topics_retention(services):
    """It sets CASEWORK_AGENCY_RETENTION_DAYS on every agency topic when it starts; the topic
    kafka-init makes is not kept for ever either (an erased person's data in clear)."""
    granted = [
        acl
        for acl in acls(services)
        if "User:agencies" in acl["principals"] and covers(acl, "--topic", "casework.agency.X.v1")
    ]
    assert {"DescribeConfigs", "AlterConfigs"} <= set().union(*(a["operations"] for a in granted))
    for argv in init_commands(services):
        if argv[0].endswith("kafka-topics.sh") and "--create" in argv:
            topic = options(argv, "--topic")[0]
            retention = [c for c in options(argv, "--config") if c.startswith("retention.ms=")]
            if topic.startswith("casework.agency."):
                assert retention == ["retention.ms=2592000000"], topic
            else:
                assert retention == ["retention.ms=-1"], topic
