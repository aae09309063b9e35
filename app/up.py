"""`casework up`: the whole system in one terminal, on the embedded defaults."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from adapters.bootstrap import System, bootstrap
from adapters.broker import EmbeddedBroker
from adapters.settings import Settings
from app.seed import seed
from projections.status import store_counts

log = logging.getLogger("casework.up")
SERVICES = ("relay", "projections", "policies", "web")


def _store_is_empty(system: System) -> bool:
    return store_counts(system.store)[0] == 0


def up(settings: Settings, demo: int = 0) -> int:
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
    children: list[subprocess.Popen] = []
    try:
        system = bootstrap(settings)
        if demo and _store_is_empty(system):
            log.info("loading %d demo households", demo)
            seed(system, households=demo, progress=sys.stderr.isatty())
        system.close()  # the services below open their own
        for service in SERVICES:
            children.append(subprocess.Popen([sys.executable, "-m", "app.cli", service], env=env))
        log.info("Casework is up: http://%s:%d (Ctrl-C stops it)", settings.host, settings.port)
        while not stop.wait(0.5):
            for service, child in zip(SERVICES, children, strict=True):
                if child.poll() is not None:
                    log.error(
                        "%s exited with code %s; stopping everything", service, child.returncode
                    )
                    stop.set()
            if broker and broker.process and broker.process.poll() is not None:
                log.error("the embedded broker exited; stopping everything")
                stop.set()
        return 0 if all(c.poll() in (None, 0, -signal.SIGTERM) for c in children) else 1
    finally:
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
