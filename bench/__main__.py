"""`python -m bench [--quick]`: every benchmark, figures printed as Markdown tables.

`--quick` is a smoke run for CI (about two minutes); the default is the full run whose output
goes into `bench/RESULTS.md`. `--only api,migrations,gate` picks benchmarks.
"""

from __future__ import annotations

import argparse
import importlib.util
import signal
import sys
import time
from contextlib import ExitStack

from bench.api_load import ApiConfig, run_api_benchmark
from bench.baseline import checkout
from bench.environment import describe
from bench.gate_speed import run_gate_benchmark
from bench.loadgen import choose
from bench.mariadb_drivers import DEFAULT_URL as DEFAULT_MARIADB_URL
from bench.mariadb_drivers import run_driver_benchmark
from bench.migration_cost import run_migration_benchmark
from bench.postgres import benchmark_server
from bench.server import ServerSettings, fastest_settings

BENCHMARKS = ("api", "migrations", "gate")
OPTIONAL = ("mariadb-drivers",)
"""Run only when named in `--only`: they need a server the default run does not (MariaDB)."""


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
        help=f"MariaDB server for --only mariadb-drivers (default {DEFAULT_MARIADB_URL})",
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
    parser.add_argument("--gate-sizes", default=None, help="chain lengths, e.g. 25,50,100")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Run the chosen benchmarks against one PostgreSQL server."""
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
    if not chosen & set(BENCHMARKS):
        out(f"(total {time.monotonic() - started:.0f}s)")
        return
    with benchmark_server(arguments.database_url) as server:
        for line in describe({"PostgreSQL": server.admin_url}):
            out(line)
        out(f"PostgreSQL from: {server.origin}")
        out("")
        if "api" in chosen:
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
                run_api_benchmark([server], config, choose(arguments.loadgen), settings, out)
            out("")
        if "migrations" in chosen:
            sizes = [10_000, 1_000_000] + ([10_000_000] if arguments.rows_10m else [])
            run_migration_benchmark(server, sizes, 1 if arguments.quick else 7, out)
            out("")
        if "gate" in chosen:
            default_sizes = "3" if arguments.quick else "25,50,100"
            sizes = [int(size) for size in (arguments.gate_sizes or default_sizes).split(",")]
            run_gate_benchmark(server, sizes, out, smoke=arguments.quick)
            out("")
    out(f"(total {time.monotonic() - started:.0f}s)")


if __name__ == "__main__":
    main()
