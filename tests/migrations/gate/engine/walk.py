"""The per-revision checks of the gate, on one database that climbs the history once.

Each dynamic check was first written to start every revision from its own copy of the database
(`CREATE DATABASE … TEMPLATE`: 50 to 150 ms, and a server-wide checkpoint with FILE_COPY), five
copies a revision, plus a hypothesis example per migration round trip: seconds per revision,
most of it waiting. Here one database walks base → head. At each step it holds the schema of
`step.before`, and the checks run in an order where each leaves it where the next one starts:

1. lock timeout: upgrade while another session holds ACCESS SHARE on every table; it gives up
   (still at `before`) or needs no conflicting lock (then downgraded back);
2. atomic failure: upgrade while `alembic_version` is locked, so it fails after all its own
   statements; rolled back (at `before`), or, for an `autocommit_block()` revision, rerun (then
   downgraded back, and its schema later compared with a clean upgrade's);
3. populated upgrade: rows hypothesis generates for the tables the step can touch
   (`relevance.py`), many draws merged into one batch; upgrade, every value kept; the
   stairway's rows written at the revision; downgrade, every original row back exactly;
4. downgrade leaves no trace: the catalog after that round trip equals the one at `before`;
5. stairway, last move: rows in, upgrade again. Now at `step.revision`: the next step starts.

The first failure ends the walk (the database is in an unknown state after it) and names the
revision and the check, as each check does on its own. Per step that is five Alembic commands
(two more for an `autocommit_block()` revision, one more when the lock check's upgrade went
through) and two 20 ms lock waits, against three or four commands for pytest-alembic's
built-ins.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial

from hypothesis import settings
from sqlalchemy import URL, Connection

from tests.migrations.gate.checks.atomic_failure import (
    FailureOutcome,
    fail_step,
    require_clean_rerun,
)
from tests.migrations.gate.checks.lock_timeout import LockWaitOutcome, upgrade_under_lock
from tests.migrations.gate.checks.no_trace import require_no_trace
from tests.migrations.gate.checks.populated_upgrade import check_populated_batch, step_examples
from tests.migrations.gate.checks.stairway import upgrade_again
from tests.migrations.gate.dialects.base import CatalogSnapshot
from tests.migrations.gate.engine.contention import current_version
from tests.migrations.gate.engine.history import History
from tests.migrations.gate.engine.relevance import tables_in_play
from tests.migrations.gate.engine.render import render_revision
from tests.migrations.gate.engine.rows import SchemaSpec, insert_rows, sample_rows
from tests.migrations.gate.engine.sessions import reusing_connections
from tests.migrations.gate.engine.snapshots import snapshot_of
from tests.migrations.gate.engine.steps import BASE, Step, run_step, steps
from tests.migrations.gate.engine.working import WorkingDatabase, working_database
from tests.support.postgres import PostgresServer

CHECK = "walk"
PATIENCE = 20.0


@dataclass(frozen=True)
class StepReport:
    """What the walk did at one step: where rows went, what each check saw, how long it took."""

    step: Step
    tables: tuple[str, ...]
    rows: int
    unsupported: dict[str, str]
    """Tables no rows could be generated for, and why (a column type `rows.py` cannot fill)."""
    failure: FailureOutcome
    lock_wait: LockWaitOutcome | None
    seconds: float


def _move(history: History, url: URL, step: Step, command: str, target: str) -> None:
    run_step(
        partial(getattr(history, command), url, target),
        check=CHECK,
        problem=(
            f"{command} to {target} failed while the walk returned the database to "
            f"{step.before} after checking {step.revision} under a lock ({history.name})"
        ),
        how_to_fix=(
            f"reproduce with `alembic upgrade {step.revision}` then `alembic downgrade "
            f"{step.before}` on a database holding rows; make downgrade() work on rows written "
            "before the revision, and every statement of an autocommit_block() safe to rerun"
        ),
        revision=step.revision,
    )


def back_to_before(history: History, url: URL, step: Step, clean: CatalogSnapshot) -> None:
    """Return the database to `step.before` after a check that may have left it elsewhere.

    At the step: downgrade. Still at `before` but changed (an `autocommit_block()` revision that
    gave up after committing part of its work): rerun the upgrade, as a deploy would, then
    downgrade. Either way the catalog must then be exactly the one the step started from.
    """
    if current_version(url) == step.revision:
        _move(history, url, step, "downgrade", step.before)
    else:
        now = snapshot_of(url)
        if now == clean:
            return
        _move(history, url, step, "upgrade", step.revision)
        _move(history, url, step, "downgrade", step.before)
    require_no_trace(history, step, clean, snapshot_of(url))


def _seed_samples(connection: Connection, schema: SchemaSpec) -> Mapping[str, int]:
    return insert_rows(connection, schema, sample_rows(schema))


def walk_step(
    history: History,
    database: WorkingDatabase,
    step: Step,
    *,
    examples: int,
    patience: float = PATIENCE,
) -> StepReport:
    """Every per-revision check of `step` on `database` (at `step.before`); ends at the step."""
    started = time.monotonic()
    url = database.url

    def in_play(connection: Connection) -> tuple[str, ...]:
        return tables_in_play(history, step, connection)

    with database.engine.connect() as connection:
        tables = in_play(connection)
        before = database.dialect.snapshot(connection)
        connection.commit()
    lock_wait = None
    if step.before != BASE:
        lock_wait = upgrade_under_lock(history, url, step, before=before, patience=patience)
        if not lock_wait.gave_up or render_revision(history, step.revision, "up").commits_part_way:
            back_to_before(history, url, step, before)
    failure = fail_step(history, url, step, only=tables, before=before, patience=patience)
    if not failure.rolled_back:
        back_to_before(history, url, step, before)
    database.adopt(step.before, before, tables)
    runner = check_populated_batch(
        database, step, examples=examples, tables_after=in_play, at_revision=_seed_samples
    )
    with database.engine.connect() as connection:
        require_no_trace(history, step, before, database.dialect.snapshot(connection))
        connection.commit()
    if failure.rerun_schema is not None and runner.upgraded is not None:
        require_clean_rerun(step, runner.upgraded, failure.rerun_schema)
    upgrade_again(history, url, step, tables_for=in_play)
    return StepReport(
        step=step,
        tables=tables,
        rows=runner.rows,
        unsupported={
            spec.name: spec.skipped_because
            for spec in runner.schema.tables
            if spec.skipped_because is not None
        },
        failure=failure,
        lock_wait=lock_wait,
        seconds=time.monotonic() - started,
    )


def walk_history(
    history: History,
    server: PostgresServer,
    *,
    examples: int | None = None,
    scratch: URL | None = None,
    patience: float = PATIENCE,
) -> list[StepReport]:
    """Walk every step of `history` on one database (`scratch`, emptied, or a new one).

    `examples`: hypothesis draws merged into each step's rows (default: a quarter of the
    profile's examples, at least 10). `patience`: how long an upgrade may queue behind a lock
    before the lock-timeout check calls it queueing.
    """
    draws = examples if examples is not None else step_examples(settings().max_examples)
    with working_database(server, history, BASE, borrow=scratch) as database, reusing_connections():
        return [
            walk_step(history, database, step, examples=draws, patience=patience)
            for step in steps(history)
        ]
