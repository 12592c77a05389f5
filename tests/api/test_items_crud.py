"""Each route's ordinary behaviour and status codes, one behaviour per test."""

from __future__ import annotations

import pytest
from fastapi import status
from fastapi.testclient import TestClient
from sqlalchemy import Connection, text

pytestmark = pytest.mark.usefixtures("db")

MUG = {"name": "Blue mug", "price": 9.5}


def create(client: TestClient, **fields: object) -> dict[str, object]:
    response = client.post("/items", json={**MUG, **fields})
    assert response.status_code == status.HTTP_201_CREATED, response.text
    body: dict[str, object] = response.json()
    return body


def test_create_returns_201_with_the_item_and_its_location(client: TestClient) -> None:
    response = client.post("/items", json={"name": "Blue mug", "price": 9.5, "quantity": 3})
    assert response.status_code == status.HTTP_201_CREATED
    body = response.json()
    assert body == {"id": body["id"], "name": "Blue mug", "price": 9.5, "quantity": 3}
    assert response.headers["Location"] == f"/items/{body['id']}"
    assert client.get(response.headers["Location"]).json() == body


def test_create_defaults_quantity_to_zero(client: TestClient) -> None:
    assert create(client)["quantity"] == 0


def test_create_commits_the_row(client: TestClient, db: Connection) -> None:
    item = create(client, name="Stored")
    row = db.execute(
        text("SELECT name, price, quantity FROM items WHERE id = :id"), {"id": item["id"]}
    )
    assert row.one() == ("Stored", 9.5, 0)


def test_read_returns_the_item(client: TestClient) -> None:
    item = create(client)
    response = client.get(f"/items/{item['id']}")
    assert response.status_code == status.HTTP_200_OK
    assert response.json() == item


def test_read_missing_item_returns_404(client: TestClient) -> None:
    response = client.get("/items/987654321")
    assert response.status_code == status.HTTP_404_NOT_FOUND
    assert response.json() == {"detail": "Item 987654321 not found"}


def test_update_changes_only_the_fields_given(client: TestClient) -> None:
    item = create(client, quantity=2)
    response = client.put(f"/items/{item['id']}", json={"price": 12.25})
    assert response.status_code == status.HTTP_200_OK
    assert response.json() == {**item, "price": 12.25}
    assert client.get(f"/items/{item['id']}").json() == {**item, "price": 12.25}


def test_update_can_change_every_field(client: TestClient) -> None:
    item = create(client)
    changes = {"name": "Red mug", "price": 1.5, "quantity": 7}
    response = client.put(f"/items/{item['id']}", json=changes)
    assert response.json() == {"id": item["id"], **changes}


def test_update_with_empty_body_changes_nothing(client: TestClient) -> None:
    item = create(client)
    response = client.put(f"/items/{item['id']}", json={})
    assert response.status_code == status.HTTP_200_OK
    assert response.json() == item


def test_update_missing_item_returns_404(client: TestClient) -> None:
    response = client.put("/items/987654321", json={"price": 2.0})
    assert response.status_code == status.HTTP_404_NOT_FOUND


@pytest.mark.parametrize("field", ["name", "price", "quantity"])
def test_update_with_explicit_null_is_rejected_and_changes_nothing(
    client: TestClient, field: str
) -> None:
    item = create(client)
    response = client.put(f"/items/{item['id']}", json={field: None})
    assert response.status_code == status.HTTP_422_UNPROCESSABLE_CONTENT
    assert response.json()["detail"][0]["loc"] == ["body", field]
    assert client.get(f"/items/{item['id']}").json() == item


def test_delete_returns_204_and_removes_the_item(client: TestClient) -> None:
    item = create(client)
    response = client.delete(f"/items/{item['id']}")
    assert response.status_code == status.HTTP_204_NO_CONTENT
    assert response.content == b""
    assert client.get(f"/items/{item['id']}").status_code == status.HTTP_404_NOT_FOUND


def test_delete_missing_item_returns_404(client: TestClient) -> None:
    response = client.delete("/items/987654321")
    assert response.status_code == status.HTTP_404_NOT_FOUND
    assert response.json() == {"detail": "Item 987654321 not found"}


def test_delete_twice_returns_404_the_second_time(client: TestClient) -> None:
    item = create(client)
    assert client.delete(f"/items/{item['id']}").status_code == status.HTTP_204_NO_CONTENT
    assert client.delete(f"/items/{item['id']}").status_code == status.HTTP_404_NOT_FOUND
