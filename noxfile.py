"""The project's single entry point: `nox` runs lint, types and the whole suite; `nox -l` lists.

Every session installs from the committed `uv.lock`: `uv sync --locked` makes the session's
environment exactly the locked runtime `dependencies` plus the PEP 735 groups it names, and fails
if `pyproject.toml` asks for something the lock does not hold. `nox -s relock` updates the lock;
upgrading a tool is a deliberate commit of `uv.lock`. Arguments after `--` go to the tool a
session runs (`nox -s api -- -k pagination -x`).
"""

from __future__ import annotations

import nox

nox.needs_version = ">=2025.2.9"
# uv, not virtualenv: the sessions install with `uv sync` (the README installs `nox[uv]`).
nox.options.default_venv_backend = "uv"
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True
nox.options.sessions = ["lint", "typecheck", "tests"]

# The index `uv.lock` records: PyPI itself, never a mirror this machine's uv may be set up with,
# so the lock resolves the same on every developer's machine and on GitHub's runners.
LOCK_INDEX = "https://pypi.org/simple"
SERVER_EXTRAS = ("mariadb",)
"""The optional drivers (pyproject's `[project.optional-dependencies]`) of every session that
may reach a database: with `DATABASE_URL=mariadb://…` it needs PyMySQL."""


def install(
    session: nox.Session, *groups: str, runtime: bool = True, extras: tuple[str, ...] = ()
) -> None:
    """Sync the session's environment to the lock: the runtime dependencies, `extras` and `groups`.

    `--locked` refuses a lock that no longer matches `pyproject.toml` (run `nox -s relock`);
    the sync is exact, so a package the lock does not select is removed from the environment.
    Sessions that may talk to MariaDB (tests, bench, serve, alembic) pass `extras=SERVER_EXTRAS`.
    """
    selection = (
        [
            "--no-default-groups",
            *(f"--extra={extra}" for extra in extras),
            *(f"--group={group}" for group in groups),
        ]
        if runtime
        else [f"--only-group={group}" for group in groups]
    )
    session.run_install(
        "uv",
        "sync",
        "--locked",
        *selection,
        env={"UV_PROJECT_ENVIRONMENT": session.virtualenv.location},
    )


def pytest(session: nox.Session, *arguments: str) -> None:
    """Run pytest with `arguments` (paths, options), then the session's own arguments."""
    install(session, "test", extras=SERVER_EXTRAS)
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
    install(session, "test", extras=SERVER_EXTRAS)  # the lint renders MariaDB's SQL too
    base = session.posargs[0] if session.posargs else "origin/main"
    session.run("python", "-m", "tests.migrations.gate.commands.pull_request", "--base", base)


@nox.session(default=False)
def lock(session: nox.Session) -> None:
    """Record reviewed revisions in alembic/versions.lock (`-- --check`: only report unlocked)."""
    install(session, "test")
    session.run("python", "-m", "tests.migrations.gate.commands.lock", *session.posargs)


@nox.session(default=False)
def waivers(session: nox.Session) -> None:
    """List every lint waiver in force (squawk's, MariaDB's) with its reason (`-- --help`)."""
    install(session, "test", extras=SERVER_EXTRAS)
    arguments = session.posargs or ["--all"]
    session.run("python", "-m", "tests.migrations.gate.commands.waivers", *arguments)


@nox.session(default=False)
def sql(session: nox.Session) -> None:
    """Write every revision's offline SQL, up and down, for review (default folder sql-review/)."""
    install(session, "test")  # the gate's packages live in tests/ and speak pytest
    arguments = session.posargs or ["--out", "sql-review"]
    session.run("python", "-m", "tests.migrations.gate.commands.sql_review", *arguments)


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """Benchmarks, as side-by-side ratios (`nox -s bench -- --quick` for a short smoke run).

    `-- --only mariadb-api,mariadb-migrations` reaches MariaDB, hence the MariaDB extra."""
    install(session, "bench", extras=SERVER_EXTRAS)
    session.run("python", "-m", "bench", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Lint and check formatting with ruff."""
    install(session, "lint", runtime=False)
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
    install(session, "lint", extras=SERVER_EXTRAS)
    session.run("python", "-m", "app.alembic_cli", *(session.posargs or ["current"]))


@nox.session(default=False)
def serve(session: nox.Session) -> None:
    """Migrate to head and serve on 127.0.0.1:8000 (embedded PostgreSQL if no DATABASE_URL)."""
    install(session, extras=SERVER_EXTRAS)
    session.run("python", "-m", "app.serve", *session.posargs)


@nox.session(default=False)
def relock(session: nox.Session) -> None:
    """Update `uv.lock` to `pyproject.toml`, keeping every other pin: `-- --upgrade` (all) or
    `-- --upgrade-package squawk-cli` moves tools on purpose. Commit the lock it writes."""
    session.run("uv", "lock", "--default-index", LOCK_INDEX, *session.posargs)
