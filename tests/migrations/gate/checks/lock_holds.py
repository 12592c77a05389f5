"""Check 18: no revision holds ACCESS EXCLUSIVE on a table with rows for longer than the budget.

(ACCESS EXCLUSIVE is PostgreSQL's name; on MariaDB the locks that stop every query are the
metadata locks MDL_EXCLUSIVE and MDL_SHARED_NO_READ_WRITE: `Dialect.stops_every_query`.)

The timeouts (check 10) bound how long a migration *waits* for a lock; nothing else bounds how
long it *holds* one. While a revision holds ACCESS EXCLUSIVE on a table, every query on it (a
plain SELECT too) queues, and a long hold is an outage of that table: a rewrite, a full scan to
validate a constraint, a backfill inside the DDL transaction. So the upgrade on rows (the one
the step-on-rows checks judge, `Fact.UPGRADED_ON_ROWS`) is watched from another session
(`engine/lock_sampling.py`): which lock modes it took on which tables, and for how long. Every
hold is recorded for the gate's report; an ACCESS EXCLUSIVE hold on a table that held rows,
longer than `access-exclusive-budget-ms` (pyproject.toml, default 250), fails unless the
revision declares it next to its code:

    holds_access_exclusive = {"items": "why holding it that long is acceptable"}

An entry for a table whose hold stayed within the budget (or that was never held) excuses
nothing and fails as stale. Holds are sampled: one shorter than the sampling interval may go
unseen, and each measured hold is short of the real one by up to one interval at each end.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from tests.migrations.gate.engine.declarations import valid_entries
from tests.migrations.gate.engine.lint_policy import LOCK_BUDGET_KEY, load_lock_budget
from tests.migrations.gate.engine.lock_sampling import LockHold, LockSamples
from tests.migrations.gate.engine.protocol import Declarations, Fact, StepCheckBase, StepContext
from tests.migrations.gate.failure import GateFailure

CHECK = "lock-holds"
DECLARATION = "holds_access_exclusive"


def how_to_fix(tables: list[str], advice: str) -> str:
    """Make the hold short (`advice`: the dialect's way), or say why it may be long."""
    example = ", ".join(f'"{table}": "why holding it that long is acceptable"' for table in tables)
    return (
        f"every query on the table queues for as long as the lock is held: {advice}; if the "
        f"hold is acceptable, declare it: {DECLARATION} = {{{example}}}"
    )


@dataclass(frozen=True)
class JudgedHold:
    """One lock the step held, as the gate's report lists it."""

    table: str
    mode: str
    ms: float
    note: str
    """Why it passes or fails: the budget, the declaration, or an empty table."""


@dataclass(frozen=True)
class LockHoldsOutcome:
    """Every lock the upgrade on rows held at one step, judged against the budget."""

    budget_ms: int
    interval_ms: float
    holds: tuple[JudgedHold, ...]


def _declared(context: StepContext) -> dict[str, str]:
    return valid_entries(
        context.history.script().get_revision(context.step.revision),
        DECLARATION,
        check=CHECK,
        shape='{"table": "why holding it that long is acceptable"}',
    )


def _samples(context: StepContext) -> LockSamples:
    old = context.old_release
    assert old is not None, "the walk supplies the old release with the upgrade on rows"
    samples = old.locks
    if samples is None or samples.error is not None:
        raise GateFailure(
            check=CHECK,
            problem=f"the locks of {context.step.revision}'s upgrade could not be sampled",
            how_to_fix="make sure the gate can open one more session on the working database",
            revision=context.step.revision,
            details=[(samples.error if samples is not None else None) or "no samples were taken"],
        )
    return samples


class LockHolds(StepCheckBase):
    """The locks the upgrade on rows held, recorded; long ACCESS EXCLUSIVE holds failed."""

    name: ClassVar[str] = CHECK
    declarations: ClassVar[Declarations] = Declarations(needs=frozenset({Fact.UPGRADED_ON_ROWS}))

    def __init__(self, budget_ms: int | None = None) -> None:
        self.budget_ms = budget_ms
        """None: `access-exclusive-budget-ms` of pyproject.toml, read at each step."""

    def run(self, context: StepContext) -> bool:
        """Judge every hold; fail on undeclared long ones and on stale declarations."""
        samples = _samples(context)
        budget = self.budget_ms if self.budget_ms is not None else load_lock_budget()
        declared = _declared(context)
        old = context.old_release
        populated = {table for table, rows in (old.rows if old else {}).items() if rows > 0}
        stops_every_query = context.dialect.stops_every_query
        judged: list[JudgedHold] = []
        over: list[LockHold] = []
        for hold in samples.holds:
            note = ""
            if stops_every_query(hold.mode) and hold.table not in populated:
                note = "table held no rows"
            elif stops_every_query(hold.mode) and hold.ms <= budget:
                note = f"within the {budget} ms budget"
            elif stops_every_query(hold.mode):
                over.append(hold)
                reason = declared.get(hold.table)
                note = (
                    f"over the {budget} ms budget, declared: {reason}"
                    if reason
                    else f"over the {budget} ms budget"
                )
            if hold.ms < samples.interval_ms:
                brief = f"seen once: shorter than the {samples.interval_ms:.0f} ms between samples"
                note = f"{note}; {brief}" if note else brief
            judged.append(JudgedHold(hold.table, hold.mode, hold.ms, note))
        context.observations[CHECK] = LockHoldsOutcome(budget, samples.interval_ms, tuple(judged))
        undeclared = [hold for hold in over if hold.table not in declared]
        stale = sorted(set(declared) - {hold.table for hold in over})
        if undeclared or stale:
            raise _failure(
                context,
                budget=budget,
                samples=samples,
                undeclared=undeclared,
                stale=stale,
                judged=judged,
            )
        return True


def _longest_stopping_hold(
    context: StepContext, samples: LockSamples, table: str
) -> LockHold | None:
    """The longest hold on `table` of a mode that stops every query, if any was seen."""
    held = [
        hold
        for hold in samples.holds
        if hold.table == table and context.dialect.stops_every_query(hold.mode)
    ]
    return max(held, key=lambda hold: hold.ms, default=None)


def _failure(
    context: StepContext,
    *,
    budget: int,
    samples: LockSamples,
    undeclared: list[LockHold],
    stale: list[str],
    judged: list[JudgedHold],
) -> GateFailure:
    """One failure for the step: every undeclared long hold and every stale entry."""
    step = context.step
    old = context.old_release
    rows = old.rows if old is not None else {}
    details = [
        f"{hold.table}: {hold.mode} held {hold.ms:.0f} ms, over the {budget} ms budget "
        f"(`{LOCK_BUDGET_KEY}`), with {rows.get(hold.table, 0)} sample row(s) in it; every "
        f"query on {hold.table} queued behind it, and on more rows it may last longer"
        for hold in undeclared
    ]
    details += [
        f"`{DECLARATION}[{table!r}]` is stale: {step.revision} "
        + (
            f"held {hold.mode} on {table} {hold.ms:.0f} ms, within the budget"
            if (hold := _longest_stopping_hold(context, samples, table)) is not None
            else f"never held {context.dialect.exclusive_lock} on {table}"
        )
        for table in stale
    ]
    details.append(f"locks the upgrade held (sampled every {samples.interval_ms:.0f} ms):")
    details += [f"  {h.table} {h.mode} {h.ms:.0f} ms {h.note}".rstrip() for h in judged]
    if undeclared:
        names = ", ".join(hold.table for hold in undeclared)
        longest = max(hold.ms for hold in undeclared)
        modes = " and ".join(sorted({hold.mode for hold in undeclared}))
        problem = (
            f"{step.revision} held {modes} on {names} for "
            f"{longest:.0f} ms, over the {budget} ms budget ({context.history.name})"
        )
        fix = how_to_fix([hold.table for hold in undeclared], context.dialect.lock_hold_advice)
        if stale:
            fix += f"; and remove the stale `{DECLARATION}` entries"
    else:
        problem = f"`{DECLARATION}` of {step.revision} excuses nothing"
        fix = f"remove the stale `{DECLARATION}` entries: those holds are within the budget"
    return GateFailure(
        check=CHECK, problem=problem, how_to_fix=fix, revision=step.revision, details=details
    )
