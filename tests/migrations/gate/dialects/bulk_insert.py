"""One `INSERT … SELECT` per table over the numbers 1 to N: the part of a bulk fill that no
server does its own way.

Each dialect reads its catalog into `FillColumn`s, with the SQL expression it has for a column
over the row number (`value`), and says how it spells "the numbers 1 to N" (`insert_select`:
`generate_series` on PostgreSQL, `seq_1_to_N` on MariaDB). Written once here: the order (a
table after those its single-column foreign keys point at), a foreign key's value (an existing
key of the parent), which columns keep their own value (a default, an identity, a generation
expression), and why a table stayed empty (`FillReport.skipped`, for `engine/fill.py`'s second
chance with sample rows).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from tests.migrations.gate.dialects.base import FillReport


@dataclass(frozen=True)
class FillColumn:
    """What a bulk fill needs to know of one column."""

    name: str
    type_label: str
    """The server's name for its type, for `skipped` (`integer`, `varchar(20)`)."""
    not_null: bool
    keeps_its_own: bool
    """A default, an identity, AUTO_INCREMENT or a generation expression fills it."""
    references: str | None
    """`table.column` of a single-column foreign key, else None."""
    value: str | None
    """The dialect's SQL expression for it over the row number, None if it has none."""


InsertSelect = Callable[[str, Sequence[str], Sequence[str]], str | None]
"""(quoted table, quoted columns, value expressions) → the statement inserting N rows, or None
when the server cannot insert a row with no column given."""


def bulk_insert(
    connection: Connection, tables: Mapping[str, Sequence[FillColumn]], insert_select: InsertSelect
) -> FillReport:
    """Fill each of `tables`, parents first, one statement each, committing each."""
    report = FillReport()
    for table in dependency_order(tables):
        _fill_one(connection, table, tables[table], insert_select, report)
    return report


def dependency_order(tables: Mapping[str, Sequence[FillColumn]]) -> list[str]:
    """`tables` sorted so that a table comes after those its foreign keys reference (a cycle
    is broken where it is met)."""
    ordered: list[str] = []

    def visit(name: str, path: Sequence[str]) -> None:
        if name in ordered or name in path or name not in tables:
            return
        for column in tables[name]:
            if column.references:
                visit(column.references.partition(".")[0], [*path, name])
        ordered.append(name)

    for name in sorted(tables):
        visit(name, [])
    return ordered


def _fill_one(
    connection: Connection,
    table: str,
    columns: Sequence[FillColumn],
    insert_select: InsertSelect,
    report: FillReport,
) -> None:
    quote = connection.dialect.identifier_preparer.quote
    names: list[str] = []
    values: list[str] = []
    for column in columns:
        if column.keeps_its_own:
            continue
        value = column.value
        if column.references:
            parent, _, key = column.references.partition(".")
            value = f"(SELECT {quote(key)} FROM {quote(parent)} LIMIT 1)"
        if value is None:
            if column.not_null:
                report.skipped[table] = f"no value for {column.name} ({column.type_label})"
                return
            continue
        names.append(quote(column.name))
        values.append(value)
    statement = insert_select(quote(table), names, values)
    if statement is None:
        report.skipped[table] = "every column has a default or AUTO_INCREMENT"
        return
    try:
        result = connection.execute(text(statement))
        connection.commit()
    except DBAPIError as error:
        connection.rollback()
        report.skipped[table] = str(error.orig).strip().splitlines()[0]
        return
    report.inserted[table] = result.rowcount
