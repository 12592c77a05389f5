"""Check 17: after an upgrade on rows, the next row with a default key collides with no row.

A revision that recreates a table and copies its rows with their ids (`CREATE TABLE
widgets_new …; INSERT INTO widgets_new (id, …) SELECT id, … FROM widgets; DROP; RENAME`)
leaves the new table's sequence at its start, behind the ids it copied: the first insert after
the deploy fails with a duplicate key. The row generators skip rows the database refuses, so
nothing else notices. Here, at the step's revision with the rows of `before` still there, every
table of the step with a key the database fills (the dialect finds them: identity, serial) gets
one row with that key left to its default, inside a transaction that is rolled back. A refused
insert is a failure, never skipped; the sequence value it consumed is not part of the catalog
snapshot, so it leaves no trace the other checks see.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from sqlalchemy import Table, func, select

from tests.migrations.gate.engine.protocol import Declarations, Fact, StepCheckBase, StepContext
from tests.migrations.gate.engine.rows import SchemaSpec, reflect_schema, sample_rows, write_once
from tests.migrations.gate.engine.steps import database_error_lines
from tests.migrations.gate.failure import GateFailure

CHECK = "sequences"
HOW_TO_FIX = (
    "after copying rows with their ids, move the sequence past them in the same revision: "
    "`SELECT setval(pg_get_serial_sequence('t', 'id'), (SELECT max(id) FROM t))`, or for an "
    "identity column `ALTER TABLE t ALTER COLUMN id RESTART WITH <max + 1>` (computed in SQL); "
    "on MariaDB, `ALTER TABLE t AUTO_INCREMENT = <max + 1>`; "
    "or keep the table and ALTER it instead of recreating it"
)


def _table(schema: SchemaSpec, name: str) -> Table | None:
    spec = schema.table(name)
    return None if spec is None else spec.table


@dataclass(frozen=True)
class SequencesOutcome:
    """The keys probed at one step, and the ones no sample row could be written for."""

    probed: tuple[str, ...]
    unprobed: dict[str, str]


class Sequences(StepCheckBase):
    """One default-key insert per table with a generated key, at the step, rolled back."""

    name: ClassVar[str] = CHECK
    declarations: ClassVar[Declarations] = Declarations(needs=frozenset({Fact.UPGRADED_ON_ROWS}))

    def run(self, context: StepContext) -> bool:
        """Probe each generated key; fail on a refused insert or a key already taken."""
        step, dialect = context.step, context.dialect
        probed: list[str] = []
        unprobed: dict[str, str] = {}
        with context.database.engine.connect() as connection:
            keys = dialect.generated_keys(connection, context.tables_for(connection))
            schema = reflect_schema(connection, only={key.table for key in keys})
            highest = {
                key: connection.scalar(select(func.max(table.c[key.column])))
                for key in keys
                if (table := _table(schema, key.table)) is not None
            }
            # Parents first, in one transaction rolled back: a child's foreign key points at
            # the parent row just probed.
            written = write_once(connection, schema, sample_rows(schema))
            for key in keys:
                spec = schema.table(key.table)
                if spec is None or spec.skipped_because is not None:
                    unprobed[key.table] = (spec and spec.skipped_because) or "not reflected"
                    continue
                error = written.refused.get(key.table)
                label = f"{key.table}.{key.column} ({key.how})"
                given = written.stored.get(key.table, {}).get(key.column)
                top = highest.get(key)
                behind = given is not None and top is not None and given <= top
                if key.table in written.accepted and not behind:
                    probed.append(label)
                elif behind or (error is not None and dialect.is_duplicate_key(error, key.column)):
                    outcome = (
                        f"gave {key.column} = {given!r}: the rows copied past it collide with "
                        "the inserts after it"
                        if behind
                        else "was refused"
                    )
                    raise GateFailure(
                        check=CHECK,
                        problem=(
                            f"after upgrading to {step.revision} on rows, the sequence of "
                            f"{key.table}.{key.column} is behind the rows: new rows get values "
                            f"existing rows have ({context.history.name})"
                        ),
                        how_to_fix=HOW_TO_FIX,
                        revision=step.revision,
                        details=[
                            f"INSERT INTO {key.table} with {key.column} left to its default "
                            f"({key.how}) {outcome}; the highest {key.column} is {top!r}",
                            *(
                                database_error_lines(error)
                                if error is not None and not behind
                                else []
                            ),
                        ],
                    )
                else:
                    unprobed[key.table] = (
                        database_error_lines(error)[0] if error else "no sample row for it"
                    )
            connection.rollback()
        context.observations[CHECK] = SequencesOutcome(probed=tuple(probed), unprobed=unprobed)
        return True
