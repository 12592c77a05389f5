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

from tests.migrations.gate.dialects.base import VERSION_TABLE, FillReport
from tests.migrations.gate.dialects.bulk_insert import FillColumn, bulk_insert

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


@dataclass(frozen=True)
class _Column:
    data_type: str
    column_type: str
    length: int | None


def _value(column: _Column) -> str | None:
    """An SQL expression over the row number `seq` for `column`, or None if it has none."""
    kind = column.data_type.lower()
    labels = _literal(column.column_type)  # enum('a','b'): the first label is between ' 1 and 2
    quote_mark = _literal("'")
    first_label = f"SUBSTRING_INDEX(SUBSTRING_INDEX({labels}, {quote_mark}, 2), {quote_mark}, -1)"
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
    tables: dict[str, list[FillColumn]] = {}
    for row in connection.execute(text(_COLUMNS), {"version_table": VERSION_TABLE}):
        if only is None or row[0] in only:
            typed = _Column(
                data_type=str(row[2]),
                column_type=str(row[3]),
                length=None if row[7] is None else int(row[7]),
            )
            tables.setdefault(str(row[0]), []).append(
                FillColumn(
                    name=str(row[1]),
                    type_label=typed.column_type,
                    not_null=bool(row[4]),
                    keeps_its_own=bool(row[5]) or bool(row[6]),
                    references=None if row[8] is None else str(row[8]),
                    value=_value(typed),
                )
            )
    connection.commit()

    def insert_select(table: str, names: Sequence[str], values: Sequence[str]) -> str | None:
        if not names:
            return None  # MariaDB has no INSERT … SELECT of a row with no column
        return (
            f"INSERT INTO {table} ({', '.join(names)}) "
            f"SELECT {', '.join(values)} FROM seq_1_to_{int(rows)}"
        )

    return bulk_insert(connection, tables, insert_select)
