"""Every integer parameter is accepted exactly inside its documented bounds and refused outside.

A sharper oracle than "never a 5xx": for any integers, `GET /items?skip=&limit=` must be 200
when `0 <= skip <= 2**63-1` and `1 <= limit <= 100`, else 422, and `/items/{id}` must be 422
outside `1..2**63-1`. Half of all generated integers are negative and many exceed 64 bits, so
a missing bound is found at once, even where the database would have caught it (as a 500 or,
with the DataError handler, as a vaguer 422 after a round trip).
"""

from __future__ import annotations

from fastapi import FastAPI, status
from fastapi.testclient import TestClient
from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy import Engine

from app.items import MAX_PAGE_SIZE
from app.models import ID_MAX
from tests.support.api import rolled_back

integers_near_the_bounds = st.one_of(
    st.integers(),
    st.integers(-2, MAX_PAGE_SIZE + 2),
    st.sampled_from([ID_MAX, ID_MAX + 1, -ID_MAX - 2, 2**64]),
)


@given(skip=integers_near_the_bounds, limit=integers_near_the_bounds)
@example(skip=-1, limit=1)
@example(skip=ID_MAX + 1, limit=1)
@example(skip=0, limit=MAX_PAGE_SIZE + 1)
def test_paging_is_accepted_exactly_within_its_bounds(
    client: TestClient, api_engine: Engine, app: FastAPI, skip: int, limit: int
) -> None:
    with rolled_back(api_engine, app):
        response = client.get("/items", params={"skip": skip, "limit": limit})
    inside = 0 <= skip <= ID_MAX and 1 <= limit <= MAX_PAGE_SIZE
    expected = status.HTTP_200_OK if inside else status.HTTP_422_UNPROCESSABLE_CONTENT
    assert response.status_code == expected, response.text
    if not inside:
        assert {error["loc"][0] for error in response.json()["detail"]} == {"query"}


@given(item_id=integers_near_the_bounds, method=st.sampled_from(["GET", "PUT", "DELETE"]))
@example(item_id=0, method="GET")
@example(item_id=ID_MAX + 1, method="DELETE")
def test_item_ids_are_accepted_exactly_within_the_column_range(
    client: TestClient, api_engine: Engine, app: FastAPI, item_id: int, method: str
) -> None:
    """In range, an id that does not exist is a 404; out of range, a 422 naming the path."""
    body = {"price": 1.0} if method == "PUT" else None
    with rolled_back(api_engine, app) as connection:
        connection.exec_driver_sql("DELETE FROM items")
        response = client.request(method, f"/items/{item_id}", json=body)
    if 1 <= item_id <= ID_MAX:
        assert response.status_code == status.HTTP_404_NOT_FOUND, response.text
    else:
        assert response.status_code == status.HTTP_422_UNPROCESSABLE_CONTENT, response.text
        assert response.json()["detail"][0]["loc"] == ["path", "item_id"]
