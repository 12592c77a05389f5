"""The unit every dynamic check works on: one revision step, `before` → `revision`.

Also the two helpers every dynamic check shares: running one Alembic command so that a failure
reads as "which revision, what PostgreSQL said", and the strictly linear order of the steps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from sqlalchemy import URL
from sqlalchemy.exc import DBAPIError

from tests.migrations.gate.engine.history import History
from tests.migrations.gate.failure import GateFailure

BASE = "base"


@dataclass(frozen=True)
class Step:
    """Upgrading `before` (a revision id, or "base") to `revision`, and back."""

    before: str
    revision: str
    message: str

    def __str__(self) -> str:
        return f"{self.revision} ({self.message})"


def steps(history: History) -> list[Step]:
    """Every step from base to head, in upgrade order.

    The history rules (`history_rules.check_history`) require a linear chain; on a branched
    history the order is still a valid upgrade order, but `before` of a merge is only one of
    its parents.
    """
    result: list[Step] = []
    for script in history.revisions():
        down = script.down_revision
        before = down if isinstance(down, str) else (down[0] if down else BASE)
        message = (script.doc or "").strip().splitlines()[0] if script.doc else ""
        result.append(Step(before=before, revision=script.revision, message=message))
    return result


def database_error_lines(error: BaseException) -> list[str]:
    """What PostgreSQL said (message, DETAIL, HINT) and the statement it said it about."""
    if isinstance(error, DBAPIError):
        original = error.orig
        lines = [f"{type(original).__name__}: {str(original).strip()}"]
        statement = " ".join(str(error.statement or "").split())
        if statement:
            lines.append(f"statement: {statement[:400]}")
        return [line for part in lines for line in part.splitlines()]
    return [f"{type(error).__name__}: {line}" for line in str(error).strip().splitlines()] or [
        type(error).__name__
    ]


def run_step(
    action: Callable[[], None],
    *,
    check: str,
    problem: str,
    how_to_fix: str,
    revision: str,
    context: list[str] | None = None,
) -> None:
    """Run one Alembic command; turn whatever it raises into a `GateFailure` for `revision`."""
    try:
        action()
    except GateFailure:
        raise
    except Exception as error:
        raise GateFailure(
            check=check,
            problem=problem,
            how_to_fix=how_to_fix,
            revision=revision,
            details=[*database_error_lines(error), *(context or [])],
        ) from error


def upgrade_cleanly(history: History, url: URL, step: Step) -> None:
    """Upgrade `url` to `step.revision` between two checks, reported as the upgrade check."""
    run_step(
        partial(history.upgrade, url, step.revision),
        check="upgrade",
        problem=f"upgrading to {step.revision} failed ({history.name})",
        how_to_fix="the upgrade check reports this on an empty database",
        revision=step.revision,
    )
