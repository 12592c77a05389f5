"""Alembic's environment: how every upgrade, downgrade and autogenerate reaches PostgreSQL.

What it guarantees, online and offline alike:
- the URL comes from `MIGRATION_DATABASE_URL` (the role that owns the schema), else
  `DATABASE_URL`, through `app.settings` (or `sqlalchemy.url` when a tool sets one); every
  setting is read through `app.settings.Settings`, so `.env` works as the environment does,
  and a caller with settings of its own hands them in as `config.attributes["settings"]`; a
  connection or engine handed in through `config.attributes["connection"]` is used
  as is (pytest-alembic and the migration gate rely on this);
- `lock_timeout` and `statement_timeout` are set before any DDL, and appear in `--sql` output,
  so a migration gives up instead of queueing behind a long transaction and stalling the table;
- each revision runs in its own transaction (so `autocommit_block()` works and a failing
  revision leaves the one before it intact);
- online, a session-level advisory lock serialises concurrent upgraders: a second
  `alembic upgrade head` waits, then finds nothing to do. It waits by polling
  `pg_try_advisory_lock` between commits, never inside a blocking `pg_advisory_lock()` call: a
  blocked statement holds a snapshot, `CREATE INDEX CONCURRENTLY` in the first upgrader waits
  for every older snapshot to end, and the two deadlock (the migration gate caught exactly
  this). While it waits, its `application_name` says so in `pg_stat_activity`;
- autogenerate compares column types and server defaults, not only tables and columns.

On MariaDB (a `mariadb://` or `mysql://` URL) the same guarantees, in MariaDB's terms:
`lock_wait_timeout` (metadata locks, which DDL waits on; the server default is a day) and
`innodb_lock_wait_timeout` stand for `lock_timeout`, `max_statement_time` for
`statement_timeout`, both in seconds; `GET_LOCK()` stands for the advisory lock (a named lock
held by the session, so it survives the implicit commit of every DDL statement). MariaDB has
no transactional DDL, so "each revision in its own transaction" only covers `alembic_version`:
a revision that fails half-way leaves its first statements applied, and must be rerunnable.

Timeouts can be changed with `-x lock_timeout=2s -x statement_timeout=5min` or the
`MIGRATION_LOCK_TIMEOUT` / `MIGRATION_STATEMENT_TIMEOUT` settings (environment or `.env`).
"""

from __future__ import annotations

import math
import time
from logging.config import fileConfig
from typing import Any

from alembic import context
from sqlalchemy import Connection, Engine, Identity, create_engine, pool, text

from app.models import Base
from app.settings import (
    Settings,
    check_duration,
    duration_seconds,
    get_settings,
    is_mysql_family,
    normalise_database_url,
    require_driver,
)

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata

# Any bigint works, as long as every upgrader of the database uses the same one.
ADVISORY_LOCK_KEY = 0x17E3_5A1E_0001
MYSQL_LOCK_NAME = "items-service: alembic migrations"
"""MariaDB's counterpart of `ADVISORY_LOCK_KEY`: the name every upgrader passes to GET_LOCK."""
WAITING_APPLICATION_NAME = "alembic: waiting for the migration lock"
LOCK_POLL_SECONDS = 0.2


def settings() -> Settings:
    """The settings a caller handed in (`config.attributes["settings"]`), else the process's."""
    handed_in = config.attributes.get("settings")
    return handed_in if isinstance(handed_in, Settings) else get_settings()


def timeout_statements(mysql_family: bool = False) -> list[str]:
    """The `SET` statements every migration session starts with: `-x` first, then the settings."""
    x_arguments = context.get_x_argument(as_dictionary=True)
    lock = x_arguments.get("lock_timeout") or settings().migration_lock_timeout
    statement = x_arguments.get("statement_timeout") or settings().migration_statement_timeout
    if mysql_family:
        lock_seconds = max(1, math.ceil(duration_seconds("lock_timeout", lock)))
        statement_seconds = duration_seconds("statement_timeout", statement)
        return [
            f"SET SESSION lock_wait_timeout = {lock_seconds}",
            f"SET SESSION innodb_lock_wait_timeout = {lock_seconds}",
            f"SET SESSION max_statement_time = {statement_seconds:g}",
        ]
    return [
        f"SET lock_timeout = '{check_duration('lock_timeout', lock)}'",
        f"SET statement_timeout = '{check_duration('statement_timeout', statement)}'",
    ]


def compare_server_default(  # noqa: PLR0917 - Alembic passes these six positionally
    migration_context: Any,
    inspected_column: Any,
    metadata_column: Any,  # noqa: ARG001 - Alembic's signature
    inspected_default: str | None,  # noqa: ARG001
    metadata_default: Any,
    rendered_metadata_default: str | None,  # noqa: ARG001
) -> bool | None:
    """Alembic's comparison of server defaults, but for one thing that is no difference.

    A model's `Identity()` key is created on MariaDB (and MySQL) as `AUTO_INCREMENT`, and
    reflected back without an `Identity`; left alone, autogenerate would propose
    `alter_column(…, server_default=Identity())` on every run there. False: the same column;
    None: let Alembic compare as usual.
    """
    mysql_family = migration_context.dialect.name in ("mariadb", "mysql")
    if mysql_family and isinstance(metadata_default, Identity):
        return False if inspected_column.autoincrement is True else None
    return None


