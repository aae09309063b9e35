"""`casework up`: the whole system in one terminal, on the embedded defaults.

It watches what it started: a service (or the embedded broker) that exits unexpectedly is
started again after a back-off (`RESTART_FIRST_SECONDS`, doubling up to
`RESTART_MAX_SECONDS`), with a log line, while the others go on: the web keeps storing
commands while the broker is away, and the relay publishes them when it is back (the embedded
broker comes back empty: the relay notices and republishes everything, the runners join a fresh
group on the recreated topic). Everything stops on Ctrl-C or SIGTERM, or when one of them
keeps failing: more than `RESTARTS_ALLOWED` restarts within `RESTART_WINDOW_SECONDS`, or a
broker that does not start again (exit 1 then).
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from adapters.bootstrap import System, bootstrap
from adapters.broker import EmbeddedBroker
from adapters.credentials import set_password
from adapters.settings import Settings
from app.seed import seed
from domain.application import SYSTEM, make_meta
from domain.errors import Conflict, NotFound
from projections.status import store_counts

log = logging.getLogger("casework.up")
SERVICES = ("relay", "projections", "policies", "agencies", "webhooks", "web")
# One demo account per role: name -> (role, OPD, kelurahan). Made only on a demo store.
DEMO_ACCOUNTS = {
    "demo-admin": ("admin", None, []),
    "demo-supervisor": ("supervisor", None, []),
    "demo-supervisor2": ("supervisor", None, []),  # a second one: the checker of the first
    # the two kelurahan of Paal Merah with the most families in the demo data
    "demo-caseworker": ("caseworker", None, ["Talang Bakung", "Payo Selincah"]),
    "demo-program-manager": ("program_manager", "DINSOS", []),
    "demo-auditor": ("auditor", None, []),
    "demo-agency": ("agency", "BPJSKES", []),  # the agency code of its agreement
}


# The demo agency's agreement (BPJS Kesehatan checks PBI-JK membership): defined with the demo
# data, so its agency topic, feed and webhooks have something to deliver. Personal fields as
# pseudonyms, the whole city.
DEMO_AGREEMENT = {
    "agency": "BPJSKES",
    "purpose": "Verifikasi kepesertaan PBI-JK (demo)",
    "legal_basis": "Contoh PKS Dinas Sosial Kota Jambi - BPJS Kesehatan (data demo)",
    "event_types": [
        "HouseholdRegistered",
        "MemberAdded",
        "MemberRemoved",
        "DeathRecorded",
        "BenefitGranted",
        "BenefitTerminated",
    ],
    "fields": {
        "HouseholdRegistered": ["kecamatan", "kelurahan", "head.nik", "head.sex"],
        "MemberAdded": ["person.nik", "person.sex", "relationship"],
        "MemberRemoved": ["nik", "kind", "effective_date"],
        "DeathRecorded": ["nik"],
        "BenefitGranted": ["nik", "program", "period_start", "period_end"],
        "BenefitTerminated": ["benefit_id", "effective_date", "reason_code"],
    },
    "personal": "pseudonym",
    "kecamatan": [],
    "kelurahan": [],
    "valid_from": "2025-01-01",
    "valid_until": None,
}


def demo_agreement(system: System) -> bool:
    """Define the demo agency's agreement unless it exists; whether it was defined."""
    try:
        system.casework.define_agency_agreement(DEMO_AGREEMENT, make_meta(SYSTEM, "cli"))
    except Conflict:
        return False
    return True


def _store_is_empty(system: System) -> bool:
    return store_counts(system.store)[0] == 0


def demo_accounts(system: System) -> dict[str, str] | None:
    """Make (or, on a later start, find) the demo accounts and give each a fresh random
    password; the logins by name. None when the store holds other accounts' data but not the
    demo accounts: it is not a demo store, and no account is made."""
    casework = system.casework
    meta = make_meta(SYSTEM, "cli")
    logins: dict[str, str] = {}
    for name, (role, opd, kelurahan) in DEMO_ACCOUNTS.items():
        try:
            casework.get_user(name)
        except NotFound:
            casework.add_user(name, role, opd, kelurahan, meta)
        password = secrets.token_urlsafe(12)
        set_password(system.store, name, password)
        casework.record_password_set(name, meta)
        logins[name] = password
    return logins


