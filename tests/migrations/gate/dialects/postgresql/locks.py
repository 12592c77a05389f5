"""PostgreSQL locks: another session holding `LOCK TABLE … IN <mode> MODE`, lock timeouts, and
the table locks other sessions hold right now (pg_locks)."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress

from sqlalchemy import URL, Connection, create_engine, pool, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from tests.migrations.gate.dialects.base import VERSION_TABLE, HeldLocks, LockMode

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


@contextmanager
def held_locks(
    url: URL, tables: Sequence[str], mode: LockMode, *, patience: float
) -> Iterator[HeldLocks]:
    """`LOCK TABLE <tables> IN <mode> MODE` from another session until the block exits."""
    engine = create_engine(url, poolclass=pool.NullPool)
    admin = create_engine(url, poolclass=pool.NullPool)
    connection = engine.connect()
    try:
        quote = connection.dialect.identifier_preparer.quote
        name = MODES[mode]
        connection.execute(text(f"LOCK TABLE {', '.join(quote(t) for t in tables)} IN {name} MODE"))
        pid = int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())
        held = HeldLocks(session=pid, tables=tuple(tables), mode=name)

        def end_blocker() -> None:
            held.ended_by_watchdog.set()
            with admin.connect() as other:
                other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
                other.commit()

        watchdog = threading.Timer(patience, end_blocker)
        watchdog.daemon = True
        watchdog.start()
        try:
            yield held
        finally:
            watchdog.cancel()
            watchdog.join()
    finally:
        with suppress(SQLAlchemyError):
            connection.rollback()
        with suppress(SQLAlchemyError):
            connection.close()
        engine.dispose()
        admin.dispose()


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
