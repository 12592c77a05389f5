"""PostgreSQL locks: another session holding `LOCK TABLE … IN <mode> MODE`, and lock timeouts."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress

from sqlalchemy import URL, create_engine, pool, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from tests.migrations.gate.dialects.base import HeldLocks, LockMode

LOCK_NOT_AVAILABLE = "55P03"
"""SQLSTATE of "canceling statement due to lock timeout"."""

MODES = {LockMode.READERS: "ACCESS SHARE", LockMode.VERSION_WRITERS_BLOCKED: "EXCLUSIVE"}
"""ACCESS SHARE is what any SELECT holds; EXCLUSIVE lets readers pass and stops every write."""


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