def print_logins(logins: dict[str, str], url: str) -> None:
    lines = [f"Demo sign-in at {url}/login (passwords are new at every start):"]
    for name, password in logins.items():
        role = DEMO_ACCOUNTS[name][0]
        lines.append(f"  {role:<16} {name:<22} {password}")
    print("\n".join(lines), file=sys.stderr, flush=True)


def _is_demo_store(system: System) -> bool:
    try:
        system.casework.get_user(next(iter(DEMO_ACCOUNTS)))
    except NotFound:
        return False
    return True


READY_SECONDS = 180  # how long the web server may take to answer before `up` says so


def answering(
    host: str,
    port: int,
    stop: threading.Event,
    children: list[subprocess.Popen],
    seconds: float = READY_SECONDS,
) -> bool:
    """Wait until the web server accepts connections, so that "Casework is up" is said when
    it is (gunicorn and its workers take several seconds). False when stopped meanwhile or
    when a service ended before; after `seconds` the wait ends with a warning (True: the
    system runs, only slowly)."""
    deadline = time.monotonic() + seconds
    while not stop.is_set():
        ended = [child for child in children if child.poll() is not None]
        if ended:
            log.error("a service exited with code %s while starting", ended[0].returncode)
            return False
        try:
            with socket.create_connection((host, port), timeout=1):
                return True
        except OSError:
            pass
        if time.monotonic() > deadline:
            log.warning("the web server does not answer on %s:%d yet; still waiting", host, port)
            return True
        stop.wait(0.25)
    return False


RESTART_FIRST_SECONDS = 1.0  # the first restart's wait; doubled for each restart in the window
RESTART_MAX_SECONDS = 30.0
RESTARTS_ALLOWED = 5  # within RESTART_WINDOW_SECONDS: one exit more and `up` stops everything
RESTART_WINDOW_SECONDS = 300.0
BROKER = "broker"


