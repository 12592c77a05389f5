"""Check 10, online half: under a conflicting lock, each revision gives up; it never queues.

The outage this prevents: a migration's `ALTER TABLE` waits for ACCESS EXCLUSIVE behind one
long-running SELECT; every query that arrives after it queues behind the ALTER; the table is
down until the SELECT ends. With `lock_timeout` the ALTER gives up in a moment, the queue
drains, and the deploy can be retried.

For every revision that has tables before it, another session opens a transaction holding
ACCESS SHARE on all of them (what any SELECT holds), and the revision is upgraded with
`-x lock_timeout=20ms`. Acceptable outcomes:
- it fails with a lock-timeout error, soon, and the database is exactly as before (revision and
  catalog): it gave up cleanly;
- it succeeds: it needed no lock that conflicts with readers (a new table, a concurrent index).
Anything else fails the check: still waiting when the gate ends the other session (queueing),
giving up only after a long time, another error, or a changed database after giving up. (A
revision whose SQL commits part-way, through `autocommit_block()`, may leave its committed part
behind; `atomic.py` proves such a revision reruns to the clean schema.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from sqlalchemy import URL

from tests.migrations.gate.dialects import dialect_for
from tests.migrations.gate.dialects.base import CatalogSnapshot, LockMode
from tests.migrations.gate.engine.contention import current_version, upgrade_with, user_tables
from tests.migrations.gate.engine.history import History
from tests.migrations.gate.engine.protocol import Declarations, Fact, StepCheckBase, StepContext
from tests.migrations.gate.engine.render import render_revision
from tests.migrations.gate.engine.snapshots import snapshot_of
from tests.migrations.gate.engine.steps import BASE, Step, database_error_lines
from tests.migrations.gate.failure import GateFailure

CHECK = "lock-timeout"
LOCK_TIMEOUT = "20ms"
HOW_TO_FIX = (
    "alembic/env.py must SET lock_timeout before any DDL (it does: 5s by default, "
    "`-x lock_timeout=…` to change it) and no revision may RESET it or set it to 0. A revision "
    "that legitimately waits long on a busy table should be retried by the deploy, not made "
    "to queue: every query on the table would queue behind it."
)


@dataclass(frozen=True)
class LockWaitOutcome:
    """What one revision did with the tables locked by another session."""

    step: Step
    tables: tuple[str, ...]
    gave_up: bool
    elapsed: float


def upgrade_under_lock(
    history: History,
    url: URL,
    step: Step,
    *,
    patience: float = 20.0,
    give_up_within: float = 10.0,
    before: CatalogSnapshot | None = None,
) -> LockWaitOutcome:
    """On `url` (at `step.before`), let another session read every table; upgrade one step.

    `before`: the catalog at `step.before`, when the caller has it.
    """
    tables = user_tables(url)
    if not tables:
        return LockWaitOutcome(step=step, tables=(), gave_up=False, elapsed=0.0)
    before = snapshot_of(url) if before is None else before
    dialect = dialect_for(url)
    with dialect.hold_locks(url, tables, LockMode.READERS, patience=patience) as held:
        result = upgrade_with(history, url, step.revision, lock_timeout=LOCK_TIMEOUT)
    held_by = f"another session holding {held.mode} on {', '.join(tables)}"
    if held.ended_by_watchdog.is_set():
        raise GateFailure(
            check=CHECK,
            problem=(
                f"upgrading to {step.revision} queued behind {held_by} for {patience:.0f}s, "
                f"until the gate ended that session: lock_timeout={LOCK_TIMEOUT} never fired, "
                "so in production every query on those tables would have queued behind it"
            ),
            revision=step.revision,
            details=[
                f"elapsed: {result.elapsed:.1f}s",
                *(database_error_lines(result.error) if result.error else []),
            ],
            how_to_fix=HOW_TO_FIX,
        )
    if result.error is None:
        return LockWaitOutcome(
            step=step, tables=tuple(tables), gave_up=False, elapsed=result.elapsed
        )
    if not dialect.is_lock_timeout(result.error):
        raise GateFailure(
            check=CHECK,
            problem=f"upgrading to {step.revision} next to {held_by} failed, but not by timing out",
            revision=step.revision,
            details=database_error_lines(result.error),
            how_to_fix=(
                "the error is the revision's own, not the held lock's (a lock that is waited "
                "for too long gives a lock timeout): make upgrade() work on the database it "
                "meets, rows included, then this check judges its lock. Without contention the "
                "upgrade check runs it on an empty database, populated-upgrade on one holding "
                "rows (as this one may)"
            ),
        )
    if result.elapsed > give_up_within:
        raise GateFailure(
            check=CHECK,
            problem=(
                f"upgrading to {step.revision} gave up only after {result.elapsed:.1f}s "
                f"(lock_timeout={LOCK_TIMEOUT}): something waited without the timeout"
            ),
            revision=step.revision,
            details=database_error_lines(result.error),
            how_to_fix=HOW_TO_FIX,
        )
    if not commits_part_way(history, url, step):
        _require_untouched(url, step, before)
    return LockWaitOutcome(step=step, tables=tuple(tables), gave_up=True, elapsed=result.elapsed)


def commits_part_way(history: History, url: URL, step: Step) -> bool:
    """Whether a failure of `step` may leave part of it committed: an `autocommit_block()`, or
    any revision on a server without transactional DDL (MariaDB: statements 1 to k-1 stay when
    statement k gives up; atomic-failure proves the revision reruns to the clean schema)."""
    if not dialect_for(url).transactional_ddl:
        return True
    return render_revision(history, step.revision, "up").commits_part_way


def _require_untouched(url: URL, step: Step, before: CatalogSnapshot) -> None:
    version = current_version(url)
    after = snapshot_of(url)
    difference = before.diff(
        after,
        before=f"schema at {step.before}",
        after=f"schema after {step.revision} gave up",
    )
    if version != step.before or difference:
        raise GateFailure(
            check=CHECK,
            problem=(
                f"upgrading to {step.revision} gave up on the lock but left the database "
                f"changed (alembic_version: {version}, expected {step.before})"
            ),
            revision=step.revision,
            details=difference,
            how_to_fix=(
                "everything a revision does before a statement that can time out must be in "
                "the same transaction; work inside autocommit_block() commits at once, so it "
                "must come after the statements that take table locks, or be safe to rerun"
            ),
        )


class LockTimeout(StepCheckBase):
    """The step's upgrade next to a reader of every table: it gives up, or needs no such lock."""

    name: ClassVar[str] = CHECK
    declarations: ClassVar[Declarations] = Declarations(
        needs=frozenset({Fact.AT_BEFORE}), disturbs=frozenset({Fact.AT_BEFORE, Fact.ROUND_TRIP})
    )

    def applies_to(self, context: StepContext) -> bool:
        """Not the first step: before the first revision no table exists for anyone to hold."""
        return context.step.before != BASE

    def run(self, context: StepContext) -> bool:
        """Untouched when nothing was locked, or when it gave up and nothing commits part-way
        (`upgrade_under_lock` has then compared the catalog)."""
        history, step = context.history, context.step
        outcome = upgrade_under_lock(
            history, context.url, step, before=context.before, patience=context.patience
        )
        context.observations[CHECK] = outcome
        if not outcome.tables:
            return True
        return outcome.gave_up and not commits_part_way(history, context.url, step)
