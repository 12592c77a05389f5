"""`alembic/env.py` and the quantity revision on this run's server, PostgreSQL or MariaDB.

The gate (tests/migrations) proves these on PostgreSQL and does not run on MariaDB yet; these
are the service's own guarantees, on whichever server the API tests run on: a second upgrader
waits for the migration lock (an advisory lock on PostgreSQL, `GET_LOCK()` on MariaDB), DDL
blocked by an open transaction gives up within the lock timeout and changes nothing, and the
quantity revision finishes when a failed earlier run left its column behind (MariaDB has no
transactional DDL, so that state is real there).
"""

from __future__ import annotations

import threading
import time

import pytest
from alembic import command
from sqlalchemy import URL, Connection, create_engine, inspect, pool, text
from sqlalchemy.exc import DBAPIError

from app.models import MYSQL_FAMILY
from app.settings import Settings
from tests.support.migrations import alembic_config, upgrade
from tests.support.servers import DatabaseFactory

CREATE_ITEMS = "3c1d9e4a7b20"
HEAD = "9a4f2e61c8d5"
ADVISORY_LOCK_KEY = 0x17E3_5A1E_0001  # alembic/env.py's
MYSQL_LOCK_NAME = "items-service: alembic migrations"  # alembic/env.py's


def version(url: URL) -> str | None:
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table("alembic_version"):
                return None
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()


def columns(url: URL) -> set[str]:
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            return {column["name"] for column in inspect(connection).get_columns("items")}
    finally:
        engine.dispose()


def take_the_migration_lock(connection: Connection) -> None:
    if connection.dialect.name in MYSQL_FAMILY:
        assert connection.execute(text("SELECT GET_LOCK(:n, 0)"), {"n": MYSQL_LOCK_NAME}).scalar()
    else:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY})


def release_the_migration_lock(connection: Connection) -> None:
    if connection.dialect.name in MYSQL_FAMILY:
        connection.execute(text("SELECT RELEASE_LOCK(:n)"), {"n": MYSQL_LOCK_NAME})
    else:
        connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY})


def test_a_second_upgrader_waits_for_the_migration_lock(
    empty_database_factory: DatabaseFactory,
) -> None:
    with empty_database_factory("items_lock") as url:
        engine = create_engine(url, poolclass=pool.NullPool, isolation_level="AUTOCOMMIT")
        failures: list[BaseException] = []

        def upgrader() -> None:
            try:
                upgrade(url, "head")
            except BaseException as error:  # reported below, in the test's thread
                failures.append(error)

        try:
            with engine.connect() as holder:
                take_the_migration_lock(holder)
                waiting = threading.Thread(target=upgrader)
                waiting.start()
                time.sleep(2)
                assert waiting.is_alive(), "the upgrade ran although another upgrader held the lock"
                assert version(url) is None
                release_the_migration_lock(holder)
                waiting.join(timeout=60)
        finally:
            engine.dispose()
        assert not failures, failures
        assert version(url) == HEAD


def test_ddl_behind_an_open_transaction_gives_up_within_the_lock_timeout(
    empty_database_factory: DatabaseFactory,
) -> None:
    """Another session read `items` in a transaction it keeps open; revision 2's DDL must wait
    for it, so it gives up after `MIGRATION_LOCK_TIMEOUT` and leaves the database as it was."""
    with empty_database_factory("items_timeout") as url:
        upgrade(url, CREATE_ITEMS)
        config = alembic_config(url)
        config.attributes["settings"] = Settings(migration_lock_timeout="1s")
        engine = create_engine(url, poolclass=pool.NullPool)
        try:
            with engine.connect() as reader, reader.begin():
                reader.execute(text("SELECT count(*) FROM items")).scalar()
                started = time.monotonic()
                with pytest.raises(DBAPIError, match=r"[Ll]ock"):
                    command.upgrade(config, "head")
                waited = time.monotonic() - started
        finally:
            engine.dispose()
        assert waited < 15, f"the migration waited {waited:.1f}s for a 1s lock timeout"
        assert version(url) == CREATE_ITEMS
        assert "quantity" not in columns(url), "the failed migration left its column behind"


def test_the_quantity_revision_finishes_after_a_run_that_left_its_column(
    empty_database_factory: DatabaseFactory,
) -> None:
    """What a run that failed after `ADD COLUMN` leaves on MariaDB (each DDL commits): the
    column, no CHECK, `alembic_version` still at revision 1. The rerun must finish the job."""
    with empty_database_factory("items_rerun") as url:
        upgrade(url, CREATE_ITEMS)
        engine = create_engine(url, poolclass=pool.NullPool)
        try:
            with engine.begin() as connection:
                connection.execute(text("INSERT INTO items (name, price) VALUES ('kept', 1)"))
                connection.execute(
                    text("ALTER TABLE items ADD COLUMN quantity INTEGER NOT NULL DEFAULT 0")
                )
            upgrade(url, "head")
            assert version(url) == HEAD
            with engine.connect() as connection:
                assert connection.execute(text("SELECT quantity FROM items")).scalar_one() == 0
            negative = text("INSERT INTO items (name, price, quantity) VALUES ('x', 1, -1)")
            with pytest.raises(DBAPIError), engine.begin() as connection:
                connection.execute(negative)
        finally:
            engine.dispose()
