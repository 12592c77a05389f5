"""Configuration: every URL a user may paste reaches psycopg2, the engine is built lazily, and
an app uses the settings it was built with, never the environment behind them."""

from __future__ import annotations

import importlib.util

import anyio
import anyio.to_thread
import pytest
from fastapi import status
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import URL, text

from app.database import DatabaseNotConfiguredError, build_engine
from app.main import configure_worker_threads, create_app
from app.settings import Settings, available_cpus, normalise_database_url


@pytest.mark.parametrize(
    ("given", "driver"),
    [
        ("postgresql://u@h/db", "postgresql+psycopg2"),
        ("postgres://u@h/db", "postgresql+psycopg2"),
        ("postgresql+psycopg2://u@h/db", "postgresql+psycopg2"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg"),
        ("mariadb://u@h/db", "mariadb+pymysql"),
        ("mysql://u@h/db", "mysql+pymysql"),
        ("mariadb+pymysql://u@h/db", "mariadb+pymysql"),
        ("mysql+mysqlconnector://u@h/db", "mysql+mysqlconnector"),
    ],
)
def test_urls_are_normalised_to_an_explicit_driver(given: str, driver: str) -> None:
    assert normalise_database_url(given).drivername == driver


@pytest.mark.parametrize("given", ["mariadb://u@h/db", "mysql://u@h/db"])
def test_mariadb_urls_talk_utf8mb4(given: str) -> None:
    """MySQL's `utf8` is three bytes: an emoji in a name would not fit."""
    assert normalise_database_url(given).query["charset"] == "utf8mb4"
    assert normalise_database_url(f"{given}?charset=latin1").query["charset"] == "latin1"


def test_migration_urls_are_normalised_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "mariadb://items_app@db.example/items")
    monkeypatch.setenv("MIGRATION_DATABASE_URL", "mysql://items_owner@db.example/items")
    settings = Settings()
    assert settings.database_url == "mariadb+pymysql://items_app@db.example/items?charset=utf8mb4"
    assert settings.migration_url == "mysql+pymysql://items_owner@db.example/items?charset=utf8mb4"


def test_a_missing_mariadb_driver_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda _name: None)
    with pytest.raises(RuntimeError, match=r"pip install 'items-service\[mariadb\]'"):
        build_engine(Settings(database_url="mariadb://root@127.0.0.1:1/items"))


def test_a_bare_url_connects_through_the_chosen_driver(head_database_url: URL) -> None:
    """`postgresql://` reaches psycopg2, `mariadb://` PyMySQL in strict mode with the statement
    limit set: whichever server this run has."""
    backend = head_database_url.get_backend_name()
    bare = head_database_url.set(drivername=backend).render_as_string(hide_password=False)
    engine = build_engine(Settings(database_url=bare))
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM items")).scalar_one() >= 0
            if backend == "postgresql":
                assert engine.dialect.driver == "psycopg2"
                return
            assert engine.dialect.driver == "pymysql"
            mode = connection.execute(text("SELECT @@SESSION.sql_mode")).scalar_one()
            assert "STRICT_ALL_TABLES" in mode
            limit = connection.execute(text("SELECT @@SESSION.max_statement_time")).scalar_one()
            assert float(limit) == Settings().db_statement_timeout_ms / 1000
    finally:
        engine.dispose()


def test_non_postgresql_urls_are_refused() -> None:
    with pytest.raises(ValueError, match="only PostgreSQL and MariaDB"):
        normalise_database_url("sqlite:///items.db")


def test_settings_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://someone@db.example/items")
    monkeypatch.setenv("DB_POOL_SIZE", "7")
    settings = Settings()
    assert settings.database_url == "postgresql+psycopg2://someone@db.example/items"
    assert settings.db_pool_size == 7


