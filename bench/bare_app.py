"""The framework ceiling: a FastAPI app whose `async` routes return constants of the API's shape.

Served by the same uvicorn settings as the real app, it measures what FastAPI, uvicorn and the
load generator cost on their own; the real app's throughput is reported as a share of it.
No database, no thread hop, no validation of the output beyond FastAPI's own.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, status
from pydantic import BaseModel

ITEM: dict[str, Any] = {"id": 5000, "name": "bench item 5000", "price": 1.0, "quantity": 0}
PAGE: list[dict[str, Any]] = [
    {"id": n, "name": f"bench item {n}", "price": 1 + (n % 1000) / 10, "quantity": n % 50}
    for n in range(1, 16)
]


class BareItemCreate(BaseModel):
    """The POST body, parsed as FastAPI parses any body, without the real app's bounds."""

    name: str
    price: float
    quantity: int = 0


app = FastAPI(title="bare ceiling")


@app.get("/items/{item_id}")
async def read_item(item_id: int) -> dict[str, Any]:  # noqa: ARG001
    """One item."""
    return ITEM


@app.get("/items")
async def read_items(skip: int = 0, limit: int = 15) -> list[dict[str, Any]]:  # noqa: ARG001
    """A page of 15 items."""
    return PAGE


@app.post("/items", status_code=status.HTTP_201_CREATED)
async def create_item(item: BareItemCreate) -> dict[str, Any]:  # noqa: ARG001
    """One item, as if created."""
    return ITEM
