"""Check 20: the base ref's app served on the database at the pull request's head.

Each test builds its own repository in `tmp_path` (the suite also runs from a source archive
with no `.git`): a copy of the project's `app/` and `alembic/versions/` committed as `main`,
then a branch adding one fixture revision, the pull request. The cases that serve the app start
one server each.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from sqlalchemy import URL, Column, MetaData, String

from app.models import NAMING_CONVENTION, Base
from tests.migrations.gate.checks.base_release_app import CHECK, check_base_release_app
from tests.migrations.gate.commands.pull_request import (
    base_release_app_check,
    check_pull_request,
    run_checks,
)
from tests.migrations.gate.engine import app_probe
from tests.migrations.gate.engine.history import FIXTURE_HISTORIES, PROJECT_VERSIONS, History
from tests.migrations.gate.failure import GateFailure
from tests.migrations.gate.report.matrix import Verdict
from tests.support.git import git
from tests.support.migrations import PROJECT_ROOT
from tests.support.postgres import PostgresServer

IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc")

pytestmark = pytest.mark.postgresql_only("its fixture histories are PostgreSQL SQL (issue 10)")


def project_repository(repo: Path) -> History:
    """A repository whose `main` holds the project's app and history; its history, checked out."""
    shutil.copytree(PROJECT_ROOT / "app", repo / "app", ignore=IGNORED)
    versions = repo / "alembic" / "versions"
    shutil.copytree(PROJECT_VERSIONS, versions, ignore=IGNORED)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "main")
    return History(versions=versions)


def on_the_head(source: str, head: str) -> str:
    """A fixture revision re-parented onto `head`: written on the project's head of the day, it
    must still sit on top once the project has added revisions of its own."""
    return re.sub(
        r"^(down_revision: .*= )\S+$", rf'\g<1>"{head}"', source, count=1, flags=re.MULTILINE
    )


def pull_request(history: History, fixture: str) -> None:
    """Branch `pr` off `main`, adding the revision of the fixture folder `fixture` on its head."""
    repo = history.versions.parents[1]
    head = history.script().get_current_head()
    assert head is not None
    git(repo, "checkout", "-q", "-b", "pr")
    for path in sorted((FIXTURE_HISTORIES / fixture).glob("*.py")):
        source = path.read_text(encoding="utf-8")
        (history.versions / path.name).write_text(on_the_head(source, head), encoding="utf-8")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", f"pull request: {fixture}")


def test_a_compatible_change_passes(
    postgres_server: PostgresServer, scratch_database_url: URL, tmp_path: Path
) -> None:
    history = project_repository(tmp_path)
    pull_request(history, "base_app_compatible")
    verdict = check_base_release_app(postgres_server, history, "main", empty=scratch_database_url)
    assert verdict.revisions == ("ba5e0a000001",), verdict.lines
    assert "no 5xx, no valid write refused" in verdict.lines[0]


def test_a_required_column_without_default_fails_once_naming_the_revision(
    postgres_server: PostgresServer, scratch_database_url: URL, tmp_path: Path
) -> None:
    history = project_repository(tmp_path)
    pull_request(history, "base_app_required_column")
    with pytest.raises(GateFailure) as raised:
        check_base_release_app(
            postgres_server, history, "main", examples=10, empty=scratch_database_url
        )
    failure = raised.value
    text = str(failure)
    assert failure.check == CHECK, text
    assert failure.revisions == ("ba5e0a000002",), text
    assert failure.revision_file is not None
    assert failure.revision_file.endswith("_ba5e0a000002.py"), text
    assert "POST /items: valid write refused (422)" in failure.details, text
    assert "NotNullViolation" in text, text
    assert "breaks_previous_release" in failure.how_to_fix
    refused = [line for line in failure.details if not line.startswith(" ")]
    assert refused == ["POST /items: valid write refused (422)"], text


def test_a_dropped_column_fails_on_the_5xx_with_the_app_s_stderr(
    postgres_server: PostgresServer, scratch_database_url: URL, tmp_path: Path
) -> None:
    """Every route naming the column answers 500: one failure, one line per route."""
    history = project_repository(tmp_path)
    pull_request(history, "base_app_dropped_column")
    with pytest.raises(GateFailure) as raised:
        check_base_release_app(
            postgres_server, history, "main", examples=10, empty=scratch_database_url
        )
    failure = raised.value
    text = str(failure)
    assert failure.revisions == ("ba5e0a000004",), text
    routes = [line for line in failure.details if not line.startswith(" ")]
    assert "GET /items: server error (500)" in routes, text
    assert "POST /items: server error (500)" in routes, text
    assert routes[-1] == "the app's stderr (last lines):", text
    assert "UndefinedColumn) column items.quantity does not exist" in text, text


