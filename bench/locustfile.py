"""The load test of `python -m bench --city`: locust's users against `casework web` (gunicorn).

Run by `bench.city.load_test` (`locust -f bench/locustfile.py --headless ...`), which writes
the plan (`bench.city_plan.Plan`: accounts of each role with their password and API token,
random names, NIKs, KK numbers, households, programs and kelurahan of the city) and names it
in CASEWORK_BENCH_PLAN. Each web user signs in through the login form as a browser does;
each API client sends its bearer token. BENCH_THINK: the mean think time in seconds between
a user's requests (drawn from 0.5x to 1.5x; 0: none). Every request's time goes to the file
BENCH_SAMPLES when locust quits (the benchmark's percentiles leave the sign-ins out).

The mix (weights: users of each kind):
- case workers (web, their two kelurahan): search by name, open a household of their area;
- supervisors (web): search by name and by NIK, household page, cross-OPD page,
  reconciliation page;
- program managers (web and API, their OPD): cross-OPD page, overview and overlap matrix,
  eligible families of their programs by kelurahan;
- API clients (a supervisor's token): households by NIK, by KK, by name, one household, its
  eligibility, the overview and the overlap matrix.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from urllib.parse import quote

from locust import HttpUser, between, constant, events, task

from bench.city_plan import PLAN_ENV, Plan, login_form

PLAN = Plan.read(Path(os.environ[PLAN_ENV]))
THINK = float(os.environ.get("BENCH_THINK", "1"))
WAIT = constant(0) if THINK <= 0 else between(THINK * 0.5, THINK * 1.5)
SAMPLES: list[tuple[str, float, bool]] = []  # every request: name, ms, answered without error


@events.request.add_listener
def record(name: str, response_time: float, exception: BaseException | None = None, **_) -> None:
    SAMPLES.append((name, response_time, exception is None))


@events.quitting.add_listener
def write_samples(**_) -> None:
    """Every request's time, for percentiles without the sign-ins (BENCH_SAMPLES: the file)."""
    Path(os.environ["BENCH_SAMPLES"]).write_text(json.dumps(SAMPLES))


class WebUser(HttpUser):
    abstract = True
    wait_time = WAIT
    role = ""

    def on_start(self) -> None:
        account = PLAN.accounts[self.role]
        page = self.client.get("/login", name="/login")
        answer = self.client.post(
            "/login",
            data=login_form(page.text, account.name, account.password),
            allow_redirects=False,
            name="/login (POST)",
        )
        if answer.status_code != 303:
            raise RuntimeError(f"{self.role} could not sign in ({answer.status_code})")


class Caseworker(WebUser):
    weight = 4
    role = "caseworker"

    @task(3)
    def search_by_name(self) -> None:
        self.client.get(f"/?q={quote(random.choice(PLAN.names))}", name="/?q=<name>")

    @task(3)
    def household(self) -> None:
        self.client.get(
            f"/rumah-tangga/{random.choice(PLAN.area_households)}", name="/rumah-tangga/<id>"
        )

    @task(1)
    def home(self) -> None:
        self.client.get("/", name="/")


class Supervisor(WebUser):
    weight = 2
    role = "supervisor"

    @task(2)
    def search_by_name(self) -> None:
        self.client.get(f"/?q={quote(random.choice(PLAN.names))}", name="/?q=<name>")

    @task(2)
    def search_by_nik(self) -> None:
        self.client.get(f"/?q={random.choice(PLAN.niks)}", name="/?q=<NIK>")

    @task(3)
    def household(self) -> None:
        self.client.get(
            f"/rumah-tangga/{random.choice(PLAN.households)}", name="/rumah-tangga/<id>"
        )

    @task(1)
    def cross_opd(self) -> None:
        self.client.get("/lintas-opd", name="/lintas-opd")

    @task(1)
    def reconciliation(self) -> None:
        self.client.get("/rekonsiliasi", name="/rekonsiliasi")


class ProgramManager(WebUser):
    weight = 2
    role = "program_manager"

    def on_start(self) -> None:
        super().on_start()
        self.headers = {"Authorization": f"Bearer {PLAN.accounts[self.role].token}"}

    @task(2)
    def cross_opd(self) -> None:
        self.client.get("/lintas-opd", name="/lintas-opd")

    @task(1)
    def overview(self) -> None:
        self.client.get("/api/v1/overview", headers=self.headers, name="/api/v1/overview")

    @task(1)
    def overlaps(self) -> None:
        self.client.get("/api/v1/overlaps", headers=self.headers, name="/api/v1/overlaps")

    @task(2)
    def eligible(self) -> None:
        self.client.get(
            f"/api/v1/programs/{random.choice(PLAN.opd_programs)}/eligible"
            f"?kelurahan={quote(random.choice(PLAN.kelurahan))}",
            headers=self.headers,
            name="/api/v1/programs/<code>/eligible?kelurahan=",
        )


class ApiClient(HttpUser):
    weight = 2
    wait_time = WAIT

    def on_start(self) -> None:
        self.client.headers["Authorization"] = f"Bearer {PLAN.accounts['supervisor'].token}"

    @task(2)
    def by_nik(self) -> None:
        self.client.get(
            f"/api/v1/households?nik={random.choice(PLAN.niks)}", name="/api/v1/households?nik="
        )

    @task(1)
    def by_kk(self) -> None:
        self.client.get(
            f"/api/v1/households?kk={random.choice(PLAN.kks)}", name="/api/v1/households?kk="
        )

    @task(1)
    def by_name(self) -> None:
        self.client.get(
            f"/api/v1/households?q={quote(random.choice(PLAN.names))}",
            name="/api/v1/households?q=",
        )

    @task(2)
    def household(self) -> None:
        self.client.get(
            f"/api/v1/households/{random.choice(PLAN.households)}",
            name="/api/v1/households/<id>",
        )

    @task(2)
    def eligibility(self) -> None:
        self.client.get(
            f"/api/v1/households/{random.choice(PLAN.households)}/eligibility",
            name="/api/v1/households/<id>/eligibility",
        )

    @task(1)
    def overview(self) -> None:
        self.client.get("/api/v1/overview", name="/api/v1/overview")

    @task(1)
    def overlaps(self) -> None:
        self.client.get("/api/v1/overlaps", name="/api/v1/overlaps")
