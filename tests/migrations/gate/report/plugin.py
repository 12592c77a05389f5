"""The pytest side of the matrix: cells from every test that judges the project's history.

- A test marked `history` records what passed through the `gate_matrix` fixture.
- A `GateFailure` it raises becomes a ✘ cell (and a note under the matrix); a `NotRun` skip
  becomes – cells. Both are turned into cells where the test ran, in `pytest_runtest_makereport`,
  and travel in the report's `user_properties`, so they reach the controller under xdist too.
- When the run ends, the controller prints the matrix before pytest's failure tracebacks (a
  failing run) or one line after them (a passing one), writes `gate-report.md`, and, on GitHub
  Actions, prints an `::error` annotation for each failure on its revision file.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterable
from pathlib import Path
from typing import cast

import pytest

from tests.migrations.gate.engine.history import History
from tests.migrations.gate.engine.steps import steps
from tests.migrations.gate.failure import GateFailure, NotRun
from tests.migrations.gate.report.annotations import github_annotations
from tests.migrations.gate.report.locks import LockRow, lock_table_markdown, lock_table_text
from tests.migrations.gate.report.matrix import HISTORY_ROW, Cell, FailureNote, Matrix, Verdict

CELL = "gate-cell"
FAILURE = "gate-failure"
LOCKS = "gate-locks"
REPORT_FILE = "gate-report.md"


class MatrixRecorder:
    """What a history test hands the matrix: the revisions a check passed on."""

    def __init__(self, node: pytest.Item) -> None:
        self._node = node

    def passed(self, check: str, revisions: Iterable[str]) -> None:
        """`check` judged each of `revisions` and found nothing wrong."""
        self._record(check, revisions, Verdict.PASS)

    def not_run(self, checks: Iterable[str], revisions: Iterable[str]) -> None:
        """`checks` could not judge `revisions`, because of a failure reported elsewhere."""
        every = list(revisions)
        for check in checks:
            self._record(check, every, Verdict.NOT_RUN)

    def lock_holds(self, revision: str, holds: Iterable[LockRow], *, budget_ms: int) -> None:
        """The locks `revision`'s upgrade on rows held, for the report's lock table."""
        for hold in holds:
            row = {"table": hold.table, "mode": hold.mode, "ms": hold.ms, "note": hold.note}
            self._node.user_properties.append(
                (LOCKS, row | {"revision": revision, "budget_ms": budget_ms})
            )

    def _record(self, check: str, revisions: Iterable[str], verdict: Verdict) -> None:
        for revision in revisions:
            self._node.user_properties.append((CELL, (check, revision, verdict.name)))


@pytest.fixture
def gate_matrix(request: pytest.FixtureRequest) -> MatrixRecorder:
    """Records a history test's passes in the run's matrix."""
    node = request.node
    assert isinstance(node, pytest.Item)
    return MatrixRecorder(node)


def _failure_note(failure: GateFailure, revision: str) -> dict[str, str | None]:
    return {
        "check": failure.check,
        "revision": revision,
        "problem": failure.problem,
        "how_to_fix": failure.how_to_fix,
        "revision_file": failure.revision_file,
        "direction": failure.direction,
    }


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Turn a history test's GateFailure or NotRun into cells on its report."""
    report = yield
    if item.get_closest_marker("history") is None or call.excinfo is None:
        return report
    error = call.excinfo.value
    if isinstance(error, GateFailure):
        revisions = error.revisions or (HISTORY_ROW,)
        for revision in revisions:
            report.user_properties.append((CELL, (error.check, revision, Verdict.FAIL.name)))
        report.user_properties.append((FAILURE, _failure_note(error, revisions[0])))
    elif isinstance(error, NotRun):
        if isinstance(report.longrepr, tuple):  # say why, not the exception's dotted name
            path, line, _ = report.longrepr
            report.longrepr = (path, line, error.reason)
        for check in error.checks:
            for revision in error.revisions:
                report.user_properties.append((CELL, (check, revision, Verdict.NOT_RUN.name)))
    elif report.failed:
        # Not the gate's own failure (pytest-alembic's tests raise their own): one cell for the
        # history, in a column named after the test's module.
        check = item.path.stem.removeprefix("test_").replace("_", "-")
        problem = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        report.user_properties.append((CELL, (check, HISTORY_ROW, Verdict.FAIL.name)))
        note = {"check": check, "revision": HISTORY_ROW, "problem": problem[:300]}
        report.user_properties.append((FAILURE, note | {"how_to_fix": f"see {item.nodeid}"}))
    return report


def pytest_configure(config: pytest.Config) -> None:
    """On the controller (or a run without xdist), collect cells as reports arrive."""
    if not hasattr(config, "workerinput"):
        config.pluginmanager.register(MatrixCollector(config), "gate-matrix-collector")


class MatrixCollector:
    """The controller's matrix, filled from reports (xdist workers' too), reported at the end."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.matrix = Matrix(revisions=[])
        self.locks: list[LockRow] = []
        self.lock_budget_ms: int | None = None

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Collect the cells and failure notes a report carries."""
        for name, value in report.user_properties:
            if name == CELL:
                check, revision, verdict = cast(tuple[str, str, str], value)
                self.matrix.add([Cell(check, revision, Verdict[verdict])])
            elif name == FAILURE:
                note = FailureNote(**cast(dict[str, str | None], value))  # type: ignore[arg-type]
                if note not in self.matrix.failures:
                    self.matrix.failures.append(note)
            elif name == LOCKS:
                # Every phase's report (setup, call, teardown) carries the item's properties.
                held = dict(cast(dict[str, object], value))
                self.lock_budget_ms = cast(int, held.pop("budget_ms"))
                row = LockRow(**held)  # type: ignore[arg-type]
                if row not in self.locks:
                    self.locks.append(row)

    def _finished(self) -> Matrix | None:
        """The matrix over the project's revisions, or None when no history test ran."""
        if not self.matrix.cells:
            return None
        self.matrix.revisions = [(step.revision, step.message) for step in steps(History())]
        return self.matrix

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> Generator[None]:
        """A failing gate prints its matrix first, before any traceback; a passing one, a line."""
        matrix = self._finished()
        if matrix is not None and matrix.failed:
            terminalreporter.write_sep("=", "migration gate")
            terminalreporter.write_line(matrix.text())
            if self.locks:
                terminalreporter.write_line("")
                terminalreporter.write_line(
                    lock_table_text(self.locks, budget_ms=self.lock_budget_ms)
                )
            if os.environ.get("GITHUB_ACTIONS") == "true":
                for line in github_annotations(matrix.failures):
                    terminalreporter.write_line(line)
        yield
        if matrix is not None:
            path = Path(self.config.rootpath, REPORT_FILE)
            locks = lock_table_markdown(self.locks, budget_ms=self.lock_budget_ms)
            path.write_text(matrix.markdown() + locks, encoding="utf-8")
            if not matrix.failed:
                terminalreporter.write_line(f"{matrix.headline()} (see {REPORT_FILE})")
                if self.locks:
                    terminalreporter.write_line(
                        lock_table_text(self.locks, budget_ms=self.lock_budget_ms)
                    )
