"""PostgreSQL locks: another session holding `LOCK TABLE … IN <mode> MODE`, lock timeouts, and
the table locks other sessions hold right now (pg_locks)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from contextlib import AbstractContextManager

from sqlalchemy import URL, Connection, text
from sqlalchemy.exc import DBAPIError

from tests.migrations.gate.dialects.base import VERSION_TABLE, HeldLocks, LockMode
from tests.migrations.gate.dialects.blocking_session import blocking_session

LOCK_NOT_AVAILABLE = "55P03"
"""SQLSTATE of "canceling statement due to lock timeout"."""

MODES = {LockMode.READERS: "ACCESS SHARE", LockMode.VERSION_WRITERS_BLOCKED: "EXCLUSIVE"}
"""ACCESS SHARE is what any SELECT holds; EXCLUSIVE lets readers pass and stops every write."""

ACCESS_EXCLUSIVE = "ACCESS EXCLUSIVE"
"""The mode that conflicts with every other, even a plain SELECT's ACCESS SHARE."""

# Granted relation locks of other backends on this database, on tables of public. pg_locks is
# read from shared memory, not through a snapshot; the join with pg_class is, so a table created
# by the migration's still open transaction is not seen (it holds no rows anyone could wait for).
_RELATION_LOCKS = text("""
SELECT DISTINCT c.relname, l.mode
FROM pg_locks l
JOIN pg_class c ON c.oid = l.relation
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE l.locktype = 'relation' AND l.granted AND l.pid <> pg_backend_pid()
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relname <> :version_table
""")


def held_locks(
    url: URL, tables: Sequence[str], mode: LockMode, *, patience: float
) -> AbstractContextManager[HeldLocks]:
    """`LOCK TABLE <tables> IN <mode> MODE` from another session until the block exits
    (terminated after `patience` seconds; `dialects/blocking_session.py`)."""

    def take(connection: Connection) -> HeldLocks:
        quote = connection.dialect.identifier_preparer.quote
        name = MODES[mode]
        connection.execute(text(f"LOCK TABLE {', '.join(quote(t) for t in tables)} IN {name} MODE"))
        pid = int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())
        return HeldLocks(session=pid, tables=tuple(tables), mode=name)

    return blocking_session(url, take, _terminate, patience=patience)


def _terminate(admin: Connection, pid: int) -> None:
    admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})


def is_lock_timeout(error: BaseException | None) -> bool:
    """Whether `error` is PostgreSQL cancelling a statement because of `lock_timeout`."""
    return isinstance(error, DBAPIError) and getattr(error.orig, "pgcode", None) == (
        LOCK_NOT_AVAILABLE
    )


def mode_name(mode: str) -> str:
    """pg_locks' `AccessExclusiveLock` as `LOCK TABLE` spells it: `ACCESS EXCLUSIVE`."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", mode.removesuffix("Lock")).upper()


def relation_locks(connection: Connection) -> list[tuple[str, str]]:
    """(table, mode) granted to other sessions on this database, on tables of public."""
    rows = connection.execute(_RELATION_LOCKS, {"version_table": VERSION_TABLE})
    return [(str(table), mode_name(str(mode))) for table, mode in rows]
