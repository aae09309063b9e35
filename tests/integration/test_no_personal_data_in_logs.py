"""UU PDP (issue 4): no NIK, KK number or person's name in any log, error page or metric.

The whole system runs as processes at DEBUG level (relay, projections, policies, web, then
`casework seed` and `casework rebuild`) on a realistic workload over HTTP, including every kind
of refused request. Afterwards every log file (the processes' and the embedded broker's) is
read as bytes and searched for every NIK, KK number and name the workload and the seed
generator used; so are the /metrics body and every error answer (4xx API bodies, UI error
pages).

Names: each person's full name is searched, case-insensitively. Names shorter than 6
characters (one-word names such as "Sri", "Eka", "Murni") are skipped: they also occur as
common words, kelurahan names or parts of ordinary log text, and would give false matches.
NIKs and KK numbers (16 digits) are searched exactly.

A UI form answered 422 re-displays what the caller just typed into it (by design, to their own
browser); such a page is checked only for personal data the caller did not send.
"""

from __future__ import annotations

import datetime as dt
import http.cookiejar
import json
import re
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field

import pytest

from adapters.broker import free_port
from adapters.credentials import set_password
from app.seed_data import HistoryGenerator, generate_households, kk_for, nik_for
from domain.application import SYSTEM, make_meta
from domain.catalog import seed_catalog
from domain.regions import district_code_digits
from tests.conftest import wait_until
from tests.integration.test_erasure import database_bytes, topic_bytes
from tests.support.signin import PASSWORD, sign_in_over_http

pytestmark = pytest.mark.integration

MIN_NAME_LENGTH = 6  # see the module docstring
SEED_HOUSEHOLDS = 20
TODAY = dt.date.today()
TELANAIPURA = district_code_digits("Telanaipura")
KELURAHAN = "Simpang IV Sipin"


def person(name: str, born: str, sex: str, serial: int, region: str = TELANAIPURA) -> dict:
    birth_date = dt.date.fromisoformat(born)
    return {
        "nik": nik_for(region, birth_date, sex, serial),
        "name": name,
        "birth_date": born,
        "sex": sex,
    }


def household(kk_serial: int, head: dict, address: str) -> dict:
    return {
        "kk_number": kk_for(TELANAIPURA, dt.date(2019, 4, 2), kk_serial),
        "kecamatan": "Telanaipura",
        "kelurahan": KELURAHAN,
        "address": address,
        "rt": "004",
        "rw": "001",
        "head": head,
    }


# The hand-made families of the workload (serials high enough not to meet the seed's).
WIFE_HEAD = person("Rahmawati Kusumaningrum", "1984-08-15", "F", 8101)
HUSBAND = person("Bambang Sutrisno Wibowo", "1980-02-03", "M", 8102)
CHILD = person("Aulia Rahmadani Putri", "2012-06-21", "F", 8103)
NEIGHBOUR = person("Syahrul Gunawan Lubis", "1975-11-09", "M", 8104, region="150501")
NEIGHBOUR_WIFE = person("Nurhasanah Sembiring", "1952-01-30", "F", 8105)
NEWCOMER = person("Kartika Sulistyawati", "1990-09-17", "F", 8106)  # only in refused requests
STRANGER = person("Mohammad Iqbal Harahap", "1988-12-01", "M", 8107)  # only in refused requests
FAMILY_A = household(8201, WIFE_HEAD, "Jl. Kapten Pattimura No. 12")
FAMILY_B = household(8202, NEIGHBOUR, "Lr. Mawar No. 3")
REFUSED_KK = kk_for(TELANAIPURA, dt.date(2020, 1, 6), 8203)
WORKLOAD_PEOPLE = [WIFE_HEAD, HUSBAND, CHILD, NEIGHBOUR, NEIGHBOUR_WIFE, NEWCOMER, STRANGER]


