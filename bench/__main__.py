"""`python -m bench [--quick]`: every benchmark, figures printed as Markdown tables.

`--quick` is a smoke run for CI (about two minutes); the default is the full run whose output
goes into `bench/RESULTS.md`. `--only api,migrations,gate` picks benchmarks; the MariaDB ones
(`mariadb-api`, `mariadb-migrations`, `mariadb-drivers`) run only when named there, since they
need a MariaDB server (`--mariadb-url`) the default run does not. `mariadb-api` is the API
benchmark with the app served on PostgreSQL and on MariaDB side by side, so it needs both.
"""

from __future__ import annotations

import argparse
import importlib.util
import signal
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack

from sqlalchemy import URL

from bench.api_load import ApiConfig, run_api_benchmark
from bench.baseline import checkout
from bench.environment import describe
from bench.gate_speed import run_gate_benchmark
from bench.loadgen import choose
from bench.mariadb import DEFAULT_URL as DEFAULT_MARIADB_URL
from bench.mariadb import mariadb_server
from bench.mariadb_drivers import run_driver_benchmark
from bench.migration_cost import run_migration_benchmark
from bench.migration_cost_mariadb import run_mariadb_migration_benchmark
from bench.postgres import benchmark_server
from bench.server import ServerSettings, fastest_settings
from tests.support.servers import DatabaseServer

BENCHMARKS = ("api", "migrations", "gate")
OPTIONAL = ("mariadb-api", "mariadb-migrations", "mariadb-drivers")
"""Run only when named in `--only`: they need a server the default run does not (MariaDB)."""
NEEDS_POSTGRES = {*BENCHMARKS, "mariadb-api"}
NEEDS_MARIADB = {"mariadb-api", "mariadb-migrations"}


def _variant(text: str) -> tuple[str, dict[str, str]]:
    """`label:KEY=VALUE,KEY=VALUE` → an app variant run beside the default app."""
    label, _, assignments = text.partition(":")
    env = dict(pair.split("=", 1) for pair in assignments.split(",") if pair)
    return label, env


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short smoke run (~2 min)")
    parser.add_argument("--only", default=",".join(BENCHMARKS), help="comma-separated subset")
    parser.add_argument("--database-url", help="server to use (else BENCH_DATABASE_URL, ...)")
    parser.add_argument(
        "--mariadb-url",
        default=DEFAULT_MARIADB_URL,
        help="MariaDB server for --only mariadb-api,mariadb-migrations,mariadb-drivers "
        f"(default {DEFAULT_MARIADB_URL})",
    )
    parser.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument(
        "--variant",
        action="append",
        type=_variant,
        default=[],
        help="extra app config measured beside the default, e.g. "
        "'pool5:DB_POOL_SIZE=5' or 'psycopg3:DRIVER=psycopg' (repeatable)",
    )
    parser.add_argument(
        "--baseline", help="git ref whose app is measured beside the current one, e.g. HEAD~1"
    )
    parser.add_argument(
        "--http", help="uvicorn --http for both apps (default: httptools if installed)"
    )
    parser.add_argument(
        "--loop", help="uvicorn --loop for both apps (default: uvloop if installed)"
    )
    parser.add_argument("--access-log", action="store_true", help="keep uvicorn's access log on")
    parser.add_argument(
        "--endpoints",
        default="item,list,create",
        help="API endpoints to measure (item,list,create)",
    )
    parser.add_argument("--rounds", type=int, help="API rounds (default 3 quick, 5 full)")
    parser.add_argument("--rows-10m", action="store_true", help="also migrate 10M rows")
    parser.add_argument(
        "--mariadb-rows",
        default=None,
        help="table sizes for mariadb-migrations (default 10000,1000000; quick 10000,100000)",
    )
    parser.add_argument("--gate-sizes", default=None, help="chain lengths, e.g. 25,50,100")
    return parser.parse_args(argv)


