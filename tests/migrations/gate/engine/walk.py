"""The per-revision checks of the gate, on one database that climbs the history once.

One database walks base → head. At each step it holds the schema of `step.before`, and the
chosen checks (`checks.STEP_CHECKS` for the project, a single check for a self-test) run in the
order `protocol.plan_step` derives from their declarations, with the walk's own moves
(`moves.py`) where a check needs a fact no chosen check provides. The last item leaves the
database at the step, where the next step starts.

The first failure ends the walk (the database is in an unknown state after it) and names the
revision and the check. `stop_at` ends it early and on purpose: the project's walk stops before
the revision the upgrade check found broken, which is reported once, there.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from hypothesis import settings
from sqlalchemy import URL, Connection

from tests.migrations.gate.engine.history import History
from tests.migrations.gate.engine.moves import (
    UPGRADE_ON_ROWS_HOW_TO_FIX,
    restore,
    round_trip,
    upgrade_on_rows,
)
from tests.migrations.gate.engine.protocol import Move, Planned, StepCheck, StepContext, plan_step
from tests.migrations.gate.engine.relevance import tables_in_play
from tests.migrations.gate.engine.sessions import reusing_connections
from tests.migrations.gate.engine.steps import BASE, Step, steps, upgrade_cleanly
from tests.migrations.gate.engine.working import WorkingDatabase, working_database
from tests.support.servers import DatabaseServer

PATIENCE = 20.0
_T = TypeVar("_T")


def step_examples(profile_examples: int) -> int:
    """Hypothesis draws merged into one step's rows: a quarter of the profile's, at least 10."""
    return max(10, profile_examples // 4)


@dataclass(frozen=True)
class StepReport:
    """What the walk did at one step: which checks ran, what each saw, how long it took."""

    step: Step
    tables: tuple[str, ...]
    ran: tuple[str, ...]
    """The checks that judged this step (a check that does not apply is left out)."""
    observations: dict[str, object]
    seconds: float

    def observed(self, check: str, kind: type[_T]) -> _T | None:
        """What `check` recorded, if it recorded a `kind`."""
        value = self.observations.get(check)
        return value if isinstance(value, kind) else None


def _run_plan(context: StepContext, plan: Sequence[Planned]) -> tuple[str, ...]:
    """Run one step's plan; the names of the checks that ran."""
    history, step, url = context.history, context.step, context.url
    untouched = True
    ran: list[StepCheck] = []
    for item in plan:
        if item.if_wanted is not None and item.if_wanted not in context.wanted:
            continue
        if item.check is not None:
            if item.check.applies_to(context):
                untouched = item.check.run(context)
                ran.append(item.check)
        elif item.move is Move.RESTORE:
            if not untouched:
                restore(history, url, step, context.before, for_check=item.for_check)
                context.database.adopt(step.before, context.before, context.tables)
                untouched = True
        elif item.move is Move.ROUND_TRIP:
            context.clean_upgrade = round_trip(
                history, url, step, context.tables_for, for_check=item.for_check
            )
            untouched = False
        elif item.move is Move.UPGRADE_ON_ROWS:
            context.old_release = upgrade_on_rows(
                history,
                url,
                step,
                context.tables_for,
                check=item.for_check,
                problem=(
                    f"upgrade {step.before} → {step.revision} failed on a database holding rows"
                ),
                how_to_fix=UPGRADE_ON_ROWS_HOW_TO_FIX,
            )
        else:
            upgrade_cleanly(history, url, step)
    for check in ran:
        check.finish(context)
    return tuple(check.name for check in ran)


def walk_step(
    history: History,
    database: WorkingDatabase,
    step: Step,
    plan: Sequence[Planned],
    *,
    examples: int,
    patience: float = PATIENCE,
) -> StepReport:
    """Every planned check of `step` on `database` (at `step.before`); ends at the step."""
    started = time.monotonic()

    def in_play(connection: Connection) -> tuple[str, ...]:
        return tables_in_play(history, step, connection)

    with database.engine.connect() as connection:
        tables = in_play(connection)
        before = database.dialect.snapshot(connection)
        connection.commit()
    database.adopt(step.before, before, tables)
    context = StepContext(
        history=history,
        database=database,
        step=step,
        tables=tables,
        before=before,
        examples=examples,
        patience=patience,
        tables_for=in_play,
    )
    ran = _run_plan(context, plan)
    return StepReport(
        step=step,
        tables=tables,
        ran=ran,
        observations=context.observations,
        seconds=time.monotonic() - started,
    )


def walk_history(
    history: History,
    server: DatabaseServer,
    checks: Sequence[StepCheck],
    *,
    examples: int | None = None,
    scratch: URL | None = None,
    patience: float = PATIENCE,
    stop_at: str | None = None,
    on_step: Callable[[StepReport], None] | None = None,
) -> list[StepReport]:
    """Walk every step of `history` with `checks` on one database (`scratch`, emptied, or new).

    `examples`: hypothesis draws merged into each step's rows (default: a quarter of the
    profile's examples, at least 10). `patience`: how long an upgrade may queue behind a lock
    before the lock-timeout check calls it queueing. `stop_at`: a revision not to walk into
    (nor past). `on_step` hears of each step as soon as it passed (the matrix records it even
    when a later step fails).
    """
    draws = examples if examples is not None else step_examples(settings().max_examples)
    plan = plan_step(checks)
    reports: list[StepReport] = []
    with working_database(server, history, BASE, borrow=scratch) as database, reusing_connections():
        for step in steps(history):
            if step.revision == stop_at:
                break
            report = walk_step(history, database, step, plan, examples=draws, patience=patience)
            reports.append(report)
            if on_step is not None:
                on_step(report)
    return reports