def test_a_declared_contract_step_is_not_run_with_a_note(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    history = project_repository(tmp_path)
    pull_request(history, "base_app_contract_declared")
    verdict = check_base_release_app(postgres_server, history, "main")
    assert verdict.revisions == ()
    assert verdict.lines[0] == f"{CHECK}: not run, a contract step breaks old releases:"
    assert "ba5e0a000003: items.colour: the release that creates" in verdict.lines[1]


@pytest.mark.parametrize(
    ("base", "upgrades", "expected"),
    [
        ("main", True, "no revision added since main"),
        ("no-such-ref", True, "cannot resolve 'no-such-ref'"),
        ("main", False, "the head does not upgrade"),
    ],
)
def test_it_says_why_it_does_not_run(
    postgres_server: PostgresServer, tmp_path: Path, base: str, upgrades: bool, expected: str
) -> None:
    history = project_repository(tmp_path)
    if not upgrades:
        pull_request(history, "base_app_required_column")
    verdict = check_base_release_app(postgres_server, history, base, head_upgrades=upgrades)
    assert verdict.revisions == ()
    assert verdict.lines[0].startswith(f"{CHECK}: not run, "), verdict.lines
    assert expected in verdict.lines[0], verdict.lines


def test_the_pull_request_command_runs_it(postgres_server: PostgresServer, tmp_path: Path) -> None:
    """Wired into `drift`: its line is among the passes (here: nothing new since main)."""
    history = project_repository(tmp_path)
    passed, failures = run_checks(
        postgres_server, history, Base.metadata, "main", extra_checks=[base_release_app_check]
    )
    assert failures == []
    assert any(line.startswith(f"{CHECK}: not run, no revision added") for line in passed)


def models_plus_colour() -> MetaData:
    """The project's models with the fixture's `items.colour`, on a copy of their metadata.

    `Table.to_metadata` does not carry a constraint's `ddl_if` over (SQLAlchemy 2.1), and the
    models spell two rules once per server that way; put each condition back, or PostgreSQL
    would be sent MariaDB's spelling too.
    """
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    for table in Base.metadata.tables.values():
        copy = table.to_metadata(metadata)
        conditions = {
            (constraint.name, str(getattr(constraint, "sqltext", ""))): constraint._ddl_if
            for constraint in table.constraints
            if constraint._ddl_if is not None
        }
        for constraint in copy.constraints:
            key = (constraint.name, str(getattr(constraint, "sqltext", "")))
            if key in conditions:
                constraint._ddl_if = conditions[key]
    metadata.tables["items"].append_column(Column("colour", String(30), nullable=False))
    return metadata


def test_the_pull_request_command_reports_one_failure_in_its_column(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    """The models follow the revision (drift passes, the lint passes): the base app's refused
    write is the one failure, in the `base-release-app` column on the new revision's row."""
    history = project_repository(tmp_path)
    pull_request(history, "base_app_required_column")
    metadata = models_plus_colour()
    outcome = check_pull_request(
        postgres_server, history, metadata, "main", extra_checks=[base_release_app_check]
    )
    assert [failure.check for failure in outcome.failures] == [CHECK], outcome.passed
    failed = [cell for cell in outcome.matrix.cells if cell.verdict is Verdict.FAIL]
    assert [(cell.check, cell.revision) for cell in failed] == [(CHECK, "ba5e0a000002")]
    assert CHECK in outcome.matrix.text()


def test_an_app_that_does_not_start_is_reported_with_its_stderr(
    scratch_database_url: URL, tmp_path: Path
) -> None:
    """No `app` package under the folder: the process exits, and its reason is in the error
    (the head's `app` is never imported in its place)."""
    with (
        pytest.raises(app_probe.AppDidNotStartError) as raised,
        app_probe.served(tmp_path, scratch_database_url, timeout=20),
    ):
        pytest.fail("an empty folder served an app")
    text = str(raised.value)
    assert "it exited with status" in text, text
    assert "No module named 'app'" in text or "not from" in text, text


@pytest.mark.parametrize(
    ("method", "status", "kind"),
    [
        ("POST", 201, None),
        ("POST", 422, "valid write refused"),
        ("PUT", 404, None),
        ("PATCH", 409, "valid write refused"),
        ("GET", 422, None),
        ("GET", 503, "server error"),
        ("DELETE", 500, "server error"),
    ],
)
def test_what_counts_as_a_finding(method: str, status: int, kind: str | None) -> None:
    assert app_probe.classify(method, status) == kind
