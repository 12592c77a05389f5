"""Which PostgreSQL server the benchmarks use, and databases to run them on.

`--database-url` (or `BENCH_DATABASE_URL`) names a server the benchmarks may create and drop
databases on; without it, the test suite's resolution order is used (`TEST_DATABASE_URL`, Docker,
the embedded pgserver), so a machine with only Python can still run them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import URL, Engine, create_engine, pool, text

from app.settings import normalise_database_url
from tests.support.migrations import upgrade
from tests.support.postgres import PostgresServer, start_postgres

SEED_NAME = "'bench item ' || g"
SEED_PRICE = "1 + (g % 1000) / 10.0"


@contextmanager
def benchmark_server(url: str | None) -> Iterator[PostgresServer]:
    """The server named by `url` or `BENCH_DATABASE_URL`, else the test suite's resolution."""
    explicit = url or os.environ.get("BENCH_DATABASE_URL", "").strip()
    if explicit:
        yield PostgresServer(admin_url=normalise_database_url(explicit), origin="--database-url")
        return
    with start_postgres() as server:
        yield server


def null_pool_engine(url: URL) -> Engine:
    """An engine that keeps no connection open, so its database can be dropped at once."""
    return create_engine(url, poolclass=pool.NullPool)


def seed_items(url: URL, rows: int, *, with_quantity: bool) -> None:
    """Insert `rows` items in one statement, then VACUUM ANALYZE so plans and counts are warm.

    `generate_series` keeps seeding 1M rows to a few seconds; the values satisfy every CHECK.
    """
    columns = "name, price, quantity" if with_quantity else "name, price"
    values = f"{SEED_NAME}, {SEED_PRICE}" + (", g % 50" if with_quantity else "")
    engine = null_pool_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    f"INSERT INTO items ({columns}) SELECT {values} FROM generate_series(1, :n) g"
                ),
                {"n": rows},
            )
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE items"))
    finally:
        engine.dispose()


@contextmanager
def seeded_database(
    server: PostgresServer, prefix: str, *, revision: str, rows: int
) -> Iterator[URL]:
    """A temporary database migrated by Alembic to `revision` and holding `rows` items."""
    with server.temporary_database(prefix) as url:
        upgrade(url, revision)
        seed_items(url, rows, with_quantity=revision == "head")
        yield url
