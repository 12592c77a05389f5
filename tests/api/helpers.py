"""Small helpers the property tests share: send raw JSON text, read and seed the table."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Connection, insert, select

from app.models import items_table

Row = tuple[int, str, float, int]


def send_text(client: TestClient, method: str, url: str, body: str) -> Response:
    """Send `body` verbatim as a JSON request, so `NaN` and `\\ud800` reach the server as typed."""
    headers = {"Content-Type": "application/json"}
    response: Response = client.request(method, url, content=body.encode(), headers=headers)
    return response


def table_rows(connection: Connection) -> list[Row]:
    """Every row of `items`, in id order: the whole state a request may have changed."""
    statement = select(items_table).order_by(items_table.c.id)
    return [(row.id, row.name, row.price, row.quantity) for row in connection.execute(statement)]


def seed(connection: Connection, items: Iterable[Mapping[str, Any]]) -> list[int]:
    """Insert `items` with SQL (faster than the API) and return their ids in insertion order."""
    rows = [{"quantity": 0, **item} for item in items]
    if not rows:
        return []
    statement = insert(items_table).returning(items_table.c.id, sort_by_parameter_order=True)
    return [row.id for row in connection.execute(statement, rows)]


def assert_not_server_error(response: Response, request: str) -> None:
    """A 5xx is always a bug; show what was sent and what came back."""
    assert response.status_code < 500, f"{request} -> {response.status_code} {response.text[:500]}"


def assert_crud_round_trip(client: TestClient) -> None:
    """Create, read, list, update and delete one item through the API, each as it must answer:
    what an app that may only use rows has to be able to do (the least-privilege tests)."""
    created = client.post("/items", json={"name": "Blue mug", "price": 9.5})
    assert created.status_code == 201, created.text
    location = created.headers["Location"]
    assert client.get(location).json()["name"] == "Blue mug"
    assert client.get("/items").status_code == 200
    updated = client.put(location, json={"quantity": 3})
    assert updated.status_code == 200, updated.text
    assert updated.json()["quantity"] == 3
    assert client.delete(location).status_code == 204
    assert client.get(location).status_code == 404
