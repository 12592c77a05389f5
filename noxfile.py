"""The project's single entry point: `nox` runs lint, types and the whole suite; `nox -l` lists.

Dependencies come from `pyproject.toml` (runtime `dependencies` plus PEP 735 groups), installed
with uv when it is available. Arguments after `--` go to the tool a session runs
(`nox -s api -- -k pagination -x`).
"""

from __future__ import annotations

import nox

nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True
nox.options.sessions = ["lint", "typecheck", "tests"]

PYPROJECT = nox.project.load_toml("pyproject.toml")
RUNTIME = PYPROJECT["project"]["dependencies"]


def install(session: nox.Session, *groups: str) -> None:
    """Install the runtime dependencies and the named dependency groups."""
    session.install(*RUNTIME, *nox.project.dependency_groups(PYPROJECT, *groups))


def pytest(session: nox.Session, *arguments: str) -> None:
    """Run pytest with `arguments` (paths, options), then the session's own arguments."""
    install(session, "test")
    session.run("pytest", *arguments, *session.posargs)


@nox.session
def tests(session: nox.Session) -> None:
    """Run the whole test suite: the API tests and the migration gate."""
    pytest(session)


@nox.session(default=False)
def api(session: nox.Session) -> None:
    """Run the API tests alone (examples, properties, stateful model, contract, concurrency)."""
    pytest(session, "tests/api")


@nox.session(default=False)
def migrations(session: nox.Session) -> None:
    """Run the migration gate alone: every check on every revision."""
    pytest(session, "tests/migrations")


@nox.session(default=False)
def gate(session: nox.Session) -> None:
    """Judge the project's migration history only: every check on every revision, without the
    gate's self-tests on fixture histories (those run in `migrations` and `tests`)."""
    pytest(session, "tests/migrations", "-m", "history")


@nox.session(default=False)
def drift(session: nox.Session) -> None:
    """Pull-request check: fresh database at head must equal the models; lint new revisions.

    `nox -s drift -- main` compares against another base ref (default `origin/main`).
    """
    install(session, "test")
    base = session.posargs[0] if session.posargs else "origin/main"
    session.run("python", "-m", "tests.migrations.gate.commands.pull_request", "--base", base)


@nox.session(default=False)
def lock(session: nox.Session) -> None:
    """Record reviewed revisions in alembic/versions.lock (`-- --check`: only report unlocked)."""
    session.install(*RUNTIME)
    session.run("python", "-m", "tests.migrations.gate.commands.lock", *session.posargs)


@nox.session(default=False)
def sql(session: nox.Session) -> None:
    """Write every revision's offline SQL, up and down, for review (default folder sql-review/)."""
    session.install(*RUNTIME)
    arguments = session.posargs or ["--out", "sql-review"]
    session.run("python", "-m", "tests.migrations.gate.commands.sql_review", *arguments)


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """Benchmarks, as side-by-side ratios (`nox -s bench -- --quick` for a short smoke run)."""
    install(session, "bench")
    session.run("python", "-m", "bench", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Lint and check formatting with ruff."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "lint"))
    session.run("ruff", "check", ".", *session.posargs)
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """Type-check everything with mypy --strict."""
    install(session, "typecheck")
    session.run("mypy", *session.posargs)


@nox.session(default=False)
def alembic(session: nox.Session) -> None:
    """Run an Alembic command on DATABASE_URL, else the embedded server (`-- current`)."""
    # ruff formats new revision files (alembic.ini's post-write hooks).
    session.install(*RUNTIME, *nox.project.dependency_groups(PYPROJECT, "lint"))
    session.run("python", "-m", "app.alembic_cli", *(session.posargs or ["current"]))


@nox.session(default=False)
def serve(session: nox.Session) -> None:
    """Migrate to head and serve on 127.0.0.1:8000 (embedded PostgreSQL if no DATABASE_URL)."""
    session.install(*RUNTIME)
    session.run("python", "-m", "app.serve", *session.posargs)
