"""Check 19: after every revision, the app role can still create, read, update and delete rows.

The API connects as `items_app` (`app/roles.py`), which may only use rows; migrations run as
the schema's owner, and the app gets its rights on new tables from the owner's default
privileges. A revision that creates a table those defaults do not cover (created as another
role), revokes a grant, or turns on row-level security without a policy the app passes, migrates
cleanly and passes every other check: the first request on the table fails with
`permission denied` (or, under row-level security, sees nothing). So at each step, with the rows
of `before` still there, the gate asks the catalog what the app role lacks on every table of the
schema, then becomes the app role (`SET LOCAL ROLE`) and, on each table of the step, inserts a
row, reads it, updates it and deletes it, and counts the rows the app sees against the rows
there are. Everything is rolled back; only consumed sequence values remain, which no catalog
snapshot holds.

The working database is set up the way production is (`dialects/.../privileges.py`): default
privileges for the migrating role, so the project's revisions need no GRANT of their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from sqlalchemy import Connection, Table, func, literal_column, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.elements import Label

from tests.migrations.gate.dialects.base import Dialect
from tests.migrations.gate.engine.protocol import Declarations, Fact, StepCheckBase, StepContext
from tests.migrations.gate.engine.rows import (
    Row,
    RowsPlan,
    SchemaSpec,
    TableSpec,
    _point_at_parents,
    reflect_schema,
    sample_rows,
)
from tests.migrations.gate.engine.steps import database_error_lines
from tests.migrations.gate.failure import GateFailure

CHECK = "app-privileges"


@dataclass(frozen=True)
class PrivilegesOutcome:
    """What the check did at one step: tables it checked in the catalog, tables on which the
    app role did a whole insert-read-update-delete, and tables it could not write a row to."""

    checked: tuple[str, ...]
    round_tripped: tuple[str, ...]
    unprobed: dict[str, str]


@dataclass
class _Probe:
    """One step's attempts as the app role: what it could not do, what it did, what it skipped."""

    dialect: Dialect
    lacking: frozenset[str]
    """Tables the catalog says the app role lacks privileges on: not tried (the catalog said)."""
    problems: dict[str, list[str]]
    done: list[str]
    unprobed: dict[str, str]

    def refused(self, table: str, action: str, error: DBAPIError) -> bool:
        """Note `error` on `table`: a problem if it is a missing privilege, else unprobed."""
        if self.dialect.is_insufficient_privilege(error):
            self.problems.setdefault(table, []).append(
                f"{action} as the app role was refused: {database_error_lines(error)[0]}"
            )
        else:
            self.unprobed[table] = f"{action}: {database_error_lines(error)[0]}"
        return False


def _attempt(connection: Connection, probe: _Probe, table: str, action: str, sql: Any) -> Any:
    """Run `sql` in a savepoint; its result, or None after noting why it was refused."""
    try:
        with connection.begin_nested():
            return connection.execute(sql)
    except DBAPIError as error:
        probe.refused(table, action, error)
        return None


@dataclass(frozen=True)
class _Place:
    """Where the row a probe wrote is: a WHERE clause and its parameters."""

    where: str
    params: dict[str, Any]

    def statement(self, sql: str) -> Any:
        """`sql` followed by this WHERE, its parameters bound."""
        return text(f"{sql} {self.where}").bindparams(**self.params)


def _address_place(address: str, value: object) -> _Place:
    """The row by its physical place (`ctid`): works on a table without a primary key."""
    return _Place(f"WHERE {address} = CAST(:place AS tid)", {"place": str(value)})


def _key_place(connection: Connection, table: Table, row: Row) -> _Place | None:
    """The row by its primary key, on a server with no physical row address (MariaDB)."""
    columns = list(table.primary_key.columns)
    if not columns:
        return None
    quote = connection.dialect.identifier_preparer.quote
    where = " AND ".join(f"{quote(str(c.name))} = :key_{i}" for i, c in enumerate(columns))
    return _Place(f"WHERE {where}", {f"key_{i}": row[c.name] for i, c in enumerate(columns)})


def _insert(
    connection: Connection,
    spec: TableSpec,
    plan: RowsPlan,
    written: dict[str, list[Row]],
    address: str | None,
) -> tuple[_Place | None, DBAPIError | None, str | None]:
    """As the app role, insert the first row of `plan` the table takes, in a savepoint kept
    (its children point at it); where it is, or the first refusal, or why it cannot say."""
    error: DBAPIError | None = None
    for generated in plan.get(spec.name, ()):
        values = dict(generated.values)
        if not _point_at_parents(spec, generated, values, written):
            continue
        returned: list[Any] = list(spec.table.columns)
        if address is not None:
            located: Label[Any] = literal_column(address).label("_gate_place")
            returned.append(located)
        insert = spec.table.insert().values(values).returning(*returned)
        try:
            with connection.begin_nested():
                row = dict(connection.execute(insert).mappings().one())
        except DBAPIError as refused:
            error = error or refused
            continue
        if address is not None:
            place: _Place | None = _address_place(address, row.pop("_gate_place"))
        else:
            place = _key_place(connection, spec.table, row)
        written[spec.name] = [row]
        if place is None:
            return None, None, "no primary key to find the written row by"
        return place, None, None
    return None, error, None


