"""Check 3: the stairway, up → down → up for every revision, on a database that holds rows.

Rows go in before each of the three moves (representative values reflected from the schema at
that moment), so a downgrade that only works on empty tables, or an upgrade that trips over
what its own downgrade left behind ("type … already exists"), fails here, naming the move.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

from sqlalchemy import URL, func, select

from tests.migrations.gate.engine.history import History
from tests.migrations.gate.engine.relevance import TablesFor
from tests.migrations.gate.engine.rows import insert_rows, reflect_schema, sample_rows
from tests.migrations.gate.engine.sessions import connect
from tests.migrations.gate.engine.steps import Step, run_step, steps

CHECK = "stairway"


def seed_rows(url: URL, tables_for: TablesFor | None = None) -> list[str]:
    """Insert representative rows into every table as it is now; describe what is there.

    `tables_for` narrows "every table" to the ones it names (asked at this moment, so tables the
    step created count after its upgrade).
    """
    with connect(url) as connection:
        only = None if tables_for is None else tables_for(connection)
        schema = reflect_schema(connection, only=only)
        insert_rows(connection, schema, sample_rows(schema))
        counts = [
            f"{spec.name}: {connection.scalar(select(func.count()).select_from(spec.table))}"
            for spec in schema.tables
        ]
        connection.commit()
    return [f"rows per table: {', '.join(counts) or 'no tables'}"]


Move = tuple[Callable[[], None], str, str]
"""An Alembic command, the problem if it fails, and how to fix that."""


def _moves(history: History, url: URL, step: Step) -> tuple[Move, Move, Move]:
    return (
        (
            partial(history.upgrade, url, step.revision),
            f"upgrade {step.before} → {step.revision} failed on a database holding rows",
            "make upgrade() work on existing rows: give new NOT NULL columns a server_default, "
            "clean or backfill data before adding a constraint it must satisfy",
        ),
        (
            partial(history.downgrade, url, step.before),
            f"downgrade {step.revision} → {step.before} failed on a database holding rows",
            "make downgrade() work on rows written at this revision (e.g. drop the constraint "
            "before the column, convert values before narrowing a type, drop objects in the "
            "reverse order upgrade() created them)",
        ),
        (
            partial(history.upgrade, url, step.revision),
            f"upgrading {step.revision} again after its downgrade failed: the downgrade left "
            "something behind that upgrade() creates",
            "drop in downgrade() everything upgrade() creates, including enum types "
            "(`sa.Enum(...).drop(op.get_bind())` or `op.execute('DROP TYPE …')`), sequences, "
            "functions and indexes; the downgrade-leaves-no-trace check shows the exact leftover",
        ),
    )


def _play(
    history: History, url: URL, step: Step, moves: Sequence[Move], tables_for: TablesFor | None
) -> None:
    for action, problem, how_to_fix in moves:
        context = seed_rows(url, tables_for)
        run_step(
            action,
            check=CHECK,
            problem=f"{problem} ({history.name})",
            how_to_fix=how_to_fix,
            revision=step.revision,
            context=context,
        )


def check_stairway_step(
    history: History, url: URL, step: Step, *, tables_for: TablesFor | None = None
) -> None:
    """On `url` (at `step.before`): seed, up, seed, down, seed, up again. Leaves it at the step.

    Rows go into the tables `tables_for` names at each move (None: all of them).
    """
    _play(history, url, step, _moves(history, url, step), tables_for)


def upgrade_again(
    history: History, url: URL, step: Step, *, tables_for: TablesFor | None = None
) -> None:
    """The stairway's last move alone: seed, upgrade after a down (the walk did up and down)."""
    _play(history, url, step, _moves(history, url, step)[2:], tables_for)


def check_stairway(history: History, url: URL) -> None:
    """Every step in order on one database, from `url` at base up to head."""
    for step in steps(history):
        check_stairway_step(history, url, step)
