"""Whatever the API accepts it gives back exactly: creates, partial updates, and paging.

"Exactly" means the same JSON value: floats bit for bit (the subnormal 5e-324 included), names code
point for code point (so byte for byte in UTF-8), quantities as integers. Each example runs in its
own rolled-back transaction.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, status
from fastapi.testclient import TestClient
from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, text, update

from app.items import MAX_PAGE_SIZE
from app.models import MYSQL_FAMILY, items_table
from tests.api.helpers import seed, send_text, table_rows
from tests.support.api import rolled_back
from tests.support.strategies import json_text, valid_items, valid_quantities, valid_updates

MAX_ROWS = 40


def exactly(value: dict[str, Any]) -> dict[str, Any]:
    """`value` with floats as their hex spelling, so == compares them bit for bit."""
    return {key: item.hex() if isinstance(item, float) else item for key, item in value.items()}


@given(item=valid_items)
@example(item={"name": "\U0001f600 x" + "\u0301" * 100, "price": 5e-324})
@example(item={"name": " \t padded \u3000", "price": 1.7976931348623157e308, "quantity": 0})
@example(item={"name": "x" * 200, "price": 0.1 + 0.2, "quantity": 2**31 - 1})
def test_a_created_item_reads_back_identical(
    client: TestClient, api_engine: Engine, app: FastAPI, item: dict[str, Any]
) -> None:
    with rolled_back(api_engine, app) as connection:
        created = send_text(client, "POST", "/items", json_text(item))
        assert created.status_code == status.HTTP_201_CREATED, created.text
        expected = {"quantity": 0, **item, "id": created.json()["id"]}
        assert exactly(created.json()) == exactly(expected)
        read = client.get(created.headers["Location"])
        assert read.status_code == status.HTTP_200_OK
        assert exactly(read.json()) == exactly(expected)
        as_utf8 = "CAST(name AS BINARY)" if mysql_family(connection) else "convert_to(name, 'UTF8')"
        stored_name = connection.execute(
            text(f"SELECT {as_utf8} FROM items WHERE id = :id"),
            {"id": expected["id"]},
        ).scalar_one()
        assert bytes(stored_name) == item["name"].encode("utf-8")


@given(original=valid_items, changes=valid_updates, bystander=valid_items)
@example(original={"name": "mug", "price": 1.0}, changes={}, bystander={"name": "b", "price": 2.0})
def test_an_update_changes_exactly_the_fields_given(
    client: TestClient,
    api_engine: Engine,
    app: FastAPI,
    *,
    original: dict[str, Any],
    changes: dict[str, Any],
    bystander: dict[str, Any],
) -> None:
    with rolled_back(api_engine, app) as connection:
        item_id, _ = seed(connection, [original, bystander])
        before = client.get(f"/items/{item_id}").json()
        others_before = [row for row in table_rows(connection) if row[0] != item_id]
        updated = send_text(client, "PUT", f"/items/{item_id}", json_text(changes))
        assert updated.status_code == status.HTTP_200_OK, updated.text
        assert exactly(updated.json()) == exactly({**before, **changes})
        assert exactly(client.get(f"/items/{item_id}").json()) == exactly({**before, **changes})
        assert [row for row in table_rows(connection) if row[0] != item_id] == others_before


@given(
    items=st.lists(valid_items, max_size=MAX_ROWS),
    moved=st.sets(st.integers(0, MAX_ROWS - 1)),
    limit=st.integers(1, MAX_PAGE_SIZE),
)
def test_pages_partition_the_table_in_id_order(
    client: TestClient,
    api_engine: Engine,
    app: FastAPI,
    *,
    items: list[dict[str, Any]],
    moved: set[int],
    limit: int,
) -> None:
    """Walking `skip` by `limit` yields every id once, in order, each page with the true total.

    Updating some rows first moves them physically (PostgreSQL writes a new row version), so
    heap order stops being id order and only a real `ORDER BY id` keeps the pages right. (InnoDB
    keeps rows in primary-key order, so on MariaDB the update moves nothing.)
    """
    with rolled_back(api_engine, app) as connection:
        ids = seed(connection, items)
        touched = [ids[index] for index in moved if index < len(ids)]
        connection.execute(
            update(items_table).where(items_table.c.id.in_(touched)).values(name=items_table.c.name)
        )
        seen: list[int] = []
        for skip in range(0, len(ids) + limit + 1, limit):
            page = client.get("/items", params={"skip": skip, "limit": limit})
            assert page.status_code == status.HTTP_200_OK, page.text
            assert page.headers["X-Total-Count"] == str(len(ids)), f"skip={skip}"
            page_ids = [item["id"] for item in page.json()]
            assert len(page_ids) == len(ids[skip : skip + limit]), f"skip={skip}"
            seen += page_ids
        assert seen == sorted(ids), "pages overlap, skip items, or are out of id order"


@given(quantity=valid_quantities)
@example(quantity=2**31 - 1)
def test_an_integral_json_number_is_a_valid_quantity(
    client: TestClient, api_engine: Engine, app: FastAPI, quantity: int
) -> None:
    """JSON Schema's `integer` includes 3.0, and so does the API (schemathesis found it did not)."""
    body = f'{{"name": "mug", "price": 1.5, "quantity": {quantity}.0}}'
    with rolled_back(api_engine, app):
        created = send_text(client, "POST", "/items", body)
        assert created.status_code == status.HTTP_201_CREATED, created.text
        assert created.json()["quantity"] == quantity
        assert isinstance(created.json()["quantity"], int)
        assert client.get(created.headers["Location"]).json()["quantity"] == quantity


def mysql_family(connection: Connection) -> bool:
    """Whether the test's connection is on MariaDB/MySQL, where the SQL above is spelled
    differently (no `convert_to`)."""
    return connection.dialect.name in MYSQL_FAMILY
