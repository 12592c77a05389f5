"""PostgreSQL's bulk fill: `INSERT … SELECT … FROM generate_series()` per table.

Values are derived from each column's type category in `pg_type` (the row number as an integer,
`'row 7'` as text, the first label of an enum, …); columns with a default, an identity or a
generation expression keep theirs; a single-column foreign key takes an existing key of the
referenced table, which is filled first. A table these rules cannot satisfy is reported in
`FillReport.skipped` for the engine's second chance (`engine/fill.py`).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from tests.migrations.gate.dialects.base import VERSION_TABLE, FillReport

_COLUMNS = """
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), t.typcategory,
       t.typname, a.attnotnull, a.atthasdef, (a.attidentity <> '' OR a.attgenerated <> ''),
       (SELECT r.relname || '.' || ra.attname
        FROM pg_constraint k
        JOIN pg_class r ON r.oid = k.confrelid
        JOIN pg_attribute ra ON ra.attrelid = k.confrelid AND ra.attnum = k.confkey[1]
        WHERE k.contype = 'f' AND k.conrelid = c.oid AND k.conkey = ARRAY[a.attnum]
        LIMIT 1)
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_type t ON t.oid = a.atttypid
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relname <> :version_table
  AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY c.relname, a.attnum
"""


@dataclass
class _Column:
    name: str
    type_: str
    category: str
    type_name: str
    not_null: bool
    has_default: bool
    automatic: bool
    references: str | None


def _quote(connection: Connection, name: str) -> str:
    return connection.dialect.identifier_preparer.quote(name)


def _value(connection: Connection, column: _Column) -> str | None:
    """An SQL expression over the row number `g` for `column`, or None if it has none."""
    if column.references:
        table, _, key = column.references.partition(".")
        return f"(SELECT {_quote(connection, key)} FROM {_quote(connection, table)} LIMIT 1)"
    by_category = {
        "N": "g",
        "S": "'row ' || g",
        "B": "g % 2 = 0",
        "D": "now()",
        "T": "make_interval(secs => g)",
        "E": f"(enum_range(NULL::{column.type_}))[1]",
        "A": "'{}'",
        "I": "'10.0.0.1'",
    }
    by_type = {"uuid": "md5(g::text)::uuid", "json": "'{}'", "jsonb": "'{}'", "bytea": "'\\x00'"}
    expression = by_type.get(column.type_name) or by_category.get(column.category)
    if expression is None:
        return None
    return f"CAST({expression} AS {column.type_})"


def bulk_fill(connection: Connection, rows: int, only: Collection[str] | None) -> FillReport:
    """Insert `rows` rows into every table of `public` (or `only` those), committing each."""
    tables: dict[str, list[_Column]] = {}
    for row in connection.execute(text(_COLUMNS), {"version_table": VERSION_TABLE}):
        if only is None or row[0] in only:
            tables.setdefault(row[0], []).append(_Column(*row[1:]))
    connection.commit()
    report = FillReport()
    for table in _dependency_order(tables):
        _fill_one(connection, table, tables[table], rows, report)
    return report


def _dependency_order(tables: dict[str, list[_Column]]) -> list[str]:
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
    connection: Connection, table: str, columns: list[_Column], rows: int, report: FillReport
) -> None:
    names: list[str] = []
    values: list[str] = []
    for column in columns:
        if column.automatic or column.has_default:
            continue
        value = _value(connection, column)
        if value is None:
            if column.not_null:
                report.skipped[table] = f"no value for {column.name} ({column.type_})"
                return
            continue
        names.append(_quote(connection, column.name))
        values.append(value)
    target = _quote(connection, table)
    statement = (
        f"INSERT INTO {target} ({', '.join(names)}) SELECT {', '.join(values)} "
        f"FROM generate_series(1, {int(rows)}) AS g"
        if names
        else f"INSERT INTO {target} SELECT FROM generate_series(1, {int(rows)}) AS g"
    )
    try:
        result = connection.execute(text(statement))
        connection.commit()
    except DBAPIError as error:
        connection.rollback()
        report.skipped[table] = str(error.orig).strip().splitlines()[0]
        return
    report.inserted[table] = result.rowcount
