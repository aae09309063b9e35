"""A program's yearly target above the bound the schema holds it to is refused with a message
that names the bound: it said '1 or more', which 12,000,000 is."""

from __future__ import annotations

from flask import Flask

from app.messages import init_babel, message
from app.schemas import COMMANDS


def test_a_target_too_large_is_refused_naming_the_bound():
    schema = COMMANDS["ChangeProgramRules"].schema()
    problems = schema.validate({"code": "PKH", "rules": {}, "yearly_target": 12_000_000})
    assert problems["yearly_target"] == ["program.yearly_target_invalid"]
    assert "yearly_target" not in schema.validate(
        {"code": "PKH", "rules": {}, "yearly_target": 10_000_000}
    )
    web = Flask(__name__)
    init_babel(web)
    for lang, bound in (("id", "10.000.000"), ("en", "10,000,000")):
        with web.test_request_context(f"/?lang={lang}"):
            assert bound in message("program.yearly_target_invalid")
