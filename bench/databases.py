"""Databases the benchmarks run on, on PostgreSQL or MariaDB alike: migrated, seeded, tidied.

Every benchmark that compares the two servers must give them the same table: the same rows,
built by the same Alembic revisions, with fresh planner statistics. Only the row source differs:
PostgreSQL's `generate_series` and MariaDB's Sequence engine (`seq_1_to_N`) both fill 1M rows in
one `INSERT … SELECT` within seconds, where a client-side loop would take minutes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import URL, Engine, create_engine, pool, text

from app.settings import is_mysql_family
from tests.support.migrations import upgrade
from tests.support.servers import DatabaseServer

SEED_NAME = "CONCAT('bench item ', g)"
SEED_PRICE = "1 + (g % 1000) / 10.0"
"""Row values as expressions of `g` (1..rows), spelt so both servers read them alike
(`||` is OR on MariaDB unless PIPES_AS_CONCAT)."""


def null_pool_engine(url: URL) -> Engine:
    """An engine that keeps no connection open, so its database can be dropped at once."""
    return create_engine(url, poolclass=pool.NullPool)


def row_source(url: URL, rows: int) -> str:
    """A FROM clause whose column `g` counts 1..`rows` on `url`'s kind of server."""
    if is_mysql_family(url):
        # The Sequence engine's tables exist in every database; the bound is part of the name.
        return f"(SELECT seq AS g FROM seq_1_to_{int(rows)}) AS numbers"
    return f"generate_series(1, {int(rows)}) g"


def tidy(url: URL, *, analyze: bool) -> None:
    """Reclaim deleted rows (PostgreSQL's VACUUM) and, if asked, refresh the statistics.

    InnoDB purges deleted rows in the background, so on MariaDB only `ANALYZE TABLE` is run.
    """
    engine = null_pool_engine(url)
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            if is_mysql_family(url):
                if analyze:
                    connection.execute(text("ANALYZE TABLE items"))
            else:
                connection.execute(text("VACUUM ANALYZE items" if analyze else "VACUUM items"))
    finally:
        engine.dispose()


def seed_items(url: URL, rows: int, *, with_quantity: bool) -> None:
    """Insert `rows` items in one statement, then analyze, so plans and counts are warm.

    The values satisfy every CHECK; ids are 1..`rows` on a fresh table.
    """
    columns = "name, price, quantity" if with_quantity else "name, price"
    values = f"{SEED_NAME}, {SEED_PRICE}" + (", g % 50" if with_quantity else "")
    engine = null_pool_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(f"INSERT INTO items ({columns}) SELECT {values} FROM {row_source(url, rows)}")
            )
    finally:
        engine.dispose()
    tidy(url, analyze=True)


@contextmanager
def seeded_database(
    server: DatabaseServer, prefix: str, *, revision: str, rows: int
) -> Iterator[URL]:
    """A temporary database migrated by Alembic to `revision` and holding `rows` items."""
    with server.temporary_database(prefix) as url:
        upgrade(url, revision)
        seed_items(url, rows, with_quantity=revision == "head")
        yield url