@dataclass
class Answer:
    status: int
    body: bytes
    content_type: str

    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class Client:
    base: str
    tokens: dict[str, str]
    errors: list[tuple[str, bytes]] = field(default_factory=list)
    opener: urllib.request.OpenerDirector = field(
        default_factory=lambda: urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
    )

    def call(
        self,
        method: str,
        path: str,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        keep_error: bool = True,
    ) -> Answer:
        request = urllib.request.Request(
            f"{self.base}{path}", data=data, headers=headers or {}, method=method
        )
        try:
            with self.opener.open(request, timeout=15) as answer:
                found = Answer(answer.status, answer.read(), answer.headers["Content-Type"] or "")
        except urllib.error.HTTPError as error:
            found = Answer(error.code, error.read(), error.headers["Content-Type"] or "")
        if found.status >= 400 and keep_error:
            self.errors.append((f"{method} {path} -> {found.status}", found.body))
        return found

    def command(self, name: str, body: dict, user: str = "admin") -> Answer:
        return self.call(
            "POST",
            f"/api/v1/commands/{name}",
            json.dumps(body).encode(),
            {"Content-Type": "application/json", "Authorization": f"Bearer {self.tokens[user]}"},
        )

    def ok(self, name: str, body: dict, user: str = "admin", status: int = 201) -> dict:
        answer = self.command(name, body, user)
        assert answer.status == status, (name, answer.status, answer.body[:500])
        return answer.json()

    def get(self, path: str, user: str | None = None) -> Answer:
        headers = {"Authorization": f"Bearer {self.tokens[user]}"} if user else {}
        return self.call("GET", path, headers=headers)


def healthz(client: Client) -> dict:
    try:
        answer = client.call("GET", "/healthz", keep_error=False)
    except OSError:  # not listening yet
        return {}
    return answer.json() if answer.status == 200 else {}


def caught_up(client: Client, households: int) -> bool:
    found = healthz(client).get("components", {})
    if not found or found["relay"].get("lag") != 0 or found["dlq"].get("count"):
        return False
    if any(v.get("lag") != 0 for k, v in found.items() if k.startswith("projection:")):
        return False
    metrics = client.get("/metrics").body.decode()
    return f"casework_households_total {households}\n" in metrics


@pytest.fixture
def system(processes, env, casework, store_db):
    """Relay, projections, policies and web at DEBUG; an admin and two supervisors' tokens;
    the program catalog defined."""
    meta = make_meta(SYSTEM, "cli")
    tokens = {}
    for name, role in (("admin", "admin"), ("sup1", "supervisor"), ("sup2", "supervisor")):
        casework.add_user(name, role, None, [], meta)
        tokens[name] = casework.issue_token(name, meta)
    set_password(store_db, "admin", PASSWORD)
    seed_catalog(casework, meta)
    port = free_port()
    processes.env = {
        **env,
        "CASEWORK_LOG_LEVEL": "DEBUG",
        "CASEWORK_PORT": str(port),
        "CASEWORK_WEB_WORKERS": "1",
    }
    for service in ("relay", "projections", "policies", "web"):
        processes.start(service)
    client = Client(f"http://127.0.0.1:{port}", tokens)
    wait_until(lambda: healthz(client), 30, "the web to answer")
    sign_in_over_http(client.opener, client.base, "admin")  # the pages are the admin's
    return client


