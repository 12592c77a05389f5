"""Configuration read from the environment (and an optional `.env`), in one typed place.

Every variable the service, its migrations and its tests read is a field of `Settings`, so a
`.env` file works for each of them exactly as an exported variable does. Nothing here opens a
connection: whoever builds the app or runs a migration passes a `Settings` along, and the
engine is built lazily from it.
"""

from __future__ import annotations

import importlib.util
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import URL, make_url

PSYCOPG2_DRIVER = "postgresql+psycopg2"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
POSTGRES_DURATION = re.compile(r"^\d+(\.\d+)?\s*(us|ms|s|min|h|d)?$")
"""What `SET lock_timeout = '…'` accepts: a number and an optional PostgreSQL time unit."""

SUPPORTED_DRIVERS = {
    "postgresql": PSYCOPG2_DRIVER,
    "postgres": PSYCOPG2_DRIVER,
    "mariadb": "mariadb+pymysql",
    "mysql": "mysql+pymysql",
}
"""Bare URL schemes and the driver each one is rewritten to.

MariaDB and MySQL go to PyMySQL: measured against mysql-connector-python it was faster on every
statement the API runs (bench/RESULTS.md §5), and it is the pure-Python driver SQLAlchemy
supports best. `mariadb://` keeps SQLAlchemy's MariaDB dialect (which knows `RETURNING` on
INSERT and DELETE); `mysql://` keeps the MySQL one.
"""
SUPPORTED_PREFIXES = ("postgresql", "mariadb", "mysql")
MYSQL_FAMILY = ("mariadb", "mysql")
"""Backend names (`URL.get_backend_name()`) of the MySQL family: one driver, one error table."""
MYSQL_CHARSET = "utf8mb4"
"""Every MySQL-family URL talks utf8mb4: MySQL's `utf8` is three bytes and cannot hold an emoji."""

DRIVER_MISSING = (
    "the {backend} driver PyMySQL is not installed: pip install 'items-service[mariadb]' "
    "(or `uv sync --extra mariadb`; the nox sessions tests, serve and alembic install it)"
)


def normalise_database_url(url: str | URL) -> URL:
    """Return `url` with the driver spelled out: psycopg2 for PostgreSQL, PyMySQL for MariaDB.

    SQLAlchemy 2.1 maps a bare `postgresql://` URL to psycopg 3, which this project does not
    install; Heroku-style `postgres://` URLs are rejected outright. Both are rewritten here so
    that every URL a user may paste reaches psycopg2. `mariadb://` and `mysql://` would reach
    mysqlclient (a C extension this project does not install); they are rewritten to PyMySQL
    with `charset=utf8mb4` (unless the URL names a charset). An explicit other driver is kept:
    whoever wrote `postgresql+psycopg://` chose it on purpose.
    """
    parsed = make_url(url) if isinstance(url, str) else url
    if parsed.drivername in SUPPORTED_DRIVERS:
        parsed = parsed.set(drivername=SUPPORTED_DRIVERS[parsed.drivername])
    if not parsed.drivername.startswith(SUPPORTED_PREFIXES):
        raise ValueError(
            "only PostgreSQL and MariaDB (or MySQL) are supported, got the "
            f"{parsed.drivername!r} driver"
        )
    if is_mysql_family(parsed) and "charset" not in parsed.query:
        parsed = parsed.update_query_dict({"charset": MYSQL_CHARSET})
    return parsed


def is_mysql_family(url: str | URL) -> bool:
    """Whether `url` names a MariaDB or MySQL server (whatever its driver)."""
    parsed = make_url(url) if isinstance(url, str) else url
    return parsed.get_backend_name() in MYSQL_FAMILY


def require_driver(url: URL) -> None:
    """Raise a clear `RuntimeError` when `url`'s MariaDB driver is not installed.

    SQLAlchemy's own message (`No module named 'pymysql'`) does not say that the driver is an
    optional extra, nor how to install it.
    """
    if not is_mysql_family(url) or url.get_driver_name() != "pymysql":
        return
    if importlib.util.find_spec("pymysql") is None:
        raise RuntimeError(DRIVER_MISSING.format(backend=url.get_backend_name()))


def check_duration(name: str, value: str) -> str:
    """`value` stripped, if PostgreSQL reads it as a duration; a clear error naming `name` if not.

    Migration timeouts are spliced into `SET … = '<value>'`, so only this shape may pass.
    """
    value = value.strip()
    if not POSTGRES_DURATION.match(value):
        raise ValueError(f"{name}={value!r} is not a PostgreSQL duration such as '5s' or '250ms'")
    return value


DURATION_UNIT_SECONDS = {
    "us": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "min": 60.0,
    "h": 3600.0,
    "d": 86400.0,
}


def duration_seconds(name: str, value: str) -> float:
    """`value` (a PostgreSQL duration, checked by `check_duration`) in seconds.

    MariaDB's `lock_wait_timeout` and `max_statement_time` take seconds, so the migration
    timeouts, written once in PostgreSQL's spelling, are converted for it. No unit means
    milliseconds, as PostgreSQL reads it.
    """
    match = POSTGRES_DURATION.match(check_duration(name, value))
    assert match is not None
    number = float(value.strip().rstrip("usminhd").strip())
    return number * DURATION_UNIT_SECONDS[match.group(2) or "ms"]


