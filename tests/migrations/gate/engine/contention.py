"""Tools for running a migration while another session gets in its way.

- `held_locks`: another session that holds table locks in an open transaction, as a long
  report query or an idle-in-transaction client would, with a watchdog that ends it after
  `patience` seconds so a migration that queues instead of giving up cannot hang the suite;
- `upgrade_with`: `alembic upgrade` with `-x` options (`lock_timeout=20ms`), timed;
- `is_lock_timeout`: whether an error is PostgreSQL's "canceling statement due to lock timeout";
- `current_version`: what `alembic_version` says.
"""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

from sqlalchemy import URL, create_engine, pool, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from tests.migrations.gate.engine.history import History
from tests.migrations.gate.engine.render import VERSION_TABLE
from tests.migrations.gate.engine.sessions import connect

LOCK_NOT_AVAILABLE = "55P03"


@dataclass
class HeldLocks:
    """The blocking session: its backend pid, and whether the watchdog had to end it."""

    pid: int
    tables: tuple[str, ...]
    ended_by_watchdog: threading.Event = field(default_factory=threading.Event)


def user_tables(url: URL) -> list[str]:
    """The tables of `public`, except Alembic's version table."""
    with connect(url) as connection:
        rows = connection.execute(
            text(
                "SELECT c.relname FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') "
                "AND c.relname <> :version_table ORDER BY 1"
            ),
            {"version_table": VERSION_TABLE},
        )
        return [str(row[0]) for row in rows]


@contextmanager
def held_locks(
    url: URL, tables: Sequence[str], mode: str, *, patience: float
) -> Iterator[HeldLocks]:
    """Hold `LOCK TABLE <tables> IN <mode> MODE` from another session until the block exits.

    After `patience` seconds a watchdog terminates that session (and sets
    `ended_by_watchdog`): a migration still waiting by then was queueing, not giving up.
    """
    engine = create_engine(url, poolclass=pool.NullPool)
    admin = create_engine(url, poolclass=pool.NullPool)
    connection = engine.connect()
    try:
        quote = connection.dialect.identifier_preparer.quote
        connection.execute(text(f"LOCK TABLE {', '.join(quote(t) for t in tables)} IN {mode} MODE"))
        pid = int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())
        held = HeldLocks(pid=pid, tables=tuple(tables))

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


@dataclass(frozen=True)
class TimedUpgrade:
    """How an upgrade ended: the error (None if it succeeded) and how long it took."""

    error: BaseException | None
    elapsed: float


def upgrade_with(history: History, url: URL, revision: str, **x: str) -> TimedUpgrade:
    """`alembic -x key=value … upgrade <revision>`, timed, its error caught and returned."""
    config = history.config(url)
    config.cmd_opts = argparse.Namespace(x=[f"{key}={value}" for key, value in x.items()])
    started = time.monotonic()
    try:
        history.run_on(url, config, "upgrade", revision)
    except Exception as error:
        return TimedUpgrade(error=error, elapsed=time.monotonic() - started)
    return TimedUpgrade(error=None, elapsed=time.monotonic() - started)


def is_lock_timeout(error: BaseException | None) -> bool:
    """Whether `error` is PostgreSQL cancelling a statement because of `lock_timeout`."""
    return isinstance(error, DBAPIError) and getattr(error.orig, "pgcode", None) == (
        LOCK_NOT_AVAILABLE
    )


def current_version(url: URL) -> str | None:
    """The revision `alembic_version` holds (None if the table is missing or empty)."""
    with connect(url) as connection:
        exists = connection.execute(
            text("SELECT to_regclass(:name)"), {"name": f"public.{VERSION_TABLE}"}
        ).scalar()
        if exists is None:
            return None
        version = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()
        return None if version is None else str(version)
