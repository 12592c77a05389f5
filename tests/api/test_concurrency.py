"""A live server under far more simultaneous requests than it has connections, and without its
database: every request is answered (2xx, or 503 with `Retry-After`), none hangs, nothing is lost,
and after an outage the service recovers by itself.

The server is the real thing (uvicorn in a subprocess, `tests/api/live_server.py`) on a database
cloned from the migrated template, with a pool of 4 connections, reaching PostgreSQL through a
loopback proxy (`tests/api/tcp_proxy.py`) that a test cuts to simulate an outage. Every wait is
bounded: each request by `REQUEST_SECONDS`, each burst by `BURST_SECONDS`, each retry loop by
count and time. Only 127.0.0.1 is used.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi import status
from sqlalchemy import URL, create_engine, text

from tests.api.live_server import live_server
from tests.api.tcp_proxy import TcpProxy, tcp_proxy
from tests.support.servers import DatabaseFactory

POOL_SIZE = 4
CONCURRENT_CREATES = 160
CONCURRENT_READS = 40
REQUEST_SECONDS = 30.0
BURST_SECONDS = 60.0
SERVER_SETTINGS = {
    "DB_POOL_SIZE": str(POOL_SIZE),
    "DB_MAX_OVERFLOW": "0",
    "DB_POOL_TIMEOUT": "5",
    "DB_CONNECT_TIMEOUT": "2",
}

Request = tuple[str, str, Any]


@pytest.fixture(scope="module")
def live_database(head_database_factory: DatabaseFactory) -> Iterator[URL]:
    """A private database at head: the server commits for real here."""
    with head_database_factory("items_live") as url:
        yield url


@pytest.fixture(scope="module")
def proxy(live_database: URL) -> Iterator[TcpProxy]:
    """The service reaches its database only through this proxy, so a test can cut it."""
    with tcp_proxy(live_database) as running:
        yield running


@pytest.fixture(scope="module")
def server_url(proxy: TcpProxy) -> Iterator[str]:
    """The real service (pool of 4), started once for the module."""
    with live_server(proxy.url().render_as_string(hide_password=False), **SERVER_SETTINGS) as url:
        yield url


async def _send_all(base_url: str, requests: list[Request]) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=len(requests))
    async with httpx.AsyncClient(
        base_url=base_url, timeout=REQUEST_SECONDS, limits=limits
    ) as client:
        calls = [client.request(method, url, json=body) for method, url, body in requests]
        return await asyncio.wait_for(asyncio.gather(*calls), BURST_SECONDS)


def send_all(base_url: str, requests: list[Request]) -> list[httpx.Response]:
    """Send every request at once; all must be answered within the bounds above."""
    return asyncio.run(_send_all(base_url, requests))


def assert_answered(response: httpx.Response) -> None:
    """Success, or a 503 that tells the client when to retry. Nothing else."""
    if response.status_code == status.HTTP_503_SERVICE_UNAVAILABLE:
        assert response.headers.get("Retry-After"), response.headers
    else:
        assert 200 <= response.status_code < 300, (response.status_code, response.text)


def stored_items(url: URL) -> dict[int, dict[str, Any]]:
    """The table as PostgreSQL holds it, read around the service, by id."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT id, name, price, quantity FROM items"))
            return {row.id: dict(row._mapping) for row in rows}
    finally:
        engine.dispose()


def test_a_burst_far_beyond_the_pool_is_answered_and_loses_no_create(
    server_url: str, live_database: URL
) -> None:
    """200 requests at once on 4 connections; every 201 is a row, and every row had its 201."""
    before = stored_items(live_database)
    creates = [
        ("POST", "/items", {"name": f"burst {number}", "price": number + 0.5, "quantity": number})
        for number in range(CONCURRENT_CREATES)
    ]
    reads = [("GET", "/items?limit=100", None)] * CONCURRENT_READS
    started = time.monotonic()
    responses = send_all(server_url, creates + reads)
    elapsed = time.monotonic() - started
    for response in responses:
        assert_answered(response)
    acknowledged = {
        response.json()["id"]: response.json()
        for response in responses
        if response.status_code == status.HTTP_201_CREATED
    }
    stored = stored_items(live_database)
    new = {item_id: item for item_id, item in stored.items() if item_id not in before}
    assert new == acknowledged, "the table and the acknowledged creates disagree"
    assert len(acknowledged) > CONCURRENT_CREATES // 2, (
        f"only {len(acknowledged)} of {CONCURRENT_CREATES} creates succeeded in {elapsed:.1f} s"
    )


