"""The engine and the per-request transaction, both built lazily from the app's own settings.

Each app built by `create_app(settings)` owns one `LazyEngine` (`app.state.database`), made from
the settings it was given and nothing else: no route re-reads the environment, so an app built
for a test or a tool talks to the database it was told about.

Routes are plain `def` functions, so FastAPI runs them in its worker threads and psycopg2's
blocking calls never stall the event loop; `configure_worker_threads` keeps those threads within the
pool so a thread always finds a connection or gives up after `db_pool_timeout` with a 503.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from functools import partial
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from sqlalchemy import URL, Connection, Engine, create_engine, event
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import ConnectionPoolEntry

from app.settings import Settings, is_mysql_family, normalise_database_url, require_driver

APPLICATION_NAME = "items-service"


class DatabaseNotConfiguredError(RuntimeError):
    """Raised when the API is asked for a connection but no `DATABASE_URL` was given."""


def build_engine(settings: Settings) -> Engine:
    """Create the pooled engine the API uses.

    `isolation_level="AUTOCOMMIT"`: a route that runs exactly one statement (read, create,
    delete, and the list's count and page, which are one statement too) takes its connection
    through `get_begin`; a single statement is atomic and committed when it returns, so a
    transaction around it only adds two round trips (the driver sends BEGIN on its own, then
    COMMIT). Without them a read is one round trip instead of three. A route that needs two
    statements to be atomic (an update on MariaDB, which has no `UPDATE … RETURNING`) takes its
    connection through `get_transaction` instead, which leaves AUTOCOMMIT for that checkout and
    runs the block in one real transaction (`transaction`).

    Connections idle for `db_pool_ping_idle_seconds` or more are tested before reuse (see
    `ping_idle_connections`), so the service recovers by itself when the server comes back.
    """
    if settings.database_url is None:
        raise DatabaseNotConfiguredError(
            "DATABASE_URL is not set; export it, or start the service with `python -m app.serve` "
            "which brings its own PostgreSQL"
        )
    url = normalise_database_url(settings.database_url)
    require_driver(url)
    engine = create_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout,
        pool_pre_ping=settings.db_pool_ping_idle_seconds == 0,
        isolation_level="AUTOCOMMIT",
        connect_args=connect_arguments(settings, url),
    )
    if is_mysql_family(url):
        set_mysql_session(engine, settings.db_statement_timeout_ms)
    if settings.db_pool_ping_idle_seconds > 0:
        ping_idle_connections(engine, settings.db_pool_ping_idle_seconds)
    return engine


def connect_arguments(settings: Settings, url: URL) -> dict[str, Any]:
    """The driver's connect arguments: a connect timeout and a name the server shows.

    PostgreSQL takes its statement timeout at connect time (`options`); PyMySQL has no such
    option, so MariaDB's is set by `set_mysql_session` on every new connection.
    """
    if is_mysql_family(url):
        return {
            "connect_timeout": settings.db_connect_timeout,
            "program_name": APPLICATION_NAME,
        }
    return {
        "connect_timeout": settings.db_connect_timeout,
        "options": f"-c statement_timeout={settings.db_statement_timeout_ms}",
        "application_name": APPLICATION_NAME,
    }


MYSQL_SQL_MODE = "STRICT_ALL_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION"
"""Strict: a value too long or out of range is an error (1406, 1264), never a silent truncation,
whatever the server's configured default; valid on MariaDB 10.11 and MySQL 8 alike."""


def mysql_session_statements(is_mariadb: bool, statement_timeout_ms: int) -> list[str]:
    """What each new MariaDB/MySQL connection runs first: strict mode and the statement limit.

    MariaDB's `max_statement_time` is in seconds and covers every statement; MySQL 8's
    `max_execution_time` is in milliseconds and covers SELECT only.
    """
    statements = [f"SET SESSION sql_mode = '{MYSQL_SQL_MODE}'"]
    if is_mariadb:
        statements.append(f"SET SESSION max_statement_time = {statement_timeout_ms / 1000:g}")
    else:
        statements.append(f"SET SESSION max_execution_time = {statement_timeout_ms}")
    return statements


def set_mysql_session(engine: Engine, statement_timeout_ms: int) -> None:
    """Run `mysql_session_statements` on every connection the pool opens.

    Which server it is comes from the connection's own handshake (PyMySQL's
    `get_server_info()` says "…-MariaDB…"), so a `mysql://` URL that reaches a MariaDB server
    gets MariaDB's statement limit, not MySQL's.
    """

    @event.listens_for(engine, "connect")
    def _set_session(dbapi_connection: DBAPIConnection, _: ConnectionPoolEntry) -> None:
        server_info = getattr(dbapi_connection, "get_server_info", None)
        if callable(server_info):
            is_mariadb = "mariadb" in str(server_info()).lower()
        else:
            is_mariadb = bool(getattr(engine.dialect, "is_mariadb", False))
        cursor = dbapi_connection.cursor()
        try:
            for statement in mysql_session_statements(is_mariadb, statement_timeout_ms):
                cursor.execute(statement)
        finally:
            cursor.close()


def ping_idle_connections(engine: Engine, idle_seconds: float) -> None:
    """Test a pooled connection before reuse only when it sat idle for `idle_seconds` or more.

    SQLAlchemy's `pool_pre_ping` sends `SELECT 1` at every checkout: under load that is one
    round trip in two for a read. A connection handed back milliseconds ago is as alive as
    the request that used it showed; the ones worth testing are those that sat idle while
    PostgreSQL may have restarted. A failed test raises `DisconnectionError`, on which the
    pool discards the connection and checks out (or opens) another, as `pool_pre_ping` does.
    A restart during traffic fails the requests in flight either way, with a 503.
    """
    dbapi_error = engine.dialect.loaded_dbapi.Error

    @event.listens_for(engine, "checkin")
    def _remember_checkin(_: Any, record: ConnectionPoolEntry) -> None:
        record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _test_if_idle(
        dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry, _: Any
    ) -> None:
        checked_in_at = record.info.get("checked_in_at")
        if checked_in_at is None or time.monotonic() - checked_in_at < idle_seconds:
            return
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SELECT 1")
        except dbapi_error as error:
            raise DisconnectionError("the idle connection failed its test") from error
        finally:
            with suppress(dbapi_error):
                cursor.close()


class LazyEngine:
    """One app's engine, built from that app's settings on first use and forgotten on dispose.

    Lazy so that building the app opens nothing (tools import it before any database exists,
    and an app without a DATABASE_URL still answers every route with a 503).
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._engine: Engine | None = None
        self._lock = threading.Lock()

    def get(self) -> Engine:
        """The engine, built now if this is the first use."""
        engine = self._engine
        if engine is None:
            with self._lock:
                if self._engine is None:
                    self._engine = build_engine(self.settings)
                engine = self._engine
        return engine

    def dispose(self) -> None:
        """Close every pooled connection and forget the engine (at shutdown)."""
        with self._lock:
            engine, self._engine = self._engine, None
        if engine is not None:
            engine.dispose()


def database_of(app: FastAPI) -> LazyEngine:
    """The `LazyEngine` that `create_app` attached to `app`."""
    database = app.state.database
    assert isinstance(database, LazyEngine), "build the app with app.main.create_app"
    return database


Begin = Callable[[], AbstractContextManager[Connection]]
"""Opens a transaction and yields its connection; commits when the block exits cleanly."""


async def get_begin(request: Request) -> Begin:
    """How a route opens its transaction: `with begin() as connection:` (the engine's `begin`).

    The block commits when it exits cleanly and rolls back when it raises, so a route can only
    answer after its write committed. Checking the connection out, running the statement,
    committing and checking in all happen in the route's worker thread; the event loop never
    waits on PostgreSQL.

    `async` and not a generator, so FastAPI resolves it on the event loop with no exit stack and
    no worker-thread hop: all it does is hand over a function. (A generator dependency yielding
    an ORM `Session` cost about a fifth of each request's CPU in bookkeeping; see RESULTS.md.)

    The engine is the one of the app serving the request, built from the settings that app was
    given. Tests replace this dependency (`app.dependency_overrides[get_begin]`), for instance
    with one that opens a savepoint on a connection they roll back afterwards.
    """
    return database_of(request.app).get().begin


BeginDep = Annotated[Begin, Depends(get_begin)]

TRANSACTION_ISOLATION = "READ COMMITTED"
"""PostgreSQL's default, chosen on MariaDB too (whose default is REPEATABLE READ), so a route's
transaction sees the same rows on both servers."""


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """One real transaction for a route of several statements: all commit, or none does.

    The engine is AUTOCOMMIT (see `build_engine`), under which `begin()` sends no BEGIN and each
    statement commits on its own. This checkout leaves AUTOCOMMIT (`isolation_level`, which the
    pool resets when the connection is checked in), so `connection.begin()` below is a server
    transaction: BEGIN before the first statement, COMMIT when the block exits cleanly,
    ROLLBACK when it raises.
    """
    with engine.connect() as connection:
        connection.execution_options(isolation_level=TRANSACTION_ISOLATION)
        with connection.begin():
            yield connection


async def get_transaction(request: Request) -> Begin:
    """How a route of several statements opens its transaction: `with transaction() as c:`.

    Like `get_begin`, it only hands over a function; tests replace it as they replace
    `get_begin` (`tests/support/api.py`, a savepoint), so in tests both are savepoints of the
    test's transaction and in production `get_transaction` is a real transaction.
    """
    return partial(transaction, database_of(request.app).get())


TransactionDep = Annotated[Begin, Depends(get_transaction)]
