"""The `casework` command: each subcommand asks the composition root (`adapters.bootstrap`)
for its parts."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace

from adapters.bootstrap import bootstrap
from adapters.broker import EmbeddedBroker
from adapters.codec import WrongMasterKey, new_master_key
from adapters.logs import configure_logging
from adapters.settings import Settings, SettingsError
from app import accounts_cli, audit_cli, import_cli, server
from app import seed as seeding
from app import up as everything
from consumers import agency_producer, policies, relay, runner, webhooks
from domain.accounts import TOKEN_DAYS
from projections.catalog import PROJECTIONS

log = logging.getLogger("casework")


def stop_on_signals() -> threading.Event:
    stop = threading.Event()

    def handler(signum: int, _frame: object) -> None:
        log.info("received signal %s, stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return stop


def cmd_broker(settings: Settings, args: argparse.Namespace) -> int:
    stop = stop_on_signals()
    try:
        with EmbeddedBroker(port=args.port) as broker:
            print(f"CASEWORK_KAFKA={broker.bootstrap}", flush=True)
            while not stop.wait(1):
                if broker.process is None or broker.process.poll() is not None:
                    log.error("the embedded broker exited")
                    return 1
    except TimeoutError as error:
        print(f"casework broker: the embedded broker did not start: {error}", file=sys.stderr)
        return 1
    return 0


def cmd_relay(settings: Settings, args: argparse.Namespace) -> int:
    relay.run(bootstrap(settings), stop_on_signals())
    return 0


def worker_count(text: str) -> int:
    """`--workers N`: a whole number of processes, 1 to 64."""
    try:
        count = int(text)
    except ValueError:
        count = 0
    if not 1 <= count <= 64:
        raise argparse.ArgumentTypeError(f"{text!r}: give a number of processes from 1 to 64")
    return count


def whole_number(low: int, high: int | None, what: str) -> Callable[[str], int]:
    """An argparse type: a whole number from `low` (to `high`), or an error naming `what`."""

    def parse(text: str) -> int:
        try:
            number = int(text)
        except ValueError:
            number = None
        if number is None or number < low or (high is not None and number > high):
            bounds = f"from {low} to {high}" if high is not None else f"of at least {low}"
            raise argparse.ArgumentTypeError(f"{text!r}: give a {what} {bounds}")
        return number

    return parse


def cmd_agencies(settings: Settings, args: argparse.Namespace) -> int:
    workers = args.workers or agency_producer.default_workers(settings)
    return agency_producer.run(bootstrap(settings), stop_on_signals(), workers=workers)


def cmd_projections(settings: Settings, args: argparse.Namespace) -> int:
    runner.run(bootstrap(settings), stop_on_signals())
    return 0


def cmd_policies(settings: Settings, args: argparse.Namespace) -> int:
    policies.run(bootstrap(settings), stop_on_signals())
    return 0


def cmd_webhooks(settings: Settings, args: argparse.Namespace) -> int:
    webhooks.run_webhooks(settings, stop_on_signals())
    return 0


def cmd_rebuild(settings: Settings, args: argparse.Namespace) -> int:
    unknown = [name for name in args.projection if name not in PROJECTIONS]
    if unknown:
        print(
            f"unknown projection {', '.join(unknown)}; known: {', '.join(PROJECTIONS)}",
            file=sys.stderr,
        )
        return 2
    runner.rebuild(bootstrap(settings), args.projection or list(PROJECTIONS), workers=args.workers)
    return 0


def cmd_web(settings: Settings, args: argparse.Namespace) -> int:
    server.serve(settings)
    return 0


# The seed writes each family's keys with its events and hardly reads them again after its
# batch: it keeps a few batches' worth, not the city's (1,054,634 keys, about 290 MB, at
# 160,000 families); a key it needs again is read back from the key store.
SEED_KEY_CACHE = 20_000


def cmd_seed(settings: Settings, args: argparse.Namespace) -> int:
    try:
        seeding.seed(
            bootstrap(replace(settings, key_cache=min(settings.key_cache, SEED_KEY_CACHE))),
            households=args.households,
            seed_value=args.seed,
            progress=sys.stderr.isatty(),
            bulk=not args.one_at_a_time,
            workers=args.workers or os.cpu_count() or 1,
        )
    except seeding.SeedFailed as error:
        print(
            f"\ncasework seed: {error}. The batches stored so far stay; the same command again"
            " adds the rest (the families already stored are skipped).",
            file=sys.stderr,
        )
        return 1
    return 0


def cmd_import(settings: Settings, args: argparse.Namespace) -> int:
    return import_cli.run(bootstrap(settings), args)


def cmd_up(settings: Settings, args: argparse.Namespace) -> int:
    return everything.up(settings, demo=args.demo)


KEYS_NEW_HELP = (
    "print a fresh master key for CASEWORK_MASTER_KEY (64 hex digits). Store it offline"
    " before first use (e.g. printed and sealed, with two custodians) and in the secret"
    " manager, apart from database backups: it wraps every person's key, and without it no"
    " personal data in the store, in Kafka or in any backup can ever be read again"
)


def cmd_keys_new(settings: Settings | None, args: argparse.Namespace) -> int:
    """`casework keys new`: a fresh master key alone on stdout (reads no settings)."""
    print(new_master_key(), flush=True)
    print(
        "casework: store this master key offline and in the secret manager before using it"
        " (README, Master key); lost, it makes all personal data unreadable for ever",
        file=sys.stderr,
    )
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="casework", description="Casework: the poverty-alleviation case register of Kota Jambi"
    )
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    up = sub.add_parser(
        "up", help="run everything in one terminal (broker, relay, projections, web)"
    )
    up.add_argument(
        "--demo",
        type=whole_number(0, None, "number of households"),
        default=0,
        metavar="N",
        help="load N synthetic households into an empty store",
    )
    up.set_defaults(func=cmd_up)
    sub.add_parser("web", help="serve the web UI and API with gunicorn").set_defaults(func=cmd_web)
    sub.add_parser("relay", help="publish stored events to Kafka").set_defaults(func=cmd_relay)
    sub.add_parser("projections", help="apply events from Kafka to the read models").set_defaults(
        func=cmd_projections
    )
    sub.add_parser(
        "policies", help="carry out the policies: reviews on NIBs and deaths, lapsed objections"
    ).set_defaults(func=cmd_policies)
    sub.add_parser(
        "webhooks", help="POST each agency's events to its registered webhook"
    ).set_defaults(func=cmd_webhooks)
    agencies_parser = sub.add_parser(
        "agencies",
        help="write each agency's share of the events to its topic casework.agency.CODE.v1",
    )
    agencies_parser.add_argument(
        "--workers",
        type=worker_count,
        metavar="N",
        help="processes sharing the events topic's partitions (default: one per core, at most"
        " one per partition)",
    )
    agencies_parser.set_defaults(func=cmd_agencies)
    broker = sub.add_parser("broker", help="run the embedded Kafka-protocol broker (Tansu)")
    broker.add_argument(
        "--port", type=whole_number(1, 65535, "TCP port"), default=9092, metavar="PORT"
    )
    broker.set_defaults(func=cmd_broker)
    seed = sub.add_parser("seed", help="generate synthetic Kota Jambi households")
    seed.add_argument(
        "--households",
        type=whole_number(1, None, "number of households"),
        required=True,
        metavar="N",
    )
    seed.add_argument("--seed", type=int, default=0, metavar="S")
    seed.add_argument(
        "--one-at-a-time",
        action="store_true",
        help="store each command in its own transaction, as the API does (default: in bulk,"
        " many families per transaction through the same use cases)",
    )
    seed.add_argument(
        "--workers",
        type=worker_count,
        default=None,
        metavar="N",
        help="processes sharing the bulk seed's batches (default: one per core)",
    )
    seed.set_defaults(func=cmd_seed)
    import_cli.arguments(
        sub.add_parser(
            "import",
            help="import DTSEN, DTKS, P3KE or verval files (CSV or XLSX) into the register",
        )
    ).set_defaults(func=cmd_import)
    rebuild = sub.add_parser("rebuild", help="rebuild read models without stopping the web")
    rebuild.add_argument("projection", nargs="*", help="projection names (default: all)")
    rebuild.add_argument(
        "--workers",
        type=worker_count,
        default=None,
        metavar="N",
        help="processes rebuilding in parallel, each reading the events once for its share of"
        " the projections (default: one per core; 1: all in this process)",
    )
    rebuild.set_defaults(func=cmd_rebuild)
    users = sub.add_parser("users", help="accounts").add_subparsers(
        dest="users_command", required=True, metavar="ACTION"
    )
    users_add = users.add_parser("add", help="add a user")
    users_add.add_argument("name", metavar="NAME")
    users_add.add_argument("--role", required=True, metavar="ROLE")
    users_add.add_argument("--opd", default=None, metavar="CODE")
    users_add.add_argument("--kelurahan", nargs="+", default=[], metavar="NAME")
    users_add.add_argument(
        "--agency", default=None, metavar="CODE", help="role agency: its agreement's code"
    )
    accounts_cli.password_arguments(users_add)
    users_add.set_defaults(func=cmd_users_add)
    users_password = users.add_parser("password", help="set a user's web sign-in password")
    users_password.add_argument("name", metavar="NAME")
    accounts_cli.password_arguments(users_password, required=True)
    users_password.set_defaults(func=cmd_users_password)
    users.add_parser(
        "list",
        help="every account: role, OPD, kelurahan, active, web password, API tokens in force",
    ).set_defaults(func=cmd_users_list)
    users_deactivate = users.add_parser(
        "deactivate",
        help="a user no longer signs in and its API tokens stop working (undo: activate)",
    )
    users_deactivate.add_argument("name", metavar="NAME")
    users_deactivate.set_defaults(func=cmd_users_deactivate)
    users_change = users.add_parser(
        "change", help="a user's new role, OPD or kelurahan (what is left out stays)"
    )
    users_change.add_argument("name", metavar="NAME")
    users_change.add_argument("--role", default=None, metavar="ROLE")
    users_change.add_argument("--opd", default=None, metavar="CODE")
    users_change.add_argument("--kelurahan", nargs="+", default=None, metavar="NAME")
    users_change.set_defaults(func=cmd_users_change)
    users_activate = users.add_parser("activate", help="undo a user's deactivation")
    users_activate.add_argument("name", metavar="NAME")
    users_activate.set_defaults(func=cmd_users_activate)
    tokens = sub.add_parser("tokens", help="API tokens").add_subparsers(
        dest="tokens_command", required=True, metavar="ACTION"
    )
    tokens_issue = tokens.add_parser("issue", help="issue an API token (printed on the last line)")
    tokens_issue.add_argument("name", metavar="NAME")
    tokens_issue.add_argument(
        "--days", type=int, default=TOKEN_DAYS, metavar="N", help="valid N days (default 90)"
    )
    tokens_issue.set_defaults(func=cmd_tokens_issue)
    audit = sub.add_parser(
        "audit", help="the stored history's hash chains and their anchors"
    ).add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    audit_verify = audit.add_parser(
        "verify",
        help="check the event chain and the read log's chain; name the first broken link",
    )
    audit_verify.add_argument(
        "--anchor",
        action="append",
        type=audit_cli.parse_anchor,
        metavar="POSITION:LINK",
        help="an anchor held from before (casework audit anchor): the chain must pass through it",
    )
    audit_verify.add_argument(
        "--anchor-file",
        action="append",
        type=audit_cli.read_anchor_file,
        metavar="FILE",
        help="a signed anchor held from before (the JSON casework audit anchor printed, or a"
        " message of casework.audit-anchors.v1; - for standard input): refused unless its"
        " signature verifies; the chain must pass through it",
    )
    audit_verify.set_defaults(func=cmd_audit_verify)
    audit.add_parser(
        "anchor",
        help="print the event chain's head (position and link), signed, to keep elsewhere",
    ).set_defaults(func=cmd_audit_anchor)
    tokens_list = tokens.add_parser(
        "list", help="every token (or a user's): id, owner, issued, expires, last used, revoked"
    )
    tokens_list.add_argument("name", nargs="?", default=None, metavar="NAME")
    tokens_list.set_defaults(func=cmd_tokens_list)
    tokens_revoke = tokens.add_parser(
        "revoke", help="revoke one token by its id, or every token of a user by the user's name"
    )
    tokens_revoke.add_argument("target", metavar="NAME|TOKEN-ID")
    tokens_revoke.set_defaults(func=cmd_tokens_revoke)
    keys = sub.add_parser(
        "keys", help="the master key that protects personal data (CASEWORK_MASTER_KEY)"
    ).add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    keys_new = keys.add_parser(
        "new",
        help="print a fresh master key; store it offline before use",
        description=KEYS_NEW_HELP,
    )
    keys_new.set_defaults(func=cmd_keys_new, settings_needed=False)
    return top


def cmd_users_add(settings: Settings, args: argparse.Namespace) -> int:
    system = bootstrap(settings)
    try:
        return accounts_cli.users_add(system, args)
    finally:
        system.close()


def cmd_users_password(settings: Settings, args: argparse.Namespace) -> int:
    return accounts_cli.users_password(bootstrap(settings), args)


def cmd_users_list(settings: Settings, args: argparse.Namespace) -> int:
    return accounts_cli.users_list(bootstrap(settings), args)


def cmd_users_deactivate(settings: Settings, args: argparse.Namespace) -> int:
    return accounts_cli.users_deactivate(bootstrap(settings), args)


def cmd_users_change(settings: Settings, args: argparse.Namespace) -> int:
    return accounts_cli.users_change(bootstrap(settings), args)


def cmd_users_activate(settings: Settings, args: argparse.Namespace) -> int:
    return accounts_cli.users_activate(bootstrap(settings), args)


def cmd_tokens_issue(settings: Settings, args: argparse.Namespace) -> int:
    return accounts_cli.tokens_issue(bootstrap(settings), args)


def cmd_audit_verify(settings: Settings, args: argparse.Namespace) -> int:
    return audit_cli.verify(bootstrap(settings), args)


def cmd_audit_anchor(settings: Settings, args: argparse.Namespace) -> int:
    return audit_cli.anchor(bootstrap(settings), args)


def cmd_tokens_list(settings: Settings, args: argparse.Namespace) -> int:
    return accounts_cli.tokens_list(bootstrap(settings), args)


def cmd_tokens_revoke(settings: Settings, args: argparse.Namespace) -> int:
    return accounts_cli.tokens_revoke(bootstrap(settings), args)


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if not getattr(args, "settings_needed", True):
        # Works where the settings cannot (yet): a PostgreSQL store without a master key.
        return args.func(None, args)
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(f"casework: {error}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    try:
        return args.func(settings, args)
    except WrongMasterKey as error:
        print(f"casework: CASEWORK_MASTER_KEY: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
