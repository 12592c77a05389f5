"""API throughput as a share of the bare-FastAPI ceiling, and the 4 → 256 connection sweep.

Each round runs every endpoint on every server (the real app, its variants, the bare ceiling)
back to back, rotating the order from round to round, so a neighbour's test suite slows both
sides of a ratio alike; the report gives the median of the per-round ratios and their spread.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import URL, text

from bench.databases import null_pool_engine, seeded_database
from bench.loadgen import LoadGenerator, LoadResult, Request
from bench.server import PROJECT_ROOT, ServerSettings, uvicorn_process
from bench.stats import median, percent, spread
from tests.support.postgres import PostgresServer

BARE = "bare"
DEFAULT = "app (psycopg2)"
ITEM_ID = 5000
CREATE_BODY = json.dumps({"name": "bench item", "price": 9.5, "quantity": 1}).encode()


@dataclass(frozen=True)
class Endpoint:
    """A route measured against its bare counterpart, with the share it must reach."""

    label: str
    request: Request
    target: float | None
    writes: bool = False


ENDPOINTS = {
    "item": Endpoint("GET /items/{id}", Request("GET", f"/items/{ITEM_ID}"), 0.18),
    "list": Endpoint("GET /items?limit=15", Request("GET", "/items?limit=15"), 0.14),
    "create": Endpoint("POST /items", Request("POST", "/items", CREATE_BODY), None, writes=True),
}


@dataclass(frozen=True)
class ApiConfig:
    """How long and how often to measure; `variants` are extra app configurations (env)."""

    rows: int = 10_000
    rounds: int = 5
    seconds: float = 4.0
    connections: Sequence[int] = (4, 32)
    sweep: Sequence[int] = (4, 8, 16, 32, 64, 128, 256)
    sweep_seconds: float = 4.0
    variants: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    endpoints: Sequence[str] = ("item", "list", "create")


def _database_env(url: URL, driver: str | None) -> dict[str, str]:
    if driver is not None:
        url = url.set(drivername=f"postgresql+{driver}")
    return {"DATABASE_URL": url.render_as_string(hide_password=False)}


@contextmanager
def _servers(
    url: URL, settings: ServerSettings, variants: Mapping[str, Mapping[str, str]]
) -> Iterator[dict[str, str]]:
    """Start the bare ceiling, the default app and every variant; yield label → base URL."""
    with ExitStack() as stack:
        servers = {BARE: stack.enter_context(uvicorn_process("bench.bare_app:app", settings))}
        for label, extra in {DEFAULT: {}, **variants}.items():
            env = {**_database_env(url, extra.get("DRIVER")), **extra}
            source = Path(extra["SOURCE"]) if "SOURCE" in extra else PROJECT_ROOT
            servers[label] = stack.enter_context(
                uvicorn_process("app.main:app", settings, env=env, source=source)
            )
        yield servers


def _forget_created_rows(url: URL, rows: int) -> None:
    """Delete what POST runs added and vacuum, so every list run counts the same table."""
    engine = null_pool_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM items WHERE id > :rows"), {"rows": rows})
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM items"))
    finally:
        engine.dispose()


def _throughput(
    servers: Mapping[str, str],
    loadgen: LoadGenerator,
    config: ApiConfig,
    url: URL,
    out: Callable[[str], None],
) -> None:
    labels = list(servers)
    endpoints = [ENDPOINTS[name] for name in config.endpoints]
    results: dict[tuple[str, int, str], list[LoadResult]] = {}
    for endpoint in endpoints:  # warm-up: import paths, pools, plans
        for label in labels:
            loadgen.run(servers[label], endpoint.request, 4, 1, inspect=False)
    _forget_created_rows(url, config.rows)
    for round_number in range(config.rounds):
        order = labels[round_number % len(labels) :] + labels[: round_number % len(labels)]
        for connections in config.connections:
            for endpoint in endpoints:
                for label in order:
                    result = loadgen.run(
                        servers[label], endpoint.request, connections, config.seconds, inspect=False
                    )
                    results.setdefault((endpoint.label, connections, label), []).append(result)
                    if endpoint.writes and label != BARE:
                        _forget_created_rows(url, config.rows)
        out(f"  round {round_number + 1}/{config.rounds} done")
    out("")
    out("| endpoint | conns | server | median req/s | share of bare (median) | rounds | target |")
    out("| --- | --- | --- | --- | --- | --- | --- |")
    for endpoint in endpoints:
        for connections in config.connections:
            bare = results[(endpoint.label, connections, BARE)]
            for label in labels:
                runs = results[(endpoint.label, connections, label)]
                rps = median([run.rps for run in runs])
                non_2xx = sum(run.bad + run.unavailable for run in runs)
                note = f" ({non_2xx} non-2xx!)" if non_2xx else ""
                if label == BARE:
                    out(
                        f"| {endpoint.label} | {connections} | {label} | {rps:,.0f}{note} | "
                        "100% | | |"
                    )
                    continue
                ratios = [run.rps / base.rps for run, base in zip(runs, bare, strict=True)]
                share = median(ratios)
                verdict = "report"
                if endpoint.target is not None:
                    verdict = ("PASS" if share >= endpoint.target else "FAIL") + (
                        f" (≥ {percent(endpoint.target)})"
                    )
                out(
                    f"| {endpoint.label} | {connections} | {label} | {rps:,.0f}{note} | "
                    f"**{percent(share)}** | {spread(ratios)} | {verdict} |"
                )


def _sweep(
    base_url: str, loadgen: LoadGenerator, config: ApiConfig, out: Callable[[str], None]
) -> None:
    out("")
    out(
        "| endpoint | conns | req/s | p50 ms | p99 ms | 2xx | 503+Retry-After | other | "
        "timeouts | socket errors | all answered |"
    )
    out("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for endpoint in (ENDPOINTS["item"], ENDPOINTS["list"]):
        for connections in config.sweep:
            run = loadgen.run(
                base_url, endpoint.request, connections, config.sweep_seconds, inspect=True
            )
            out(
                f"| {endpoint.label} | {connections} | {run.rps:,.0f} | {run.p50_ms:.1f} | "
                f"{run.p99_ms:.1f} | {run.ok} | {run.unavailable} | {run.bad} | {run.timeouts} | "
                f"{run.socket_errors} | {'yes' if run.all_answered else '**NO**'} |"
            )


def run_api_benchmark(
    server: PostgresServer,
    config: ApiConfig,
    loadgen: LoadGenerator,
    settings: ServerSettings,
    out: Callable[[str], None],
) -> None:
    """Seed a database, serve both apps, measure the ratios, then sweep the connections."""
    out(
        f"## API load ({config.rows:,} rows; load generator: {loadgen.name}; {settings.describe()})"
    )
    out(
        f"{config.rounds} rounds x {config.seconds:g}s per run, order rotated per round; "
        f"variants: {dict(config.variants) or 'none'}"
    )
    with (
        seeded_database(server, "bench_api", revision="head", rows=config.rows) as url,
        _servers(url, settings, config.variants) as servers,
    ):
        _throughput(servers, loadgen, config, url, out)
        out("")
        out(f"### Sweep, {DEFAULT}, {config.sweep_seconds:g}s per step, all responses inspected")
        _sweep(servers[DEFAULT], loadgen, config, out)
