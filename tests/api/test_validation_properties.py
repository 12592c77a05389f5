"""Generated hostile input never gets a 5xx, and a refused request leaves the table as it was.

Each example runs in its own rolled-back transaction (`rolled_back`), seeded with two rows, so a
request that wrongly writes, or writes and then fails, shows up as a changed table. The fixtures
used here are session-scoped; per-example state lives in the `with` block, as hypothesis asks.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi import FastAPI, status
from fastapi.testclient import TestClient
from httpx import Response
from hypothesis import event, example, given
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlalchemy import Engine

from app.models import NAME_MAX_LENGTH
from app.schemas import NAME_PATTERN, ItemCreate
from tests.api.helpers import Row, assert_not_server_error, seed, send_text, table_rows
from tests.support.api import rolled_back
from tests.support.strategies import (
    FIELDS,
    hostile_body_text,
    hostile_values,
    item_path_segments,
    json_text,
    list_query_strings,
    weird_strings,
)

SEED = [{"name": "Blue mug", "price": 9.5, "quantity": 3}, {"name": "Red mug", "price": 0.1}]
MISSING_ID = 2**63 - 1


def assert_clear_refusal(response: Response, request: str) -> None:
    """A 4xx that says why: JSON with a `detail` (Starlette's plain-text 413 aside)."""
    assert 400 <= response.status_code < 500, (request, response.status_code, response.text)
    if response.headers.get("content-type", "").startswith("application/json"):
        assert response.json()["detail"], (request, response.text)


def stored_row(body: dict[str, Any]) -> Row:
    """The table row an item in a response body stands for."""
    return (body["id"], body["name"], body["price"], body["quantity"])


@given(body=hostile_body_text)
@example(body='{"name": "mug", "price": NaN}')
@example(body='{"name": "mug", "price": 1e309}')
@example(body='{"name": "mug\\u0000", "price": 1}')
@example(body='{"name": "\\ud800", "price": 1}')
@example(body='{"name": "mug", "price": 1, "quantity": 18446744073709551616}')
@example(body="[" * 600 + "]" * 600)
@example(body="[" * 5000 + "]" * 5000)
def test_post_is_201_or_a_clear_4xx_and_a_refusal_changes_nothing(
    client: TestClient, api_engine: Engine, app: FastAPI, body: str
) -> None:
    with rolled_back(api_engine, app) as connection:
        seed(connection, SEED)
        before = table_rows(connection)
        response = send_text(client, "POST", "/items", body)
        request = f"POST /items {body[:300]!r}"
        assert_not_server_error(response, request)
        event(f"status {response.status_code}")
        after = table_rows(connection)
        if response.status_code == status.HTTP_201_CREATED:
            assert after == [*before, stored_row(response.json())], request
        else:
            assert_clear_refusal(response, request)
            assert after == before, f"{request} was refused but changed the table"


@given(body=hostile_body_text, target=st.sampled_from(["existing", "missing"]))
@example(body='{"price": -Infinity}', target="existing")
@example(body='{"quantity": 2147483648}', target="existing")
@example(body='{"name": null}', target="existing")
@example(body='{"name":' * 600 + "1" + "}" * 600, target="existing")
def test_put_is_200_or_a_clear_4xx_and_a_refusal_changes_nothing(
    client: TestClient, api_engine: Engine, app: FastAPI, body: str, target: str
) -> None:
    with rolled_back(api_engine, app) as connection:
        item_id = seed(connection, SEED)[0] if target == "existing" else MISSING_ID
        before = table_rows(connection)
        response = send_text(client, "PUT", f"/items/{item_id}", body)
        request = f"PUT /items/{item_id} {body[:300]!r}"
        assert_not_server_error(response, request)
        event(f"status {response.status_code}")
        after = table_rows(connection)
        if response.status_code == status.HTTP_200_OK:
            updated = stored_row(response.json())
            assert after == [updated if row[0] == item_id else row for row in before], request
        else:
            assert_clear_refusal(response, request)
            assert after == before, f"{request} was refused but changed the table"


@pytest.mark.parametrize("method", ["POST", "PUT"])
@pytest.mark.parametrize("field", FIELDS)
@given(data=st.data())
def test_one_hostile_field_in_a_valid_body_is_refused_or_stored_exactly(
    client: TestClient,
    api_engine: Engine,
    app: FastAPI,
    *,
    field: str,
    method: str,
    data: st.DataObject,
) -> None:
    """Everything valid but one field: the request gets past parsing to the field's own rules
    (and to the database when a rule is missing), where whole-body fuzzing rarely arrives."""
    value = data.draw(hostile_values[field], label=field)
    with rolled_back(api_engine, app) as connection:
        item_id = seed(connection, SEED)[0]
        before = table_rows(connection)
        if method == "POST":
            url, body = "/items", json_text({"name": "mug", "price": 1.5, field: value})
        else:
            url, body = f"/items/{item_id}", json_text({field: value})
        response = send_text(client, method, url, body)
        request = f"{method} {url} {body[:300]!r}"
        assert_not_server_error(response, request)
        event(f"status {response.status_code}")
        after = table_rows(connection)
        if response.status_code in {status.HTTP_200_OK, status.HTTP_201_CREATED}:
            stored = stored_row(response.json())
            assert stored in after, f"{request}: the reported item is not what the table holds"
            # Exactly what was sent; a number as the nearest double, as any JSON reader has it.
            sent = float(value) if field == "price" else value
            assert stored[1 + FIELDS.index(field)] == sent, f"{request} stored {stored}"
            assert [row for row in after if row[0] != stored[0]] == [
                row for row in before if row[0] != stored[0]
            ], f"{request} changed other rows"
        else:
            assert_clear_refusal(response, request)
            assert after == before, f"{request} was refused but changed the table"


@given(query=list_query_strings())
@example(query="skip=9223372036854775808")
@example(query="limit=NaN&skip=-Infinity")
@example(query="skip=%00&limit=%ED%A0%80")
def test_list_is_200_or_a_clear_4xx_for_any_query_string(
    client: TestClient, api_engine: Engine, app: FastAPI, query: str
) -> None:
    with rolled_back(api_engine, app) as connection:
        seed(connection, SEED)
        before = table_rows(connection)
        response = client.get(f"/items?{query}")
        request = f"GET /items?{query}"
        assert_not_server_error(response, request)
        event(f"status {response.status_code}")
        if response.status_code == status.HTTP_200_OK:
            assert response.headers["X-Total-Count"] == str(len(before)), request
            page = [stored_row(item) for item in response.json()]
            start = before.index(page[0]) if page else 0
            assert page == before[start : start + len(page)], f"{request}: not a window in id order"
        else:
            assert_clear_refusal(response, request)
        assert table_rows(connection) == before, f"{request} changed the table"


@given(segment=item_path_segments, method=st.sampled_from(["GET", "DELETE"]))
@example(segment="0", method="DELETE")
@example(segment="9223372036854775808", method="GET")
@example(segment="%00", method="GET")
def test_any_item_path_is_answered_without_a_server_error(
    client: TestClient, api_engine: Engine, app: FastAPI, segment: str, method: str
) -> None:
    with rolled_back(api_engine, app) as connection:
        seed(connection, SEED)
        before = table_rows(connection)
        response = client.request(method, f"/items/{segment}")
        request = f"{method} /items/{segment}"
        assert_not_server_error(response, request)
        event(f"status {response.status_code}")
        if response.status_code == status.HTTP_204_NO_CONTENT:
            # The segment named a seeded id in some spelling FastAPI accepts ("+47", " 47").
            after = table_rows(connection)
            removed = [row for row in before if row not in after]
            assert len(removed) == 1, f"{request} deleted {removed}"
            assert after == [row for row in before if row != removed[0]], request
        else:
            if response.status_code != status.HTTP_200_OK:
                assert_clear_refusal(response, request)
            assert table_rows(connection) == before, f"{request} changed the table"


@given(name=weird_strings)
def test_published_name_pattern_agrees_with_the_validator(name: str) -> None:
    """The schema's `pattern` for names must accept exactly what the API accepts."""
    try:
        ItemCreate(name=name, price=1.0)
        accepted = True
    except ValidationError:
        accepted = False
    in_schema = 1 <= len(name) <= NAME_MAX_LENGTH and re.search(NAME_PATTERN, name) is not None
    surrogate_free = not any("\ud800" <= char <= "\udfff" for char in name)
    assert accepted == (in_schema and surrogate_free), name
