"""Who may call each `/api/v1` route: one declared policy per endpoint (least privilege).

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
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from domain.accounts import ROLES


class Area(enum.Enum):
    KELURAHAN = "kelurahan"
    OPD = "opd"
    OWN = "own"


class Nik(enum.Enum):
    NONE = "none"  # the answer holds no NIK
    FULL = "full"  # NIKs in clear for every role allowed
    MASKED_FOR_PROGRAM_MANAGER = "masked for program managers"


@dataclass(frozen=True)
class Policy:
    roles: tuple[str, ...]
    # role -> the area rule the route applies to that role (roles absent: everything)
    areas: dict[str, Area] = field(default_factory=dict)
    nik: Nik = Nik.NONE
    public: bool = False  # no bearer token needed


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
    "api.reviews": Policy(NOT_AGENCY, ON_PROGRAMS),
    "api.approvals": Policy(OVERSIGHT),
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
    # the public keys that sign the events topic: anyone may check a message (adapters.signing)
    "api.signing_keys": Policy(ALL, public=True),
    # Routes of other blueprints (their own checks; the same roles declared here).
    "privacy_api.record_api": Policy(ALL),  # the record of processing holds no personal data
    "privacy_api.breach_api": Policy(OVERSIGHT),
    "subject_access.report_json": Policy(("admin", "supervisor", "auditor"), nik=Nik.FULL),
    "subject_access.report_pdf": Policy(("admin", "supervisor", "auditor"), nik=Nik.FULL),
}

FORBIDDEN_TO_ALL = Policy(())


def policy_for(endpoint: str | None) -> Policy:
    """The declared policy of an endpoint; an undeclared one allows no role at all."""
    return POLICY.get(endpoint or "", FORBIDDEN_TO_ALL)


def area_of(endpoint: str | None, role: str) -> Area | None:
    return policy_for(endpoint).areas.get(role)


def masks_nik(endpoint: str | None, role: str) -> bool:
    """Whether this route shows this role NIKs masked (`app.disclosure.mask_nik`)."""
    nik = policy_for(endpoint).nik
    return nik is Nik.MASKED_FOR_PROGRAM_MANAGER and role == "program_manager"
