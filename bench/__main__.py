"""`python -m bench` (`make bench`): every benchmark and its ratio against the raw library.

Each benchmark measures Casework and the raw library it is built on in the same run, on
fresh temporary databases and a fresh embedded broker. A missed target is printed as
BELOW TARGET; the exit code is 0 unless a benchmark could not run at all.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import traceback
from collections.abc import Callable, Sequence

from bench import report
from bench.stores import Workspace

BENCHMARKS = (
    "commands",
    "relay",
    "runner",
    "relay_signing",
    "latency",
    "household_load",
    "encryption",
    "chain",
    "import",
    "feed",
    "webhooks",
    "agencies",
)
# Not part of a plain `make bench` (its first run generates a city: many minutes): by name only.
BY_NAME_ONLY = ("eligibility_city",)
CITY_STEPS = ("import", "rebuild", "reads", "load")  # --city: the seed always runs
CITY_HELP = """\
--city: the whole system at city scale (bench/city.py; docs/performance.md): `casework seed
--households N` (cached after its first run, under var/bench-cache/ or, with --store
postgresql, as a database kept on the server: its time and memory are reprinted), `casework
rebuild --workers 2`, the server time (p95) of the searches by name, NIK and KK, the household
page, eligibility, the cross-OPD views, the overlap matrix and the reconciliation page, then
locust's users against `casework web` (needs the [bench] extra: `pip install -e '.[bench]'`,
or `make bench-city`). Other benchmarks are not run with --city. With --store/--views
postgresql: fresh databases on CASEWORK_BENCH_PG.
"""


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    cli = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__.splitlines()[0],
        epilog=CITY_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cli.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help=f"run only these benchmarks, as --only does ({', '.join(BENCHMARKS + BY_NAME_ONLY)})",
    )
    cli.add_argument(
        "--store",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="event store database (postgresql: fresh databases on CASEWORK_BENCH_PG,"
        f" default {report_pg_default()})",
    )
    cli.add_argument(
        "--views", choices=("sqlite", "postgresql"), default="sqlite", help="read-model database"
    )
    cli.add_argument(
        "--only",
        nargs="+",
        choices=BENCHMARKS + BY_NAME_ONLY,
        default=list(BENCHMARKS),
        metavar="NAME",
        help=f"run only these benchmarks ({', '.join(BENCHMARKS + BY_NAME_ONLY)})",
    )
    cli.add_argument(
        "--quick", action="store_true", help="small sizes, to check the benchmarks run"
    )
    cli.add_argument(
        "--events", type=int, default=20_000, help="events for the relay and runner (20000)"
    )
    cli.add_argument("--seconds", type=float, default=20, help="length of the latency run (20)")
    cli.add_argument(
        "--rate", type=float, default=100, help="commands per second in the latency run (100)"
    )
    city = cli.add_argument_group("city scale (--city)")
    city.add_argument(
        "--city",
        action="store_true",
        help="seed (or reuse) the city, rebuild its views, time its reads, load-test it",
    )
    city.add_argument(
        "--households",
        type=int,
        default=None,
        metavar="N",
        help="families in the city (default 160000, Kota Jambi)",
    )
    city.add_argument(
        "--fresh", action="store_true", help="seed again even when the city is cached"
    )
    city.add_argument("--requests", type=int, default=200, help="timed requests per read (200)")
    city.add_argument("--users", type=int, default=50, help="locust users (50)")
    city.add_argument("--load-seconds", type=int, default=60, help="length of the load test (60)")
    city.add_argument(
        "--think",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="a load-test user's mean think time between requests (1.0; 0: none)",
    )
    city.add_argument(
        "--skip",
        nargs="+",
        choices=CITY_STEPS,
        default=[],
        metavar="STEP",
        help=f"leave out these steps ({', '.join(CITY_STEPS)}; without the rebuild there are"
        " no views: no reads and no load test either)",
    )
    args = cli.parse_args(argv)
    if not args.city and (args.households is not None or args.fresh or args.skip):
        cli.error("--households, --fresh and --skip go with --city")
    if args.households is not None and args.households < 1:
        cli.error("--households: at least 1")
    unknown = [n for n in args.names if n not in BENCHMARKS + BY_NAME_ONLY]
    if unknown:
        cli.error(
            f"unknown benchmark {', '.join(unknown)}: choose from"
            f" {', '.join(BENCHMARKS + BY_NAME_ONLY)}"
        )
    if args.names:
        args.only = args.names
    return args


def report_pg_default() -> str:
    from bench.stores import PG_DEFAULT

    return PG_DEFAULT


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    logging.basicConfig(
        level=logging.WARNING, format="%(levelname)s %(name)s [%(threadName)s] %(message)s"
    )
    for noisy in ("kafka", "eventsourcing"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    # kafka-python logs a harmless race when a client closes while its socket is read.
    logging.getLogger("kafka.net.transport").setLevel(logging.CRITICAL)
    machine = report.machine()
    print(
        f"casework bench: {machine['cpus']} CPUs ({machine['cpu_model']}),"
        f" Python {machine['python']},"
        f" kafka-python CRC-32C in {machine['kafka_crc32c']},"
        f" store {args.store}, views {args.views}{' (quick)' if args.quick else ''}",
        flush=True,
    )
    results: list = []  # report.Result, report.Latency or another figure with line/as_json
    failed: list[str] = []
    started = time.monotonic()
    with Workspace(args.store, args.views) as ws:
        for name, run in city_plan(args, ws) if args.city else plan(args, ws):
            try:
                for result in run():
                    results.append(result)
                    print(result.line(), flush=True)
            except Exception:  # noqa: BLE001 - report the broken benchmark, run the others
                failed.append(name)
                print(f"{name}: FAILED", file=sys.stderr)
                traceback.print_exc()
    options = dict(vars(args), seconds_total=round(time.monotonic() - started, 1))
    path = report.write(results, options, report.CITY_RESULTS if args.city else report.RESULTS)
    below = [r.name for r in results if getattr(r, "ok", True) is False]
    summary = f"{len(results)} results in {options['seconds_total']:.0f} s, written to {path}"
    if below:
        summary += f"; BELOW TARGET: {', '.join(below)}"
    if failed:
        summary += f"; FAILED: {', '.join(failed)}"
    if args.city:
        from bench.city import summary as city_summary

        print(city_summary(results))
    print(summary)
    return 1 if failed else 0


def city_plan(args: argparse.Namespace, ws: Workspace) -> list[tuple[str, Callable[[], list]]]:
    from bench.city import CITY_FAMILIES
    from bench.city import run as bench_city

    return [
        (
            "city",
            lambda: bench_city(
                ws,
                households=args.households or CITY_FAMILIES,
                fresh=args.fresh,
                requests=args.requests,
                users=args.users,
                seconds=args.load_seconds,
                think=args.think,
                steps=[s for s in CITY_STEPS if s not in args.skip],
            ),
        )
    ]


def plan(args: argparse.Namespace, ws: Workspace) -> list[tuple[str, Callable[[], list]]]:
    from bench.commands import bench_commands
    from bench.latency import bench_latency
    from bench.pipeline import bench_relay_and_runner

    quick = args.quick
    events = 3_000 if quick else args.events
    steps: list[tuple[str, Callable[[], list]]] = []
    if "commands" in args.only:
        sizes = {"families_per_round": 40, "rounds": 2, "warmup": 10} if quick else {}
        steps.append(("commands", lambda: bench_commands(ws, **sizes)))
    wanted = [n for n in ("relay", "runner") if n in args.only]
    if wanted:
        # The runner reads what the relay published: both run on one broker and store.
        def pipeline() -> list:
            relay, runner = bench_relay_and_runner(
                ws, events=events, warmup=min(2_000, events // 5)
            )
            return [r for r, n in ((relay, "relay"), (runner, "runner")) if n in wanted]

        steps.append(("/".join(wanted), pipeline))
    if "relay_signing" in args.only:
        from bench.signing import run as bench_signing

        steps.append(
            (
                "relay_signing",
                lambda: bench_signing(ws, events=events, warmup=min(2_000, events // 5)),
            )
        )
    wanted_agency = [n for n in ("feed", "webhooks") if n in args.only]
    if wanted_agency:
        from bench.agency_feed import run as bench_agency_feed

        def agency_feed() -> list:
            # the webhooks deliver what the feed read: both on one store
            found = bench_agency_feed(ws, events=events)
            return [r for r in found if r.name in wanted_agency]

        steps.append(("/".join(wanted_agency), agency_feed))
    if "agencies" in args.only:
        from bench.agencies import bench_agencies

        steps.append(("agencies", lambda: bench_agencies(ws, events=events)))
    if "encryption" in args.only:
        from bench.encryption import run as bench_encryption

        steps.append(("encryption", lambda: bench_encryption(ws, quick=quick)))
    if "chain" in args.only:
        from bench.chain import run as bench_chain

        sizes = {"families_per_round": 40, "rounds": 2, "warmup": 10} if quick else {}
        steps.append(("chain", lambda: bench_chain(ws, **sizes)))
    if "import" in args.only:
        from bench.importing import bench_import

        sizes = {"families_per_round": 40, "rounds": 2, "warmup": 10} if quick else {}
        steps.append(("import", lambda: bench_import(ws, **sizes)))
    if "household_load" in args.only:
        from bench.household_load import run as bench_household_load

        steps.append(("household_load", lambda: bench_household_load(ws, quick=quick)))
    if "eligibility_city" in args.only:
        from bench.eligibility_city import run as bench_eligibility_city

        steps.append(("eligibility_city", lambda: bench_eligibility_city(ws, quick=quick)))
    if "latency" in args.only:
        seconds = 4 if quick else args.seconds
        steps.append(("latency", lambda: [bench_latency(ws, rate=args.rate, seconds=seconds)]))
    return steps


if __name__ == "__main__":
    sys.exit(main())
