"""With every pooled connection busy, a request waits `db_pool_timeout` and then gets a 503."""

from __future__ import annotations

from fastapi import status
from fastapi.testclient import TestClient
from sqlalchemy import URL

from app.database import database_of
from app.main import create_app
from app.settings import Settings


def test_exhausted_pool_answers_503_with_retry_after_then_recovers(head_database_url: URL) -> None:
    """The real engine (no test override) on the test database, with a pool of one."""
    settings = Settings(
        database_url=head_database_url.render_as_string(hide_password=False),
        db_pool_size=1,
        db_max_overflow=0,
        db_pool_timeout=0.2,
    )
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/items").status_code == status.HTTP_200_OK
        held = database_of(app).get().connect()
        try:
            response = client.get("/items")
        finally:
            held.close()
        assert response.status_code == status.HTTP_503_SERVICE_UNAVAILABLE
        assert response.headers["Retry-After"] == "1"
        assert "busy" in response.json()["detail"]
        assert client.get("/items").status_code == status.HTTP_200_OK
