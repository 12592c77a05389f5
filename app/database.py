"""The engine and the per-request session, both built lazily from the settings.

Routes are plain `def` functions, so FastAPI runs them in its worker threads and psycopg2's
blocking calls never stall the event loop; `configure_worker_threads` sizes those threads to the
pool so a thread always finds a connection or gives up after `db_pool_timeout` with a 503.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import lru_cache
from typing import Annotated

from fastapi import Depends
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session

from app.settings import Settings, get_settings, normalise_database_url


class DatabaseNotConfiguredError(RuntimeError):
    """Raised when the API is asked for a connection but no `DATABASE_URL` was given."""


def build_engine(settings: Settings) -> Engine:
    """Create the pooled engine the API uses.

    `isolation_level="AUTOCOMMIT"`: every route runs exactly one statement (the list's count
    and page are one statement too), and a single statement is atomic and committed when it
    returns, so a transaction around it only adds two round trips (psycopg2 sends BEGIN on
    its own, then COMMIT). Without them a read is one round trip instead of three, and
    `session.commit()` (which routes still call, and which the tests' savepoint-joined
    sessions need) costs nothing on the wire. A route that ever needs two statements to be
    atomic must run them on a connection from an engine without this option.

    `pool_pre_ping` (on unless `DB_POOL_PRE_PING=false`) makes a connection that died while
    PostgreSQL restarted be replaced instead of failing a request, so the service recovers by
    itself when the server comes back; it costs one round trip per request.
    """
    if settings.database_url is None:
        raise DatabaseNotConfiguredError(
            "DATABASE_URL is not set; export it, or start the service with `python -m app.serve` "
            "which brings its own PostgreSQL"
        )
    connect_options = f"-c statement_timeout={settings.db_statement_timeout_ms}"
    return create_engine(
        normalise_database_url(settings.database_url),
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout,
        pool_pre_ping=settings.db_pool_pre_ping,
        isolation_level="AUTOCOMMIT",
        connect_args={
            "connect_timeout": settings.db_connect_timeout,
            "options": connect_options,
            "application_name": "items-service",
        },
    )


@lru_cache(maxsize=1)
def get_engine() -> Engine:
    """The process-wide engine, built on first use; `dispose_engine()` forgets it."""
    return build_engine(get_settings())


def dispose_engine() -> None:
    """Close every pooled connection and forget the engine (at shutdown, or between tests)."""
    if get_engine.cache_info().currsize:
        get_engine().dispose()
    get_engine.cache_clear()


async def get_session() -> AsyncIterator[Session]:
    """One session per request. Routes commit explicitly, before they answer.

    `async` so FastAPI runs it on the event loop: a sync generator dependency costs two extra
    worker-thread hops per request (enter and exit), for work that touches no socket. Creating a
    `Session` opens nothing (the route's thread checks a connection out on first use), and
    closing one whose transaction already ended is pure bookkeeping. Only when a transaction is
    still open (the route failed before committing) does closing mean a ROLLBACK on the wire,
    and that runs in a worker thread so the event loop never waits on PostgreSQL.

    Tests replace this dependency (`app.dependency_overrides[get_session]`) with any session.
    """
    session = Session(get_engine(), autoflush=False, expire_on_commit=False)
    try:
        yield session
    finally:
        if session.in_transaction():
            await run_in_threadpool(session.close)
        else:
            session.close()


SessionDep = Annotated[Session, Depends(get_session)]
