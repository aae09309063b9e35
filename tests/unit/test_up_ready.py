"""`casework up` says "Casework is up" once the web server answers, not when its process has
only been started (a tester's browser met "connection refused" for 25 s after it)."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time

from adapters.settings import Settings
from app.up import answering, up


def test_up_waits_until_the_port_answers():
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    opened = threading.Event()

    def listen_later() -> None:
        time.sleep(0.8)
        server = socket.create_server(("127.0.0.1", port))
        opened.set()
        time.sleep(2)
        server.close()

    threading.Thread(target=listen_later, daemon=True).start()
    started = time.monotonic()
    assert answering("127.0.0.1", port, threading.Event(), [], seconds=10)
    assert opened.is_set() and time.monotonic() - started >= 0.8


def test_a_service_that_ends_while_starting_is_not_called_up():
    ended = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    ended.wait()
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nobody listens
    assert not answering("127.0.0.1", port, threading.Event(), [ended], seconds=10)


def test_a_port_another_program_holds_is_named_before_anything_starts(caplog, tmp_path):
    # a second `make run` beside a first one said "Casework is up" of the first one's server
    taken = socket.create_server(("127.0.0.1", 0))
    port = taken.getsockname()[1]
    settings = Settings.from_env(
        {
            "CASEWORK_STORE": f"sqlite:///{tmp_path}/casework.db",
            "CASEWORK_VIEWS": f"sqlite:///{tmp_path}/views.db",
            "CASEWORK_KAFKA": "127.0.0.1:1",  # never reached: nothing starts
            "CASEWORK_PORT": str(port),
        }
    )
    try:
        assert up(settings) == 2
    finally:
        taken.close()
    assert f"CASEWORK_PORT: 127.0.0.1:{port} is already in use" in caplog.text
    assert "Casework is up" not in caplog.text
    assert not (tmp_path / "casework.db").exists()  # no store opened, no service started
