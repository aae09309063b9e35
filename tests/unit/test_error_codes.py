"""Every error code the code base raises has its own message in app/messages.py, so a new
code cannot reach a user as the generic message; the OpenAPI document lists them
(tests/integration/test_openapi.py)."""

from __future__ import annotations

from app.messages import ERRORS
from tests.support.error_codes import raised_codes

# The account commands word their own codes (password.*) on the terminal: app/accounts_cli.py.
CLI_MODULES = {"app.accounts_cli", "adapters.credentials"}

RAISED = raised_codes()


def test_the_scan_sees_each_way_a_code_is_raised():
    assert len(RAISED) > 200
    for code, module in (
        ("nik.taken", "domain.household_cases"),  # Conflict(field, code)
        ("approval.self", "domain.approval"),  # Forbidden, a DomainError of its own module
        ("household.not_yet", "app.api"),  # error_response(status, field, code)
        ("from.after_to", "app.api"),  # errors_body({field: [code]})
        ("overdue.invalid", "app.api"),  # Invalid({field: [code]})
        ("sex.invalid", "app.schemas"),  # a schema field's code=
        ("birth_date.format", "app.schemas"),  # error_messages=_errors(invalid=code)
        ("mode.invalid", "app.time_travel"),  # BadMoment(field, code)
        ("auth.token_missing", "app.auth"),  # Unauthenticated(code)
        ("import.no_head", "app.importer"),  # the importer's Refused(code)
    ):
        assert module in RAISED.get(code, set()), code


def test_every_code_raised_has_its_own_message():
    missing = sorted(
        f"{code} ({', '.join(sorted(modules))})"
        for code, modules in RAISED.items()
        if code not in ERRORS and not modules <= CLI_MODULES
    )
    assert missing == []