class Settings(BaseSettings):
    """Every knob of the service; each maps to an upper-case environment variable."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="PostgreSQL (`postgresql://`) or MariaDB (`mariadb://`, `mysql://`) URL. "
        "Unset: `python -m app.serve` starts an embedded PostgreSQL.",
    )
    migration_database_url: str | None = Field(
        default=None,
        description="PostgreSQL or MariaDB URL migrations run on, as the role that owns the schema "
        '(`items_owner`, README "Roles"); `DATABASE_URL` then names the app\'s role '
        "(`items_app`, rows only). Unset: migrations use `DATABASE_URL` too.",
    )
    db_pool_size: int = Field(default=10, ge=1, le=1000)
    db_max_overflow: int = Field(default=0, ge=0, le=1000)
    db_pool_timeout: float = Field(
        default=5.0,
        gt=0,
        description="Seconds a request waits for a pooled connection before answering 503.",
    )
    db_pool_ping_idle_seconds: float = Field(
        default=1.0,
        ge=0,
        description="Test a pooled connection with `SELECT 1` before reusing it when it sat idle "
        "this long, so connections that died while PostgreSQL restarted are replaced instead of "
        "failing a request. 0 tests it before every use (one more round trip per request).",
    )
    db_connect_timeout: int = Field(default=3, ge=1, description="Seconds to reach PostgreSQL.")
    db_statement_timeout_ms: int = Field(
        default=10_000, ge=0, description="Per-statement ceiling for API queries (0 = none)."
    )
    max_body_bytes: int = Field(default=16 * 1024, ge=1024, description="Larger bodies get 413.")
    worker_threads: int | None = Field(
        default=None,
        ge=1,
        le=1000,
        description="Threads that run the routes (each holds at most one connection). Unset: "
        "the pool's capacity, but no more than two per CPU.",
    )
    migration_lock_timeout: str = Field(
        default="5s",
        description="How long a migration's DDL may wait for a lock (a PostgreSQL duration); "
        "`alembic -x lock_timeout=…` overrides it for one command.",
    )
    migration_statement_timeout: str = Field(
        default="5min",
        description="How long one migration statement may run; `-x statement_timeout=…` "
        "overrides it for one command.",
    )
    embedded_pgdata: Path = Field(
        default=PROJECT_ROOT / ".pgdata",
        description="Where the embedded PostgreSQL keeps its data when no DATABASE_URL is set "
        "(a relative path is relative to the working directory).",
    )
    test_database_url: str | None = Field(
        default=None,
        description="Tests only: a server on which the suite may create and drop its own "
        "databases. Unset: Docker through testcontainers, else the embedded server.",
    )
    test_server: Literal["postgresql", "mariadb"] | None = Field(
        default=None,
        validation_alias="ITEMS_TEST_SERVER",
        description="Tests only: which kind of server the suite runs on when TEST_DATABASE_URL "
        "is unset (`mariadb`: testcontainers' MariaDB container). Unset: PostgreSQL. With a "
        "TEST_DATABASE_URL of the other kind the run fails rather than test elsewhere.",
    )

    @field_validator("database_url", "migration_database_url", "test_database_url")
    @classmethod
    def _spell_out_the_driver(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return normalise_database_url(value).render_as_string(hide_password=False)

    @field_validator("test_server", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        if isinstance(value, str):
            return value.strip().lower() or None
        return value

    @field_validator("migration_lock_timeout", "migration_statement_timeout")
    @classmethod
    def _is_a_duration(cls, value: str, info: ValidationInfo) -> str:
        return check_duration(str(info.field_name).upper(), value)

    @model_validator(mode="after")
    def _threads_fit_the_pool(self) -> Settings:
        if self.worker_threads is not None and self.worker_threads > self.pool_capacity:
            raise ValueError(
                f"WORKER_THREADS={self.worker_threads} is more than the pool's "
                f"{self.pool_capacity} connections (DB_POOL_SIZE + DB_MAX_OVERFLOW): the extra "
                "threads would wait on the pool and answer 503; lower WORKER_THREADS or raise "
                "DB_POOL_SIZE"
            )
        return self

    @property
    def migration_url(self) -> str | None:
        """Where migrations run: `MIGRATION_DATABASE_URL`, else `DATABASE_URL` (one role for
        both, as a single-URL setup always had)."""
        return self.migration_database_url or self.database_url

    @property
    def pool_capacity(self) -> int:
        """How many connections the pool can hand out at once."""
        return self.db_pool_size + self.db_max_overflow

    @property
    def route_threads(self) -> int:
        """How many routes run at once: `worker_threads`, else min(pool, 2 per CPU).

        Never more than the pool's capacity, so a route thread always finds a connection. Not
        more than two per CPU by default: a route here is mostly Python work between two short
        round trips on a nearby PostgreSQL, so threads beyond that only take turns at the GIL
        (measured in bench/RESULTS.md: on 2 CPUs, 4 threads instead of 10 served GET /items/{id}
        and POST /items at 32 connections 15-30 % faster, and the same at 4 connections).
        """
        if self.worker_threads is not None:
            return self.worker_threads
        return min(self.pool_capacity, 2 * available_cpus())


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; `get_settings.cache_clear()` re-reads the environment."""
    return Settings()
