"""`casework audit verify` and `casework audit anchor`: the event chain and the read log's
chain checked, and the chain's head printed (signed), from the shell.

`casework audit anchor` prints the signed anchor document (`adapters.chain.signed_anchor`),
the same JSON as a message of casework.audit-anchors.v1; kept as a file, `casework audit
verify --anchor-file FILE` checks its signature with the system's keys first and refuses it
(exit 2, the problem named) unless it verifies."""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from adapters import chain
from adapters.bootstrap import System
from adapters.signing import Signer
from app.audit_log import report

ANCHOR = re.compile(r"^([0-9]{1,18}):([0-9a-f]{64})$")


def parse_anchor(raw: str) -> chain.Anchor:
    """An anchor as `POSITION:LINK` (the `position` and `link` that `casework audit anchor`
    printed, or a message of casework.audit-anchors.v1 held)."""
    match = ANCHOR.match(raw.strip().lower())
    if match is None:
        raise argparse.ArgumentTypeError(
            "an anchor is POSITION:LINK, the position and the 64 hex digits of the link"
            " printed by `casework audit anchor`"
        )
    return chain.Anchor(position=int(match[1]), link=match[2], events=0, at="")


def read_anchor_file(name: str) -> tuple[str, Any]:
    """(name, the JSON document) of an anchor file (`-`: standard input); the signature is
    checked later, with the system's keys (`verify`)."""
    try:
        text = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise argparse.ArgumentTypeError(f"{name}: cannot be read ({reason})") from None
    try:
        return name, json.loads(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{name}: not JSON; an anchor file holds what `casework audit anchor` printed"
            " or a message of casework.audit-anchors.v1"
        ) from None


def verify(system: System, args: argparse.Namespace) -> int:
    """`casework audit verify [--anchor POSITION:LINK ...] [--anchor-file FILE ...]`: 0 when
    both chains hold, 1 when not (the first broken link named on stdout, as JSON, and on
    stderr), 2 when an anchor file is refused (its signature does not verify)."""
    anchors = list(args.anchor or [])
    verifier = Signer(system.settings.signing_key).verifier()
    for name, document in args.anchor_file or []:
        try:
            anchors.append(chain.held_anchor(document, verifier, system.settings.tenant))
        except chain.BadAnchor as error:
            print(f"casework: the anchor in {name} is refused: {error}", file=sys.stderr)
            return 2
    answer = report(system.store, anchors)
    print(json.dumps(answer, indent=2), flush=True)
    broken = answer["events"]["broken"]
    if broken is not None:
        print(
            f"casework: the event chain is broken at position {broken['position']}"
            f" ({broken['reason']})",
            file=sys.stderr,
        )
    read_broken = answer["read_log"]["broken"]
    if read_broken is not None and read_broken["reason"] == "anchor":
        print(
            f"casework: the read log no longer holds row {read_broken['id']} as an anchor held it"
            " (rows removed from its end, or changed)",
            file=sys.stderr,
        )
    elif read_broken is not None:
        print(
            f"casework: the read log's chain is broken at row {read_broken['id']}", file=sys.stderr
        )
    return 0 if answer["ok"] else 1


def anchor(system: System, args: argparse.Namespace) -> int:
    """`casework audit anchor`: the chain's head now, as a signed JSON document; keep it
    somewhere the store's administrators cannot write, and give it to `casework audit verify
    --anchor-file` later (or its `anchor`, POSITION:LINK, to `--anchor`)."""
    head = chain.anchor(system.store)
    if head is None:
        print("casework: the store holds no event yet: nothing to anchor", file=sys.stderr)
        return 1
    signer = Signer(system.settings.signing_key)
    print(json.dumps(chain.signed_anchor(head, system.settings.tenant, signer)), flush=True)
    return 0
