"""What the `quantity` revision costs on a populated table, at 10k and 1M rows (10M on request).

For each size: wall time of the transactional DDL (ADD COLUMN … DEFAULT 0 and the NOT VALID
CHECK, up to their COMMIT) and of the VALIDATE that follows outside it; whether the table was
rewritten (its `relfilenode` changes when PostgreSQL copies it); and which locks the migration
held on `items` and for how long. The locks are read from `pg_locks` twice over: by the
migration's own connection right after each statement (exact, inside the transaction) and by a
watcher polling from another connection (catches the autocommit VALIDATE while it scans).

The DDL must cost the same at any size (metadata only); VALIDATE reads every row, but under
SHARE UPDATE EXCLUSIVE, which blocks neither reads nor writes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import URL, Connection, Engine, event, text

from bench.databases import null_pool_engine, seed_items
from bench.stats import median
from bench.upgrade_trace import (
    BEFORE,
    QUANTITY,
    Trace,
    probe_after_alters,
    record_statements,
    traced_upgrade,
)
from tests.support.migrations import upgrade
from tests.support.postgres import PostgresServer

LOCK_STRENGTH = (
    "AccessShareLock",
    "RowShareLock",
    "RowExclusiveLock",
    "ShareUpdateExclusiveLock",
    "ShareLock",
    "ShareRowExclusiveLock",
    "ExclusiveLock",
    "AccessExclusiveLock",
)
_OWN_LOCKS = (
    "SELECT mode FROM pg_locks WHERE pid = pg_backend_pid() AND granted "
    "AND relation = 'items'::regclass"
)


@dataclass
class _Trace(Trace):
    """Statements the migration ran, with start and end times, and the locks they held."""

    locks_after: dict[str, set[str]] = field(default_factory=dict)
    backend_pid: int | None = None


@dataclass(frozen=True)
class MigrationCost:
    """One run of the revision on one table size."""

    rows: int
    ddl_seconds: float
    exclusive_lock_seconds: float
    validate_seconds: float
    upgrade_seconds: float
    rewritten: bool
    locks_in_transaction: frozenset[str]
    locks_seen_by_watcher: frozenset[str]


def strongest(modes: frozenset[str] | set[str]) -> str:
    """The strongest of PostgreSQL's table lock modes in `modes`."""
    ranked = [mode for mode in LOCK_STRENGTH if mode in modes]
    return ranked[-1] if ranked else "none"


def _instrument(engine: Engine, trace: _Trace) -> None:
    """Record every statement's timing and, inside a transaction, the locks held after it."""
    record_statements(engine, trace)

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn: Connection, *_: Any) -> None:
        if trace.backend_pid is None:
            trace.backend_pid = conn.connection.dbapi_connection.get_backend_pid()  # type: ignore[union-attr]

    probe_after_alters(
        engine, _OWN_LOCKS, lambda statement, rows: _keep_locks(trace, statement, rows)
    )


def _keep_locks(trace: _Trace, statement: str, rows: list[tuple[Any, ...]]) -> None:
    """The lock modes `statement` left held, as read from `pg_locks` by its own connection."""
    trace.locks_after[statement] = {row[0] for row in rows}


def _watch(url: URL, trace: _Trace, seen: set[str], stop: threading.Event) -> None:
    """Poll `pg_locks` for the migration's locks on `items` until told to stop."""
    engine = null_pool_engine(url)
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            query = text(
                "SELECT mode FROM pg_locks WHERE pid = :pid AND granted "
                "AND relation = (SELECT oid FROM pg_class WHERE relname = 'items')"
            )
            while not stop.is_set():
                if trace.backend_pid is not None:
                    modes = connection.execute(query, {"pid": trace.backend_pid}).scalars()
                    seen.update(modes)
                time.sleep(0.0005)
    finally:
        engine.dispose()


