"""MariaDB: another session in the way of a migration, ended by a watchdog's KILL.

- `LockMode.READERS`: an open transaction that has read one row of each table holds a shared
  metadata lock (MDL_SHARED_READ) on it until it ends, as any long SELECT does; every ALTER
  needs the exclusive metadata lock, so it waits on `lock_wait_timeout` (env.py sets it; the
  server default is a day). Measured on 10.11: ADD COLUMN … ALGORITHM=INSTANT and CREATE INDEX
  both give up with error 1205 after 1 s with `lock_wait_timeout = 1`; CREATE TABLE of a new
  table does not wait.
- `LockMode.VERSION_WRITERS_BLOCKED`: `SELECT … LOCK IN SHARE MODE` on the version table, in
  REPEATABLE READ: plain reads pass, the version UPDATE (and, on an empty table, the INSERT: the
  shared next-key lock covers the gap) waits on `innodb_lock_wait_timeout` (error 1205).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager

from sqlalchemy import URL, Connection, text

from tests.migrations.gate.dialects.base import HeldLocks, LockMode
from tests.migrations.gate.dialects.blocking_session import blocking_session

MODES = {
    LockMode.READERS: "MDL_SHARED_READ (metadata lock of an open transaction that read the table)",
    LockMode.VERSION_WRITERS_BLOCKED: "shared row locks (SELECT … LOCK IN SHARE MODE)",
}


def held_locks(
    url: URL, tables: Sequence[str], mode: LockMode, *, patience: float
) -> AbstractContextManager[HeldLocks]:
    """Hold `mode` on `tables` from another session until the block exits (KILL after
    `patience` seconds, setting `ended_by_watchdog`; `dialects/blocking_session.py`)."""

    def take(connection: Connection) -> HeldLocks:
        quote = connection.dialect.identifier_preparer.quote
        connection.execute(text("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
        connection.commit()
        suffix = " LOCK IN SHARE MODE" if mode is LockMode.VERSION_WRITERS_BLOCKED else ""
        for table in tables:
            connection.execute(text(f"SELECT 1 FROM {quote(table)} LIMIT 1{suffix}")).all()
        session = int(connection.execute(text("SELECT CONNECTION_ID()")).scalar_one())
        return HeldLocks(session=session, tables=tuple(tables), mode=MODES[mode])

    return blocking_session(url, take, _kill, patience=patience)


def _kill(admin: Connection, session: int) -> None:
    admin.execute(text(f"KILL CONNECTION {session}"))
