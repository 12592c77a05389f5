"""`python -m tests.migrations.gate.commands.waivers [--base REF | --all]`: lint, list waivers.

Lints the offline SQL of the revisions added since `git merge-base REF HEAD` (or of every
revision) with the unsafe-DDL check, and lists every waiver in force with its reason; exit
status 1 on any unwaived finding or broken waiver.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from tests.migrations.gate.checks.unsafe_ddl import (
    CHECK,
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
    lines = [f"{CHECK}: {len(lints)} revision(s) linted, no unwaived findings"]
    for lint in lints:
        for rule, findings in lint.waived.items():
            lines.append(
                f"  waived in {lint.script.revision} ({lint.path}): {rule} x{len(findings)}"
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
        description="Lint the offline SQL of new (or all) Alembic revisions with squawk.",
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
    args = parser.parse_args(argv)
    history = History() if args.versions is None else History(versions=args.versions.resolve())
    try:
        if args.all:
            print(f"{CHECK}: linting every revision of {history.name}")
            lints = check_unsafe_ddl(history)
        else:
            scope, lints = lint_new_revisions(args.base, history)
            print(f"{CHECK}: {scope.description}")
    except GateFailure as failure:
        print(failure, file=sys.stderr)
        return 1
    print("\n".join(summary(lints)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
