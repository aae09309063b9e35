"""Schemathesis against the OpenAPI document, through the WSGI app with an administrator's
bearer token: no operation answers a server error or a status its document does not list.

Bounded and deterministic: a few examples per operation, derandomized, on SQLite only (the
storage is covered elsewhere on both databases; this is about the edge)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import status_code_conformance

import app.api
from adapters.bootstrap import bootstrap
from adapters.settings import Settings
from app import create_app
from domain.application import SYSTEM, make_meta
from domain.catalog import seed_catalog
from tests.conftest import TEST_MASTER_KEY

pytestmark = pytest.mark.integration

EXAMPLES_PER_OPERATION = 10


@pytest.fixture
def fuzzed(tmp_path) -> Iterator[tuple[object, str]]:
    """The app on SQLite with the catalogue's programs, and an administrator's token."""
    settings = Settings.from_env(
        {
            "CASEWORK_STORE": f"sqlite:///{tmp_path}/casework.db",
            "CASEWORK_VIEWS": f"sqlite:///{tmp_path}/views.db",
            "CASEWORK_SECRET_KEY": "test-secret",
            "CASEWORK_MASTER_KEY": TEST_MASTER_KEY,
        }
    )
    flask_app = create_app(bootstrap(settings))
    casework = flask_app.extensions["casework"].casework
    meta = make_meta(SYSTEM, "cli")
    casework.add_user("fuzz-admin", "admin", None, [], meta)
    token = casework.issue_token("fuzz-admin", meta)
    seed_catalog(casework, meta)
    yield flask_app, token
    flask_app.extensions["casework"].close()


def check_operation(operation, mode, token: str) -> str | None:
    """Run a few generated requests of one operation; the first failure found, or None."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: the first failure is enough
        suppress_health_check=list(HealthCheck),
    )
    def run(case) -> None:
        case.call_and_validate(
            headers={"Authorization": f"Bearer {token}"},
            checks=[not_a_server_error, status_code_conformance],
        )

    try:
        run()
    except Unsatisfiable:  # nothing to make invalid: an operation without parameters
        return None
    except Exception as failure:  # noqa: BLE001 - reported below, per operation
        return f"{type(failure).__name__}: {failure}"[:2000]
    return None


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_server_error_and_no_undocumented_status(fuzzed, mode):
    flask_app, token = fuzzed
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", flask_app)
    failures = {}
    checked = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        checked += 1
        found = check_operation(operation, mode, token)
        if found:
            failures[operation.label] = found
    assert checked >= 40  # every command and every read of the document
    assert not failures, "\n\n".join(f"{label}: {text}" for label, text in failures.items())


def test_a_server_error_is_reported_by_the_fuzzing(fuzzed, monkeypatch):
    """The check above can fail: an operation that breaks is named with its 500."""
    flask_app, token = fuzzed

    def broken(*args, **kwargs):
        raise RuntimeError("the register view is broken")

    monkeypatch.setattr(app.api, "search", broken)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", flask_app)
    [households] = [
        result.ok()
        for result in schema.get_all_operations()
        if result.ok().label == "GET /api/v1/households"
    ]
    found = check_operation(households, GenerationMode.POSITIVE, token)
    # the exception itself reaches the WSGI client, or its 500 answer does
    assert found is not None and ("broken" in found or "500" in found)
