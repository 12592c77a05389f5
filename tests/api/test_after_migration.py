"""Rows written before `quantity` existed are served by every read route after the upgrade.

The tutorial's API answered 500 for every such row (`quantity: PositiveInt` against a backfilled
0). Here rows are inserted with SQL at revision 1, the database is upgraded to head by Alembic,
and the app, pointed at that database through `dependency_overrides`, must answer 200 for each
one with `quantity` 0, one by one and page by page.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI, status
from fastapi.testclient import TestClient
from sqlalchemy import URL, create_engine, text

from app.database import Begin, get_begin
from app.items import MAX_PAGE_SIZE
from app.main import create_app
from app.models import ID_MAX, NAME_MAX_LENGTH
from tests.support.migrations import upgrade
from tests.support.servers import DatabaseFactory

REVISION_1 = "3c1d9e4a7b20"
HEAD = "9a4f2e61c8d5"

EDGE_ROWS: list[dict[str, Any]] = [
    {"id": 1, "name": "Blue mug", "price": 9.5},
    {"id": 2, "name": "x" * NAME_MAX_LENGTH, "price": 5e-324},
    {"id": 3, "name": " \t padded \u3000", "price": 1.7976931348623157e308},
    {"id": 4, "name": "caf\u00e9 \u2615 \u65e5\u672c \U0001f600", "price": 0.1 + 0.2},
    {"id": 5, "name": "a\u200bb\u0301", "price": 1e-300},
    {"id": ID_MAX, "name": "the largest id", "price": 1.0},
]


def generated_rows(count: int) -> list[dict[str, Any]]:
    """Varied ordinary rows, the same on every run."""
    rng = random.Random(4)
    alphabet = "abc XYZ \u00e9\u00df\u4e2d\U0001f9ea-_'\"\\%"
    rows, item_id = [], 100
    for _ in range(count):
        item_id += rng.randint(1, 10**12)  # sparse ids, as after years of deletes
        name = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 60))).strip() or "n"
        price = rng.choice([rng.uniform(1e-6, 1e6), float(rng.randint(1, 10**9))])
        rows.append({"id": item_id, "name": name, "price": price})
    return rows


ROWS = sorted(EDGE_ROWS + generated_rows(60), key=lambda row: int(row["id"]))


@pytest.fixture(scope="module")
def migrated_url(empty_database_factory: DatabaseFactory) -> Iterator[URL]:
    """A fresh database: revision 1, the rows inserted by SQL, then upgraded to head."""
    with empty_database_factory("items_after_migration") as url:
        upgrade(url, REVISION_1)
        engine = create_engine(url)
        try:
            with engine.begin() as connection:
                connection.execute(
                    text("INSERT INTO items (id, name, price) VALUES (:id, :name, :price)"), ROWS
                )
        finally:
            engine.dispose()
        upgrade(url, HEAD)
        yield url


@pytest.fixture(scope="module")
def migrated_client(migrated_url: URL) -> Iterator[TestClient]:
    """A client whose app reads the migrated database, through its own `get_begin` dependency."""
    engine = create_engine(migrated_url)
    app: FastAPI = create_app()

    async def begin_on_migrated_database() -> Begin:
        return engine.begin

    app.dependency_overrides[get_begin] = begin_on_migrated_database
    try:
        yield TestClient(app, raise_server_exceptions=False)
    finally:
        engine.dispose()


def expected(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "quantity": 0}


def test_the_database_is_at_head(migrated_url: URL) -> None:
    engine = create_engine(migrated_url)
    try:
        with engine.connect() as connection:
            version = connection.execute(text("SELECT version_num FROM alembic_version"))
            assert version.scalar_one() == HEAD
    finally:
        engine.dispose()


def test_every_old_row_is_served_by_id_with_quantity_zero(migrated_client: TestClient) -> None:
    for row in ROWS:
        response = migrated_client.get(f"/items/{row['id']}")
        assert response.status_code == status.HTTP_200_OK, (row, response.text)
        assert response.json() == expected(row)


@pytest.mark.parametrize("limit", [1, 7, 15, MAX_PAGE_SIZE])
def test_every_old_row_is_served_page_by_page(migrated_client: TestClient, limit: int) -> None:
    served: list[dict[str, Any]] = []
    for skip in range(0, len(ROWS) + limit, limit):
        response = migrated_client.get("/items", params={"skip": skip, "limit": limit})
        assert response.status_code == status.HTTP_200_OK, response.text
        assert response.headers["X-Total-Count"] == str(len(ROWS))
        served += response.json()
    assert served == [expected(row) for row in ROWS]
