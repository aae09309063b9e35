"""Texts outside a request: a bare Flask app with the project's Babel set-up, in one language."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

from flask import Flask

from app.messages import init_babel


@cache
def babel_app() -> Flask:
    app = Flask("casework-i18n-test")
    init_babel(app)
    return app


@contextmanager
def language(code: str) -> Iterator[None]:
    """Run the block as a request asking for `code` (?lang=), as a page would."""
    with babel_app().test_request_context(f"/?lang={code}"):
        yield
