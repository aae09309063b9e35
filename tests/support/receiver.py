"""A webhook receiver on 127.0.0.1 for tests and the bench: it checks each request with
consumers/webhook_signature.py and keeps what it accepted, in arrival order."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from consumers.webhook_signature import BadWebhook, ReplayCache, verify


class Receiver:
    """`answer(count, envelope)` decides each verified request's status (default 200);
    `count` is the number of requests so far (1 for the first)."""

    def __init__(self, secret: str = "", answer: Callable[[int, dict], int] | None = None):
        self.secret = secret
        self.answer = answer or (lambda _count, _envelope: 200)
        self.accepted: list[dict[str, Any]] = []  # envelopes answered 2xx, in order
        self.requests = 0
        self.refused: list[str] = []  # why requests were refused (BadWebhook names)
        self.seen = ReplayCache()
        self.delivery_ids: set[str] = set()
        self.duplicates = 0
        self.raw: list[tuple[dict[str, str], bytes]] = []  # every accepted request as it came
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - the http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status = receiver.handle(dict(self.headers.items()), body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def handle(self, headers: dict[str, str], body: bytes) -> int:
        with self._lock:
            self.requests += 1
            count = self.requests
            envelope = json.loads(body)
            status = self.answer(count, envelope)
            if status >= 300:
                return status  # failing before it looks at the request
            try:
                delivery = verify(self.secret, headers, body, seen=self.seen)
            except BadWebhook as error:
                self.refused.append(type(error).__name__)
                return 401
            if delivery in self.delivery_ids:
                self.duplicates += 1
                return 200
            self.delivery_ids.add(delivery)
            self.accepted.append(envelope)
            self.raw.append((headers, body))
            return status

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
