"""Fixtures for the migration gate: a fresh, empty database for every test.

pytest-alembic's invariants hold here: the engine points at an empty database, outside any
transaction, and nothing is rolled back. `CREATE DATABASE … TEMPLATE template0` costs
milliseconds, so every test gets its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import URL, Engine, create_engine, pool

from tests.migrations.gate.checks.upgrade import RevisionTemplates, walk_upgrades
from tests.migrations.gate.dialects import dialect_for
from tests.migrations.gate.engine.history import History
from tests.support.migrations import alembic_config as project_alembic_config
from tests.support.servers import DatabaseServer, backend_under_test

PROJECT_FIXTURES = frozenset({"project_history", "project_templates", "gate_matrix"})
"""Fixtures that judge or report on the project's own history."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect `mariadb_only` tests on PostgreSQL; refuse an unmarked history test.

    A `mariadb_only` test is the MariaDB counterpart of a PostgreSQL one (the project's walk
    with every check is `test_walk.py`'s there): on PostgreSQL it is deselected, not skipped,
    so a skip in a gate run still always means "not run because of a failure".

    Refuse a test that judges the project's history without `@pytest.mark.history`.

    `nox -s gate` runs only the marked tests, and only marked tests feed the gate's matrix, so
    an unmarked check of the project's history would silently drop out of both. A test that
    asks for one of `PROJECT_FIXTURES` judges the project; so, usually, does one with "project"
    in its name.
    """
    if backend_under_test() != "mariadb":
        elsewhere = [item for item in items if item.get_closest_marker("mariadb_only")]
        if elsewhere:
            config.hook.pytest_deselected(items=elsewhere)
            items[:] = [item for item in items if item not in elsewhere]
    for item in items:
        if not item.path.is_relative_to(Path(__file__).parent):
            continue
        if item.get_closest_marker("history") is not None:
            continue
        fixtures = PROJECT_FIXTURES.intersection(getattr(item, "fixturenames", ()))
        if fixtures or "project" in item.name:
            reason = (
                f"uses {', '.join(sorted(fixtures))}" if fixtures else "is named for the project"
            )
            raise pytest.UsageError(
                f"{item.nodeid} {reason} but is not marked @pytest.mark.history, so `nox -s gate` "
                "would skip it: mark it, or (if it tests the gate itself) use fixture histories"
            )


@pytest.fixture(scope="session")
def gate_server(request: pytest.FixtureRequest) -> DatabaseServer:
    """The server the gate judges on: the run's MariaDB (`backend_under_test`), else PostgreSQL.

    The walk and the checks take its dialect from the URLs of its databases
    (`dialects.dialect_for`), so a check written against it runs on either server.
    """
    if backend_under_test() == "mariadb":
        mariadb: DatabaseServer = request.getfixturevalue("mariadb_server")
        return mariadb
    postgres: DatabaseServer = request.getfixturevalue("postgres_server")
    return postgres


@pytest.fixture
def empty_database_url(gate_server: DatabaseServer) -> Iterator[URL]:
    """A new empty UTF-8 database, dropped after the test."""
    with gate_server.temporary_database("items_migration") as url:
        yield url


@pytest.fixture
def empty_engine(empty_database_url: URL) -> Iterator[Engine]:
    """An engine on `empty_database_url` that pools nothing (so the database can be dropped)."""
    engine = create_engine(empty_database_url, poolclass=pool.NullPool)
    yield engine
    engine.dispose()


@pytest.fixture
def project_history() -> History:
    """The project's own revisions, `alembic/versions`."""
    return History()


@pytest.fixture
def alembic_config() -> object:
    """pytest-alembic's config: the project's alembic.ini, logging left to pytest."""
    return project_alembic_config()


@pytest.fixture
def alembic_engine(empty_engine: Engine) -> Engine:
    """pytest-alembic's engine: a fresh empty PostgreSQL database (its default is SQLite)."""
    return empty_engine


@pytest.fixture(scope="session")
def project_templates(
    gate_server: DatabaseServer, request: pytest.FixtureRequest
) -> Iterator[RevisionTemplates]:
    """Template databases of the project's history, after one base → head walk per run.

    The walk is the upgrade check itself (a failure is kept, and re-raised by every check that
    needs a revision it never reached). Once head is reached it adopts the run's
    `head_template` (built once for the API tests too; asked for only then, so a broken history
    is reported by the upgrade check, not by that fixture's setup). A test that needs another
    revision gets it built on demand (on MariaDB, which has no templates: a new database
    migrated to it, see `RevisionTemplates.database_at`). The per-revision checks need none:
    they walk one database of their own (`test_walk.py`).
    """
    history = History()
    templates = walk_upgrades(history, gate_server)
    head = history.script().get_current_head()
    if head is not None and templates.failure is None and gate_server.supports_templates:
        templates.adopt(head, request.getfixturevalue("head_template"))
    yield templates
    templates.drop()


@pytest.fixture(scope="session")
def _scratch_database(gate_server: DatabaseServer) -> Iterator[URL]:
    with gate_server.temporary_database("gate_scratch") as url:
        yield url


@pytest.fixture
def scratch_database_url(_scratch_database: URL) -> URL:
    """An empty database for a gate self-test: one per run, schema public emptied per test.

    The gate's checks only look at schema public, and emptying it costs milliseconds where a
    new database forces a server-wide checkpoint (slow while other runs share the server).
    """
    dialect_for(_scratch_database).empty_schema(_scratch_database)
    return _scratch_database
