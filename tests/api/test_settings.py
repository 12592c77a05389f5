"""Configuration: every URL a user may paste reaches psycopg2, and the engine is built lazily."""

from __future__ import annotations

import pytest
from sqlalchemy import URL, text

from app.database import DatabaseNotConfiguredError, build_engine
from app.settings import Settings, normalise_database_url


@pytest.mark.parametrize(
    ("given", "driver"),
    [
        ("postgresql://u@h/db", "postgresql+psycopg2"),
        ("postgres://u@h/db", "postgresql+psycopg2"),
        ("postgresql+psycopg2://u@h/db", "postgresql+psycopg2"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg"),
    ],
)
def test_urls_are_normalised_to_an_explicit_driver(given: str, driver: str) -> None:
    assert normalise_database_url(given).drivername == driver


def test_non_postgresql_urls_are_refused() -> None:
    with pytest.raises(ValueError, match="only PostgreSQL"):
        normalise_database_url("sqlite:///items.db")


def test_a_bare_postgresql_url_connects_through_psycopg2(head_database_url: URL) -> None:
    bare = head_database_url.set(drivername="postgresql").render_as_string(hide_password=False)
    engine = build_engine(Settings(database_url=bare))
    try:
        assert engine.dialect.driver == "psycopg2"
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM items")).scalar_one() >= 0
    finally:
        engine.dispose()


def test_settings_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://someone@db.example/items")
    monkeypatch.setenv("DB_POOL_SIZE", "7")
    settings = Settings()
    assert settings.database_url == "postgresql+psycopg2://someone@db.example/items"
    assert settings.db_pool_size == 7


def test_building_the_app_needs_no_database(monkeypatch: pytest.MonkeyPatch) -> None:
    """Importing and building the app opens nothing, so tools can configure it first."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    from app.main import create_app  # noqa: PLC0415

    assert create_app(Settings(database_url=None)).openapi()["info"]["title"] == "Items service"


def test_no_database_url_is_a_clear_error() -> None:
    with pytest.raises(DatabaseNotConfiguredError, match="DATABASE_URL is not set"):
        build_engine(Settings(database_url=None))
