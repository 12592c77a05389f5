"""Fixtures for the API tests: one app and client per run, one rolled-back transaction per test.

Property-based tests cannot use the function-scoped `db` fixture per example (hypothesis runs
every example inside one fixture call); they open `rolled_back(api_engine, app)` themselves.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import core as hypothesis_core
from hypothesis.vendor import pretty
from schemathesis.generation import hypothesis as schemathesis_hypothesis
from sqlalchemy import URL, Connection, Engine, create_engine

from app.main import create_app
from tests.support.api import rolled_back
from tests.support.browser import find_chromium
from tests.support.ci import running_in_ci


@pytest.fixture(scope="session")
def api_engine(head_database_url: URL) -> Iterator[Engine]:
    """An engine on the shared database at head."""
    engine = create_engine(head_database_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def app() -> FastAPI:
    """The application under test, built exactly as production builds it."""
    return create_app()


@pytest.fixture(scope="session")
def client(app: FastAPI) -> Iterator[TestClient]:
    """A client that runs the app's lifespan; 500s come back as responses, not exceptions."""
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def db(api_engine: Engine, app: FastAPI) -> Iterator[Connection]:
    """This test's transaction: the app writes into it, and it is rolled back afterwards."""
    with rolled_back(api_engine, app) as connection:
        yield connection


@pytest.fixture(scope="session")
def browser() -> str:
    """Chromium's path; a skip without it, but a failure under CI=true."""
    found = find_chromium()
    if found is None:
        message = "no Chromium to render /docs with (Debian: apt-get install chromium)"
        if running_in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return found


def restore_hypothesis_failure_reports() -> None:
    """Undo schemathesis' process-wide silencing of hypothesis' example printer.

    Importing schemathesis (its pytest plugin loads with every run) swaps the printer that
    hypothesis uses for "Failing test case: ...(body=...)" for one that prints nothing, to speed
    up its own coverage phase. That blanks the minimal example of *every* property test in the
    run. Running its (idempotent) setup first and then putting hypothesis' own printer back keeps
    the reports; the contract test pays a little time for readable failures too.
    """
    schemathesis_hypothesis.setup()
    hypothesis_core.RepresentationPrinter = pretty.RepresentationPrinter  # type: ignore[attr-defined]


restore_hypothesis_failure_reports()
