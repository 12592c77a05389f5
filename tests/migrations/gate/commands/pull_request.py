"""`python -m tests.migrations.gate.commands.pull_request [--base REF]`: the pull-request check.

A fresh database upgraded to head one revision at a time (`checks/upgrade.py`), the strict
drift check (`checks/drift.py`), then the unsafe-DDL lint (squawk, and the MariaDB rules) of
only the revisions added since `git merge-base REF HEAD` (`checks/unsafe_ddl.py`), so old
waived revisions do not block new work, and the app of that merge-base served on a database
at head and exercised through its OpenAPI (`checks/base_release_app.py`). One readable report,
exit status 1 on any failure: on failure it starts with the matrix of revisions × checks, is
appended to `$GITHUB_STEP_SUMMARY` as Markdown, and on GitHub Actions annotates each failure
on its revision file. A revision that does not upgrade fails once; the drift check and the
base app then say "not run" instead of failing on the same error.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import URL, MetaData

from tests.migrations.gate.checks.drift import CHECK as DRIFT
from tests.migrations.gate.checks.drift import check_drift
from tests.migrations.gate.checks.upgrade import CHECK as UPGRADE
from tests.migrations.gate.checks.upgrade import walk_upgrades
from tests.migrations.gate.engine.history import History
from tests.migrations.gate.engine.steps import steps
from tests.migrations.gate.failure import GateFailure
from tests.migrations.gate.report.annotations import github_annotations
from tests.migrations.gate.report.matrix import HISTORY_ROW, Cell, FailureNote, Matrix, Verdict
from tests.support.postgres import PostgresServer, start_postgres
from tests.support.target import warn_if_off_target


@dataclass(frozen=True)
class PullRequestContext:
    """What a pull-request check receives from the `drift` command."""

    server: PostgresServer
    history: History
    head_url: URL
    base_ref: str
    head_upgrades: bool = True
    """False when a revision did not upgrade: checks that need the head say "not run"."""


@dataclass(frozen=True)
class Judged:
    """What a pull-request check passed: its name, the revisions it judged, lines to print."""

    check: str
    revisions: tuple[str, ...]
    lines: list[str]


PullRequestCheck = Callable[[PullRequestContext], Judged]
"""Raises `GateFailure`, or says what it judged."""


def lint_new_revisions_check(context: PullRequestContext) -> Judged:
    """The unsafe-DDL lint of the revisions added since the base ref, for every server the
    history runs on (`checks/unsafe_ddl.py`): offline, so MariaDB's needs no MariaDB server."""
    from tests.migrations.gate.checks.unsafe_ddl import (  # noqa: PLC0415 - squawk is heavy
        CHECK,
        LINTED_SERVERS,
        describe_advice,
        lint_new_revisions,
    )

    scope, lints = lint_new_revisions(context.base_ref, context.history, backends=LINTED_SERVERS)
    advice = [f"  {line}" for lint in lints for line in describe_advice(lint)]
    linters = ", ".join(f"{name} for {server}" for server, name in _linter_names(LINTED_SERVERS))
    return Judged(
        CHECK, scope.revisions, [f"unsafe-DDL lint ({linters}): {scope.description}", *advice]
    )


def _linter_names(servers: Sequence[str]) -> list[tuple[str, str]]:
    from tests.migrations.gate.dialects import dialect_named  # noqa: PLC0415 - as above

    return [(server, dialect_named(server).linter) for server in servers]


def base_release_app_check(context: PullRequestContext) -> Judged:
    """The base ref's app served on a database at head (`checks/base_release_app.py`)."""
    from tests.migrations.gate.checks.base_release_app import (  # noqa: PLC0415 - schemathesis
        CHECK,
        check_base_release_app,
    )

    verdict = check_base_release_app(
        context.server, context.history, context.base_ref, head_upgrades=context.head_upgrades
    )
    return Judged(CHECK, verdict.revisions, verdict.lines)


PULL_REQUEST_CHECKS: list[PullRequestCheck] = [lint_new_revisions_check, base_release_app_check]
"""What the command runs after the drift check; append to extend."""


