"""The OpenAPI document: valid OpenAPI 3, and listing every route the app answers under
/api/, /healthz and /metrics, as create_app registers them (privacy routes included)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask
from openapi_spec_validator import validate
from werkzeug.exceptions import MethodNotAllowed, NotFound

from adapters.bootstrap import bootstrap
from adapters.settings import Settings
from app import create_app
from app.schemas import COMMANDS
from tests.support.error_codes import raised_codes

pytestmark = pytest.mark.integration

DOCUMENTED = ("/api/", "/dci/", "/healthz", "/metrics")
OPERATION_KEYS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
PUBLIC = {
    "/healthz",
    "/metrics",
    "/api/v1/openapi.json",
    "/api/v1/asyncapi.json",
    "/api/v1/keys",
}


@pytest.fixture
def web(tmp_path) -> Iterator[Flask]:
    """The app as create_app builds it (the document does not depend on the database kind)."""
    settings = Settings.from_env(
        {
            "CASEWORK_STORE": f"sqlite:///{tmp_path}/casework.db",
            "CASEWORK_VIEWS": f"sqlite:///{tmp_path}/views.db",
            "CASEWORK_SECRET_KEY": "test-secret",
            "CASEWORK_MASTER_KEY": "5e" * 32,
        }
    )
    flask_app = create_app(bootstrap(settings))
    yield flask_app
    flask_app.extensions["casework"].close()


def document(web: Flask) -> dict:
    response = web.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.json


def routes(web: Flask) -> set[tuple[str, str]]:
    """(endpoint, method) of every route the document must list."""
    return {
        (rule.endpoint, method.lower())
        for rule in web.url_map.iter_rules()
        if rule.rule.startswith(DOCUMENTED)
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    }


def listed(web: Flask, doc: dict) -> set[tuple[str, str]]:
    """(endpoint, method) of every operation of the document, matched against the url_map
    (a path the app does not answer fails here)."""
    adapter = web.url_map.bind("localhost")
    found = set()
    for path, item in doc["paths"].items():
        concrete = re.sub(r"\{[^}]+\}", "x", path)
        for method in OPERATION_KEYS & set(item):
            try:
                endpoint, _ = adapter.match(concrete, method.upper())
            except (NotFound, MethodNotAllowed):
                pytest.fail(f"the document lists {method.upper()} {path}, which the app lacks")
            found.add((endpoint, method))
    return found


def operations(doc: dict) -> Iterator[tuple[str, str, dict]]:
    for path, item in doc["paths"].items():
        for method in OPERATION_KEYS & set(item):
            yield path, method, item[method]


def test_the_document_is_valid_openapi(web):
    validate(document(web))


def test_every_route_of_the_app_is_in_the_document(web):
    doc = document(web)
    missing = routes(web) - listed(web, doc)
    assert not missing, f"routes missing from the OpenAPI document: {sorted(missing)}"
    assert {
        "/api/v1/privacy/record-of-processing",
        "/api/v1/privacy/breach-report",
        "/api/v1/persons/{nik}/subject-access",
        "/api/v1/persons/{nik}/subject-access.pdf",
        "/healthz",
        "/metrics",
        "/api/v1/openapi.json",
    } <= set(doc["paths"])
    assert {f"/api/v1/commands/{name}" for name in COMMANDS} <= set(doc["paths"])


def test_a_route_without_a_description_is_caught(web):
    web.add_url_rule("/api/v1/forgotten", "forgotten", lambda: "")
    assert routes(web) - listed(web, document(web)) == {("forgotten", "get")}


def test_every_operation_declares_its_security_and_answers(web):
    doc = document(web)
    assert doc["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}
    for path, method, operation in operations(doc):
        where = f"{method.upper()} {path}"
        responses = set(operation["responses"])
        if path in PUBLIC:
            assert operation["security"] == [], where
            continue
        assert operation["security"] == [{"bearer": []}], where
        assert {"401", "503"} <= responses, where
        assert responses & {"200", "201", "202"}, where
        unauthenticated = operation["responses"]["401"]
        assert "WWW-Authenticate" in unauthenticated["headers"], where
        assert unauthenticated["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Errors"
        }
    health = doc["paths"]["/healthz"]["get"]["responses"]
    assert set(health) == {"200", "503"}


def test_the_privacy_routes_are_described_with_their_parameters(web):
    doc = document(web)
    schemas = doc["components"]["schemas"]
    subject = doc["paths"]["/api/v1/persons/{nik}/subject-access"]
    [nik] = subject["parameters"]
    assert nik["name"] == "nik" and nik["in"] == "path" and nik["required"]
    answers = subject["get"]["responses"]
    assert {"200", "401", "403", "404", "422", "503"} <= set(answers)
    assert answers["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/SubjectAccessReport"
    }
    pdf = doc["paths"]["/api/v1/persons/{nik}/subject-access.pdf"]["get"]["responses"]["200"]
    assert "application/pdf" in pdf["content"]
    breach = doc["paths"]["/api/v1/privacy/breach-report"]["get"]
    query = {p["name"]: p for p in breach["parameters"] if p["in"] == "query"}
    assert set(query) == {"actor", "from", "to"} and all(p["required"] for p in query.values())
    assert {"403", "422"} <= set(breach["responses"])
    assert "data_categories" in schemas["RecordOfProcessing"]["properties"]


def test_the_answers_come_from_schemas(web):
    doc = document(web)
    schemas = doc["components"]["schemas"]
    household = doc["paths"]["/api/v1/households/{household_id}"]
    assert household["parameters"][0]["schema"] == {"type": "string", "format": "uuid"}
    assert household["get"]["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Household"
    }
    assert schemas["Household"]["properties"]["members"]["items"] == {
        "$ref": "#/components/schemas/Member"
    }
    assert schemas["Member"]["properties"]["nik"]["nullable"] is True
    search = doc["paths"]["/api/v1/households"]["get"]
    limit = next(p for p in search["parameters"] if p["name"] == "limit")
    assert limit["schema"]["maximum"] == 100
    created = doc["paths"]["/api/v1/commands/EnrollEmpowerment"]["post"]["responses"]["201"]
    stored = created["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert "enrollment_id" in schemas[stored]["required"]
    assert {"stream_id", "version", "position", "event_ids"} <= set(schemas[stored]["required"])


# The modules whose codes no API answer carries: the web forms', the importer's row reports,
# the account commands' (worded on the terminal).
NOT_API_MODULES = {
    "app.web",
    "app.importer",
    "app.import_layouts",
    "app.import_files",
    "app.import_jobs",
    "app.import_pages",
    "app.accounts_cli",
    "adapters.credentials",
}


def test_every_error_code_an_answer_may_carry_is_listed_with_its_english_message(web):
    """A client learns every `codes` value from the document: each code raised outside the web
    forms and the importer is under x-error-codes with its English message."""
    listed = document(web)["x-error-codes"]
    raised = raised_codes()
    missing = sorted(
        code
        for code, modules in raised.items()
        if not modules <= NOT_API_MODULES and code not in listed
    )
    assert missing == []
    assert listed["nik.format"] == (
        "A NIK has exactly 16 digits. Copy it again from the KTP or the family card."
    )
    assert "known" in listed["mode.invalid"] and "effective" in listed["mode.invalid"]
    generic = listed["field.invalid"]
    assert [
        code
        for code, text in listed.items()
        if not text or (text == generic and code != "field.invalid")
    ] == []
    # those left out are the web forms' and the importer's only
    left_out = {code for code in raised if code.split(".")[0] != "password"} - set(listed)
    assert left_out, "the web forms' codes are not listed"
    assert all(raised[code] <= NOT_API_MODULES for code in left_out), left_out
    # the answers' schema points to the list
    errors = document(web)["components"]["schemas"]["Errors"]
    assert "x-error-codes" in errors["properties"]["codes"]["description"]
