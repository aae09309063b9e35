"""A subscriber's callback endpoint for the DCI tests: an HTTP server on 127.0.0.1 (a free
port) in a thread, keeping every JSON body POSTed to it by path."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Receiver:
    def __init__(self) -> None:
        self.received: list[tuple[str, Any]] = []
        self._changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the library's name
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = {"unparsable": raw.decode("utf-8", "replace")}
                with receiver._changed:
                    receiver.received.append((self.path, body))
                    receiver._changed.notify_all()
                answer = json.dumps({"message": {"ack_status": "ACK"}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/spmis"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()

    def bodies(self, path: str) -> list[Any]:
        with self._changed:
            return [body for got, body in self.received if got == f"/spmis{path}"]

    def wait_for(self, path: str, count: int = 1, timeout: float = 10.0) -> list[Any]:
        """The bodies POSTed to `path` once there are `count` of them (or what came by the
        timeout)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [body for got, body in self.received if got == f"/spmis{path}"]
                left = deadline - time.monotonic()
                if len(found) >= count or left <= 0:
                    return found
                self._changed.wait(left)