def run_workload(client: Client) -> list[dict]:
    """Commands, refusals and page loads over HTTP; answers the families registered."""
    a = client.ok("RegisterHousehold", FAMILY_A)["stream_id"]
    client.ok("AddMember", {"household_id": a, "person": HUSBAND, "relationship": "suami"})
    client.ok("AddMember", {"household_id": a, "person": CHILD, "relationship": "anak"})
    b = client.ok("RegisterHousehold", FAMILY_B)["stream_id"]
    client.ok("AddMember", {"household_id": b, "person": NEIGHBOUR_WIFE, "relationship": "istri"})
    generated = list(generate_households(4, seed=4242))
    for family in generated:
        stream = client.ok("RegisterHousehold", family["register"])["stream_id"]
        for member in family["members"]:
            client.ok("AddMember", {"household_id": stream, **member})

    born_here = {"type": "born_here", "arrived_on": None, "origin_region_code": None}
    client.ok(
        "IssueKtp",
        {
            "household_id": a,
            "nik": WIFE_HEAD["nik"],
            "issued_on": "2012-03-01",
            "arrival": born_here,
        },
    )
    arrived = {"type": "pindah_datang", "arrived_on": "2015-05-04", "origin_region_code": "150501"}
    client.ok(
        "IssueKtp",
        {"household_id": b, "nik": NEIGHBOUR["nik"], "issued_on": "2015-06-10", "arrival": arrived},
    )
    for source, desil, period in (("DTSEN", 2, "2025-Q1"), ("DTKS", 3, "2024-Q2")):
        client.ok(
            "RecordWelfareAssessment",
            {"household_id": a, "source": source, "desil": desil, "period": period},
        )
    client.ok(
        "RegisterNib",
        {
            "household_id": b,
            "nik": NEIGHBOUR["nik"],
            "nib": "9120001234567",
            "business_name": "Warung Sembako Barokah",
            "registered_on": "2026-02-02",
        },
    )

    # maker-checker: one supervisor asks, the other approves
    grant = {
        "household_id": a,
        "nik": WIFE_HEAD["nik"],
        "program": "PKH",
        "period_start": f"{TODAY.year}-01-01",
        "period_end": f"{TODAY.year}-12-31",
        "amount": 3_000_000,
    }
    approval_id = client.ok("GrantBenefit", grant, "sup1", status=202)["approval_id"]
    assert client.get("/api/v1/approvals", "sup2").status == 200
    own = client.command("ApproveChange", {"approval_id": approval_id}, "sup1")
    assert own.status == 403
    client.ok("ApproveChange", {"approval_id": approval_id, "note": "Sesuai SK."}, "sup2")

    # a death (the recipient's: a review by the policies) and an objection past its deadline
    # (lapsed by the policies' sweep)
    client.ok(
        "RecordDeath",
        {"household_id": a, "nik": WIFE_HEAD["nik"], "date_of_death": str(TODAY - dt.timedelta(2))},
    )
    client.ok(
        "FileObjection",
        {
            "household_id": a,
            "objector_nik": NEIGHBOUR["nik"],
            "grounds": "Keluarga tergolong mampu",
            "filed_on": str(TODAY - dt.timedelta(20)),
            "photo_reference": "sanggah/0012.jpg",
            "latitude": -1.6101,
            "longitude": 103.6131,
        },
    )
    client.ok("AddCaseNote", {"household_id": a, "text": "Kunjungan rumah."})

    refuse_requests(client, a)
    registered = [FAMILY_A, FAMILY_B] + [f["register"] for f in generated]
    wait_until(lambda: caught_up(client, len(registered)), 60, "the read models to catch up")
    load_pages(client, a)
    return registered


