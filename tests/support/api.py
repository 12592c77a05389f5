"""Run the API against one shared database, each test (or hypothesis example) in a transaction
that is rolled back at the end, whatever the app committed.

Each route's `with begin()` block becomes a savepoint on the test's connection: a clean exit
releases it and an error rolls back to it, so the app behaves as in production (every route
commits before it answers) while nothing it writes outlives the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import FastAPI
from sqlalchemy import Connection, Engine

from app.database import Begin, get_begin, get_transaction


@contextmanager
def rolled_back(engine: Engine, app: FastAPI) -> Iterator[Connection]:
    """Run `app`'s transactions as savepoints in a fresh transaction on `engine`; roll it back.

    Yields the connection, so a test can read the table exactly as the app left it.
    """
    with engine.connect() as connection:
        transaction = connection.begin()

        @contextmanager
        def savepoint() -> Iterator[Connection]:
            with connection.begin_nested():
                yield connection

        async def begin_savepoint() -> Begin:
            return savepoint

        # Both kinds of route transaction become savepoints: a one-statement route's
        # (AUTOCOMMIT in production) and a several-statement route's (a real transaction).
        app.dependency_overrides[get_begin] = begin_savepoint
        app.dependency_overrides[get_transaction] = begin_savepoint
        try:
            yield connection
        finally:
            app.dependency_overrides.pop(get_begin, None)
            app.dependency_overrides.pop(get_transaction, None)
            transaction.rollback()