def _round_trip(connection: Connection, schema: SchemaSpec, probe: _Probe) -> None:
    """As the app role: insert, read and update a row per table (parents first), then delete
    them (children first)."""
    plan = sample_rows(schema)
    written: dict[str, list[Row]] = {}
    places: dict[str, _Place] = {}
    address = probe.dialect.row_address
    for spec in schema.tables:
        if spec.skipped_because is not None or spec.name in probe.lacking:
            probe.unprobed.setdefault(spec.name, spec.skipped_because or "lacks privileges")
            continue
        place, error, unlocatable = _insert(connection, spec, plan, written, address)
        if place is not None:
            places[spec.name] = place
        elif error is not None:
            probe.refused(spec.name, "INSERT", error)
        else:
            probe.unprobed.setdefault(spec.name, unlocatable or "no sample row for it")
    for spec in schema.tables:
        if spec.name in places and not _read_and_update(connection, spec.table, places, probe):
            places.pop(spec.name)
    for spec in reversed(schema.tables):
        if spec.name not in places:
            continue
        delete = places[spec.name].statement(f"DELETE FROM {_quoted(connection, spec.table)}")
        result = _attempt(connection, probe, spec.name, "DELETE", delete)
        if result is not None and _rows(result) != 1:
            _invisible(probe, spec.name, "DELETE of the row it wrote deleted nothing")
        elif result is not None:
            probe.done.append(spec.name)


def _read_and_update(
    connection: Connection, table: Table, places: dict[str, _Place], probe: _Probe
) -> bool:
    """SELECT and UPDATE the row at `places[table]` as the app role; False if either failed."""
    return _read(connection, table, places[str(table.name)], probe) and _update(
        connection, table, places, probe
    )


def _read(connection: Connection, table: Table, place: _Place, probe: _Probe) -> bool:
    name = str(table.name)
    count = place.statement(f"SELECT count(*) FROM {_quoted(connection, table)}")
    seen = _attempt(connection, probe, name, "SELECT", count)
    if seen is None:
        return False
    if seen.scalar() != 1:
        return _invisible(probe, name, "SELECT does not see the row it just wrote")
    return True


def _update(connection: Connection, table: Table, places: dict[str, _Place], probe: _Probe) -> bool:
    """UPDATE the row; where rows have a physical address the row moves: note its new place."""
    name, quoted = str(table.name), _quoted(connection, table)
    column = connection.dialect.identifier_preparer.quote(str(next(iter(table.columns)).name))
    address, place = probe.dialect.row_address, places[name]
    update = place.statement(f"UPDATE {quoted} SET {column} = {column}")
    if address is not None:
        update = text(f"{update.text} RETURNING {address}").bindparams(**place.params)
    updated = _attempt(connection, probe, name, "UPDATE", update)
    if updated is None:
        return False
    moved = updated.scalars().all() if address is not None else None
    if (len(moved) if moved is not None else _rows(updated)) != 1:
        return _invisible(probe, name, "UPDATE of the row it wrote updated nothing")
    if address is not None and moved is not None:
        places[name] = _address_place(address, moved[0])
    return True


def _count_as_app(connection: Connection, probe: _Probe, table: Table, there: int) -> None:
    """The app role sees every row of `table` there is (`there`, counted by the owner)."""
    name = str(table.name)
    seen = _attempt(connection, probe, name, "SELECT", select(func.count()).select_from(table))
    if seen is not None and (count := int(seen.scalar() or 0)) < there:
        _invisible(probe, name, f"SELECT sees {count} of its {there} rows")


def _invisible(probe: _Probe, table: str, what: str) -> bool:
    probe.problems.setdefault(table, []).append(f"{what} (row-level security?)")
    return False


def _rows(result: Any) -> int:
    return int(result.rowcount)


def _quoted(connection: Connection, table: Table) -> str:
    return str(connection.dialect.identifier_preparer.format_table(table))


class AppPrivileges(StepCheckBase):
    """At the step on rows, as the app role: every table usable for CRUD; rolled back."""

    name: ClassVar[str] = CHECK
    declarations: ClassVar[Declarations] = Declarations(needs=frozenset({Fact.UPGRADED_ON_ROWS}))

    def run(self, context: StepContext) -> bool:
        """Fail naming each table the app role cannot fully use, and what it lacks."""
        step, dialect = context.step, context.dialect
        with context.database.engine.connect() as connection:
            every = dialect.user_tables(connection)
            lacking = dialect.missing_app_privileges(connection, every)
            probe = _Probe(
                dialect=dialect,
                lacking=frozenset(lacking),
                problems={table: list(wrong) for table, wrong in lacking.items()},
                done=[],
                unprobed={},
            )
            schema = reflect_schema(connection, only=context.tables_for(connection))
            there = {
                spec.name: int(connection.scalar(select(func.count()).select_from(spec.table)) or 0)
                for spec in schema.tables
                if spec.name not in lacking
            }
            with dialect.acting_as_app_role(connection) as app:
                for spec in schema.tables:
                    if spec.name in there:
                        _count_as_app(app, probe, spec.table, there[spec.name])
                _round_trip(app, schema, probe)
            connection.rollback()
            security = dialect.row_security(connection, sorted(probe.problems))
        if probe.problems:
            raise GateFailure(
                check=CHECK,
                problem=(
                    f"after upgrading to {step.revision}, the app role cannot use "
                    f"{', '.join(sorted(probe.problems))} as it must: every row, and no DDL "
                    f"({context.history.name})"
                ),
                how_to_fix=dialect.app_privileges_advice,
                revision=step.revision,
                details=[
                    f"{table}: {problem}"
                    for table in sorted(probe.problems)
                    for problem in [*probe.problems[table], *_security(security, table)]
                ],
            )
        context.observations[CHECK] = PrivilegesOutcome(
            checked=tuple(every), round_tripped=tuple(sorted(probe.done)), unprobed=probe.unprobed
        )
        return True


def _security(security: dict[str, str], table: str) -> list[str]:
    return [security[table]] if table in security else []
