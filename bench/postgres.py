"""Which PostgreSQL server the benchmarks use (databases on it: `bench/databases.py`).

`--database-url` (or `BENCH_DATABASE_URL`) names a server the benchmarks may create and drop
databases on; without it, the test suite's resolution order is used (`TEST_DATABASE_URL`, Docker,
the embedded pgserver), so a machine with only Python can still run them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from app.settings import normalise_database_url
from tests.support.postgres import PostgresServer, start_postgres


@contextmanager
def benchmark_server(url: str | None) -> Iterator[PostgresServer]:
    """The server named by `url` or `BENCH_DATABASE_URL`, else the test suite's resolution."""
    explicit = url or os.environ.get("BENCH_DATABASE_URL", "").strip()
    if explicit:
        yield PostgresServer(admin_url=normalise_database_url(explicit), origin="--database-url")
        return
    with start_postgres() as server:
        yield server