def refuse_requests(client: Client, a: str) -> None:
    """Invalid requests of each kind, all carrying personal data."""
    bad_nik = {**NEWCOMER, "nik": NEWCOMER["nik"][:-1] + "X"}
    answer = client.command(
        "RegisterHousehold", {**FAMILY_A, "kk_number": REFUSED_KK, "head": bad_nik}
    )
    assert answer.status == 422 and "head.nik" in answer.json()["codes"]
    impossible = {**NEWCOMER, "nik": NEWCOMER["nik"][:6] + "991390" + "0001"}
    assert (
        client.command(
            "AddMember", {"household_id": a, "person": impossible, "relationship": "anak"}
        ).status
        == 422
    )

    taken = client.command(
        "RegisterHousehold",
        {**FAMILY_A, "kk_number": REFUSED_KK, "head": {**HUSBAND, "name": NEWCOMER["name"]}},
    )
    assert taken.status == 409, taken.body
    taken_kk = client.command("RegisterHousehold", {**FAMILY_B, "head": STRANGER})
    assert taken_kk.status == 409, taken_kk.body
    member_twice = client.command(
        "AddMember", {"household_id": a, "person": CHILD, "relationship": "anak"}
    )
    assert member_twice.status == 409, member_twice.body

    malformed = client.call(
        "POST",
        "/api/v1/commands/RegisterHousehold",
        json.dumps({"kk_number": REFUSED_KK, "head": STRANGER}).encode()[:-2],  # cut short
        {"Content-Type": "application/json", "Authorization": f"Bearer {client.tokens['admin']}"},
    )
    assert malformed.status == 400
    unknown = {"household_id": str(uuid.uuid4()), "person": STRANGER, "relationship": "anak"}
    assert client.command("AddMember", unknown).status == 404
    assert client.command(
        "RecordDeath", {"household_id": a, "nik": STRANGER["nik"], "date_of_death": "2026-01-02"}
    ).status in (404, 422)
    assert client.get(f"/api/v1/households/{uuid.uuid4()}", "admin").status == 404
    assert client.get(f"/api/v1/households/{STRANGER['nik']}", "admin").status == 404
    no_token = client.call(
        "POST",
        "/api/v1/commands/RegisterHousehold",
        json.dumps({**FAMILY_A, "head": STRANGER}).encode(),
        {"Content-Type": "application/json", "Authorization": "Bearer not-a-token"},
    )
    assert no_token.status == 401
    assert client.command("NoSuchCommand", {"nik": STRANGER["nik"]}).status == 404


def load_pages(client: Client, a: str) -> None:
    """The UI's search by NIK, KK and name, the household page, its error pages, the API's
    queries, /healthz."""
    quote = urllib.parse.quote
    by_nik = client.get(f"/?q={WIFE_HEAD['nik']}")
    assert by_nik.status == 200 and FAMILY_A["kk_number"].encode() in by_nik.body
    assert client.get(f"/?q={FAMILY_B['kk_number']}").status == 200
    by_name = client.get(f"/?q={quote(NEIGHBOUR['name'])}")
    assert by_name.status == 200 and NEIGHBOUR["name"].encode() in by_name.body
    assert client.get(f"/?q={quote(NEWCOMER['name'])}").status == 200  # no match
    assert client.get(f"/rumah-tangga/{a}").status == 200
    assert client.get(f"/api/v1/households?nik={WIFE_HEAD['nik']}", "admin").status == 200
    assert client.get(f"/api/v1/households?q={quote(HUSBAND['name'])}", "admin").status == 200
    assert client.get(f"/api/v1/households/{a}/history", "admin").status == 200

    assert client.get(f"/rumah-tangga/{uuid.uuid4()}").status == 404
    assert client.get(f"/rumah-tangga/{STRANGER['nik']}").status == 404
    assert client.get(f"/orang/{STRANGER['nik']}/{quote(STRANGER['name'])}").status == 404
    assert client.get(f"/perintah/{quote(STRANGER['name'])}").status == 404
    form = {
        "kk_number": REFUSED_KK,
        "kecamatan": "Telanaipura",
        "kelurahan": KELURAHAN,
        "address": "Jl. Sultan Agung No. 1",
        "rt": "001",
        "rw": "001",
        "head.nik": HUSBAND["nik"],  # taken
        "head.name": STRANGER["name"],
        "head.birth_date": HUSBAND["birth_date"],
        "head.sex": "M",
    }
    no_csrf = client.call("POST", "/daftar", urllib.parse.urlencode(form).encode())
    assert no_csrf.status == 400

    # The register form, refused (422): it shows the caller's own input again.
    page = client.get("/daftar").body.decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    refused = client.call(
        "POST",
        "/daftar",
        urllib.parse.urlencode({**form, "csrf_token": token}).encode(),
        keep_error=False,
    )
    assert refused.status == 422, refused.status
    client.errors.append(("POST /daftar (422 form)", refused.body))
    assert healthz(client)["status"] in ("ok", "degraded")


