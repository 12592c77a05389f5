"""The items router: create, list, read, update and delete, each one transaction and one commit.

Handlers are plain `def`: FastAPI runs them in worker threads, so psycopg2's blocking calls never
stall the event loop (the tutorial's `async def` handlers did, and deadlocked under load). Each
handler runs its statement inside `with begin() as connection:`, which commits when the block
ends, before the response is built, so a success is only ever reported for a committed write (in
production each single-statement route's statement is its own transaction, and the update,
which is two statements on MariaDB, takes `TransactionDep`, a real transaction: see
`app.database`).

Handlers validate each row once against `ItemRead` and return the JSON bytes themselves. Returning
the model instead would make FastAPI validate it a second time against the return annotation (in
a second worker-thread hop, for a `def` route) before serialising it; the bytes are the same,
produced by the same pydantic serializer FastAPI's own fast path uses, and `response_model` keeps
the OpenAPI schema exactly as it was. Measured with `python -m bench` (see bench/RESULTS.md).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Response, status
from pydantic import TypeAdapter
from sqlalchemy import RowMapping

from app import repository
from app.database import BeginDep, TransactionDep
from app.models import ID_MAX
from app.schemas import ErrorBody, ItemCreate, ItemRead, ItemUpdate

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 15

router = APIRouter(prefix="/items", tags=["items"])

ItemIdPath = Annotated[int, Path(ge=1, le=ID_MAX, description="The item's id.")]

_UNAVAILABLE = {
    "model": ErrorBody,
    "description": "The database is unavailable or saturated; retry after `Retry-After` seconds.",
    "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds."}},
}
_NOT_FOUND = {"model": ErrorBody, "description": "No item has this id."}
# Starlette answers 413 itself: as JSON when the body outgrows the limit while it is read, but as
# plain text when `Content-Length` already announces too much, before the app sees the request.
_TOO_LARGE = {
    "model": ErrorBody,
    "description": "The body is larger than the service accepts.",
    "content": {"text/plain": {"schema": {"type": "string"}, "example": "Content Too Large"}},
}
# FastAPI answers 400 when the body cannot be read as text at all (bytes that are not UTF-8);
# text that is not JSON is a 422 like every other invalid body.
_UNREADABLE = {"model": ErrorBody, "description": "The body is not UTF-8 text."}
_COMMON: dict[int | str, dict[str, object]] = {503: _UNAVAILABLE}
_WITH_BODY: dict[int | str, dict[str, object]] = {**_COMMON, 400: _UNREADABLE, 413: _TOO_LARGE}


_ITEM_JSON = TypeAdapter(ItemRead)
_ITEMS_JSON = TypeAdapter(list[ItemRead])


def _item_response(row: RowMapping, status_code: int = status.HTTP_200_OK) -> Response:
    """The row validated as `ItemRead`, serialised as FastAPI would have serialised it."""
    body = _ITEM_JSON.dump_json(ItemRead.model_validate(row))
    return Response(body, status_code=status_code, media_type="application/json")


def _not_found(item_id: int) -> HTTPException:
    return HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail=f"Item {item_id} not found")


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ItemRead,
    responses={
        **_WITH_BODY,
        201: {
            "description": "The item as stored.",
            "headers": {"Location": {"schema": {"type": "string"}, "description": "Its URL."}},
        },
    },
)
def create_item(data: ItemCreate, begin: BeginDep) -> Response:
    """Create an item; `quantity` defaults to 0."""
    with begin() as connection:
        row = repository.create_item(connection, data.model_dump())
    response = _item_response(row, status.HTTP_201_CREATED)
    response.headers["Location"] = f"{router.prefix}/{row['id']}"
    return response


@router.get(
    "",
    response_model=list[ItemRead],
    responses={
        **_COMMON,
        200: {
            "description": "One page of items in id order.",
            "headers": {
                "X-Total-Count": {
                    "schema": {"type": "integer"},
                    "description": "How many items exist in all.",
                }
            },
        },
    },
)
def read_items(
    begin: BeginDep,
    skip: Annotated[int, Query(ge=0, le=ID_MAX, description="Items to skip.")] = 0,
    limit: Annotated[
        int, Query(ge=1, le=MAX_PAGE_SIZE, description="Page size.")
    ] = DEFAULT_PAGE_SIZE,
) -> Response:
    """List items in id order, `limit` at a time from `skip`; the total is in `X-Total-Count`."""
    with begin() as connection:
        total, rows = repository.list_items(connection, skip=skip, limit=limit)
    body = _ITEMS_JSON.dump_json([ItemRead.model_validate(row) for row in rows])
    response = Response(body, media_type="application/json")
    response.headers["X-Total-Count"] = str(total)
    return response


@router.get("/{item_id}", response_model=ItemRead, responses={**_COMMON, 404: _NOT_FOUND})
def read_item(item_id: ItemIdPath, begin: BeginDep) -> Response:
    """Read one item."""
    with begin() as connection:
        row = repository.get_item(connection, item_id)
    if row is None:
        raise _not_found(item_id)
    return _item_response(row)


@router.put("/{item_id}", response_model=ItemRead, responses={**_WITH_BODY, 404: _NOT_FOUND})
def update_item(item_id: ItemIdPath, data: ItemUpdate, transaction: TransactionDep) -> Response:
    """Change the fields given (any of name, price, quantity); the others stay as they are."""
    # A real transaction (not `begin`, AUTOCOMMIT): on MariaDB this is an UPDATE and a SELECT.
    with transaction() as connection:
        row = repository.update_item(connection, item_id, data.model_dump())
    if row is None:
        raise _not_found(item_id)
    return _item_response(row)


@router.delete(
    "/{item_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**_COMMON, 404: _NOT_FOUND},
)
def delete_item(item_id: ItemIdPath, begin: BeginDep) -> Response:
    """Delete an item."""
    with begin() as connection:
        deleted = repository.delete_item(connection, item_id)
    if not deleted:
        raise _not_found(item_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
