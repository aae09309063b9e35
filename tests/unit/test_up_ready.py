"""`casework up` says "Casework is up" once the web server answers, not when its process has
only been started (a tester's browser met "connection refused" for 25 s after it)."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time

from app.up import answering


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
