"""How every Casework process logs: to standard error, one line per record with the process
id (the CLI's commands and the worker processes they spawn log alike)."""

from __future__ import annotations

import logging
import sys


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level, logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("kafka", "eventsourcing"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
