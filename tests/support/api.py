"""Run the API against one shared database, each test (or hypothesis example) in a transaction
that is rolled back at the end, whatever the app committed.

The app's session joins the outer transaction with `join_transaction_mode="create_savepoint"`:
its `commit()` releases a savepoint and its `rollback()` returns to one, so the app behaves as in
production while nothing it writes outlives the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import FastAPI
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from app.database import get_session


@contextmanager
def rolled_back(engine: Engine, app: FastAPI) -> Iterator[Connection]:
    """Bind `app`'s sessions to a fresh transaction on `engine`; roll it back on exit.

    Yields the connection, so a test can read the table exactly as the app left it.
    """
    with engine.connect() as connection:
        transaction = connection.begin()

        def session_in_transaction() -> Iterator[Session]:
            with Session(
                bind=connection,
                join_transaction_mode="create_savepoint",
                autoflush=False,
                expire_on_commit=False,
            ) as session:
                yield session

        app.dependency_overrides[get_session] = session_in_transaction
        try:
            yield connection
        finally:
            app.dependency_overrides.pop(get_session, None)
            transaction.rollback()