def measure_once(server: PostgresServer, template: str, rows: int) -> MigrationCost:
    """Copy the seeded template, run the revision on the copy, read the trace."""
    with server.temporary_database("bench_migration", template=template) as url:
        engine = null_pool_engine(url)
        try:
            trace = _Trace()
            seen: set[str] = set()
            stop = threading.Event()
            watcher = threading.Thread(target=_watch, args=(url, trace, seen, stop), daemon=True)
            watcher.start()
            try:
                run = traced_upgrade(engine, lambda engine: _instrument(engine, trace))
            finally:
                stop.set()
                watcher.join(timeout=10)
        finally:
            engine.dispose()
    alters = trace.alters()
    ddl = [entry for entry in alters if "VALIDATE" not in entry[0].upper()]
    validate = [entry for entry in alters if "VALIDATE" in entry[0].upper()]
    if not ddl or not validate:
        raise RuntimeError(f"unexpected statements: {[entry[0] for entry in trace.statements]}")
    in_transaction: set[str] = set()
    for modes in trace.locks_after.values():
        in_transaction |= modes
    return MigrationCost(
        rows=rows,
        ddl_seconds=sum(end - start for _, start, end in ddl),
        # The AccessExclusiveLock is taken by ADD COLUMN and held until the COMMIT that
        # autocommit_block() issues just before VALIDATE starts: an upper bound, by design.
        exclusive_lock_seconds=validate[0][1] - ddl[0][1],
        validate_seconds=sum(end - start for _, start, end in validate),
        upgrade_seconds=run.seconds,
        rewritten=run.rebuilt,
        locks_in_transaction=frozenset(in_transaction),
        locks_seen_by_watcher=frozenset(seen),
    )


def run_migration_benchmark(
    server: PostgresServer, sizes: Sequence[int], rounds: int, out: Callable[[str], None]
) -> None:
    """Seed one template per size, run the revision `rounds` times on copies, print medians."""
    out(f"## Migration cost: revision {QUANTITY} (add quantity), {rounds} round(s) per size")
    results: dict[int, list[MigrationCost]] = {}
    for rows in sizes:
        with server.temporary_database("bench_migration_template") as template_url:
            upgrade(template_url, BEFORE)
            seeded = time.perf_counter()
            seed_items(template_url, rows, with_quantity=False)
            out(f"  seeded {rows:,} rows in {time.perf_counter() - seeded:.1f}s")
            assert template_url.database is not None
            results[rows] = [
                measure_once(server, template_url.database, rows) for _ in range(rounds)
            ]
    out("")
    out(
        "| rows | DDL (transactional) ms, median (min) | AccessExclusive held ms | VALIDATE ms "
        "| whole upgrade ms | table rewritten | strongest lock in DDL txn | locks seen by watcher |"
    )
    out("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for rows, runs in results.items():
        out(
            f"| {rows:,} | {median([r.ddl_seconds for r in runs]) * 1000:.2f} "
            f"({min(r.ddl_seconds for r in runs) * 1000:.2f}) | "
            f"{median([r.exclusive_lock_seconds for r in runs]) * 1000:.2f} | "
            f"{median([r.validate_seconds for r in runs]) * 1000:.1f} | "
            f"{median([r.upgrade_seconds for r in runs]) * 1000:.0f} | "
            f"{'**yes**' if any(r.rewritten for r in runs) else 'no'} | "
            f"{strongest(set().union(*(r.locks_in_transaction for r in runs)))} | "
            f"{', '.join(sorted(set().union(*(r.locks_seen_by_watcher for r in runs)))) or '-'} |"
        )
    smallest, *others = sorted(results)
    base = results[smallest]
    for rows in others:
        runs = results[rows]
        ddl_ratio = median([r.ddl_seconds for r in runs]) / median([r.ddl_seconds for r in base])
        lock_ratio = median([r.exclusive_lock_seconds for r in runs]) / median(
            [r.exclusive_lock_seconds for r in base]
        )
        validate_ratio = median([r.validate_seconds for r in runs]) / median(
            [r.validate_seconds for r in base]
        )
        fastest_ratio = min(r.ddl_seconds for r in runs) / min(r.ddl_seconds for r in base)
        out(f"ratio {rows:,}/{smallest:,} rows (fastest rounds): DDL {fastest_ratio:.2f}x")
        out(
            f"ratio {rows:,}/{smallest:,} rows ({rows / smallest:,.0f}x the rows): "
            f"DDL {ddl_ratio:.2f}x, AccessExclusive hold {lock_ratio:.2f}x (constant = ~1), "
            f"VALIDATE {validate_ratio:.1f}x (a scan, under SHARE UPDATE EXCLUSIVE)"
        )
