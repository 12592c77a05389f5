"""In production (no test savepoints), the update route is one real transaction.

The engine is AUTOCOMMIT for one-statement routes; the update is two statements on MariaDB
(UPDATE, then SELECT), so it takes `get_transaction`. These tests run the app as production
builds it, on a private database where it commits for real, and make the route fail after its
UPDATE ran: with a real transaction the UPDATE is rolled back; with the AUTOCOMMIT `begin` (the
contrast, proving the test can tell) it stays.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI, status
from fastapi.testclient import TestClient
from sqlalchemy import URL, Connection, RowMapping, create_engine, text

from app import repository
from app.database import Begin, database_of, get_transaction, transaction
from app.main import create_app
from app.settings import Settings
from tests.support.servers import DatabaseFactory


class AfterTheUpdateError(RuntimeError):
    """Raised by the route after its UPDATE ran, before it could answer."""


@pytest.fixture(scope="module")
def committed_url(head_database_factory: DatabaseFactory) -> Iterator[URL]:
    with head_database_factory("items_transactions") as url:
        yield url


@pytest.fixture
def production_app(committed_url: URL) -> Iterator[FastAPI]:
    """The app with its own engine on `committed_url` and no dependency overridden."""
    app = create_app(Settings(database_url=committed_url.render_as_string(hide_password=False)))
    yield app
    database_of(app).dispose()


def stored_price(url: URL, item_id: int) -> float:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            query = text("SELECT price FROM items WHERE id = :id")
            return float(connection.execute(query, {"id": item_id}).scalar_one())
    finally:
        engine.dispose()


def failing_after_the_update(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make `repository.update_item` raise once its statements ran."""
    real = repository.update_item

    def update_then_fail(
        connection: Connection, item_id: int, changes: dict[str, object]
    ) -> RowMapping | None:
        real(connection, item_id, changes)
        raise AfterTheUpdateError

    monkeypatch.setattr(repository, "update_item", update_then_fail)


def create(client: TestClient) -> int:
    created = client.post("/items", json={"name": "mug", "price": 1.0})
    assert created.status_code == status.HTTP_201_CREATED, created.text
    return int(created.json()["id"])


def test_a_failed_update_leaves_the_row_as_it_was(
    production_app: FastAPI, committed_url: URL, monkeypatch: pytest.MonkeyPatch
) -> None:
    with TestClient(production_app, raise_server_exceptions=False) as client:
        item_id = create(client)
        failing_after_the_update(monkeypatch)
        failed = client.put(f"/items/{item_id}", json={"price": 2.0})
    assert failed.status_code == status.HTTP_500_INTERNAL_SERVER_ERROR
    assert stored_price(committed_url, item_id) == 1.0, "the UPDATE outlived the failed route"


def test_without_the_transaction_the_update_would_stay(
    production_app: FastAPI, committed_url: URL, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The contrast: the same route on the AUTOCOMMIT `begin` keeps its UPDATE."""

    async def autocommit_begin() -> Begin:
        return database_of(production_app).get().begin

    production_app.dependency_overrides[get_transaction] = autocommit_begin
    with TestClient(production_app, raise_server_exceptions=False) as client:
        item_id = create(client)
        failing_after_the_update(monkeypatch)
        client.put(f"/items/{item_id}", json={"price": 2.0})
    assert stored_price(committed_url, item_id) == 2.0


def test_an_update_commits_and_reads_back(production_app: FastAPI, committed_url: URL) -> None:
    with TestClient(production_app, raise_server_exceptions=False) as client:
        item_id = create(client)
        updated = client.put(f"/items/{item_id}", json={"price": 3.5, "quantity": 4})
        assert updated.status_code == status.HTTP_200_OK, updated.text
        assert updated.json()["price"] == 3.5
        same = client.put(f"/items/{item_id}", json={"price": 3.5})  # changes nothing: not a 404
        assert same.status_code == status.HTTP_200_OK, same.text
        assert client.put("/items/999999", json={"price": 1.0}).status_code == 404
    assert stored_price(committed_url, item_id) == 3.5


def driver_autocommits(connection: Connection) -> bool:
    """Whether the driver connection under `connection` is in autocommit mode."""
    dbapi_connection = connection.connection.dbapi_connection
    assert dbapi_connection is not None
    get_autocommit = getattr(dbapi_connection, "get_autocommit", None)  # PyMySQL
    if callable(get_autocommit):
        return bool(get_autocommit())
    return bool(dbapi_connection.autocommit)  # psycopg2


def test_begin_autocommits_and_the_transaction_does_not(production_app: FastAPI) -> None:
    """One-statement routes' `begin` runs with the driver in autocommit; the update's
    `transaction` leaves it for its checkout, and the pool puts it back afterwards."""
    engine = database_of(production_app).get()
    with engine.begin() as connection:
        assert driver_autocommits(connection)
    with transaction(engine) as connection:
        assert not driver_autocommits(connection)
        assert connection.in_transaction()
    with engine.connect() as connection:
        assert driver_autocommits(connection), "the checkout's isolation level leaked"