def test_concurrent_updates_and_deletes_of_one_item_stay_atomic(
    server_url: str, live_database: URL
) -> None:
    """Racing PUTs leave one request's whole change (never a mix); racing DELETEs succeed once."""
    created = send_all(server_url, [("POST", "/items", {"name": "contested", "price": 1.0})])[0]
    assert created.status_code == status.HTTP_201_CREATED, created.text
    item_id = created.json()["id"]
    changes = [{"name": f"writer {n}", "price": n + 0.25, "quantity": n} for n in range(64)]
    updates = send_all(server_url, [("PUT", f"/items/{item_id}", change) for change in changes])
    for response in updates:
        assert_answered(response)
    answered = [response.json() for response in updates if response.status_code == 200]
    assert stored_items(live_database)[item_id] in answered, "the row mixes several updates"
    deletes = send_all(server_url, [("DELETE", f"/items/{item_id}", None)] * 32)
    for response in deletes:
        if response.status_code != status.HTTP_404_NOT_FOUND:
            assert_answered(response)
    statuses = [response.status_code for response in deletes]
    deleted = statuses.count(status.HTTP_204_NO_CONTENT)
    assert deleted == 1 or (deleted == 0 and 503 in statuses), statuses
    assert (item_id in stored_items(live_database)) == (deleted == 0), statuses


def test_killed_connections_are_replaced_without_a_restart(
    server_url: str, live_database: URL, kill_app_connections: Callable[[URL], int]
) -> None:
    """The server drops every connection of the service; the service heals by itself."""
    assert all(r.status_code == 200 for r in send_all(server_url, [("GET", "/items", None)] * 8))
    killed = kill_app_connections(live_database)
    assert killed > 0, "the service held no connection to kill"
    responses = send_all(server_url, [("GET", "/items", None)] * (POOL_SIZE * 8))
    for response in responses:
        assert_answered(response)
    assert_recovers(server_url)


def assert_recovers(base_url: str, attempts: int = 50, seconds: float = 20.0) -> None:
    """Within the bounds, three reads in a row succeed; every answer before that is a 503."""
    deadline = time.monotonic() + seconds
    successes = 0
    with httpx.Client(base_url=base_url, timeout=REQUEST_SECONDS) as client:
        for _ in range(attempts):
            response = client.get("/items")
            assert_answered(response)
            successes = successes + 1 if response.status_code == status.HTTP_200_OK else 0
            if successes == 3 or time.monotonic() > deadline:
                break
            if response.status_code != status.HTTP_200_OK:
                time.sleep(float(response.headers["Retry-After"]) / 4)
    assert successes == 3, "the service did not recover by itself"


EVERY_ROUTE: list[Request] = [
    ("GET", "/items", None),
    ("GET", "/items/1", None),
    ("POST", "/items", {"name": "mug", "price": 1.0}),
    ("PUT", "/items/1", {"price": 2.0}),
    ("DELETE", "/items/1", None),
]


def test_an_outage_is_a_prompt_503_and_the_service_recovers_without_a_restart(
    server_url: str, proxy: TcpProxy, live_database: URL
) -> None:
    """PostgreSQL vanishes (connections reset, nothing listening), then comes back."""
    before = stored_items(live_database)
    proxy.stop()
    try:
        responses = send_all(server_url, EVERY_ROUTE * 8)
        for (method, path, _), response in zip(EVERY_ROUTE * 8, responses, strict=True):
            assert response.status_code == status.HTTP_503_SERVICE_UNAVAILABLE, (method, path)
            assert response.headers["Retry-After"] == "1"
            assert "retry" in response.json()["detail"]
    finally:
        proxy.start()
    assert_recovers(server_url)
    assert stored_items(live_database) == before, "a request refused with 503 wrote anyway"
