"""API throughput as a share of the bare-FastAPI ceiling, and the 4 → 256 connection sweep.

Each round runs every endpoint on every server (the real app on each database server given, its
variants, the bare ceiling) back to back, rotating the order from round to round, so a
neighbour's test suite slows both sides of a ratio alike; the report gives the median of the
per-round ratios and their spread. With more than one app (a second database server, a variant,
a baseline) a second table sets each beside the default app, again as per-round ratios: the
way to compare the API on MariaDB with the API on PostgreSQL on a machine others share.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import URL, text

from app.settings import is_mysql_family
from bench.databases import null_pool_engine, seeded_database, tidy
from bench.loadgen import LoadGenerator, LoadResult, Request
from bench.server import PROJECT_ROOT, ServerSettings, uvicorn_process
from bench.stats import median, percent, spread
from tests.support.servers import DatabaseServer

BARE = "bare"
DEFAULT = "app (psycopg2)"
MARIADB = "app on MariaDB (PyMySQL)"
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


def app_label(url: URL) -> str:
    """The report's name for the default app on `url`'s kind of server."""
    return MARIADB if is_mysql_family(url) else DEFAULT


def _database_env(url: URL, driver: str | None) -> dict[str, str]:
    if driver is not None:
        url = url.set(drivername=f"postgresql+{driver}")
    return {"DATABASE_URL": url.render_as_string(hide_password=False)}


def _app_databases(
    databases: Sequence[URL], variants: Mapping[str, Mapping[str, str]]
) -> dict[str, tuple[URL, Mapping[str, str]]]:
    """Label → (database, extra env) of every app to serve: the default app on each database,
    then the variants, which all run on the first (the primary) database."""
    apps: dict[str, tuple[URL, Mapping[str, str]]] = {
        app_label(url): (url, {}) for url in databases
    }
    for label, extra in variants.items():
        apps[label] = (databases[0], extra)
    return apps


@contextmanager
def _servers(
    apps: Mapping[str, tuple[URL, Mapping[str, str]]], settings: ServerSettings
) -> Iterator[dict[str, str]]:
    """Start the bare ceiling and every app; yield label → base URL."""
    with ExitStack() as stack:
        servers = {BARE: stack.enter_context(uvicorn_process("bench.bare_app:app", settings))}
        for label, (url, extra) in apps.items():
            env = {**_database_env(url, extra.get("DRIVER")), **extra}
            source = Path(extra["SOURCE"]) if "SOURCE" in extra else PROJECT_ROOT
            servers[label] = stack.enter_context(
                uvicorn_process("app.main:app", settings, env=env, source=source)
            )
        yield servers


def _forget_created_rows(url: URL, rows: int) -> None:
    """Delete what POST runs added (and vacuum), so every list run counts the same table."""
    engine = null_pool_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM items WHERE id > :rows"), {"rows": rows})
    finally:
        engine.dispose()
    tidy(url, analyze=False)


Results = dict[tuple[str, int, str], list[LoadResult]]
"""(endpoint label, connections, server label) → one result per round."""


def _measure(
    servers: Mapping[str, str],
    loadgen: LoadGenerator,
    config: ApiConfig,
    databases: Mapping[str, URL],
    out: Callable[[str], None],
) -> Results:
    """Every endpoint on every server, `config.rounds` interleaved rounds; `databases` maps each
    app's label to the database whose created rows are forgotten after its POST runs."""
    labels = list(servers)
    endpoints = [ENDPOINTS[name] for name in config.endpoints]
    results: Results = {}
    for endpoint in endpoints:  # warm-up: import paths, pools, plans
        for label in labels:
            loadgen.run(servers[label], endpoint.request, 4, 1, inspect=False)
    for url in set(databases.values()):
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
                        _forget_created_rows(databases[label], config.rows)
        out(f"  round {round_number + 1}/{config.rounds} done")
    return results


def _ratios(results: Results, key: tuple[str, int], label: str, base: str) -> list[float]:
    """The per-round ratios of `label`'s throughput to `base`'s (same round, same load)."""
    runs, bases = results[(*key, label)], results[(*key, base)]
    return [run.rps / other.rps for run, other in zip(runs, bases, strict=True)]


def _share_table(
    results: Results,
    labels: Sequence[str],
    judged: Collection[str],
    config: ApiConfig,
    out: Callable[[str], None],
) -> None:
    """Each server's throughput as a share of the bare ceiling; the apps in `judged` against the
    endpoint's target (set for PostgreSQL, so an app on another database is only reported)."""
    out("| endpoint | conns | server | median req/s | share of bare (median) | rounds | target |")
    out("| --- | --- | --- | --- | --- | --- | --- |")
    for endpoint in (ENDPOINTS[name] for name in config.endpoints):
        for connections in config.connections:
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
                ratios = _ratios(results, (endpoint.label, connections), label, BARE)
                share = median(ratios)
                verdict = "report"
                if endpoint.target is not None and label in judged:
                    verdict = ("PASS" if share >= endpoint.target else "FAIL") + (
                        f" (≥ {percent(endpoint.target)})"
                    )
                out(
                    f"| {endpoint.label} | {connections} | {label} | {rps:,.0f}{note} | "
                    f"**{percent(share)}** | {spread(ratios)} | {verdict} |"
                )


def _versus_table(
    results: Results,
    labels: Sequence[str],
    base: str,
    config: ApiConfig,
    out: Callable[[str], None],
) -> None:
    """Every other app beside `base` (the default app on the primary database), as the median
    of per-round ratios: on a shared machine the only comparison between apps worth reading."""
    out("")
    out(f"| endpoint | conns | server | ratio to {base} (median) | rounds |")
    out("| --- | --- | --- | --- | --- |")
    for endpoint in (ENDPOINTS[name] for name in config.endpoints):
        for connections in config.connections:
            for label in labels:
                ratios = _ratios(results, (endpoint.label, connections), label, base)
                out(
                    f"| {endpoint.label} | {connections} | {label} | "
                    f"**{median(ratios):.2f}x** | {spread(ratios)} |"
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
    databases: Sequence[DatabaseServer],
    config: ApiConfig,
    loadgen: LoadGenerator,
    settings: ServerSettings,
    out: Callable[[str], None],
) -> None:
    """Seed a database on each server, serve the app on each (variants on the first) beside the
    bare ceiling, measure the ratios in interleaved rounds, then sweep the primary app."""
    out(
        f"## API load ({config.rows:,} rows; load generator: {loadgen.name}; {settings.describe()})"
    )
    out(
        f"{config.rounds} rounds x {config.seconds:g}s per run, order rotated per round; "
        f"variants: {dict(config.variants) or 'none'}"
    )
    with ExitStack() as stack:
        urls = [
            stack.enter_context(
                seeded_database(server, "bench_api", revision="head", rows=config.rows)
            )
            for server in databases
        ]
        apps = _app_databases(urls, config.variants)
        servers = stack.enter_context(_servers(apps, settings))
        results = _measure(
            servers, loadgen, config, {label: url for label, (url, _) in apps.items()}, out
        )
        primary = app_label(urls[0])
        out("")
        judged = [label for label, (url, _) in apps.items() if url == urls[0]]
        _share_table(results, list(servers), judged, config, out)
        others = [label for label in apps if label != primary]
        if others:
            out("")
            out(f"### Side by side with {primary}, same rounds")
            _versus_table(results, others, primary, config, out)
        out("")
        out(f"### Sweep, {primary}, {config.sweep_seconds:g}s per step, all responses inspected")
        _sweep(servers[primary], loadgen, config, out)
