"""Check 5: strict drift, head must equal the models; also the `drift` pull-request command.

Two independent comparisons, both against a database built by the migrations:

1. Alembic autogenerate, with exactly the comparison options `env.py` gives it (captured by
   running `env.py`, not copied), rendered as the Python a developer would paste into a
   revision rather than as raw op tuples;
2. the catalog snapshot of that database against one built by `metadata.create_all`: this is
   what sees a changed CHECK expression, enum labels or a server default autogenerate reads
   differently.

The metadata is a parameter, so fixture histories are compared with a small MetaData of their
own and the project with `app.models.Base.metadata`.

Run `python -m tests.migrations.gate.drift [--base origin/main]` for the pull-request check: a
fresh database upgraded to head, the drift check, the squawk lint of the revisions added since
the base (`gate/lint.py`), one readable report, exit status 1 on any failure.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from alembic.autogenerate import produce_migrations, render_python_code
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext
from sqlalchemy import URL, MetaData

from tests.migrations.gate.catalog import snapshot_of
from tests.migrations.gate.failure import GateFailure
from tests.migrations.gate.history import History
from tests.migrations.gate.sessions import connect
from tests.migrations.gate.working import empty_public_schema
from tests.support.postgres import PostgresServer, start_postgres

CHECK = "drift"
COMPARISON_OPTIONS = (
    "compare_type",
    "compare_server_default",
    "include_object",
    "include_name",
    "include_schemas",
    "render_item",
    "user_module_prefix",
    "version_table",
    "version_table_schema",
)
"""The `context.configure` options of env.py that shape an autogenerate comparison."""


def env_comparison_options(history: History, url: URL) -> dict[str, Any]:
    """The comparison options env.py passes to `context.configure`, captured by running it.

    env.py is run with a migration function that records the options and migrates nothing, so
    whatever env.py decides (today: `compare_type` and `compare_server_default`) is what the
    drift check uses, with no copy to fall out of date.
    """
    captured: dict[str, Any] = {}

    def record(_: object, context: MigrationContext) -> list[Any]:
        captured.update(context.opts)
        return []

    script = history.script()
    with EnvironmentContext(history.config(url), script, fn=record):
        script.run_env()
    return {key: captured[key] for key in COMPARISON_OPTIONS if key in captured}


def autogenerate_diff(history: History, url: URL, metadata: MetaData) -> list[str]:
    """The migration autogenerate would write to bring `url` to `metadata` (empty: none)."""
    options = env_comparison_options(history, url)
    with connect(url) as connection:
        context = MigrationContext.configure(
            connection, opts={**options, "target_metadata": metadata}
        )
        script = produce_migrations(context, metadata)
        if script.upgrade_ops is None or script.upgrade_ops.is_empty():
            return []
        code = render_python_code(script.upgrade_ops, migration_context=context)
    # render_python_code indents the operations for a function body; outdent them to read.
    return [line.removeprefix("    ") for line in code.splitlines() if line.strip()]


def catalog_diff(
    server: PostgresServer, url: URL, metadata: MetaData, *, scratch: URL | None = None
) -> list[str]:
    """Unified diff from the migrated catalog to the catalog `metadata.create_all` builds.

    The models are built in `scratch` (emptied first) when given, else in a new database.
    """
    with ExitStack() as stack:
        if scratch is None:
            scratch = stack.enter_context(server.temporary_database("gate_models"))
        else:
            empty_public_schema(scratch)
        with connect(scratch) as connection:
            metadata.create_all(connection)
            connection.commit()
        models = snapshot_of(scratch)
    return snapshot_of(url).diff(
        models,
        before="migrations (alembic upgrade head)",
        after="models (metadata.create_all)",
    )


def check_drift(
    server: PostgresServer,
    history: History,
    url: URL,
    metadata: MetaData,
    *,
    scratch: URL | None = None,
) -> None:
    """Fail if the database at `url` (upgraded to head) differs from `metadata` in any way.

    `scratch`, an expendable database, saves creating one for the models' schema.
    """
    details: list[str] = []
    operations = autogenerate_diff(history, url, metadata)
    if operations:
        details += ["autogenerate would write this migration:", *operations, ""]
    difference = catalog_diff(server, url, metadata, scratch=scratch)
    if difference:
        details += [
            "catalog: '-' is what the migrations build, '+' what the models build:",
            *difference,
        ]
    if details:
        head = history.script().get_current_head()
        raise GateFailure(
            check=CHECK,
            problem=f"the schema the migrations build differs from the models ({history.name})",
            how_to_fix=(
                "if the model is right, write a revision that makes the change (`alembic "
                "revision --autogenerate -m '...'` then check it against the catalog lines: "
                "autogenerate misses changed CHECK expressions and enum labels); if the "
                "migrations are right, change the model to match"
            ),
            revision=head,
            details=details,
        )


@dataclass(frozen=True)
class PullRequestContext:
    """What a pull-request check receives from the `drift` command."""

    server: PostgresServer
    history: History
    head_url: URL
    base_ref: str


PullRequestCheck = Callable[[PullRequestContext], list[str]]
"""Raises `GateFailure`, or returns lines saying what it checked."""


def lint_new_revisions_check(context: PullRequestContext) -> list[str]:
    """Squawk lint of the revisions added since the base ref (tests/migrations/gate/lint.py)."""
    from tests.migrations.gate.lint import lint_new_revisions  # noqa: PLC0415 - squawk is heavy

    scope, _ = lint_new_revisions(context.base_ref, context.history)
    return [f"squawk lint: {scope.description}"]


PULL_REQUEST_CHECKS: list[PullRequestCheck] = [lint_new_revisions_check]
"""What `python -m tests.migrations.gate.drift` runs after the drift check; append to extend."""


def run_checks(
    server: PostgresServer,
    history: History,
    metadata: MetaData,
    base_ref: str,
    *,
    extra_checks: Sequence[PullRequestCheck] | None = None,
) -> tuple[list[str], list[GateFailure]]:
    """Fresh database at head, the drift check, then the pull-request checks.

    Returns what passed (one line each) and what failed. Every check runs, so one report
    shows every problem of the pull request.
    """
    passed: list[str] = []
    failures: list[GateFailure] = []
    with server.temporary_database("gate_drift") as url:
        history.upgrade(url, "head")
        context = PullRequestContext(server, history, url, base_ref)

        def drift(context: PullRequestContext) -> list[str]:
            check_drift(context.server, context.history, context.head_url, metadata)
            return [f"drift: none, {context.history.name} at head matches the models"]

        checks = PULL_REQUEST_CHECKS if extra_checks is None else extra_checks
        for check in [drift, *checks]:
            try:
                passed.extend(check(context))
            except GateFailure as error:
                failures.append(error)
    return passed, failures


def report(passed: Sequence[str], failures: Sequence[GateFailure]) -> str:
    """What the command prints: each failure in full, then one line per check that passed."""
    return "\n\n".join([*(str(failure) for failure in failures), "\n".join(passed)]).strip()


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point: exit status 0 without drift, 1 with."""
    from app.models import Base  # noqa: PLC0415 - only the command compares with app models

    parser = argparse.ArgumentParser(
        prog="python -m tests.migrations.gate.drift",
        description="Pull-request check: migrations at head must equal app.models.",
    )
    parser.add_argument(
        "--base",
        default="origin/main",
        help="git ref the pull request targets: only revisions added since it are linted",
    )
    arguments = parser.parse_args(argv)
    history = History()
    with start_postgres() as server:
        passed, failures = run_checks(server, history, Base.metadata, arguments.base)
    sys.stdout.write(report(passed, failures) + "\n")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
