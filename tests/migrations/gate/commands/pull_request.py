"""`python -m tests.migrations.gate.commands.pull_request [--base REF]`: the pull-request check.

A fresh database upgraded to head, the strict drift check (`checks/drift.py`), then the squawk
lint of only the revisions added since `git merge-base REF HEAD` (`checks/unsafe_ddl.py`), so
old waived revisions do not block new work. One readable report, exit status 1 on any failure.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import URL, MetaData

from tests.migrations.gate.checks.drift import check_drift
from tests.migrations.gate.engine.history import History
from tests.migrations.gate.failure import GateFailure
from tests.support.postgres import PostgresServer, start_postgres
from tests.support.target import warn_if_off_target


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
    """Squawk lint of the revisions added since the base ref (`checks/unsafe_ddl.py`)."""
    from tests.migrations.gate.checks.unsafe_ddl import (  # noqa: PLC0415 - squawk is heavy
        lint_new_revisions,
    )

    scope, _ = lint_new_revisions(context.base_ref, context.history)
    return [f"squawk lint: {scope.description}"]


PULL_REQUEST_CHECKS: list[PullRequestCheck] = [lint_new_revisions_check]
"""What the command runs after the drift check; append to extend."""


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
        prog="python -m tests.migrations.gate.commands.pull_request",
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
        with server.admin_connection() as connection:
            warn_if_off_target(connection, server.origin)  # to stderr; never fails the check
        passed, failures = run_checks(server, history, Base.metadata, arguments.base)
    sys.stdout.write(report(passed, failures) + "\n")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