def test_migrations_use_their_own_url_else_the_apps(monkeypatch: pytest.MonkeyPatch) -> None:
    """Least privilege: the owner migrates, the app serves; one URL still does both."""
    monkeypatch.setenv("DATABASE_URL", "postgresql://items_app@db.example/items")
    monkeypatch.delenv("MIGRATION_DATABASE_URL", raising=False)
    assert Settings().migration_url == "postgresql+psycopg2://items_app@db.example/items"
    monkeypatch.setenv("MIGRATION_DATABASE_URL", "postgres://items_owner@db.example/items")
    settings = Settings()
    assert settings.migration_url == "postgresql+psycopg2://items_owner@db.example/items"
    assert settings.database_url == "postgresql+psycopg2://items_app@db.example/items"


def test_building_the_app_needs_no_database(monkeypatch: pytest.MonkeyPatch) -> None:
    """Importing and building the app opens nothing, so tools can configure it first."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    from app.main import create_app  # noqa: PLC0415

    assert create_app(Settings(database_url=None)).openapi()["info"]["title"] == "Items service"


def test_no_database_url_is_a_clear_error() -> None:
    with pytest.raises(DatabaseNotConfiguredError, match="DATABASE_URL is not set"):
        build_engine(Settings(database_url=None))


def test_without_a_database_url_every_route_answers_503() -> None:
    """The real `get_begin` builds the engine on a route's first use: with nothing configured
    that is a 503 with `Retry-After` (the operator may still set it), never a 500."""
    client = TestClient(create_app(Settings(database_url=None)))
    body = {"name": "Blue mug", "price": 9.5}
    for method, path in [
        ("GET", "/items"),
        ("GET", "/items/1"),
        ("POST", "/items"),
        ("PUT", "/items/1"),
        ("DELETE", "/items/1"),
    ]:
        response = client.request(method, path, json=body if method in {"POST", "PUT"} else None)
        assert response.status_code == status.HTTP_503_SERVICE_UNAVAILABLE, (method, path)
        assert response.headers["Retry-After"].isdigit()
        assert "database" in response.json()["detail"]


def test_the_app_serves_the_database_its_settings_name(
    head_database_url: URL, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No DATABASE_URL in the environment: the app's engine comes from its settings alone."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    settings = Settings(database_url=head_database_url.render_as_string(hide_password=False))
    with TestClient(create_app(settings)) as client:
        response = client.get("/items")
    assert response.status_code == status.HTTP_200_OK, response.text
    assert response.headers["X-Total-Count"].isdigit()


def test_the_lifespan_sizes_threads_from_the_apps_settings() -> None:
    """The limiter is per event loop, so a route on the client's own loop reads it there."""
    app = create_app(Settings(database_url=None, db_pool_size=3, worker_threads=2))

    @app.get("/route-threads")
    async def route_threads() -> float:
        return anyio.to_thread.current_default_thread_limiter().total_tokens

    with TestClient(app) as client:
        assert client.get("/route-threads").json() == 2


def test_route_threads_default_to_the_pool_but_at_most_two_per_cpu() -> None:
    cpus = available_cpus()
    assert Settings(db_pool_size=10).route_threads == min(10, 2 * cpus)
    assert Settings(db_pool_size=1).route_threads == 1
    assert Settings(db_pool_size=2, db_max_overflow=3, worker_threads=5).route_threads == 5


def test_more_worker_threads_than_connections_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Threads beyond the pool would wait on it and answer 503: say so at start, not under load."""
    monkeypatch.setenv("DB_POOL_SIZE", "4")
    monkeypatch.setenv("WORKER_THREADS", "6")
    with pytest.raises(ValidationError, match=r"WORKER_THREADS=6 is more than the pool's 4"):
        Settings()


def test_the_app_runs_routes_on_route_threads() -> None:
    """The lifespan sizes AnyIO's worker threads (per event loop, so no other test sees it)."""

    async def sized(settings: Settings) -> float:
        configure_worker_threads(settings)
        return anyio.to_thread.current_default_thread_limiter().total_tokens

    assert anyio.run(sized, Settings(db_pool_size=3, worker_threads=2)) == 2
    assert anyio.run(sized, Settings(db_pool_size=1)) == 1
