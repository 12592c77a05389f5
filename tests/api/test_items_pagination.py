"""`GET /items`: stable id order, `skip`/`limit` bounds, and `X-Total-Count`."""

from __future__ import annotations

import pytest
from fastapi import status
from fastapi.testclient import TestClient

pytestmark = pytest.mark.usefixtures("db")


def create_many(client: TestClient, count: int) -> list[int]:
    ids = []
    for number in range(count):
        response = client.post("/items", json={"name": f"item {number}", "price": number + 1.0})
        assert response.status_code == status.HTTP_201_CREATED
        ids.append(response.json()["id"])
    return ids


def test_list_of_empty_table_is_empty_with_total_zero(client: TestClient) -> None:
    response = client.get("/items")
    assert response.status_code == status.HTTP_200_OK
    assert response.json() == []
    assert response.headers["X-Total-Count"] == "0"


def test_list_defaults_to_15_items_in_id_order(client: TestClient) -> None:
    ids = create_many(client, 20)
    response = client.get("/items")
    assert [item["id"] for item in response.json()] == ids[:15]
    assert response.headers["X-Total-Count"] == "20"


def test_skip_and_limit_select_a_window(client: TestClient) -> None:
    ids = create_many(client, 10)
    response = client.get("/items", params={"skip": 3, "limit": 4})
    assert [item["id"] for item in response.json()] == ids[3:7]
    assert response.headers["X-Total-Count"] == "10"


def test_skip_past_the_end_returns_empty_page_with_true_total(client: TestClient) -> None:
    create_many(client, 3)
    response = client.get("/items", params={"skip": 50})
    assert response.json() == []
    assert response.headers["X-Total-Count"] == "3"


def test_pages_cover_every_item_once(client: TestClient) -> None:
    ids = create_many(client, 23)
    seen = []
    for skip in range(0, 30, 7):
        seen += [
            item["id"] for item in client.get("/items", params={"skip": skip, "limit": 7}).json()
        ]
    assert seen == ids


@pytest.mark.parametrize(
    "params",
    [
        {"skip": -1},
        {"limit": 0},
        {"limit": 101},
        {"limit": -5},
        {"skip": "abc"},
        {"limit": "1.5"},
        {"skip": str(2**63)},
    ],
)
def test_out_of_range_paging_is_422(client: TestClient, params: dict[str, object]) -> None:
    response = client.get("/items", params=params)
    assert response.status_code == status.HTTP_422_UNPROCESSABLE_CONTENT
    assert response.json()["detail"][0]["loc"][0] == "query"


def test_limit_100_is_allowed(client: TestClient) -> None:
    assert client.get("/items", params={"limit": 100}).status_code == status.HTTP_200_OK
