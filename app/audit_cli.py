"""`casework audit verify` and `casework audit anchor`: the event chain and the read log's
chain checked, and the chain's head printed, from the shell."""

from __future__ import annotations

import argparse
import json
import re
import sys

from adapters import chain
from adapters.bootstrap import System
from app.audit_log import report

ANCHOR = re.compile(r"^(\d{1,18}):([0-9a-f]{64})$")


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


def verify(system: System, args: argparse.Namespace) -> int:
    """`casework audit verify [--anchor POSITION:LINK ...]`: 0 when both chains hold, 1 when
    not (the first broken link named on stdout, as JSON, and on stderr)."""
    answer = report(system.store, args.anchor or [])
    print(json.dumps(answer, indent=2), flush=True)
    broken = answer["events"]["broken"]
    if broken is not None:
        print(
            f"casework: the event chain is broken at position {broken['position']}"
            f" ({broken['reason']})",
            file=sys.stderr,
        )
    if answer["read_log"]["broken"] is not None:
        print(
            f"casework: the read log's chain is broken at row {answer['read_log']['broken']['id']}",
            file=sys.stderr,
        )
    return 0 if answer["ok"] else 1


def anchor(system: System, args: argparse.Namespace) -> int:
    """`casework audit anchor`: the chain's head now, as JSON; keep it somewhere the store's
    administrators cannot write, and give it to `casework audit verify --anchor` later."""
    head = chain.anchor(system.store)
    if head is None:
        print("casework: the store holds no event yet: nothing to anchor", file=sys.stderr)
        return 1
    print(json.dumps({**head.as_dict(), "anchor": f"{head.position}:{head.link}"}), flush=True)
    return 0
