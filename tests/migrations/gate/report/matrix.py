"""The gate's verdict as a table: revisions down, checks across, ✔ / ✘ / –.

One defect should read as one failure. A reviewer looks at one row and sees which check broke
which revision, and which checks could not judge it because of that (–, "not run"): a revision
that does not upgrade blocks every check that needs it, and those are never counted again as
failures. Cells come from the tests (`Cell`); this module only arranges and renders them, as
plain text for the terminal and as Markdown for `gate-report.md` and a CI job summary.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

HISTORY_ROW = "(history)"
"""The row of a failure that is about the history as a whole, not one revision."""

COLUMN_ORDER = (
    "history",
    "upgrade",
    "stairway",
    "downgrade-leaves-no-trace",
    "drift",
    "populated-upgrade",
    "quantity-backfill",
    "unsafe-ddl",
    "table-rewrite",
    "timeouts",
    "lock-timeout",
    "offline-sql",
    "racing-upgraders",
    "atomic-failure",
    "locked-revisions",
    "model-registration",
    "previous-release",
    "sequences",
    "lock-holds",
    "app-privileges",
    "base-release-app",
    "pytest-alembic",
)
"""The README's check table order; a check not listed here comes after these, by name."""


LEGEND = (
    "✔ passed · ✘ failed · – not run (blocked by a failure, or not on this server yet: see the "
    "skips) · blank: the check does not judge that revision (no table to lock yet; drift "
    "judges head)"
)


class Verdict(enum.Enum):
    """What one check said of one revision."""

    PASS = "✔"  # noqa: S105 (a verdict, not a password)
    FAIL = "✘"
    NOT_RUN = "–"


@dataclass(frozen=True)
class Cell:
    """One verdict of one check on one revision (or on `HISTORY_ROW`)."""

    check: str
    revision: str
    verdict: Verdict


@dataclass(frozen=True)
class FailureNote:
    """A failure as the report lists it under the matrix (the full text is in pytest's)."""

    check: str
    revision: str
    problem: str
    how_to_fix: str
    revision_file: str | None = None
    direction: str | None = None


@dataclass
class Matrix:
    """The cells of one run over the project's revisions, in upgrade order."""

    revisions: Sequence[tuple[str, str]]
    """(revision id, message) from base to head."""
    cells: list[Cell] = field(default_factory=list)
    failures: list[FailureNote] = field(default_factory=list)

    def add(self, cells: Iterable[Cell]) -> None:
        """Record `cells`; a failure outranks a pass, and either outranks "not run"."""
        self.cells.extend(cells)

    def verdict(self, check: str, revision: str) -> Verdict | None:
        """The strongest verdict recorded for `check` on `revision` (None: never judged)."""
        found = {c.verdict for c in self.cells if (c.check, c.revision) == (check, revision)}
        for verdict in (Verdict.FAIL, Verdict.PASS, Verdict.NOT_RUN):
            if verdict in found:
                return verdict
        return None

    @property
    def checks(self) -> list[str]:
        """The columns: every check with a cell, in the README's order."""
        names = {cell.check for cell in self.cells}
        known = [name for name in COLUMN_ORDER if name in names]
        return known + sorted(names - set(COLUMN_ORDER))

    @property
    def rows(self) -> list[tuple[str, str]]:
        """The revisions, plus the history row when a cell is about the history as a whole."""
        rows = list(self.revisions)
        known = {revision for revision, _ in rows}
        extra = sorted({c.revision for c in self.cells} - known - {HISTORY_ROW})
        rows += [(revision, "") for revision in extra]
        if any(cell.revision == HISTORY_ROW for cell in self.cells):
            rows.append((HISTORY_ROW, "the history as a whole"))
        return rows

    @property
    def failed(self) -> bool:
        """Whether any check failed."""
        return any(cell.verdict is Verdict.FAIL for cell in self.cells)

    def _mark(self, check: str, revision: str) -> str:
        verdict = self.verdict(check, revision)
        return verdict.value if verdict is not None else " "

    def headline(self) -> str:
        """One sentence: which revisions failed, and how many checks that blocked."""
        checks = self.checks
        broken = [
            r for r, _ in self.rows if any(self.verdict(c, r) is Verdict.FAIL for c in checks)
        ]
        blocked = sum(
            1 for r, _ in self.rows for c in checks if self.verdict(c, r) is Verdict.NOT_RUN
        )
        if not broken:
            size = f"migration gate: {len(self.revisions)} revisions × {len(checks)} checks"
            if blocked:  # e.g. checks that have no meaning on this server yet (issue 10)
                return f"{size}, every one that ran passed; {blocked} not run (see the skips)"
            return f"{size}, all passed"
        return (
            f"migration gate: FAILED on {', '.join(broken)}; "
            f"{len(self.failures)} failure(s), {blocked} check(s) not run because of them"
        )

    def text(self) -> str:
        """The matrix for a terminal: numbered columns, with their names in a legend."""
        checks = self.checks
        labels = [f"{number:>2}" for number in range(1, len(checks) + 1)]
        width = max([len(_row_label(r, m)) for r, m in self.rows] + [8])
        lines = [self.headline(), ""]
        lines.append(f"{'revision':<{width}}  " + " ".join(labels))
        for revision, message in self.rows:
            marks = " ".join(f"{self._mark(c, revision):>2}" for c in checks)
            lines.append(f"{_row_label(revision, message):<{width}}  {marks}")
        legend = ", ".join(f"{n} {name}" for n, name in enumerate(checks, start=1))
        lines += ["", f"checks: {legend}", f"{LEGEND}"]
        lines += [f"✘ [{f.check}] {f.revision}: {f.problem}" for f in self.failures]
        return "\n".join(lines)

    def markdown(self) -> str:
        """The matrix and its failures, for gate-report.md and `$GITHUB_STEP_SUMMARY`."""
        checks = self.checks
        lines = [f"## {self.headline()}", ""]
        lines.append("| revision | " + " | ".join(f"`{c}`" for c in checks) + " |")
        lines.append("|---|" + "---|" * len(checks))
        for revision, message in self.rows:
            marks = " | ".join(self._mark(c, revision) for c in checks)
            lines.append(f"| `{revision}` {message} | {marks} |")
        lines += ["", LEGEND]
        if self.failures:
            lines += ["", "### Failures", ""]
            for note in self.failures:
                where = f" (`{note.revision_file}`)" if note.revision_file else ""
                lines.append(f"- **[{note.check}] `{note.revision}`**{where}: {note.problem}")
                fix = note.how_to_fix.replace("\n", "\n    ")
                lines.append(f"  - how to fix: {fix}")
        return "\n".join(lines) + "\n"


def _row_label(revision: str, message: str) -> str:
    return f"{revision} {message[:28]}".rstrip()
