"""`casework seed`: synthetic Kota Jambi households through the ordinary command path."""

from __future__ import annotations

import logging
import sys
import time

from app.seed_data import generate_households
from domain.application import Actor, make_meta
from domain.errors import DomainError
from domain.settings import Settings
from projections.db import open_casework

log = logging.getLogger("casework.seed")
SEEDER = Actor(id="seed", role="admin", opd="DINSOS")


class Progress:
    """A progress bar on a terminal; a log line every tenth otherwise."""

    def __init__(self, total: int, label: str, interactive: bool) -> None:
        self.total, self.label, self.interactive = max(total, 1), label, interactive
        self.started = time.monotonic()
        self.last_tenth = -1

    def update(self, done: int) -> None:
        if self.interactive:
            width = 30
            filled = width * done // self.total
            rate = done / max(time.monotonic() - self.started, 1e-6)
            sys.stderr.write(
                f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {done}/{self.total}"
                f" ({rate:.0f}/s)"
            )
            sys.stderr.flush()
            if done == self.total:
                sys.stderr.write("\n")
        elif (tenth := 10 * done // self.total) != self.last_tenth:
            self.last_tenth = tenth
            log.info("%s: %d/%d", self.label, done, self.total)


def seed(settings: Settings, households: int, seed_value: int = 0, progress: bool = False) -> int:
    """Register `households` synthetic families with their members; returns how many were stored."""
    app = open_casework(settings.store)
    bar = Progress(households, "seeding households", progress)
    stored = skipped = 0
    try:
        for done, family in enumerate(generate_households(households, seed_value), start=1):
            meta = make_meta(SEEDER, "seed")
            try:
                result = app.register_household(family["register"], meta)
                for member in family["members"]:
                    app.add_member(
                        {"household_id": result.stream_id, **member}, make_meta(SEEDER, "seed")
                    )
                stored += 1
            except DomainError as error:
                # The same seed run twice meets its own NIKs: skip, never overwrite.
                skipped += 1
                log.debug("skipped a synthetic household: %s", error.code)
            bar.update(done)
    finally:
        app.close()
    log.info("seeded %d households (%d skipped as already present)", stored, skipped)
    return stored
