"""Check 13: a revision that fails part-way leaves the database as it was, or can be rerun.

Deploys fail half-way: a lock timeout, a statement timeout, a killed pod. With
`transaction_per_migration`, a revision's DDL and its `alembic_version` update commit together,
so a failure rolls all of it back and the previous revision's schema is intact. This check
makes every revision fail at the last possible moment, after all of its own statements ran:
another session holds EXCLUSIVE on `alembic_version` (readers pass, the version UPDATE cannot),
and the upgrade runs with `-x lock_timeout=20ms`. Then the catalog and `alembic_version` must
equal what they were before.

A revision that uses `autocommit_block()` commits part of its work early, so it cannot be
atomic; for those (their offline SQL commits part-way) the requirement is the next best thing:
rerunning the upgrade must succeed and produce exactly the schema a clean upgrade produces.
A revision that fails on its own (a fixture that divides by zero half-way) is judged the same
way.

On a server without transactional DDL (`Dialect.transactional_ddl` false: MariaDB) every
statement commits, so a revision that fails at statement k+1 leaves statements 1 to k applied
and `alembic_version` at the previous revision: atomic failure becomes rerunnable failure. The
check upgrades once cleanly (on rows), counting the revision's n statements and reading the
clean schema; then for each k from 1 to n-1 it returns to `before`, stops the upgrade right
after statement k (`engine/injection.py`), and reruns it: the rerun must succeed, reach the
revision, and produce exactly the clean schema. A failure after the last statement (between
its commit and the version write) is not simulated: that write is one row under env.py's
GET_LOCK, which nothing else locks, so no timeout ends it there; only a lost connection can.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import ClassVar

from sqlalchemy import URL, text

from tests.migrations.gate.dialects import dialect_for
from tests.migrations.gate.dialects.base import VERSION_TABLE, CatalogSnapshot, LockMode
from tests.migrations.gate.engine.contention import current_version, upgrade_with
from tests.migrations.gate.engine.fill import fill_tables
from tests.migrations.gate.engine.history import History
from tests.migrations.gate.engine.injection import describe, run_upgrade
from tests.migrations.gate.engine.moves import UPGRADE_ON_ROWS_HOW_TO_FIX, restore
from tests.migrations.gate.engine.protocol import Declarations, Fact, StepCheckBase, StepContext
from tests.migrations.gate.engine.render import render_revision
from tests.migrations.gate.engine.sessions import connect
from tests.migrations.gate.engine.snapshots import snapshot_of
from tests.migrations.gate.engine.steps import BASE, Step, database_error_lines
from tests.migrations.gate.failure import GateFailure

CHECK = "atomic-failure"
LOCK_TIMEOUT = "20ms"
# What Alembic itself creates, so the version table exists (and can be locked) before base.
_VERSION_TABLE_DDL = (
    f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (version_num VARCHAR(32) NOT NULL, "
    f"CONSTRAINT {VERSION_TABLE}_pkc PRIMARY KEY (version_num))"
)


@dataclass(frozen=True)
class FailureOutcome:
    """How one revision failed and what it left: rolled back, or rerun to the clean schema."""

    step: Step
    error: str
    rolled_back: bool
    rerun_schema: CatalogSnapshot | None = None
    """After a rerun: the catalog it produced (compare with a clean upgrade's)."""
    statements: int = 0
    """Without transactional DDL: how many statements the revision ran in a clean upgrade."""
    stopped_after: tuple[int, ...] = ()
    """Without transactional DDL: after which statements the upgrade was stopped and rerun."""


STATEMENT_RERUN_HOW_TO_FIX = (
    "on a server without transactional DDL (MariaDB) each statement commits, and "
    "alembic_version still names the previous revision, so after a failure the next deploy "
    "runs the whole upgrade() again over what already committed: make every statement safe to "
    "rerun (ADD COLUMN IF NOT EXISTS, DROP … IF EXISTS before re-adding a constraint, CREATE "
    "TABLE/INDEX IF NOT EXISTS), or put each change in a revision of its own"
)
RERUN_HOW_TO_FIX = (
    "work inside autocommit_block() is committed even when the revision fails later, and "
    "alembic_version still names the previous revision, so the next deploy runs the whole "
    "upgrade() again: make every statement safe to rerun (add_column(if_not_exists=True), "
    "create_index(if_not_exists=True) after drop_index(if_exists=True) for CONCURRENTLY, "
    "drop_constraint(if_exists=True) before re-adding a NOT VALID constraint)"
)


def _prepare(url: URL, step: Step, only: Collection[str] | None) -> None:
    with connect(url) as connection:
        if step.before == BASE:
            connection.execute(text(_VERSION_TABLE_DDL))
            connection.commit()
        fill_tables(connection, only=only)


def fail_step(
    history: History,
    url: URL,
    step: Step,
    *,
    only: Collection[str] | None = None,
    before: CatalogSnapshot | None = None,
    patience: float = 20.0,
) -> FailureOutcome:
    """On `url` (at `step.before`), make `step` fail after its own statements; judge the state.

    Rows go into `only` those tables (None: all). `before`: the catalog at `step.before`, when
    the caller has it. `patience`: how long the upgrade may wait on the lock before the gate
    ends the holder. A rerun's schema is returned in the outcome; the caller compares it with a
    clean upgrade's (`require_clean_rerun`), which it has on hand after its own clean upgrade.
    """
    _prepare(url, step, only)
    before = snapshot_of(url) if before is None else before
    version = current_version(url)
    blocked = LockMode.VERSION_WRITERS_BLOCKED
    with dialect_for(url).hold_locks(url, [VERSION_TABLE], blocked, patience=patience) as held:
        result = upgrade_with(history, url, step.revision, lock_timeout=LOCK_TIMEOUT)
    if result.error is None or held.ended_by_watchdog.is_set():
        raise GateFailure(
            check=CHECK,
            problem=(
                f"could not make {step.revision} fail: with {VERSION_TABLE} locked by another "
                f"session it still {'succeeded' if result.error is None else 'waited'}"
            ),
            revision=step.revision,
            how_to_fix="a revision must not touch alembic_version itself, nor disable timeouts",
        )
    error = database_error_lines(result.error)[0]
    after = snapshot_of(url)
    difference = before.diff(
        after,
        before=f"schema at {step.before}",
        after=f"schema after {step.revision} failed",
    )
    if not difference and current_version(url) == version:
        return FailureOutcome(step=step, error=error, rolled_back=True)
    if not render_revision(history, step.revision, "up").commits_part_way:
        raise GateFailure(
            check=CHECK,
            problem=(
                f"{step.revision} failed but left part of its work committed "
                f"(alembic_version: {current_version(url)}, was {version})"
            ),
            revision=step.revision,
            details=[f"failure: {error}", *difference],
            how_to_fix=(
                "keep every statement of a revision in its one transaction (env.py's "
                "transaction_per_migration): do not COMMIT in op.execute()"
            ),
        )
    rerun_schema = _rerun(history, url, step, error=error, left_behind=difference)
    return FailureOutcome(step=step, error=error, rolled_back=False, rerun_schema=rerun_schema)


def fail_each_statement(
    history: History,
    url: URL,
    step: Step,
    *,
    only: Collection[str] | None = None,
    before: CatalogSnapshot | None = None,
) -> FailureOutcome:
    """Without transactional DDL: stop `step` after each of its statements in turn, and rerun.

    Leaves the database at the step (after its clean upgrade, or the last rerun).
    """
    with connect(url) as connection:
        fill_tables(connection, only=only)
    before = snapshot_of(url) if before is None else before
    clean = run_upgrade(history, url, step.revision, stop_after=None)
    if clean.error is not None:
        raise GateFailure(
            check="upgrade",
            problem=f"upgrade {step.before} → {step.revision} failed on a database holding rows",
            revision=step.revision,
            details=database_error_lines(clean.error),
            how_to_fix=UPGRADE_ON_ROWS_HOW_TO_FIX,
        )
    clean_schema = snapshot_of(url)
    total = len(clean.statements)
    listing = [f"statement {i}: {describe(s)}" for i, s in enumerate(clean.statements, 1)]
    for k in range(1, total):
        restore(history, url, step, before, for_check=CHECK)
        stopped = run_upgrade(history, url, step.revision, stop_after=k)
        if not stopped.injected:
            raise GateFailure(
                check=CHECK,
                problem=(
                    f"could not stop {step.revision} after statement {k} of {total}: this time "
                    f"it {'succeeded' if stopped.error is None else 'failed on its own'} after "
                    f"{len(stopped.statements)} statements"
                ),
                revision=step.revision,
                details=[*listing, *(database_error_lines(stopped.error) if stopped.error else [])],
                how_to_fix="a revision must run the same statements on the same database",
            )
        where = f"after statement {k} of {total} ({describe(clean.statements[k - 1])})"
        left_behind = before.diff(
            snapshot_of(url),
            before=f"schema at {step.before}",
            after=f"schema after {step.revision} stopped {where}",
        )
        rerun = upgrade_with(history, url, step.revision)
        if rerun.error is not None:
            raise GateFailure(
                check=CHECK,
                problem=(
                    f"{step.revision} stopped {where} leaves statements 1 to {k} committed "
                    "(no transactional DDL), and rerunning the upgrade fails: the database is "
                    "stuck between two revisions"
                ),
                revision=step.revision,
                details=[
                    *listing,
                    "left behind:",
                    *left_behind,
                    "rerun failure:",
                    *database_error_lines(rerun.error),
                ],
                how_to_fix=STATEMENT_RERUN_HOW_TO_FIX,
            )
        version = current_version(url)
        difference = clean_schema.diff(
            snapshot_of(url),
            before=f"schema after a clean upgrade to {step.revision}",
            after=f"schema after stopping {where} and a rerun",
        )
        if difference or version != step.revision:
            raise GateFailure(
                check=CHECK,
                problem=(
                    f"{step.revision} stopped {where}; the rerun succeeded but reached "
                    f"alembic_version {version} and a schema different from a clean upgrade's"
                ),
                revision=step.revision,
                details=[*listing, *difference],
                how_to_fix=STATEMENT_RERUN_HOW_TO_FIX,
            )
    return FailureOutcome(
        step=step,
        error=f"stopped after each of statements 1 to {total - 1}" if total > 1 else "",
        rolled_back=False,
        statements=total,
        stopped_after=tuple(range(1, total)),
    )


def _rerun(
    history: History,
    url: URL,
    step: Step,
    *,
    error: str,
    left_behind: list[str],
) -> CatalogSnapshot:
    """After a part-way failure of an autocommit revision, the rerun must succeed; its schema."""
    rerun = upgrade_with(history, url, step.revision)
    if rerun.error is not None:
        raise GateFailure(
            check=CHECK,
            problem=(
                f"{step.revision} failed part-way, left committed changes behind, and "
                "rerunning the upgrade fails: the database is stuck between two revisions"
            ),
            revision=step.revision,
            details=[
                f"first failure: {error}",
                "left behind:",
                *left_behind,
                "rerun failure:",
                *database_error_lines(rerun.error),
            ],
            how_to_fix=RERUN_HOW_TO_FIX,
        )
    return snapshot_of(url)


def require_clean_rerun(step: Step, clean: CatalogSnapshot, rerun: CatalogSnapshot) -> None:
    """Fail unless the schema a failed-and-rerun upgrade left is the clean upgrade's `clean`."""
    difference = clean.diff(
        rerun,
        before=f"schema after a clean upgrade to {step.revision}",
        after="schema after a failed upgrade and a rerun",
    )
    if difference:
        raise GateFailure(
            check=CHECK,
            problem=(
                f"{step.revision} failed part-way; the rerun succeeded but produced a "
                "different schema than a clean upgrade"
            ),
            revision=step.revision,
            details=difference,
            how_to_fix=RERUN_HOW_TO_FIX,
        )


class AtomicFailure(StepCheckBase):
    """The step's upgrade made to fail after its own statements: rolled back, or rerun cleanly."""

    name: ClassVar[str] = CHECK
    declarations: ClassVar[Declarations] = Declarations(
        needs=frozenset({Fact.AT_BEFORE}),
        disturbs=frozenset({Fact.AT_BEFORE, Fact.ROUND_TRIP}),
        finally_needs=frozenset({Fact.CLEAN_UPGRADE}),
    )

    def run(self, context: StepContext) -> bool:
        """Untouched when the failure rolled everything back (`fail_step` compared the catalog).

        Without transactional DDL the database ends at the step (`fail_each_statement`).
        """
        if not context.dialect.transactional_ddl:
            context.observations[CHECK] = fail_each_statement(
                context.history,
                context.url,
                context.step,
                only=context.tables,
                before=context.before,
            )
            return False
        outcome = fail_step(
            context.history,
            context.url,
            context.step,
            only=context.tables,
            before=context.before,
            patience=context.patience,
        )
        context.observations[CHECK] = outcome
        if outcome.rerun_schema is not None:
            context.wanted.add(Fact.CLEAN_UPGRADE)
        return outcome.rolled_back

    def finish(self, context: StepContext) -> None:
        """A rerun must have produced the schema of a clean upgrade, read later in the step."""
        outcome = context.observed(CHECK, FailureOutcome)
        if outcome is not None and outcome.rerun_schema is not None:
            assert context.clean_upgrade is not None, "the plan owes atomic-failure a clean upgrade"
            require_clean_rerun(context.step, context.clean_upgrade, outcome.rerun_schema)
