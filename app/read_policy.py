"""Who may call each `/api/v1` route and open each web page: one declared policy per endpoint
(least privilege).

`POLICY` names, for every endpoint under /api/v1, the roles that may call it at all, the
area rule the route applies within (`Area`), and how the NIKs it answers are shown
(`Nik`). Every other role gets 403 before the route runs (`guard`, installed on the API
blueprint); an endpoint with no policy answers 403 to everyone, and
tests/integration/test_read_policy.py fails on it, so a route cannot be added unguarded.

The area rules are applied by the routes themselves (app/api.py), as the policy says:

- `Area.KELURAHAN`: a case worker reads only households of the kelurahan they are assigned
  (a search is limited to them; one household elsewhere answers 403);
- `Area.OPD`: a program manager reads only their OPD's programs (another OPD's: 403), and
  only the answers about them;
- `Area.OWN`: a role not bound to every record reads only what they asked for themselves
  (an approval they requested).

Program managers are refused households (search, household, history, diff): they read their
OPD's programs, beneficiaries (NIKs masked) and the aggregate views instead. Agencies read
no household and no beneficiary: their data comes through their feed. Auditors read
everything and write nothing: every command answers them 403.

`WEB` does the same for every web page (every endpoint outside /api/, GET and POST): the
guard `app.web.least_privilege` runs before each page, after sign-in, and answers every role
the page's policy does not name with the forbidden page (403); a page with no policy is
forbidden to everyone, and tests/integration/test_web_policy.py (every page with every role)
fails on it. The pages apply the same area rules as the API: a case worker's search, household
pages, forms and review queue stay within their kelurahan; a program manager's program pages
within their OPD (another OPD's program: 403); a maker sees only the approvals they requested.
Lists show NIKs masked (`Nik.MASKED`), the household page in clear to the roles that work the
case.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from domain.accounts import ROLES
from domain.approval import APPROVER_ROLE


class Area(enum.Enum):
    KELURAHAN = "kelurahan"
    OPD = "opd"
    OWN = "own"


class Nik(enum.Enum):
    NONE = "none"  # the answer holds no NIK
    FULL = "full"  # NIKs in clear for every role allowed
    MASKED_FOR_PROGRAM_MANAGER = "masked for program managers"
    MASKED = "masked for every role"  # lists that need no full number


@dataclass(frozen=True)
class Policy:
    roles: tuple[str, ...]
    # role -> the area rule the route applies to that role (roles absent: everything)
    areas: dict[str, Area] = field(default_factory=dict)
    nik: Nik = Nik.NONE
    public: bool = False  # no bearer token (API) or sign-in (web) needed


ALL = tuple(ROLES)
NOT_AGENCY = tuple(role for role in ROLES if role != "agency")
OVERSIGHT = ("supervisor", "auditor", "admin")
HOUSEHOLD_READERS = ("caseworker", *OVERSIGHT)
ON_HOUSEHOLDS = {"caseworker": Area.KELURAHAN}
ON_PROGRAMS = {"caseworker": Area.KELURAHAN, "program_manager": Area.OPD}

POLICY: dict[str, Policy] = {
    # Commands: every role but the read-only ones; then app.auth.authorize decides by the
    # command's declared area (domain/commands.py).
    "api.command": Policy(("caseworker", "program_manager", "supervisor", "admin")),
    "api.households": Policy(HOUSEHOLD_READERS, ON_HOUSEHOLDS, Nik.FULL),
    "api.household": Policy(HOUSEHOLD_READERS, ON_HOUSEHOLDS, Nik.FULL),
    "api.household_history": Policy(HOUSEHOLD_READERS, ON_HOUSEHOLDS, Nik.FULL),
    "api.household_diff": Policy(OVERSIGHT),  # time travel: app.time_travel.TIME_TRAVELLERS
    "api.household_eligibility_answer": Policy(NOT_AGENCY, ON_PROGRAMS),
    "api.program_eligible": Policy(NOT_AGENCY, ON_PROGRAMS),
    "api.program_errors": Policy(NOT_AGENCY, ON_PROGRAMS),
    "api.program_errors_csv": Policy(NOT_AGENCY, ON_PROGRAMS),
    "api.program_what_if": Policy(("program_manager", *OVERSIGHT), {"program_manager": Area.OPD}),
    "api.program_what_if_csv": Policy(
        ("program_manager", *OVERSIGHT), {"program_manager": Area.OPD}
    ),
    "api.programs": Policy(NOT_AGENCY),
    "api.program_beneficiaries": Policy(
        ("program_manager", *OVERSIGHT),
        {"program_manager": Area.OPD},
        Nik.MASKED_FOR_PROGRAM_MANAGER,
    ),
    "api.person_benefits": Policy(OVERSIGHT),
    # The cross-OPD view (app/overview_api.py): counts only; a case worker one of their
    # kelurahan, a program manager every total but the kelurahan rows of their OPD only.
    **{
        f"api.{name}": Policy(NOT_AGENCY, ON_PROGRAMS)
        for name in (
            "overview",
            "overview_csv",
            "overview_xlsx",
            "overview_monthly",
            "overlaps",
            "overlaps_csv",
            "overlaps_xlsx",
        )
    },
    # where the sources disagree: program managers read the counts only (app/reconciliation.py)
    "api.reconciliation_list": Policy(
        ("caseworker", "program_manager", *OVERSIGHT), ON_HOUSEHOLDS, Nik.NONE
    ),
    "api.reconciliation_csv": Policy(HOUSEHOLD_READERS, ON_HOUSEHOLDS),
    "api.reconciliation_xlsx": Policy(HOUSEHOLD_READERS, ON_HOUSEHOLDS),
    "api.reconciliation_household": Policy(HOUSEHOLD_READERS, ON_HOUSEHOLDS, Nik.MASKED),
    "api.reviews": Policy(NOT_AGENCY, ON_PROGRAMS),
    "api.approvals": Policy(OVERSIGHT),
    # one's own requests: whoever may ask for a change (app/api.py, my_approvals)
    "api.my_approvals": Policy(("caseworker", "program_manager", *OVERSIGHT)),
    "api.approval": Policy(
        ("caseworker", "program_manager", *OVERSIGHT),
        {"caseworker": Area.OWN, "program_manager": Area.OWN},
    ),
    "api.approval_history": Policy(
        ("caseworker", "program_manager", *OVERSIGHT),
        {"caseworker": Area.OWN, "program_manager": Area.OWN},
    ),
    "api.audit_verify": Policy(OVERSIGHT),
    "api.audit": Policy(OVERSIGHT),
    "api.openapi_json": Policy(ALL, public=True),
    # the Kafka topics' document (app/asyncapi.py): schemas only, no data
    "api.asyncapi_json": Policy(ALL, public=True),
    # the public keys that sign the events topic: anyone may check a message (adapters.signing)
    "api.signing_keys": Policy(ALL, public=True),
    # Agencies' feed and webhook (app/agency_api.py): an agency reads its own agreement's
    # events only (its agency is its account's code); administrators redeliver dead letters.
    "api.agency_feed": Policy(("agency",)),
    "api.webhook_register": Policy(("agency",)),
    "api.webhook_show": Policy(("agency",)),
    "api.webhook_delete": Policy(("agency",)),
    "api.webhook_dead_letters": Policy(OVERSIGHT),
    "api.webhook_redeliver": Policy(("admin",)),
    # Routes of other blueprints (their own checks; the same roles declared here).
    "privacy_api.record_api": Policy(ALL),  # the record of processing holds no personal data
    "privacy_api.breach_api": Policy(OVERSIGHT),
    "subject_access.report_json": Policy(("admin", "supervisor", "auditor"), nik=Nik.FULL),
    "subject_access.report_pdf": Policy(("admin", "supervisor", "auditor"), nik=Nik.FULL),
    # The DCI social-registry interface (app/dci.py, /dci/registry/...): agencies only, each
    # answer bound to the caller's agreement (NIKs as the agreement delivers them).
    **{
        f"dci.{name}": Policy(("agency",), nik=Nik.FULL)
        for name in (
            "search",
            "sync_search",
            "subscribe",
            "unsubscribe",
            "txn_status",
            "sync_txn_status",
        )
    },
}

# The web pages. Writing pages name the roles the command path may let through
# (app.auth.authorize then decides by the command's declared area, as for the API).
COMMAND_USERS = POLICY["api.command"].roles
HOUSEHOLD_WRITERS = ("caseworker", "supervisor", "admin")
PROGRAM_READERS = ("program_manager", *OVERSIGHT)
ON_OPD = {"program_manager": Area.OPD}
MAKERS_OWN = {"caseworker": Area.OWN, "program_manager": Area.OWN}
STAFF = NOT_AGENCY
IMPORTERS = ("program_manager", "admin")

WEB: dict[str, Policy] = {
    # open to anyone: signing in and out, files, the process's health
    "login.login_page": Policy(ALL, public=True),
    "login.sign_in": Policy(ALL, public=True),
    "login.sign_out": Policy(ALL, public=True),
    "static": Policy(ALL, public=True),
    "vendor": Policy(ALL, public=True),
    "icon": Policy(ALL, public=True),  # the app's icon, also at /favicon.ico
    "health.healthz": Policy(ALL, public=True),
    "health.metrics": Policy(ALL, public=True),
    # The start page: the household search for the roles that read households (within their
    # area, NIKs masked); for the others a start page without households.
    "web.search_page": Policy(ALL, ON_HOUSEHOLDS, Nik.MASKED),
    "web.household_page": Policy(HOUSEHOLD_READERS, ON_HOUSEHOLDS, Nik.FULL),
    "web.household_time_travel": Policy(OVERSIGHT, nik=Nik.FULL),  # time_travel.TIME_TRAVELLERS
    "web.add_member": Policy(HOUSEHOLD_WRITERS, ON_HOUSEHOLDS, Nik.FULL),
    "web.register_page": Policy(HOUSEHOLD_WRITERS),
    "web.register_submit": Policy(HOUSEHOLD_WRITERS),
    "web.kelurahan_options": Policy(HOUSEHOLD_WRITERS),  # the registration form's list
    "web.check_field": Policy(COMMAND_USERS),  # a form's inline check: stores nothing
    # Command forms: a case worker's household lists only in their kelurahan; a program
    # manager reads no household, so their forms offer none to pick from.
    "web.commands_page": Policy(COMMAND_USERS),
    # and of the commands, only those the role may send (`app.auth.may_issue`)
    "web.command_page": Policy(COMMAND_USERS, ON_PROGRAMS),
    "web.command_submit": Policy(COMMAND_USERS, ON_PROGRAMS),
    # the queue names each review's family and recipient to who reads that household (a
    # case worker in their kelurahan, oversight), NIKs and KK numbers masked
    "web.reviews_page": Policy(STAFF, ON_PROGRAMS, Nik.MASKED),
    "web.approvals_page": Policy(
        ("caseworker", "program_manager", *OVERSIGHT), MAKERS_OWN, Nik.MASKED
    ),
    # and never on their own request (domain); a decision sent with errors is answered with
    # the approvals page, NIKs masked as there
    "web.decide": Policy((APPROVER_ROLE,), nik=Nik.MASKED),
    "web.status_page": Policy(STAFF),
    "web.programs_page": Policy(PROGRAM_READERS, ON_OPD),
    "web.program_page": Policy(PROGRAM_READERS, ON_OPD),
    "web.program_errors_csv_page": Policy(PROGRAM_READERS, ON_OPD),
    "web.program_what_if_page": Policy(PROGRAM_READERS, ON_OPD),  # evaluates, stores nothing
    # the cross-OPD page and its downloads: as the API (app/overview_pages.py)
    "overview_pages.page": Policy(STAFF, ON_PROGRAMS),
    "overview_pages.overview_csv": Policy(STAFF, ON_PROGRAMS),
    "overview_pages.overview_xlsx": Policy(STAFF, ON_PROGRAMS),
    "overview_pages.overlaps_csv": Policy(STAFF, ON_PROGRAMS),
    "overview_pages.overlaps_xlsx": Policy(STAFF, ON_PROGRAMS),
    # where the sources disagree (program managers: the counts only)
    "web.reconciliation_page": Policy(("caseworker", "program_manager", *OVERSIGHT), ON_HOUSEHOLDS),
    "web.reconciliation_csv_page": Policy(HOUSEHOLD_READERS, ON_HOUSEHOLDS),
    "web.reconciliation_xlsx_page": Policy(HOUSEHOLD_READERS, ON_HOUSEHOLDS),
    "audit.log_page": Policy(OVERSIGHT),
    "audit.chain_page": Policy(OVERSIGHT),
    "audit.read_log_page_view": Policy(OVERSIGHT),
    # Importing files (app/import_pages.py): each person their own imports; every command
    # of an import is then authorised as that person's own (app.auth.authorize)
    "imports.index": Policy(IMPORTERS),
    "imports.upload": Policy(IMPORTERS),
    "imports.template": Policy(IMPORTERS),
    "imports.job_page": Policy(IMPORTERS),
    "imports.resume": Policy(IMPORTERS),
    "imports.discard": Policy(IMPORTERS),
    "imports.rejected_csv": Policy(IMPORTERS),
    # the agencies page: agreements and delivery states, no personal data; supervisors and
    # administrators manage them (through the command forms), auditors read
    "agency_pages.page": Policy(OVERSIGHT),
    "privacy.record_page": Policy(ALL),  # the record of processing holds no personal data
    "privacy.breach_page": Policy(OVERSIGHT),
    "subject_access_page.page": Policy(OVERSIGHT, nik=Nik.FULL),
    "subject_access_page.page_pdf": Policy(OVERSIGHT, nik=Nik.FULL),
}

FORBIDDEN_TO_ALL = Policy(())
_EVERY = {**POLICY, **WEB}


def policy_for(endpoint: str | None) -> Policy:
    """The declared policy of an endpoint (API or web); an undeclared one allows no role."""
    return _EVERY.get(endpoint or "", FORBIDDEN_TO_ALL)


def allows(endpoint: str | None, role: str | None) -> bool:
    """Whether the endpoint's policy lets this role in at all (its area rule aside)."""
    policy = policy_for(endpoint)
    return policy.public or role in policy.roles


def area_of(endpoint: str | None, role: str) -> Area | None:
    return policy_for(endpoint).areas.get(role)


def masks_nik(endpoint: str | None, role: str) -> bool:
    """Whether this route shows this role NIKs masked (`app.disclosure.mask_nik`)."""
    nik = policy_for(endpoint).nik
    if nik is Nik.MASKED:
        return True
    return nik is Nik.MASKED_FOR_PROGRAM_MANAGER and role == "program_manager"