def seed_personal_data() -> tuple[list[dict], list[dict]]:
    """(RegisterHousehold payloads, people) of `casework seed --households 20` (seed 0)."""
    families = list(generate_households(SEED_HOUSEHOLDS, 0))
    histories = HistoryGenerator(0)
    for family in families:
        histories.history(family)  # objectors are the families' own adults
    registers = [f["register"] for f in families]
    people = [f["register"]["head"] for f in families] + [
        m["person"] for f in families for m in f["members"]
    ]
    return registers, people


def spellings(name: str) -> set[bytes]:
    """A name as typed, and as it appears in a URL (%20 or +), lowercased."""
    lowered = name.lower()
    return {
        spelled.encode()
        for spelled in (lowered, urllib.parse.quote(lowered), urllib.parse.quote_plus(lowered))
    }


def find_personal_data(text: bytes, numbers: set[str], names: set[str]) -> list[str]:
    lowered = text.lower()
    found = sorted(n for n in numbers if n.encode() in text)
    found += sorted(n for n in names if any(s in lowered for s in spellings(n)))
    return found


def test_no_nik_kk_or_name_in_any_log_error_page_or_metric(
    system, processes, tmp_path, settings, broker
):
    client = system
    workload = run_workload(client)
    expected = len(workload)

    seed = processes.start("seed", "--households", str(SEED_HOUSEHOLDS))
    assert seed.wait(60) == 0, seed.log_file.read_text()
    seed_registers, seed_people = seed_personal_data()
    expected += len(seed_registers)
    wait_until(lambda: caught_up(client, expected), 60, "the projections to catch up on the seed")
    rebuild = processes.start("rebuild", "register")
    assert rebuild.wait(60) == 0, rebuild.log_file.read_text()
    wait_until(lambda: caught_up(client, expected), 60, "the projections to catch up")
    metrics = client.get("/metrics")
    assert metrics.status == 200
    processes.stop_all()

    registers = workload + seed_registers
    people = (
        WORKLOAD_PEOPLE
        + [r["head"] for r in registers]
        + [m["person"] for f in generate_households(4, seed=4242) for m in f["members"]]
        + seed_people
    )
    numbers = {p["nik"] for p in people} | {r["kk_number"] for r in registers} | {REFUSED_KK}
    names = {p["name"] for p in people if len(p["name"]) >= MIN_NAME_LENGTH}
    assert len(numbers) > 100 and len(names) > 50

    logs = sorted(tmp_path.glob("*.log"))
    assert {p.name.split("-")[0] for p in logs} >= {
        "broker.log",
        "relay",
        "projections",
        "policies",
        "web",
        "seed",
        "rebuild",
    }
    leaks = {}
    for log in logs:
        content = log.read_bytes()
        assert content or log.name == "broker.log", f"{log.name} is empty"
        found = find_personal_data(content, numbers, names)
        if found:
            lines = [
                line.decode(errors="replace")[:300]
                for line in content.splitlines()
                if find_personal_data(line, numbers, names)
            ]
            leaks[log.name] = (found[:10], lines[:10])
    assert not leaks, json.dumps(leaks, indent=1, ensure_ascii=False)

    assert not find_personal_data(metrics.body, numbers, names)
    assert b"casework_households_total" in metrics.body

    assert len(client.errors) >= 15
    for what, body in client.errors:
        if what == "POST /daftar (422 form)":
            # Its own input shown again; nothing about the person holding that NIK.
            shown = numbers - {REFUSED_KK, HUSBAND["nik"]}
            others = names - {STRANGER["name"]}
            assert not find_personal_data(body, shown, others), what
        else:
            assert not find_personal_data(body, numbers, names), (what, body[:300])
    # UU PDP: no table holds a NIK, a KK number or a name in clear: the store and the topics
    # hold ciphertext, the read models tokens and keyed hashes (names are searched by those).
    everything_stored = {
        **{f"store {k}": v for k, v in database_bytes(settings.store).items()},
        **{f"kafka {k}": v for k, v in topic_bytes(broker.bootstrap).items()},
        **{f"views {k}": v for k, v in database_bytes(settings.views).items()},
    }
    for where, data in everything_stored.items():
        assert not find_personal_data(data, numbers, names), where