def configure_options(mysql_family: bool = False) -> dict[str, Any]:
    """Options shared by offline and online mode, so the two never disagree.

    The server-default hook is MariaDB's only: Alembic's call of a hook reads a reflected
    default's text, and PostgreSQL reflects an identity key's default as an `Identity`, which
    has none (an AttributeError in every compare).
    """
    return {
        "target_metadata": target_metadata,
        "compare_type": True,
        "compare_server_default": compare_server_default if mysql_family else True,
        "transaction_per_migration": True,
    }


def database_url() -> str:
    """`sqlalchemy.url` if a tool set one, else the migration URL: `MIGRATION_DATABASE_URL`
    (the schema's owner), else `DATABASE_URL`."""
    url = config.get_main_option("sqlalchemy.url") or settings().migration_url
    if not url:
        raise RuntimeError(
            "No database to migrate: set MIGRATION_DATABASE_URL or DATABASE_URL (for example "
            "postgresql://items_owner@127.0.0.1:5432/items) or pass a connection in "
            'config.attributes["connection"].'
        )
    return normalise_database_url(url).render_as_string(hide_password=False)


def run_migrations_offline() -> None:
    """Render the migrations as SQL (`alembic upgrade a:b --sql`) without a database."""
    context.configure(
        url=database_url(),
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        **configure_options(is_mysql_family(database_url())),
    )
    for statement in timeout_statements(is_mysql_family(database_url())):
        context.execute(statement)
    with context.begin_transaction():
        context.run_migrations()


def _wait_for_advisory_lock(connection: Connection) -> None:
    """Take the session-level migration lock, waiting as long as another upgrader holds it.

    Each try is a short statement followed by a commit, so between tries this session holds no
    snapshot and no transaction that a concurrent index build of the lock holder would wait on.
    """
    key = {"key": ADVISORY_LOCK_KEY}
    try_lock = text("SELECT pg_try_advisory_lock(:key)")
    acquired = bool(connection.execute(try_lock, key).scalar())
    connection.commit()
    if acquired:
        return
    application_name = connection.execute(text("SHOW application_name")).scalar()
    connection.execute(
        text("SELECT set_config('application_name', :name, false)"),
        {"name": WAITING_APPLICATION_NAME},
    )
    connection.commit()
    try:
        while not acquired:
            time.sleep(LOCK_POLL_SECONDS)
            acquired = bool(connection.execute(try_lock, key).scalar())
            connection.commit()
    finally:
        connection.execute(
            text("SELECT set_config('application_name', :name, false)"),
            {"name": application_name or ""},
        )
        connection.commit()


def _wait_for_named_lock(connection: Connection) -> None:
    """MariaDB: take `MYSQL_LOCK_NAME` with `GET_LOCK()`, polling as `_wait_for_advisory_lock`.

    A named lock belongs to the session, not to a transaction, so the implicit commit that
    every DDL statement makes on MariaDB does not release it.
    """
    try_lock = text("SELECT GET_LOCK(:name, 0)")
    while not connection.execute(try_lock, {"name": MYSQL_LOCK_NAME}).scalar():
        connection.commit()
        time.sleep(LOCK_POLL_SECONDS)
    connection.commit()


def _run_locked_mysql(connection: Connection) -> None:
    """MariaDB's `_run_locked`: the named lock, MariaDB's timeouts, migrate, release."""
    _wait_for_named_lock(connection)
    try:
        for statement in timeout_statements(mysql_family=True):
            connection.execute(text(statement))
        connection.commit()
        context.configure(connection=connection, **configure_options(mysql_family=True))
        with context.begin_transaction():
            context.run_migrations()
    finally:
        if connection.in_transaction():
            connection.rollback()
        connection.execute(text("SELECT RELEASE_LOCK(:name)"), {"name": MYSQL_LOCK_NAME})
        for variable in ("lock_wait_timeout", "innodb_lock_wait_timeout", "max_statement_time"):
            connection.execute(text(f"SET SESSION {variable} = DEFAULT"))
        connection.commit()


def _run_locked(connection: Connection) -> None:
    """Take the advisory lock, set the timeouts, migrate, and release the lock."""
    if connection.in_transaction():
        raise RuntimeError(
            "env.py needs a connection outside any transaction: each revision runs in its "
            "own transaction, which an outer one would swallow (and autocommit_block() break)"
        )
    if connection.dialect.name in ("mariadb", "mysql"):
        _run_locked_mysql(connection)
        return
    _wait_for_advisory_lock(connection)
    try:
        for statement in timeout_statements():
            connection.execute(text(statement))
        connection.commit()
        context.configure(connection=connection, **configure_options())
        with context.begin_transaction():
            context.run_migrations()
    finally:
        if connection.in_transaction():
            connection.rollback()
        connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY})
        connection.execute(text("RESET lock_timeout"))
        connection.execute(text("RESET statement_timeout"))
        connection.commit()


def run_migrations_online() -> None:
    """Migrate a live database, on a handed-in connection or engine when there is one."""
    connectable = config.attributes.get("connection")
    if isinstance(connectable, Connection):
        _run_locked(connectable)
        return
    if not isinstance(connectable, Engine):
        url = normalise_database_url(database_url())
        require_driver(url)
        connectable = create_engine(url, poolclass=pool.NullPool)
    with connectable.connect() as connection:
        _run_locked(connection)


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
