"""`GateFailure`: a failed check that says which revision, what differs and how to fix it.

Every field has one meaning everywhere, so a report, a matrix cell and a CI annotation can be
built from any failure without parsing its text: `revision` is always a bare revision id,
`revision_file` the path a reviewer opens, `direction` whether the upgrade or the downgrade
broke.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import pytest

Direction = Literal["up", "down"]
_DIRECTION_WORDS = {"up": "upgrade", "down": "downgrade"}


@dataclass
class GateFailure(AssertionError):
    """Raised by every gate check; its text is what a developer reads in the pytest report.

    An `AssertionError`, so pytest reports it as a failed check rather than an error in the
    harness.
    """

    check: str
    """The check's name, as in the README's check table (`table-rewrite`, `stairway`, …)."""
    problem: str
    """One sentence: what went wrong."""
    how_to_fix: str
    revision: str | None = None
    """The revision id that fails (the earliest, when several do); None for the whole history."""
    revision_file: str | None = None
    """That revision's file, relative to the project (`alembic/versions/….py`)."""
    direction: Direction | None = None
    """Whether the upgrade or the downgrade of `revision` is at fault (None: not one of them)."""
    details: Sequence[str] = field(default_factory=tuple)
    """What differs: the database error and statement, a catalog diff, the rows."""
    also_revisions: Sequence[str] = field(default_factory=tuple)
    """Other revisions failing the same check, each described in `details`."""

    def __post_init__(self) -> None:
        super().__init__(str(self))

    @property
    def revisions(self) -> tuple[str, ...]:
        """Every revision this failure is about (empty: the history as a whole)."""
        first = () if self.revision is None else (self.revision,)
        return (*first, *self.also_revisions)

    def located(self, revision_file: str | None) -> GateFailure:
        """This failure with `revision_file` filled in where the check did not know it."""
        if self.revision_file is None and revision_file is not None:
            self.revision_file = revision_file
            self.args = (str(self),)
        return self

    def __str__(self) -> str:
        lines = [f"[{self.check}] {self.problem}"]
        if self.revision is not None:
            where = self.revision
            if self.revision_file is not None:
                where += f" ({self.revision_file})"
            if self.direction is not None:
                where += f", {_DIRECTION_WORDS[self.direction]}"
            if self.also_revisions:
                where += f"; also {', '.join(self.also_revisions)}"
            lines.append(f"  revision: {where}")
        if self.details:
            lines.append("  what differs:")
            lines.extend(f"    {line}" for line in self.details)
        lines.append(f"  how to fix: {self.how_to_fix}")
        return "\n".join(lines)


# pytest exposes its skip exception only as the attribute `pytest.skip.Exception`, which mypy
# cannot use as a base class.
class NotRun(pytest.skip.Exception):  # type: ignore[misc,name-defined]
    """Checks that could not judge `revisions`: another check's failure blocks them.

    A skip, so one broken revision fails once (where it breaks) instead of in every check that
    needed it; the matrix shows the blocked cells as "not run".
    """

    def __init__(self, checks: Sequence[str], revisions: Sequence[str], because: str) -> None:
        super().__init__(f"not run: {because}")
        self.reason = f"not run: {because}"
        self._use_item_location = True  # pytest then reports the test, not this raise
        self.checks = tuple(checks)
        self.revisions = tuple(revisions)
