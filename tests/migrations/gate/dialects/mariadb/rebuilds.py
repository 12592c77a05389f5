"""Which tables MariaDB rebuilt: InnoDB's table id, keyed by a name-derived key.

On PostgreSQL a rewrite keeps the table's OID and gives it a new relfilenode. InnoDB has no such
pair: a rebuild (`ALGORITHM=COPY`, or an `INPLACE` one that rebuilds) builds a new table under a
temporary name, copies every row into it and renames it over the old one, so the table gets a
new id in `information_schema.INNODB_SYS_TABLES` (`TABLE_ID`, `NAME` is `db/table`). The id is
therefore the *storage* identity, and the key that must survive the rebuild is derived from the
table's name instead (`relation_key`).

Measured on MariaDB 10.11 (a table of 50 rows with a secondary index):
- `ADD COLUMN … NOT NULL DEFAULT 0, ALGORITHM=INSTANT` keeps the table id (51 -> 51), and every
  index id;
- `CREATE INDEX … ALGORITHM=INPLACE, LOCK=NONE` keeps the table id and the other indexes' ids
  (the new index gets a new id of its own);
- `ADD CONSTRAINT … CHECK (…)` (MariaDB has no `NOT VALID`; `ALGORITHM=INSTANT` is refused)
  gives a new table id (51 -> 53), and so does `MODIFY n BIGINT` (53 -> 54), and
  `ENGINE=InnoDB, ALGORITHM=INPLACE` (a rebuild that lets writes through, but still copies);
- every such rebuild also gives every index of the table a new id
  (`INNODB_SYS_INDEXES.INDEX_ID`), and no ALTER rebuilds one secondary index alone: an index
  gets a new id only with its table or by being dropped and created again, which is a new index,
  not a copy of a populated one. So indexes get no entry of their own: a table's entry covers
  them (PostgreSQL's `REINDEX`-style rebuild of one index has no InnoDB counterpart).
- `RENAME TO` keeps the id. The key follows the name, so a renamed table shows as one table
  dropped and another created, never as a rebuild (nor is it one).

Tables that are not InnoDB (MyISAM, Aria, MEMORY) have no table id: they are left out, and a
rebuild of one is not seen. The project's tables are InnoDB (the server default).
"""

from __future__ import annotations

import hashlib
import re

from sqlalchemy import Connection, text

from tests.migrations.gate.dialects.base import VERSION_TABLE, StoredRelation

TABLE = "r"
"""`StoredRelation.kind` of a table (PostgreSQL's relkind, which `table_rewrite.py` reads:
anything but "i" is a table)."""

_INNODB_TABLES = text(
    "SELECT NAME, TABLE_ID FROM information_schema.INNODB_SYS_TABLES WHERE NAME LIKE '%/%'"
)
_SCHEMA_INNODB_TABLES = text(
    "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() "
    "AND TABLE_TYPE = 'BASE TABLE' AND ENGINE = 'InnoDB' AND TABLE_NAME <> :version_table"
)
_ENCODED = re.compile(r"@([0-9a-f]{4})")


def decoded_name(encoded: str) -> str:
    """A database or table name as `INNODB_SYS_TABLES` spells it (`my-db` is `my@002ddb`),
    decoded back; MariaDB's other `@` codes (for non-ASCII letters) are left as they are."""
    return _ENCODED.sub(lambda match: chr(int(match.group(1), 16)), encoded)


def relation_key(table: str) -> int:
    """A key for `table` that a rebuild does not change: 63 bits of the sha256 of its name.

    Deterministic across connections and runs (unlike `hash()`), so the `before` and `after`
    snapshots of one step agree; a RENAME gives a new key (a dropped plus a new table).
    """
    return int.from_bytes(hashlib.sha256(table.encode("utf-8")).digest()[:8], "big") >> 1


def stored_tables(connection: Connection) -> dict[int, StoredRelation]:
    """Each InnoDB table of the current database but the version table, with its table id.

    Raises `RuntimeError` if a table of the schema that information_schema calls InnoDB has no
    entry found in `INNODB_SYS_TABLES` (a name this module cannot decode): silently missing a
    table would let its rebuild pass unseen.
    """
    database = connection.scalar(text("SELECT DATABASE()"))
    ids: dict[str, int] = {}
    for name, table_id in connection.execute(_INNODB_TABLES):
        schema, _, table = str(name).partition("/")
        if decoded_name(schema) == database:
            ids[decoded_name(table)] = int(table_id)
    expected = {
        str(name)
        for name in connection.scalars(_SCHEMA_INNODB_TABLES, {"version_table": VERSION_TABLE})
    }
    unseen = sorted(expected - set(ids))
    if unseen:
        raise RuntimeError(
            f"InnoDB tables of {database} not found in INNODB_SYS_TABLES: {', '.join(unseen)} "
            "(a name whose InnoDB encoding dialects/mariadb/rebuilds.py does not decode); "
            "their rebuilds could not be seen"
        )
    return {
        relation_key(table): StoredRelation(name=table, kind=TABLE, storage=ids[table], table=table)
        for table in sorted(expected)
    }
