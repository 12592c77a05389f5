"""The walk's own moves between checks: a restore, and a round trip on sample rows.

`protocol.plan_step` places them where a chosen check needs a fact that no other chosen check
provides, so a self-test can walk with a single check. A move's failure names the check it was
made for (`for_check`), with the same advice the check would give.

The restore's catalog comparison is the downgrade-leaves-no-trace judgment itself, whoever it
runs for: a downgrade that does not give back the schema of `before` is that defect, found
while returning the database for the next check.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial

from sqlalchemy import URL, Connection

from tests.migrations.gate.dialects.base import CatalogSnapshot
from tests.migrations.gate.engine.contention import current_version
from tests.migrations.gate.engine.history import History
from tests.migrations.gate.engine.lock_sampling import LockSamples, sampled_locks
from tests.migrations.gate.engine.rows import (
    GeneratedRow,
    SchemaSpec,
    insert_rows,
    old_writer_rows,
    reflect_schema,
    sample_rows,
    write_once,
)
from tests.migrations.gate.engine.sessions import connect
from tests.migrations.gate.engine.snapshots import snapshot_of
from tests.migrations.gate.engine.steps import Step, run_step
from tests.migrations.gate.failure import GateFailure

NO_TRACE = "downgrade-leaves-no-trace"
NO_TRACE_HOW_TO_FIX = (
    "lines starting with '-' are schema the downgrade did not restore, '+' lines are what it "
    "left behind; add the missing reverse operations to downgrade() (drop enum types, "
    "sequences and functions upgrade() created; restore NOT NULL/nullable, defaults, types and "
    "CHECK constraints it changed)"
)
UPGRADE_ON_ROWS_HOW_TO_FIX = (
    "make upgrade() work on existing rows: give new NOT NULL columns a server_default, clean or "
    "backfill data before adding a constraint it must satisfy"
)
DOWNGRADE_ON_ROWS_HOW_TO_FIX = (
    "make downgrade() work on rows written at this revision (e.g. drop the constraint before "
    "the column, convert values before narrowing a type, drop objects in the reverse order "
    "upgrade() created them)"
)

TablesNow = Callable[[Connection], tuple[str, ...]]


def require_no_trace(
    history: History, step: Step, before: CatalogSnapshot, after: CatalogSnapshot
) -> None:
    """Fail unless `after` (the catalog after the step's up and down) equals `before`."""
    difference = before.diff(
        after,
        before=f"schema at {step.before} (before upgrading to {step.revision})",
        after=f"schema after downgrading {step.revision} back to {step.before}",
    )
    if difference:
        raise GateFailure(
            check=NO_TRACE,
            problem=(
                f"downgrade() of {step.revision} does not restore the schema of {step.before} "
                f"({history.name})"
            ),
            how_to_fix=NO_TRACE_HOW_TO_FIX,
            revision=step.revision,
            details=difference,
        )


def _command(
    history: History, url: URL, step: Step, command: str, target: str, *, for_check: str
) -> None:
    run_step(
        partial(getattr(history, command), url, target),
        check=for_check,
        problem=(
            f"{command} to {target} failed while the walk returned the database to "
            f"{step.before} after {for_check} ({history.name})"
        ),
        how_to_fix=(
            f"reproduce with `alembic upgrade {step.revision}` then `alembic downgrade "
            f"{step.before}` on a database holding rows; make downgrade() work on rows written "
            "before the revision, and every statement of an autocommit_block() safe to rerun"
        ),
        revision=step.revision,
    )


def restore(
    history: History, url: URL, step: Step, before: CatalogSnapshot, *, for_check: str
) -> None:
    """Return the database to `step.before` after a check that may have left it elsewhere.

    At the step: downgrade. Still at `before` but changed (an `autocommit_block()` revision that
    gave up after committing part of its work): rerun the upgrade, as a deploy would, then
    downgrade. Either way the catalog must then be exactly the one the step started from.
    """
    if current_version(url) == step.revision:
        _command(history, url, step, "downgrade", step.before, for_check=for_check)
    elif snapshot_of(url) != before:
        _command(history, url, step, "upgrade", step.revision, for_check=for_check)
        _command(history, url, step, "downgrade", step.before, for_check=for_check)
    require_no_trace(history, step, before, snapshot_of(url))


def seed_samples(connection: Connection, schema: SchemaSpec) -> Mapping[str, int]:
    """Representative rows (`rows.sample_rows`) into every table of `schema`; counts."""
    return insert_rows(connection, schema, sample_rows(schema))


def seed_rows(url: URL, tables_now: TablesNow, at: str) -> list[str]:
    """Sample rows into the tables `tables_now` names at this moment (the database is at
    revision `at`); describe what went in, and where."""
    with connect(url) as connection:
        schema = reflect_schema(connection, only=tables_now(connection))
        counts = seed_samples(connection, schema)
        connection.commit()
    return [f"rows inserted at {at}: {dict(counts) or 'no tables'}"]


def round_trip(
    history: History, url: URL, step: Step, tables_now: TablesNow, *, for_check: str
) -> CatalogSnapshot:
    """Sample rows in, upgrade, sample rows at the revision, downgrade; the upgraded catalog."""
    context = seed_rows(url, tables_now, at=step.before)
    run_step(
        partial(history.upgrade, url, step.revision),
        check=for_check,
        problem=f"upgrade {step.before} → {step.revision} failed on a database holding rows",
        how_to_fix=UPGRADE_ON_ROWS_HOW_TO_FIX,
        revision=step.revision,
        context=context,
    )
    upgraded = snapshot_of(url)
    context += seed_rows(url, tables_now, at=step.revision)
    run_step(
        partial(history.downgrade, url, step.before),
        check=for_check,
        problem=f"downgrade {step.revision} → {step.before} failed on a database holding rows",
        how_to_fix=DOWNGRADE_ON_ROWS_HOW_TO_FIX,
        revision=step.revision,
        context=context,
    )
    return upgraded


@dataclass(frozen=True)
class OldRelease:
    """How the release at `before` wrote and read the step's tables, for judging the step.

    `schema` is the tables in play as they were at `before` (reflected before the upgrade);
    `writes` holds, per table, one row of only the columns that release names (`old_writer_rows`)
    that the database at `before` accepted: tried, then rolled back, so it is not in the table.
    `rows` is how many sample rows each table got before the upgrade, and `locks` the table
    locks the upgrade held and for how long (`lock_sampling.py`), sampled as it ran.
    """

    schema: SchemaSpec
    writes: Mapping[str, GeneratedRow]
    rows: Mapping[str, int] = field(default_factory=dict)
    locks: LockSamples | None = None


def upgrade_on_rows(
    history: History,
    url: URL,
    step: Step,
    tables_now: TablesNow,
    *,
    check: str,
    problem: str,
    how_to_fix: str,
) -> OldRelease:
    """Sample rows in at `before`, note the old release's writes, upgrade to the step.

    Leaves the database at the step with the rows of `before` still there
    (`Fact.UPGRADED_ON_ROWS`); a failing upgrade is reported as `check`'s. The locks the upgrade
    takes are sampled from another session while it runs (`OldRelease.locks`).
    """
    with connect(url) as connection:
        schema = reflect_schema(connection, only=tables_now(connection))
        counts = seed_samples(connection, schema)
        connection.commit()
        writes = write_once(connection, schema, old_writer_rows(schema)).accepted
        connection.commit()
    with sampled_locks(url) as sampling:
        run_step(
            partial(history.upgrade, url, step.revision),
            check=check,
            problem=problem,
            how_to_fix=how_to_fix,
            revision=step.revision,
            context=[f"rows inserted at {step.before}: {dict(counts) or 'no tables'}"],
        )
    return OldRelease(schema=schema, writes=writes, rows=dict(counts), locks=sampling.samples)
