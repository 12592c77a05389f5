"""Another session holding locks until a block exits, ended by a watchdog if it holds too long.

What a lock-timeout probe needs on every server, written once: a session of its own that takes
its locks (the dialect's `take`: `LOCK TABLE … IN … MODE` on PostgreSQL, a read in an open
transaction on MariaDB), a watchdog that ends it after `patience` seconds (the dialect's
`terminate`: `pg_terminate_backend`, `KILL CONNECTION`) and says so in `ended_by_watchdog`, and a
teardown that leaves no session or engine behind whatever happened.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

from sqlalchemy import URL, Connection, create_engine, pool
from sqlalchemy.exc import SQLAlchemyError

from tests.migrations.gate.dialects.base import HeldLocks

TakeLocks = Callable[[Connection], HeldLocks]
"""Take the locks on the blocking session, and say which session holds what."""
EndSession = Callable[[Connection, int], None]
"""On an autocommit connection of its own, end the session with this id."""


@contextmanager
def blocking_session(
    url: URL, take: TakeLocks, terminate: EndSession, *, patience: float
) -> Iterator[HeldLocks]:
    """`take` on a session of its own; held until the block exits, or `patience` runs out."""
    engine = create_engine(url, poolclass=pool.NullPool)
    admin = create_engine(url, poolclass=pool.NullPool, isolation_level="AUTOCOMMIT")
    connection = engine.connect()
    try:
        held = take(connection)

        def end_blocker() -> None:
            held.ended_by_watchdog.set()
            with admin.connect() as other, suppress(SQLAlchemyError):  # it may be gone already
                terminate(other, held.session)

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
