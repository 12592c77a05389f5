"""With every pooled connection busy, a request waits `db_pool_timeout` and then gets a 503."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import status
from fastapi.testclient import TestClient
from sqlalchemy import URL

from app.database import dispose_engine, get_engine
from app.main import create_app
from app.settings import get_settings


@pytest.fixture
def one_connection_pool(monkeypatch: pytest.MonkeyPatch, head_database_url: URL) -> Iterator[None]:
    """Point the real engine (no test override) at the test database with a pool of one."""
    monkeypatch.setenv("DATABASE_URL", head_database_url.render_as_string(hide_password=False))
    monkeypatch.setenv("DB_POOL_SIZE", "1")
    monkeypatch.setenv("DB_MAX_OVERFLOW", "0")
    monkeypatch.setenv("DB_POOL_TIMEOUT", "0.2")
    get_settings.cache_clear()
    dispose_engine()
    yield
    dispose_engine()
    get_settings.cache_clear()


@pytest.mark.usefixtures("one_connection_pool")
def test_exhausted_pool_answers_503_with_retry_after_then_recovers() -> None:
    with TestClient(create_app(), raise_server_exceptions=False) as client:
        assert client.get("/items").status_code == status.HTTP_200_OK
        held = get_engine().connect()
        try:
            response = client.get("/items")
        finally:
            held.close()
        assert response.status_code == status.HTTP_503_SERVICE_UNAVAILABLE
        assert response.headers["Retry-After"] == "1"
        assert "busy" in response.json()["detail"]
        assert client.get("/items").status_code == status.HTTP_200_OK
