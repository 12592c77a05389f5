"""MariaDB's bulk fill: `INSERT … SELECT … FROM seq_1_to_<rows>` per table.

The SEQUENCE engine (compiled into MariaDB, active by default) answers `seq_1_to_N` with the
numbers 1 to N, as `generate_series` does on PostgreSQL. Values come from each column's
DATA_TYPE in information_schema (the row number as a number, `'row 7'` cut to the column's
length as text, the first label of an ENUM, NOW() for times); columns with a default,
AUTO_INCREMENT or a generation expression keep theirs; a single-column foreign key takes an
existing key of the referenced table, filled first. A table these rules cannot satisfy (a CHECK
refuses the values, say) is reported in `FillReport.skipped` for `engine/fill.py`'s second
chance.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from tests.migrations.gate.dialects.base import VERSION_TABLE, FillReport

_COLUMNS = """
SELECT c.TABLE_NAME, c.COLUMN_NAME, c.DATA_TYPE, c.COLUMN_TYPE, c.IS_NULLABLE = 'NO',
       c.COLUMN_DEFAULT IS NOT NULL AND c.COLUMN_DEFAULT <> 'NULL',
       c.EXTRA LIKE '%auto_increment%' OR c.GENERATION_EXPRESSION IS NOT NULL
           OR c.EXTRA LIKE '%GENERATED%',
       c.CHARACTER_MAXIMUM_LENGTH,
       (SELECT CONCAT(k.REFERENCED_TABLE_NAME, '.', k.REFERENCED_COLUMN_NAME)
        FROM information_schema.KEY_COLUMN_USAGE k
        WHERE k.TABLE_SCHEMA = c.TABLE_SCHEMA AND k.TABLE_NAME = c.TABLE_NAME
          AND k.COLUMN_NAME = c.COLUMN_NAME AND k.REFERENCED_TABLE_NAME IS NOT NULL
        LIMIT 1)
FROM information_schema.COLUMNS c
JOIN information_schema.TABLES t
  ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME
WHERE c.TABLE_SCHEMA = DATABASE() AND t.TABLE_TYPE = 'BASE TABLE'
  AND c.TABLE_NAME <> :version_table
ORDER BY c.TABLE_NAME, c.ORDINAL_POSITION
"""
_NUMBERS = {"tinyint", "smallint", "mediumint", "int", "bigint", "decimal", "float", "double"}
_TEXTS = {"char", "varchar", "tinytext", "text", "mediumtext", "longtext"}
_TIMES = {"date", "datetime", "timestamp", "time"}
_BINARIES = {"binary", "varbinary", "blob", "tinyblob", "mediumblob", "longblob"}


@dataclass
class _Column:
    name: str
    data_type: str
    column_type: str
    not_null: bool
    has_default: bool
    automatic: bool
    length: int | None
    references: str | None


def _quote(connection: Connection, name: str) -> str:
    return connection.dialect.identifier_preparer.quote(name)


def _value(connection: Connection, column: _Column) -> str | None:
    """An SQL expression over the row number `seq` for `column`, or None if it has none."""
    if column.references:
        table, _, key = column.references.partition(".")
        return f"(SELECT {_quote(connection, key)} FROM {_quote(connection, table)} LIMIT 1)"
    kind = column.data_type.lower()
    first_label = f"SUBSTRING_INDEX(SUBSTRING_INDEX({_literal(column.column_type)}, , 2), , -1)"
    by_type = {
        **dict.fromkeys(_NUMBERS, "seq"),
        **dict.fromkeys(_TEXTS, f"LEFT(CONCAT('row ', seq), {int(column.length or 10)})"),
        **dict.fromkeys(_TIMES, "NOW()"),
        **dict.fromkeys(_BINARIES, "UNHEX('00')"),
        "year": "2000 + seq % 100",
        "enum": first_label,
        "set": first_label,
        "json": "'{}'",
    }
    if column.column_type.lower() == "tinyint(1)":
        return "seq % 2"
    return by_type.get(kind)


def _literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def bulk_fill(connection: Connection, rows: int, only: Collection[str] | None) -> FillReport:
    """Insert `rows` rows into every base table (or `only` those), committing each."""
    tables: dict[str, list[_Column]] = {}
    for row in connection.execute(text(_COLUMNS), {"version_table": VERSION_TABLE}):
        if only is None or row[0] in only:
            tables.setdefault(str(row[0]), []).append(
                _Column(
                    name=str(row[1]),
                    data_type=str(row[2]),
                    column_type=str(row[3]),
                    not_null=bool(row[4]),
                    has_default=bool(row[5]),
                    automatic=bool(row[6]),
                    length=None if row[7] is None else int(row[7]),
                    references=None if row[8] is None else str(row[8]),
                )
            )
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
                report.skipped[table] = f"no value for {column.name} ({column.column_type})"
                return
            continue
        names.append(_quote(connection, column.name))
        values.append(value)
    if not names:
        report.skipped[table] = "every column has a default or AUTO_INCREMENT"
        return
    statement = (
        f"INSERT INTO {_quote(connection, table)} ({', '.join(names)}) "
        f"SELECT {', '.join(values)} FROM seq_1_to_{int(rows)}"
    )
    try:
        result = connection.execute(text(statement))
        connection.commit()
    except DBAPIError as error:
        connection.rollback()
        report.skipped[table] = str(error.orig).strip().splitlines()[0]
        return
    report.inserted[table] = result.rowcount
