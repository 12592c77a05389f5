"""Session-wide database server for every test, and the database migrated to head by Alembic.

PostgreSQL by default: from `TEST_DATABASE_URL`, else Docker through testcontainers, else the
embedded `pgserver` (see `tests/support/postgres.py`; `ITEMS_TEST_POSTGRES` demands one of
them). A `mariadb://` or `mysql://` `TEST_DATABASE_URL` runs the API tests on that MariaDB
server instead (`tests/support/mariadb.py`). With `CI=true` a missing server fails the run: a
suite that skips its database tests has tested nothing.

On MariaDB:
- a test marked `@pytest.mark.postgresql_only("why")` is skipped with its reason, and fails
  under `CI=true` (CI deselects those with `-m "not postgresql_only"`, explicitly);
- a test that asks for `postgres_server` without that mark fails, saying so;
- the gate's tests (tests/migrations) run where their check has a MariaDB dialect answer;
  the others are marked `postgresql_only` (issue 10: which checks run there, README).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import pytest
from hypothesis import settings
from sqlalchemy import URL, text

from app.settings import Settings
from tests.support.ci import running_in_ci
from tests.support.mariadb import (
    MariaDBServer,
    mariadb_from_url,
    server_backend,
)
from tests.support.migrations import upgrade
from tests.support.postgres import (
    NoPostgresAvailableError,
    PostgresServer,
    UnexpectedPostgresSourceError,
    start_postgres,
)
from tests.support.servers import DatabaseFactory
from tests.support.target import warn_if_off_target

# The gate's matrix of revisions × checks (tests/migrations/gate/report/plugin.py).
pytest_plugins = ("tests.migrations.gate.report.plugin",)


# Hypothesis profiles: `dev` is quick for local runs; `ci` (chosen under CI=true, or with
# HYPOTHESIS_PROFILE=ci) runs more examples, derandomized so a red build reproduces exactly.
# Every failure prints the minimal example and the `@reproduce_failure` blob.
settings.register_profile(
    "dev", max_examples=40, deadline=None, print_blob=True, suppress_health_check=()
)
settings.register_profile(
    "ci", max_examples=150, deadline=None, derandomize=True, database=None, print_blob=True
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if running_in_ci() else "dev"))


TESTS = Path(__file__).resolve().parent / "tests"
GATE_TESTS = TESTS / "migrations"


def backend_under_test() -> str:
    """`"mariadb"` or `"postgresql"`: the server `TEST_DATABASE_URL` names (PostgreSQL if unset)."""
    return server_backend(Settings().test_database_url)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A `postgresql_only` test on MariaDB: skipped with its reason, a failure under CI."""
    marker = item.get_closest_marker("postgresql_only")
    if marker is None or backend_under_test() != "mariadb":
        return
    reason = marker.args[0] if marker.args else "PostgreSQL-only"
    message = f"PostgreSQL only ({reason}), and TEST_DATABASE_URL is MariaDB"
    if running_in_ci():
        pytest.fail(
            f"{message}: under CI=true deselect it explicitly (-m 'not postgresql_only')",
            pytrace=False,
        )
    pytest.skip(message)


