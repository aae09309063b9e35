"""Every input of every command form, and every group of inputs, has a label of its own in
the catalogs: never the field's code turned into English words ("Desil source", "Yearly
target") on a page in Bahasa Indonesia."""

from __future__ import annotations

from app.messages import TEXT
from app.schemas import COMMANDS, walk


def _labelled(command: str, path: str) -> bool:
    leaf = path.rsplit(".", 1)[-1]
    return any(k in TEXT for k in (f"field.{command}.{path}", f"field.{path}", f"field.{leaf}"))


def test_every_command_input_and_group_has_a_label():
    unlabelled = set()
    for name, command in COMMANDS.items():
        for path, field in walk(command.schema()):
            if not field.metadata.get("title") and not _labelled(name, path):
                unlabelled.add(f"{name}: {path}")
            parts = path.split(".")
            for end in range(1, len(parts)):  # the fieldsets the input sits in
                if not _labelled(name, ".".join(parts[:end])):
                    unlabelled.add(f"{name}: {'.'.join(parts[:end])}")
    assert sorted(unlabelled) == []


def test_the_decile_sources_input_says_which_codes_it_takes():
    assert "DTSEN" in str(TEXT["hint.order"])
