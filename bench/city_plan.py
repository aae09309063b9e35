"""What the city benchmark hands its load test (bench/locustfile.py): the accounts and the
values to ask for, in one JSON file; and the web sign-in form, shared by the in-process reads
(Flask test client) and locust's users. Standard library only: locust imports this module in
its own process (gevent)."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PLAN_ENV = "CASEWORK_BENCH_PLAN"  # the plan file's path, for the locustfile


@dataclass
class Account:
    name: str
    role: str
    password: str
    token: str
    opd: str | None = None
    kelurahan: list[str] = field(default_factory=list)


@dataclass
class Plan:
    """The accounts (one per role that signs in) and random values from the city."""

    accounts: dict[str, Account]  # role -> account
    names: list[str]  # a word of a member's name
    niks: list[str]
    kks: list[str]
    households: list[str]  # household ids, anywhere in the city
    area_households: list[str]  # household ids in the case worker's kelurahan
    programs: list[str]
    opd_programs: list[str]  # the program manager's OPD's programs
    kelurahan: list[str]

    def write(self, path: Path) -> Path:
        path.write_text(json.dumps(asdict(self), indent=1))
        return path

    @classmethod
    def read(cls, path: Path) -> Plan:
        raw = json.loads(path.read_text())
        raw["accounts"] = {role: Account(**a) for role, a in raw["accounts"].items()}
        return cls(**raw)


def login_form(login_page_html: str, name: str, password: str) -> dict[str, str]:
    """The fields a browser posts to /login, from the login page it was shown."""
    found = CSRF.search(login_page_html)
    if not found:
        raise RuntimeError("no CSRF token on the login page")
    return {"csrf_token": found.group(1), "name": name, "password": password, "next": ""}