class Restarts:
    """When a child that exited may start again: after a back-off that doubles with each exit
    within the window, or never (None) when it exited more than `allowed` times within it."""

    def __init__(
        self,
        allowed: int = RESTARTS_ALLOWED,
        window: float = RESTART_WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.allowed = allowed
        self.window = window
        self.clock = clock
        self.exits: deque[float] = deque()

    def delay(self) -> float | None:
        """Record an exit now; the seconds to wait before starting again, or None: give up."""
        now = self.clock()
        self.exits.append(now)
        while self.exits and now - self.exits[0] > self.window:
            self.exits.popleft()
        if len(self.exits) > self.allowed:
            return None
        return min(RESTART_FIRST_SECONDS * 2 ** (len(self.exits) - 1), RESTART_MAX_SECONDS)


class Supervisor:
    """The children of `up` (the services and the embedded broker): each is watched and
    started again when it exits, until `stop` is set or one keeps failing (`failed`)."""

    def __init__(
        self,
        starters: dict[str, Callable[[], subprocess.Popen]],
        stop: threading.Event,
        restarts: Callable[[], Restarts] = Restarts,
    ) -> None:
        self.starters = starters
        self.stop = stop
        self.children: dict[str, subprocess.Popen | None] = {}
        self.restarts = {name: restarts() for name in starters}
        self.due: dict[str, float] = {}  # name -> when to start it again (monotonic)
        self.failed: str | None = None

    def start(self, name: str) -> None:
        self.children[name] = self.starters[name]()

    def watch(self) -> None:
        """One look: note what exited, start again what is due; sets `stop` on giving up."""
        for name, child in self.children.items():
            if name in self.due or (child is not None and child.poll() is None):
                continue
            code = child.returncode if child is not None else None
            self._schedule(name, f"{self._what(name)} exited with code {code}")
        now = time.monotonic()
        for name, when in list(self.due.items()):
            if self.stop.is_set() or when > now:
                continue
            del self.due[name]
            try:
                self.start(name)
            except (OSError, TimeoutError) as error:
                self.children[name] = None
                self._schedule(
                    name, f"{self._what(name)} did not start again ({type(error).__name__})"
                )
                continue
            log.warning("%s started again", self._what(name))

    def _schedule(self, name: str, what: str) -> None:
        delay = self.restarts[name].delay()
        if delay is None:
            restarts = self.restarts[name]
            log.error(
                "%s; it ended %d times within %.0f s: stopping everything",
                what,
                len(restarts.exits),
                restarts.window,
            )
            self.failed = name
            self.stop.set()
            return
        log.warning("%s; starting it again in %.0f s", what, delay)
        self.due[name] = time.monotonic() + delay

    @staticmethod
    def _what(name: str) -> str:
        if name == BROKER:
            return "the embedded broker (it comes back empty: the relay republishes)"
        return name

    def services(self) -> list[subprocess.Popen]:
        return [c for n, c in self.children.items() if n != BROKER and c is not None]


def port_taken(host: str, port: int) -> bool:
    """Whether another program listens where the web server would (bound as gunicorn binds,
    with SO_REUSEADDR: a port left in TIME_WAIT by a server just stopped counts as free)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def up(settings: Settings, demo: int = 0) -> int:
    if port_taken(settings.host, settings.port):
        # before anything starts: "Casework is up" would otherwise be said of the other program
        log.error(
            "CASEWORK_PORT: %s:%d is already in use by another program; stop it or choose"
            " another port (CASEWORK_PORT=8001 make run)",
            settings.host,
            settings.port,
        )
        return 2
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    broker = None
    env = dict(os.environ)
    if not settings.kafka:
        Path("var").mkdir(exist_ok=True)
        broker = EmbeddedBroker(log_path=Path("var/broker.log")).start()
        env["CASEWORK_KAFKA"] = broker.bootstrap
        log.info("embedded broker on %s (it keeps nothing across restarts)", broker.bootstrap)
    starters: dict[str, Callable[[], subprocess.Popen]] = {
        service: (
            lambda service=service: subprocess.Popen(
                [sys.executable, "-m", "app.cli", service], env=env
            )
        )
        for service in SERVICES
    }
    supervisor = Supervisor(starters, stop)
    if broker is not None:
        supervisor.starters[BROKER] = lambda: _started(broker)
        supervisor.restarts[BROKER] = Restarts()
        supervisor.children[BROKER] = broker.process
    try:
        system = bootstrap(settings)
        logins = None
        if demo and _store_is_empty(system):
            log.info("loading %d demo households", demo)
            logins = demo_accounts(system)
            demo_agreement(system)  # before the families: their events are delivered
            seed(system, households=demo, progress=sys.stderr.isatty())
        elif demo and _is_demo_store(system):
            logins = demo_accounts(system)
        elif demo:
            log.warning("the store is not a demo store: no demo accounts are made")
        system.close()  # the services below open their own
        for service in SERVICES:
            supervisor.start(service)
        if not answering(settings.host, settings.port, stop, supervisor.services()):
            return 0 if stop.is_set() else 1  # stopped, or a service ended before (logged)
        log.info("Casework is up: http://%s:%d (Ctrl-C stops it)", settings.host, settings.port)
        if logins:
            print_logins(logins, f"http://{settings.host}:{settings.port}")
        while not stop.wait(0.5):
            supervisor.watch()
        return 1 if supervisor.failed else 0
    finally:
        children = supervisor.services()
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(15)
            except subprocess.TimeoutExpired:
                child.kill()
        if broker:
            broker.stop()


def _started(broker: EmbeddedBroker) -> subprocess.Popen:
    """Start the embedded broker again on its port (empty); its process."""
    broker.stop()  # forget the process that exited
    broker.start()
    if broker.process is None:  # never: start() raises when it does not answer
        raise OSError("the embedded broker did not start")
    return broker.process
