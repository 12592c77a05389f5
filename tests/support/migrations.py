"""Run Alembic commands against a given database URL, the way the CLI would."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import URL

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ALEMBIC_INI = PROJECT_ROOT / "alembic.ini"


def alembic_config(url: URL | str | None = None, *, script_location: Path | None = None) -> Config:
    """An Alembic config for `url` (and optionally another versions tree), logging left alone."""
    config = Config(str(ALEMBIC_INI))
    config.attributes["configure_logging"] = False
    if url is not None:
        rendered = url.render_as_string(hide_password=False) if isinstance(url, URL) else url
        config.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    if script_location is not None:
        config.set_main_option("script_location", str(script_location))
    return config


def upgrade(url: URL | str, revision: str = "head") -> None:
    """`alembic upgrade <revision>` on `url`."""
    command.upgrade(alembic_config(url), revision)