@dataclass
class PullRequestOutcome:
    """What the command found: lines for what passed, the failures, and the matrix of both."""

    passed: list[str]
    failures: list[GateFailure]
    matrix: Matrix


def run_checks(
    server: PostgresServer,
    history: History,
    metadata: MetaData,
    base_ref: str,
    *,
    extra_checks: Sequence[PullRequestCheck] | None = None,
) -> tuple[list[str], list[GateFailure]]:
    """`check_pull_request`'s passes and failures (the matrix aside)."""
    outcome = check_pull_request(server, history, metadata, base_ref, extra_checks=extra_checks)
    return outcome.passed, outcome.failures


def check_pull_request(
    server: PostgresServer,
    history: History,
    metadata: MetaData,
    base_ref: str,
    *,
    extra_checks: Sequence[PullRequestCheck] | None = None,
) -> PullRequestOutcome:
    """Fresh database upgraded to head, the drift check, then the pull-request checks.

    Every check that can run runs, so one report shows every problem of the pull request; the
    drift check cannot when a revision does not upgrade.
    """
    every = [step.revision for step in steps(history)]
    outcome = PullRequestOutcome(passed=[], failures=[], matrix=Matrix(revisions=[]))
    cells = outcome.matrix.cells
    with server.temporary_database("gate_drift") as url:
        upgraded = walk_upgrades(history, server, empty=url)
        cells += [Cell(UPGRADE, revision, Verdict.PASS) for revision in upgraded.reached]
        context = PullRequestContext(
            server, history, url, base_ref, head_upgrades=upgraded.failure is None
        )

        def drift(context: PullRequestContext) -> Judged:
            check_drift(context.server, context.history, context.head_url, metadata)
            head = every[-1:] if every else []
            line = f"drift: none, {context.history.name} at head matches the models"
            return Judged(DRIFT, tuple(head), [line])

        checks: list[PullRequestCheck] = []
        if upgraded.failure is None:
            checks.append(drift)
        else:
            outcome.failures.append(upgraded.failure)
            cells += [Cell(UPGRADE, r, Verdict.NOT_RUN) for r in upgraded.blocked()[1:]]
            cells += [Cell(DRIFT, r, Verdict.NOT_RUN) for r in upgraded.blocked()[-1:]]
        checks += PULL_REQUEST_CHECKS if extra_checks is None else extra_checks
        for check in checks:
            try:
                judged = check(context)
            except GateFailure as error:
                outcome.failures.append(error)
            else:
                outcome.passed.extend(judged.lines)
                cells += [Cell(judged.check, r, Verdict.PASS) for r in judged.revisions]
    for failure in outcome.failures:
        revisions = failure.revisions or (HISTORY_ROW,)
        cells += [Cell(failure.check, revision, Verdict.FAIL) for revision in revisions]
        outcome.matrix.failures.append(
            FailureNote(
                failure.check,
                revisions[0],
                failure.problem,
                failure.how_to_fix,
                failure.revision_file,
                failure.direction,
            )
        )
    judged_rows = {cell.revision for cell in cells}
    messages = {step.revision: step.message for step in steps(history)}
    outcome.matrix.revisions = [(r, messages[r]) for r in every if r in judged_rows]
    return outcome


def report(
    passed: Sequence[str], failures: Sequence[GateFailure], matrix: Matrix | None = None
) -> str:
    """What the command prints: the matrix (when something failed and there is one), each
    failure in full, then one line per check that passed."""
    first = [matrix.text()] if matrix is not None and failures else []
    return "\n\n".join([*first, *(str(f) for f in failures), "\n".join(passed)]).strip()


def _publish(matrix: Matrix) -> None:
    """On GitHub Actions: the Markdown matrix as the job summary, annotations in the log."""
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as file:
            file.write(matrix.markdown())
    if os.environ.get("GITHUB_ACTIONS") == "true":
        for line in github_annotations(matrix.failures):
            sys.stdout.write(line + "\n")


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
        outcome = check_pull_request(server, history, Base.metadata, arguments.base)
    sys.stdout.write(report(outcome.passed, outcome.failures, outcome.matrix) + "\n")
    _publish(outcome.matrix)
    return 1 if outcome.failures else 0


if __name__ == "__main__":
    sys.exit(main())
