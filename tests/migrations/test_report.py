"""The gate's verdict: one defect, one failure, and the revisions × checks matrix.

The matrix is unit-tested on cells; the whole promise is tested the way a reviewer would: a
copy of the project gets a revision that does not upgrade (`CREATE INDEX CONCURRENTLY` outside
`autocommit_block()`), and `pytest -m history` on that copy must fail exactly where the defect
is, print the matrix before any traceback, and say "not run" everywhere else.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest
from sqlalchemy import URL, MetaData

from tests.migrations.gate.commands.pull_request import check_pull_request, report
from tests.migrations.gate.engine.history import History, fixture_history
from tests.migrations.gate.report.annotations import github_annotations
from tests.migrations.gate.report.locks import LockRow, lock_table_markdown
from tests.migrations.gate.report.matrix import HISTORY_ROW, Cell, FailureNote, Matrix, Verdict
from tests.migrations.gate.report.plugin import MatrixCollector, MatrixRecorder
from tests.support.migrations import PROJECT_ROOT
from tests.support.postgres import PostgresServer

REVISIONS = [("r1", "create things"), ("r2", "add a column"), ("r3", "index it")]


def test_a_failure_outranks_a_pass_and_a_pass_outranks_not_run() -> None:
    matrix = Matrix(revisions=REVISIONS)
    matrix.add(
        [
            Cell("upgrade", "r3", Verdict.NOT_RUN),
            Cell("upgrade", "r3", Verdict.FAIL),
            Cell("upgrade", "r3", Verdict.PASS),
            Cell("drift", "r2", Verdict.NOT_RUN),
            Cell("drift", "r2", Verdict.PASS),
        ]
    )
    assert matrix.verdict("upgrade", "r3") is Verdict.FAIL
    assert matrix.verdict("drift", "r2") is Verdict.PASS
    assert matrix.verdict("drift", "r1") is None


def test_the_text_matrix_puts_each_mark_under_its_check() -> None:
    matrix = Matrix(revisions=REVISIONS)
    matrix.add([Cell("upgrade", revision, Verdict.PASS) for revision in ("r1", "r2")])
    matrix.add([Cell("upgrade", "r3", Verdict.FAIL), Cell("stairway", "r3", Verdict.NOT_RUN)])
    matrix.add([Cell("stairway", revision, Verdict.PASS) for revision in ("r1", "r2")])
    matrix.failures.append(FailureNote("upgrade", "r3", "it breaks", "fix it"))
    lines = matrix.text().splitlines()
    assert lines[0] == (
        "migration gate: FAILED on r3; 1 failure(s), 1 check(s) not run because of them"
    )
    assert lines[2].split() == ["revision", "1", "2"]  # columns in the README's order
    assert lines[3].split() == ["r1", "create", "things", "✔", "✔"]
    assert lines[5].split() == ["r3", "index", "it", "✘", "–"]
    assert "checks: 1 upgrade, 2 stairway" in matrix.text()
    assert "✘ [upgrade] r3: it breaks" in matrix.text()


def test_the_markdown_report_lists_each_failure_with_its_fix() -> None:
    matrix = Matrix(revisions=REVISIONS)
    matrix.add([Cell("history", HISTORY_ROW, Verdict.FAIL)])
    matrix.failures.append(FailureNote("history", HISTORY_ROW, "two heads", "merge them"))
    markdown = matrix.markdown()
    assert "| `(history)` the history as a whole | ✘ |" in markdown
    assert "- **[history] `(history)`**: two heads\n  - how to fix: merge them" in markdown


def test_annotations_point_at_the_revision_function_and_escape_the_message() -> None:
    path = "alembic/versions/20261128_add_item_quantity_9a4f2e61c8d5.py"
    down = FailureNote("stairway", "9a4f2e61c8d5", "it broke: 100%\nbadly", "fix", None, "down")
    (line,) = github_annotations([down])
    lines = (PROJECT_ROOT / path).read_text(encoding="utf-8").splitlines()
    expected_line = (
        lines.index(next(line for line in lines if line.startswith("def downgrade("))) + 1
    )
    assert line == (
        f"::error file={path},line={expected_line},title=[stairway] 9a4f2e61c8d5"
        "::it broke: 100%25%0Abadly%0Ahow to fix: fix"
    )


@pytest.mark.postgresql_only("the pull-request command and the seeded copy run on PostgreSQL")
def test_pull_request_check_reports_a_revision_that_does_not_upgrade_once(
    postgres_server: PostgresServer,
) -> None:
    """The drift check needs head: it says "not run" instead of failing on the same error."""
    outcome = check_pull_request(
        postgres_server, fixture_history("failing_upgrade"), MetaData(), "main", extra_checks=()
    )
    assert [(f.check, f.revision) for f in outcome.failures] == [("upgrade", "b2000000fa11")]
    assert outcome.failures[0].revision_file == (
        "tests/migrations/fixtures/failing_upgrade/w02_typo.py"
    )
    assert outcome.matrix.verdict("drift", "b2000000fa11") is Verdict.NOT_RUN
    assert outcome.matrix.verdict("upgrade", "a1000000fa11") is Verdict.PASS
    text = report(outcome.passed, outcome.failures, outcome.matrix)
    assert text.startswith("migration gate: FAILED on b2000000fa11; 1 failure(s), 1 check(s)")
    assert text.index("[upgrade] upgrading an empty database") > text.index("checks: 1 upgrade")


SEEDED_REVISION = '''"""Index items.name.

