"""Check 16: the previous release still writes and reads the database at the new revision.

During a rolling deploy, and after an image rollback, the application of revision N runs
against the database migrated to N+1. So at every step, once the upgrade ran on rows
(`Fact.UPGRADED_ON_ROWS`), the gate replays what release N does, inside a transaction that is
rolled back:

- a write: one row per table of the step, of only the columns N's code names (server-defaulted
  and generated columns left out, as code relying on them leaves them out), with values the
  database at N accepted (`OldRelease.writes`, tried there and rolled back);
- a read: a SELECT of N's column names from N's tables.

That catches a dropped default on a NOT NULL column, a new NOT NULL column without a default
(the upgrade passes on an empty table, old writers fail), a renamed or dropped column, and a new
rule that old valid values break. A contract step that breaks old releases on purpose says so
next to its code: `breaks_previous_release = {"table.column" or "table": "reason"}`. A
"table.column" entry excuses that column missing and a refused write whose error names it; a
"table" entry excuses anything in that table. An entry that excuses nothing is stale and fails.
"""

from __future__ import annotations

from typing import ClassVar

from sqlalchemy import Connection, inspect, select
from sqlalchemy.exc import DBAPIError

from tests.migrations.gate.engine.declarations import valid_entries
from tests.migrations.gate.engine.moves import OldRelease
from tests.migrations.gate.engine.protocol import Declarations, Fact, StepCheckBase, StepContext
from tests.migrations.gate.engine.rows import describe_row, write_once
from tests.migrations.gate.engine.steps import database_error_lines
from tests.migrations.gate.failure import GateFailure

CHECK = "previous-release"
DECLARATION = "breaks_previous_release"
HOW_TO_FIX = (
    "the release before this one still runs against this schema during the deploy and after a "
    "rollback, so change it expand/contract: keep a column's server default while old code "
    "relies on it; add new columns nullable or with a server default; rename by adding the new "
    "column, copying, and dropping the old one releases later; add a rule old values break only "
    "once no running release writes them; or, for a contract step whose old release is gone, "
    f'declare it: {DECLARATION} = {{"table.column": "why no running release uses it"}}'
)


def _declared(context: StepContext) -> dict[str, str]:
    return valid_entries(
        context.history.script().get_revision(context.step.revision),
        DECLARATION,
        check=CHECK,
        shape='{"table.column": "why no running release needs it"}',
    )


class PreviousRelease(StepCheckBase):
    """Release N's writes and reads, replayed on the database at N+1 and rolled back."""

    name: ClassVar[str] = CHECK
    declarations: ClassVar[Declarations] = Declarations(needs=frozenset({Fact.UPGRADED_ON_ROWS}))

    def run(self, context: StepContext) -> bool:
        """Replay; fail on what the old release cannot do that nothing declares."""
        old = context.old_release
        assert old is not None, "the walk supplies the old release with the upgrade on rows"
        declared = _declared(context)
        used: set[str] = set()
        problems: list[str] = []
        with context.database.engine.connect() as connection:
            problems = _replay(connection, old, declared, used)
            connection.rollback()
        stale = sorted(set(declared) - used)
        if problems or stale:
            step = context.step
            raise GateFailure(
                check=CHECK,
                problem=(
                    f"the release at {step.before} cannot work on the database at "
                    f"{step.revision} ({context.history.name})"
                    if problems
                    else f"`{DECLARATION}` of {step.revision} excuses nothing"
                ),
                how_to_fix=HOW_TO_FIX
                if problems
                else f"remove the stale `{DECLARATION}` entries: the old release works there",
                revision=step.revision,
                details=problems
                + [f"`{DECLARATION}[{name!r}]` is stale: nothing it names broke" for name in stale],
            )
        return True


def _replay(
    connection: Connection, old: OldRelease, declared: dict[str, str], used: set[str]
) -> list[str]:
    """Each table's old read and write; problems not excused by `declared` (noting `used`)."""
    problems: list[str] = []
    leave_out = _missing(connection, old, declared, used, problems)
    readable: set[str] = set()
    for spec in old.schema.tables:
        skip = leave_out.get(spec.name, set())
        columns = [c for c in spec.table.columns if c.name not in skip]
        if not columns:
            continue
        readable.add(spec.name)
        nested = connection.begin_nested()
        try:
            connection.execute(select(*columns).limit(1)).all()
        except DBAPIError as error:
            listed = ", ".join(str(c.name) for c in columns)
            problems.append(f"table {spec.name}: the old read SELECT {listed} fails:")
            problems.extend(f"  {line}" for line in database_error_lines(error))
        finally:
            nested.rollback()
    writes = {table: [row] for table, row in old.writes.items() if table in readable}
    refused = write_once(connection, old.schema, writes, leave_out=leave_out).refused
    for table, refusal in refused.items():
        message = str(getattr(refusal, "orig", refusal))
        names = [
            name
            for name in declared
            if name == table
            or (name.startswith(f"{table}.") and f'"{name.split(".", 1)[1]}"' in message)
        ]
        if names:
            used.update(names)
            continue
        skip = leave_out.get(table, set())
        row = {k: v for k, v in old.writes[table].values.items() if k not in skip}
        problems.append(f"table {table}: the old write is refused: INSERT of {describe_row(row)}")
        problems.extend(f"  {line}" for line in database_error_lines(refusal))
    return problems


def _missing(
    connection: Connection,
    old: OldRelease,
    declared: dict[str, str],
    used: set[str],
    problems: list[str],
) -> dict[str, set[str]]:
    """Columns of the old release gone at the step, by table (a gone table: all of them)."""
    inspector = inspect(connection)
    existing = set(inspector.get_table_names())
    leave_out: dict[str, set[str]] = {}
    for spec in old.schema.tables:
        if spec.name not in existing:
            leave_out[spec.name] = {str(c.name) for c in spec.table.columns}
            if spec.name in declared:
                used.add(spec.name)
            else:
                problems.append(f"table {spec.name}: gone, and the old release uses it")
            continue
        now = {column["name"] for column in inspector.get_columns(spec.name)}
        for column in spec.table.columns:
            if column.name in now:
                continue
            leave_out.setdefault(spec.name, set()).add(str(column.name))
            name = f"{spec.name}.{column.name}"
            excuse = name if name in declared else spec.name if spec.name in declared else None
            if excuse is not None:
                used.add(excuse)
            else:
                problems.append(
                    f"table {spec.name}: column {column.name} is gone (renamed or dropped), "
                    "and the old release reads and writes it"
                )
    return leave_out
