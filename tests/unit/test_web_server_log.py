"""What the web server (gunicorn, app/server.py) writes to its log about a request it could
not parse: never the request's text, which carries NIKs and names in a search's query (a
client that did not encode the space of a name sends `?q=Siti Aminah`)."""

from __future__ import annotations

import logging

import pytest
from gunicorn.config import Config

from app.server import RouteLogger

NIK = "1571019999990007"


class Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def kept():
    handler = Kept()
    logger = logging.getLogger("gunicorn.error")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


# what gunicorn's worker logs (gunicorn.workers.base.handle_error) for malformed requests
MALFORMED = [
    (
        "Invalid request from ip=127.0.0.1: Invalid HTTP Version: 'Aminah HTTP/1.1'",
        "Invalid request from ip=127.0.0.1: Invalid HTTP Version",
    ),
    (
        f"Invalid request from ip=127.0.0.1: Invalid HTTP request line: "
        f"'GET /api/v1/households?nik={NIK}'",
        "Invalid request from ip=127.0.0.1: Invalid HTTP request line",
    ),
    (
        f"Invalid request from ip=10.1.2.3: Invalid HTTP Header: 'X-Nik {NIK}'",
        "Invalid request from ip=10.1.2.3: Invalid HTTP Header",
    ),
    (
        "Invalid request from ip=127.0.0.1: Request Line is too large (5050 > 4094)",
        "Invalid request from ip=127.0.0.1: Request Line is too large (5050 > 4094)",
    ),
]


@pytest.mark.parametrize(("said", "logged"), MALFORMED)
def test_a_malformed_request_is_logged_by_what_was_wrong_never_its_text(kept, said, logged):
    RouteLogger(Config()).warning(said)
    assert kept.lines == [logged]


def test_a_request_that_failed_outside_the_app_is_logged_without_its_path(kept):
    try:
        raise OSError("gone")
    except OSError:
        RouteLogger(Config()).exception(
            "Error handling request %s %s", "GET", f"/api/v1/households?q=Siti+Aminah&nik={NIK}"
        )
        RouteLogger(Config()).exception("Error handling request %s", f"/x?nik={NIK}")
    first, second = kept.lines
    assert first == "Error handling request GET"
    assert second == "Error handling request"


def test_other_warnings_are_left_as_they_are(kept):
    RouteLogger(Config()).warning("Worker with pid %s was terminated due to signal %s", 12, 9)
    assert kept.lines == ["Worker with pid 12 was terminated due to signal 9"]