@pytest.fixture(scope="session")
def mariadb_server() -> Iterator[MariaDBServer]:
    """The MariaDB server at `TEST_DATABASE_URL`, when that URL is `mariadb://` or `mysql://`."""
    url = Settings().test_database_url
    if url is None or backend_under_test() != "mariadb":
        pytest.fail("this test needs a mariadb:// TEST_DATABASE_URL", pytrace=False)
    try:
        with mariadb_from_url(url) as server:
            yield server
    except Exception as error:  # an explicit URL is a promise: never fall back to another
        pytest.fail(f"the MariaDB server at TEST_DATABASE_URL failed: {error}", pytrace=False)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The PostgreSQL server this run creates its databases on.

    A server of another major version than production's target gets a `PostgresTargetWarning`
    (shown in the warnings summary; the run still passes). On a MariaDB run a test that asks
    for it fails: it needs PostgreSQL and says nothing of it (mark it `postgresql_only`).
    """
    if backend_under_test() == "mariadb":
        pytest.fail(
            "this test needs PostgreSQL (the postgres_server fixture), but TEST_DATABASE_URL is "
            "MariaDB: port it, or mark it @pytest.mark.postgresql_only('why')",
            pytrace=False,
        )
    try:
        with start_postgres() as server:
            with server.admin_connection() as connection:
                warn_if_off_target(connection, server.origin)
            yield server
    except UnexpectedPostgresSourceError as error:
        pytest.fail(str(error), pytrace=False)
    except NoPostgresAvailableError as error:
        message = f"no PostgreSQL for the tests: {error}"
        if running_in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


@pytest.fixture(scope="session")
def head_template(postgres_server: PostgresServer) -> Iterator[str]:
    """Name of a database migrated to head by Alembic (never `create_all`), built once a run.

    Tests copy it (`CREATE DATABASE … TEMPLATE`) or share it inside a rolled-back transaction.
    """
    with postgres_server.temporary_database("items_head") as url:
        upgrade(url, "head")
        assert url.database is not None
        yield url.database


@pytest.fixture(scope="session")
def head_database_url(request: pytest.FixtureRequest) -> Iterator[URL]:
    """A database at head that API tests share, each inside its own rolled-back transaction.

    PostgreSQL: a copy of `head_template`. MariaDB (no templates): a new database, migrated.
    """
    if backend_under_test() == "mariadb":
        mariadb: MariaDBServer = request.getfixturevalue("mariadb_server")
        with mariadb.head_database("items_api") as url:
            yield url
        return
    postgres: PostgresServer = request.getfixturevalue("postgres_server")
    template: str = request.getfixturevalue("head_template")
    with postgres.temporary_database("items_api", template=template) as url:
        yield url


@pytest.fixture(scope="session")
def head_database_factory(request: pytest.FixtureRequest) -> DatabaseFactory:
    """Private databases at head for tests where the app commits for real (live servers).

    PostgreSQL: copies of `head_template`. MariaDB: new databases, each migrated by Alembic.
    """
    if backend_under_test() == "mariadb":
        mariadb: MariaDBServer = request.getfixturevalue("mariadb_server")
        return mariadb.head_database
    postgres: PostgresServer = request.getfixturevalue("postgres_server")
    template: str = request.getfixturevalue("head_template")
    return partial(postgres.temporary_database, template=template)


@pytest.fixture(scope="session")
def empty_database_factory(request: pytest.FixtureRequest) -> DatabaseFactory:
    """Private empty databases (no revision applied), on whichever server this run uses."""
    if backend_under_test() == "mariadb":
        mariadb: MariaDBServer = request.getfixturevalue("mariadb_server")
        return mariadb.temporary_database
    postgres: PostgresServer = request.getfixturevalue("postgres_server")
    return postgres.temporary_database


@pytest.fixture(scope="session")
def kill_app_connections(request: pytest.FixtureRequest) -> Callable[[URL], int]:
    """Kill every connection the service holds to a database; how many were killed.

    PostgreSQL: `pg_terminate_backend` of the sessions named `items-service`. MariaDB: `KILL`
    of every session using that database (its processlist does not show the program name).
    """
    if backend_under_test() == "mariadb":
        mariadb: MariaDBServer = request.getfixturevalue("mariadb_server")
        return lambda url: mariadb.kill_sessions(str(url.database))
    postgres: PostgresServer = request.getfixturevalue("postgres_server")

    def kill(url: URL) -> int:
        with postgres.admin_connection() as admin:
            return int(
                admin.execute(
                    text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE datname = :database AND application_name = 'items-service'"
                    ),
                    {"database": url.database},
                ).scalar_one()
            )

    return kill