def _api(
    arguments: argparse.Namespace, databases: list[DatabaseServer], out: Callable[[str], None]
) -> None:
    """The API benchmark: the app on each of `databases` (the first is primary) beside bare."""
    config = (
        ApiConfig(rounds=3, seconds=2, sweep=(4, 32, 256), sweep_seconds=2)
        if arguments.quick
        else ApiConfig()
    )
    with ExitStack() as stack:
        variants = dict(arguments.variant)
        if not arguments.quick and importlib.util.find_spec("psycopg"):
            variants.setdefault("option: psycopg 3", {"DRIVER": "psycopg"})
        if arguments.baseline:
            tree = stack.enter_context(checkout(arguments.baseline))
            variants[f"baseline {arguments.baseline}"] = {"SOURCE": str(tree)}
        overrides: dict[str, object] = {
            "variants": variants,
            "endpoints": tuple(arguments.endpoints.split(",")),
        }
        if arguments.rounds:
            overrides["rounds"] = arguments.rounds
        config = ApiConfig(**{**config.__dict__, **overrides})
        fastest = fastest_settings()
        settings = ServerSettings(
            http=arguments.http or fastest.http,
            loop=arguments.loop or fastest.loop,
            access_log=arguments.access_log,
        )
        run_api_benchmark(databases, config, choose(arguments.loadgen), settings, out)
    out("")


def _run_on_servers(
    arguments: argparse.Namespace, chosen: set[str], out: Callable[[str], None]
) -> None:
    """Start (or reach) the servers the `chosen` benchmarks need, describe them, run them."""
    with ExitStack() as stack:
        server = (
            stack.enter_context(benchmark_server(arguments.database_url))
            if chosen & NEEDS_POSTGRES
            else None
        )
        mariadb = mariadb_server(arguments.mariadb_url) if chosen & NEEDS_MARIADB else None
        admin_urls: dict[str, URL] = {}
        if server is not None:
            admin_urls["PostgreSQL"] = server.admin_url
        if mariadb is not None:
            admin_urls["MariaDB"] = mariadb.admin_url
        for line in describe(admin_urls):
            out(line)
        if server is not None:
            out(f"PostgreSQL from: {server.origin}")
        if mariadb is not None:
            out(f"MariaDB from: {mariadb.origin}")
        out("")
        if chosen & {"api", "mariadb-api"}:
            assert server is not None
            databases: list[DatabaseServer] = [server]
            if mariadb is not None and "mariadb-api" in chosen:
                databases.append(mariadb)
            _api(arguments, databases, out)
        if "migrations" in chosen:
            assert server is not None
            sizes = [10_000, 1_000_000] + ([10_000_000] if arguments.rows_10m else [])
            run_migration_benchmark(server, sizes, 1 if arguments.quick else 7, out)
            out("")
        if "mariadb-migrations" in chosen:
            assert mariadb is not None
            default_rows = "10000,100000" if arguments.quick else "10000,1000000"
            rows = [int(size) for size in (arguments.mariadb_rows or default_rows).split(",")]
            run_mariadb_migration_benchmark(mariadb, rows, 1 if arguments.quick else 5, out)
            out("")
        if "gate" in chosen:
            assert server is not None
            default_sizes = "3" if arguments.quick else "25,50,100"
            sizes = [int(size) for size in (arguments.gate_sizes or default_sizes).split(",")]
            run_gate_benchmark(server, sizes, out, smoke=arguments.quick)
            out("")


def main(argv: list[str] | None = None) -> None:
    """Run the chosen benchmarks against a PostgreSQL server and, when asked, a MariaDB one."""
    arguments = parse_arguments(argv)
    # A terminated run still stops its servers and drops its databases (the `with` blocks).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    chosen = {name.strip() for name in arguments.only.split(",") if name.strip()}
    unknown = chosen - set(BENCHMARKS) - set(OPTIONAL)
    if unknown:
        sys.exit(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    started = time.monotonic()

    def out(line: str) -> None:
        print(line, flush=True)

    mode = "quick" if arguments.quick else "full"
    out(f"# Benchmarks ({mode}): python -m bench {' '.join(sys.argv[1:])}".rstrip())
    if "mariadb-drivers" in chosen:
        run_driver_benchmark(arguments.mariadb_url, 2 if arguments.quick else 6, out)
        out("")
    if not chosen & (NEEDS_POSTGRES | NEEDS_MARIADB):
        out(f"(total {time.monotonic() - started:.0f}s)")
        return
    _run_on_servers(arguments, chosen, out)
    out(f"(total {time.monotonic() - started:.0f}s)")


if __name__ == "__main__":
    main()