Revision ID: c0ffee000001
Revises: {head}
Create Date: 2026-12-04 10:00:00
"""

from alembic import op

revision = "c0ffee000001"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_items_name", "items", ["name"], postgresql_concurrently=True)


def downgrade() -> None:
    op.drop_index("ix_items_name", table_name="items", postgresql_concurrently=True)
'''


def _seeded_copy(destination: Path) -> Path:
    """The project without its caches, plus a revision that does not upgrade (and its model)."""
    ignore = shutil.ignore_patterns(
        ".git",
        ".nox",
        ".venv",
        ".pgdata",
        "__pycache__",
        ".*_cache",
        ".hypothesis",
        "gate-report.md",
    )
    copy = destination / "project"
    shutil.copytree(PROJECT_ROOT, copy, ignore=ignore)
    (copy / "alembic" / "versions" / "20261204_index_name_c0ffee000001.py").write_text(
        SEEDED_REVISION.replace("{head}", History().script().get_current_head() or ""),
        encoding="utf-8",
    )
    models = copy / "app" / "models.py"
    source = models.read_text(encoding="utf-8")
    column = "name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH), nullable=False"
    assert column in source
    models.write_text(source.replace(column, column + ", index=True"), encoding="utf-8")
    return copy


@pytest.mark.slow
@pytest.mark.postgresql_only("the seeded broken revision is PostgreSQL SQL")
def test_a_revision_that_does_not_upgrade_fails_once_and_blocks_the_rest(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    copy = _seeded_copy(tmp_path)
    server: URL = postgres_server.admin_url
    environment = {
        **os.environ,
        "TEST_DATABASE_URL": server.render_as_string(hide_password=False),
        "PYTHONDONTWRITEBYTECODE": "1",
        # The copy runs on this run's server, whichever source this run demanded for itself.
        "ITEMS_TEST_POSTGRES": "server",
    }
    environment.pop("GITHUB_ACTIONS", None)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/migrations", "-m", "history", "-p", "no:xdist"],
        cwd=copy,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    output = result.stdout
    failed = sorted(re.findall(r"^FAILED (\S+)", output, re.MULTILINE))
    assert failed == [
        "tests/migrations/test_unsafe_ddl.py::test_project_revision_passes_the_lint[c0ffee000001]",
        "tests/migrations/test_upgrade.py::test_project_upgrades_base_to_head",
    ], output[-6000:]
    assert not re.search(r"^ERROR ", output, re.MULTILINE), output[-6000:]
    skipped = re.findall(r"^SKIPPED \[\d+\] (.+)$", output, re.MULTILINE)
    assert skipped, output[-6000:]
    assert all(
        "not run: revision c0ffee000001 does not upgrade (see [upgrade])" in s for s in skipped
    )
    # The matrix comes first, before pytest's tracebacks, and names the broken row.
    assert output.index("= migration gate =") < output.index("= FAILURES =")
    assert re.search(r"^c0ffee000001 Index items\.name\.\s+.*✘", output, re.MULTILINE)
    report = (copy / "gate-report.md").read_text(encoding="utf-8")
    assert "## migration gate: FAILED on c0ffee000001" in report
    assert "- **[upgrade] `c0ffee000001`**" in report


def test_the_report_carries_the_lock_table_from_the_walk_to_gate_report_md(
    tmp_path: Path,
) -> None:
    """What the project walk records (`MatrixRecorder.lock_holds`) reaches the report's table."""
    node = SimpleNamespace(user_properties=[])
    recorder = MatrixRecorder(cast(pytest.Item, node))
    recorder.passed("lock-holds", ["r2"])
    recorder.lock_holds(
        "r2",
        [LockRow("r2", "things", "ACCESS EXCLUSIVE", 12.0, "within the 250 ms budget")],
        budget_ms=250,
    )
    collector = MatrixCollector(cast(pytest.Config, SimpleNamespace(rootpath=tmp_path)))
    for _phase in ("setup", "call", "teardown"):  # each phase's report carries the properties
        collector.pytest_runtest_logreport(cast(pytest.TestReport, node))
    assert collector.locks == [
        LockRow("r2", "things", "ACCESS EXCLUSIVE", 12.0, "within the 250 ms budget")
    ]
    assert collector.lock_budget_ms == 250
    markdown = lock_table_markdown(collector.locks, budget_ms=collector.lock_budget_ms)
    title = (
        "### locks held by each upgrade on rows (budget 250 ms for a lock that stops every query)"
    )
    assert title in markdown
    assert "| `r2` | `things` | ACCESS EXCLUSIVE | 12 | within the 250 ms budget |" in markdown
