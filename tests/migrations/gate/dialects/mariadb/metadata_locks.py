"""Which metadata locks other sessions hold on the database's tables, for the lock-holds check.

MariaDB's table locks are metadata locks (MDL). Measured on 10.11 while a revision ran, with
300,000 rows in the table:
- `ALTER TABLE … ADD CONSTRAINT … CHECK` (a table copy) holds MDL_SHARED_NO_WRITE for the whole
  copy (writers wait, readers go on), then MDL_EXCLUSIVE for a moment to swap the tables;
- `CREATE INDEX` (online) holds MDL_SHARED_UPGRADABLE while it builds, MDL_EXCLUSIVE briefly;
- `ADD COLUMN … ALGORITHM=INSTANT` holds MDL_SHARED_UPGRADABLE for a moment;
- `LOCK TABLES … WRITE` holds MDL_SHARED_NO_READ_WRITE until UNLOCK TABLES.

So the two modes under which every query on the table queues, readers included, the MariaDB
counterpart of PostgreSQL's ACCESS EXCLUSIVE, are MDL_EXCLUSIVE and MDL_SHARED_NO_READ_WRITE
(`STOPS_EVERY_QUERY`). Holding writers off for a whole copy is the table-rewrite check's and the
linter's to catch, not this one's.

The server shows granted metadata locks in `information_schema.METADATA_LOCK_INFO`, which the
`metadata_lock_info` plugin provides. It ships with MariaDB but is not loaded by default, so the
first call loads it (`INSTALL SONAME`, which needs the SUPER privilege the gate's test server
gives its user) and says how to do it by hand when it cannot.
"""

from __future__ import annotations

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from tests.migrations.gate.dialects.base import VERSION_TABLE

EXCLUSIVE = "MDL_EXCLUSIVE"
NO_READ_WRITE = "MDL_SHARED_NO_READ_WRITE"
STOPS_EVERY_QUERY = frozenset({EXCLUSIVE, NO_READ_WRITE})
"""The metadata lock modes that make every query on the table wait, a plain SELECT too."""

PLUGIN = "metadata_lock_info"
UNKNOWN_TABLE = 1109
"""ER_UNKNOWN_TABLE: information_schema has no METADATA_LOCK_INFO (the plugin is not loaded)."""

_PLUGIN_ACTIVE = text(
    "SELECT COUNT(*) FROM information_schema.PLUGINS "
    "WHERE PLUGIN_NAME = 'METADATA_LOCK_INFO' AND PLUGIN_STATUS = 'ACTIVE'"
)
_TABLE_LOCKS = text(
    "SELECT TABLE_NAME, LOCK_MODE FROM information_schema.METADATA_LOCK_INFO "
    "WHERE TABLE_SCHEMA = DATABASE() AND LOCK_TYPE = 'Table metadata lock' "
    "AND THREAD_ID <> CONNECTION_ID() AND TABLE_NAME <> :version_table"
)


class LockInfoUnavailable(RuntimeError):
    """The server cannot show its metadata locks: the plugin is missing and cannot be loaded."""


def ensure_plugin(connection: Connection) -> None:
    """Load `metadata_lock_info` unless it is active already."""
    if connection.scalar(_PLUGIN_ACTIVE):
        return
    try:
        connection.execute(text(f"INSTALL SONAME '{PLUGIN}'"))
    except DBAPIError as error:
        raise LockInfoUnavailable(
            f"MariaDB's {PLUGIN} plugin is not loaded and could not be ({error.orig}): run "
            f"`INSTALL SONAME '{PLUGIN}'` as an administrator on the gate's test server, or add "
            f"`plugin_load_add = {PLUGIN}` to its configuration"
        ) from error


def relation_locks(connection: Connection) -> list[tuple[str, str]]:
    """(table, MDL mode) granted to the other sessions on this database, but the version table.

    The plugin is loaded on the first call that finds its table missing, so a sampler pays one
    query per sample, not two.
    """
    parameters = {"version_table": VERSION_TABLE}
    try:
        rows = connection.execute(_TABLE_LOCKS, parameters).all()
    except DBAPIError as error:
        if getattr(error.orig, "args", (None,))[0] != UNKNOWN_TABLE:
            raise
        ensure_plugin(connection)
        rows = connection.execute(_TABLE_LOCKS, parameters).all()
    return [(str(table), str(mode)) for table, mode in rows]
