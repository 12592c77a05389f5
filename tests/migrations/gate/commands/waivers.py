"""`python -m tests.migrations.gate.commands.waivers [--base REF | --all] [--server S]`: lint.

Lints the offline SQL of the revisions added since `git merge-base REF HEAD` (or of every
revision) with the unsafe-DDL check, for each server the history is written for (squawk for
PostgreSQL, the MariaDB rules for MariaDB; `--server` picks one), and lists every waiver in
force with its reason; exit status 1 on any unwaived finding or broken waiver.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from tests.migrations.gate.checks.unsafe_ddl import (
    CHECK,
    LINTED_SERVERS,
    RevisionLint,
    check_unsafe_ddl,
    describe_advice,
    lint_new_revisions,
)
from tests.migrations.gate.engine.history import History
from tests.migrations.gate.engine.revision_scope import DEFAULT_BASE
from tests.migrations.gate.failure import GateFailure


def summary(lints: Sequence[RevisionLint]) -> list[str]:
    """What passed, every waiver honoured and every piece of advice, for the success output."""
    revisions = {lint.script.revision for lint in lints}  # one lint per revision and server
    lines = [f"{CHECK}: {len(revisions)} revision(s) linted, no unwaived findings"]
    for lint in lints:
        for rule, findings in lint.waived.items():
            lines.append(
                f"  waived for {lint.linter.name} in {lint.script.revision} ({lint.path}): "
                f"{rule} x{len(findings)}"
                f" — {lint.waivers[rule]}"
            )
    advice = [line for lint in lints for line in describe_advice(lint)]
    if advice:
        lines.append(f"{CHECK}: advice (reported, not failed; see [tool.migration-gate]):")
        lines.extend(f"  {line}" for line in advice)
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point: exit status 1 on any unwaived finding or broken waiver."""
    parser = argparse.ArgumentParser(
        prog="python -m tests.migrations.gate.commands.waivers",
        description="Lint the offline SQL of new (or all) Alembic revisions for unsafe DDL.",
    )
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--base",
        default=DEFAULT_BASE,
        help=f"lint revisions added since git merge-base BASE HEAD (default {DEFAULT_BASE})",
    )
    group.add_argument("--all", action="store_true", help="lint every revision")
    parser.add_argument(
        "--versions",
        type=Path,
        default=None,
        help="a versions folder other than alembic/versions (e.g. a test fixture history)",
    )
    parser.add_argument(
        "--server",
        action="append",
        choices=LINTED_SERVERS,
        help="lint the SQL for this server only (repeatable; default: every server)",
    )
    args = parser.parse_args(argv)
    servers: tuple[str, ...] = tuple(args.server or LINTED_SERVERS)
    history = History() if args.versions is None else History(versions=args.versions.resolve())
    try:
        if args.all:
            print(f"{CHECK}: linting every revision of {history.name} for {', '.join(servers)}")
            lints = [
                lint for server in servers for lint in check_unsafe_ddl(history, backend=server)
            ]
        else:
            scope, lints = lint_new_revisions(args.base, history, backends=servers)
            print(f"{CHECK}: {scope.description}")
    except GateFailure as failure:
        print(failure, file=sys.stderr)
        return 1
    print("\n".join(summary(lints)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
