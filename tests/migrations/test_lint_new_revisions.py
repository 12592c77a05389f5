"""Check 8, pull-request scope: only revisions added since the base branch are linted."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.migrations.gate.checks.unsafe_ddl import lint_new_revisions
from tests.migrations.gate.commands.waivers import main as lint_main
from tests.migrations.gate.engine.history import FIXTURE_HISTORIES, History
from tests.migrations.gate.engine.revision_scope import revisions_new_since
from tests.migrations.gate.failure import GateFailure
from tests.support.cli import run_module


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=gate", "-c", "user.email=gate@example.invalid", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def pull_request(tmp_path: Path) -> tuple[Path, History]:
    """A repository whose `main` holds two unsafe revisions; a branch adds a third and a fourth.

    `ud02_index` (non-concurrent index) is already on main; the branch commits `ud03_required`
    and leaves `ud04_volatile` untracked, as a developer would before committing.
    """
    repo = tmp_path / "repo"
    versions = repo / "versions"
    versions.mkdir(parents=True)
    source = FIXTURE_HISTORIES / "unsafe_ddl"
    git(repo, "init", "-q", "-b", "main")
    for name in ("ud01_things.py", "ud02_index.py"):
        shutil.copy(source / name, versions / name)
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "main")
    git(repo, "checkout", "-q", "-b", "feature")
    shutil.copy(source / "ud03_required.py", versions / "ud03_required.py")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "feature")
    shutil.copy(source / "ud04_volatile.py", versions / "ud04_volatile.py")
    return repo, History(versions=versions)


def test_only_revisions_added_since_the_merge_base_are_in_scope(
    pull_request: tuple[Path, History],
) -> None:
    repo, history = pull_request
    scope = revisions_new_since(history, "main", repo=repo)
    assert scope.revisions == ("ud03_required", "ud04_volatile")
    assert scope.description.startswith("2 revision(s) added since main (merge-base ")


def test_new_unsafe_revisions_fail_old_ones_do_not_block(
    pull_request: tuple[Path, History],
) -> None:
    repo, history = pull_request
    with pytest.raises(GateFailure) as raised:
        lint_new_revisions("main", history=history, repo=repo)
    assert raised.value.revisions == ("ud03_required", "ud04_volatile")
    assert "ud02_index" not in str(raised.value)


def test_missing_base_falls_back_to_every_revision_and_says_so(
    pull_request: tuple[Path, History],
) -> None:
    repo, history = pull_request
    scope = revisions_new_since(history, "origin/main", repo=repo)
    assert scope.revisions == ("ud01_things", "ud02_index", "ud03_required", "ud04_volatile")
    assert scope.description.startswith("cannot compare with 'origin/main' (")
    assert "linting all 4 revision(s) instead" in scope.description


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return run_module("tests.migrations.gate.commands.waivers", *args)


@pytest.mark.history
def test_cli_passes_on_the_project_and_lists_its_waivers(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert lint_main(["--all"]) == 0
    out = capsys.readouterr().out
    revisions = History().revisions()
    assert f"{len(revisions)} revision(s) linted, no unwaived findings" in out
    for script in revisions:
        for rule, reason in getattr(script.module, "squawk_waivers", {}).items():
            assert f"waived in {script.revision} (" in out
            assert f"{rule} x" in out
            assert reason in out


def test_cli_with_a_base_that_has_no_new_revisions_lints_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert lint_main(["--base", "HEAD"]) == 0
    assert "unsafe-ddl: 0 revision(s) added since HEAD" in capsys.readouterr().out


def test_cli_with_an_unknown_base_lints_everything_and_says_why(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert lint_main(["--base", "no-such-branch-for-the-gate"]) == 0
    out = capsys.readouterr().out
    assert "cannot compare with 'no-such-branch-for-the-gate'" in out
    assert f"linting all {len(History().revisions())} revision(s) instead" in out


def test_cli_fails_with_the_readable_report() -> None:
    """Run as a developer runs it: `python -m tests.migrations.gate.commands.waivers`, exit 1."""
    result = run_cli("--all", "--versions", str(FIXTURE_HISTORIES / "unsafe_ddl"))
    assert result.returncode == 1
    assert result.stderr.startswith("[unsafe-ddl] squawk found 4 unsafe statement(s)")
