"""What a worker process spawned by a CLI command (`casework rebuild`, `casework seed`,
`casework agencies`) does first: log as its parent does, and end when its parent is gone."""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import os
import threading

from adapters.logs import configure_logging


def spawned_worker(level: str, what: str) -> None:
    """In a spawned worker: log as the parent does (at `level`), and exit at once when the
    parent process is gone (stopped by a signal to it alone): the worker would otherwise go
    on using a core, and write what nobody waits for. `what`: the worker's kind, for the log."""
    if not logging.getLogger().handlers:  # a spawned process has no handler yet
        configure_logging(level)
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        logging.getLogger(__name__).warning("%s: stopped, its parent process is gone", what)
        logging.shutdown()
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
