"""What the `quantity` revision costs on MariaDB, statement by statement, at 10k and 1M rows.

The revision has a MariaDB branch of its own: `ADD COLUMN … ALGORITHM=INSTANT` (metadata only),
`DROP CONSTRAINT IF EXISTS` (for a rerun), and `ADD CONSTRAINT … CHECK`. MariaDB has no
`NOT VALID`, so the CHECK can only be added by copying the table and checking every row on the
way (ALGORITHM=COPY: concurrent writes wait until it ends). For each size this prints each
statement's wall time and whether it gave `items` a new InnoDB table id (the sign of a copy),
read by the migration's own connection right after the statement, as well as before vs after the
whole upgrade. The ratio of the 1M-row to the 10k-row time says which statements grow with rows.

MariaDB has no template databases: every round migrates and seeds a fresh database (the
Sequence engine fills 1M rows in seconds), so the rounds are independent as on PostgreSQL.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from bench.databases import null_pool_engine, seeded_database
from bench.stats import median
from bench.upgrade_trace import (
    BEFORE,
    INNODB_TABLE_ID,
    QUANTITY,
    Trace,
    probe_after_alters,
    record_statements,
    traced_upgrade,
)
from tests.support.mariadb import MariaDBServer


@dataclass
class _Trace(Trace):
    """Statements with their times, and `items`' InnoDB table id right after each ALTER."""

    table_id_after: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class StatementCosts:
    """One run of the revision on one table size: seconds per ALTER, in order."""

    rows: int
    statements: dict[str, float]
    rebuilt_by: frozenset[str]
    upgrade_seconds: float
    rebuilt: bool
    seed_seconds: float


def short(statement: str) -> str:
    """A statement as a table row: on one line, without the `ALTER TABLE items` they share."""
    return " ".join(statement.split()).removeprefix("ALTER TABLE items ")


def _instrument(engine: Engine, trace: _Trace) -> None:
    """Time every statement; after each ALTER, read the table id on the same connection."""
    record_statements(engine, trace)
    probe_after_alters(
        engine, INNODB_TABLE_ID, lambda statement, rows: _keep_id(trace, statement, rows)
    )


def _keep_id(trace: _Trace, statement: str, rows: list[tuple[Any, ...]]) -> None:
    """`items`' table id right after `statement`: a change means this statement copied it."""
    trace.table_id_after[statement] = int(rows[0][0])


def measure_once(server: MariaDBServer, rows: int) -> StatementCosts:
    """Migrate a new database to the revision before, seed it, run the revision, read the trace."""
    seeding = time.perf_counter()
    with seeded_database(server, "bench_migration", revision=BEFORE, rows=rows) as url:
        seed_seconds = time.perf_counter() - seeding
        engine = null_pool_engine(url)
        trace = _Trace()
        try:
            run = traced_upgrade(engine, lambda engine: _instrument(engine, trace))
        finally:
            engine.dispose()
    alters = trace.alters()
    if not alters:
        raise RuntimeError(f"unexpected statements: {[entry[0] for entry in trace.statements]}")
    rebuilt_by: set[str] = set()
    previous = run.identity_before
    for statement, _, _ in alters:
        current = trace.table_id_after[statement]
        if current != previous:
            rebuilt_by.add(short(statement))
        previous = current
    return StatementCosts(
        rows=rows,
        statements={short(statement): end - start for statement, start, end in alters},
        rebuilt_by=frozenset(rebuilt_by),
        upgrade_seconds=run.seconds,
        rebuilt=run.rebuilt,
        seed_seconds=seed_seconds,
    )


def _milliseconds(values: Sequence[float]) -> str:
    """Median (min) of some rounds' seconds, in milliseconds."""
    return f"{median(values) * 1000:,.1f} ({min(values) * 1000:,.1f})"


def run_mariadb_migration_benchmark(
    server: MariaDBServer, sizes: Sequence[int], rounds: int, out: Callable[[str], None]
) -> None:
    """Run the revision `rounds` times per size, each on a freshly seeded database; print
    per-statement medians, the largest/smallest time ratio, and which statements rebuilt."""
    out(
        f"## Migration cost on MariaDB: revision {QUANTITY} (add quantity), "
        f"{rounds} round(s) per size"
    )
    results: dict[int, list[StatementCosts]] = {}
    for rows in sizes:
        results[rows] = [measure_once(server, rows) for _ in range(rounds)]
        seeding = median([run.seed_seconds for run in results[rows]])
        out(f"  {rows:,} rows: migrated to {BEFORE} and seeded in {seeding:.1f}s (median)")
    smallest, largest = min(results), max(results)
    every_run = [run for runs in results.values() for run in runs]
    out("")
    out(
        "| statement (`ALTER TABLE items …`) | "
        + " | ".join(f"{rows:,} rows: ms, median (min)" for rows in results)
        + f" | ratio {largest:,}/{smallest:,} rows | new InnoDB table id (rebuilt) |"
    )
    out("| --- |" + " --- |" * (len(results) + 2))
    for statement in every_run[0].statements:
        times = {
            rows: [run.statements[statement] for run in runs] for rows, runs in results.items()
        }
        rebuilt = sum(statement in run.rebuilt_by for run in every_run)
        out(_row(f"`{statement}`", times, smallest, largest, rebuilt=rebuilt, runs=len(every_run)))
    times = {rows: [run.upgrade_seconds for run in runs] for rows, runs in results.items()}
    rebuilt = sum(run.rebuilt for run in every_run)
    label = "whole upgrade (id before vs after)"
    out(_row(label, times, smallest, largest, rebuilt=rebuilt, runs=len(every_run)))


def _row(
    label: str, times: dict[int, list[float]], small: int, large: int, *, rebuilt: int, runs: int
) -> str:
    """One table row: times per size, the large/small ratio of medians, rebuilt in how many."""
    cells = " | ".join(_milliseconds(values) for values in times.values())
    ratio = median(times[large]) / median(times[small])
    verdict = f"**yes** ({rebuilt}/{runs} runs)" if rebuilt else f"no (0/{runs} runs)"
    return f"| {label} | {cells} | {ratio:.2f}x | {verdict} |"
