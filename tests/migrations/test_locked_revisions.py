"""Check 14: locked revisions are never edited in place, and new ones come after them."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.migrations.gate.checks.locked_revisions import (
    LOCK_RULES,
    check_locked_revisions_unchanged,
    check_new_revisions_descend_from_locked_head,
)
from tests.migrations.gate.commands.lock import main as lock_main
from tests.migrations.gate.engine.edited import comment_formatting_edit
from tests.migrations.gate.engine.fingerprints import (
    fingerprint,
    lock_path,
    normalised_code,
    read_lock,
)
from tests.migrations.gate.engine.history import FIXTURE_HISTORIES, History, fixture_history
from tests.migrations.gate.failure import GateFailure
from tests.migrations.gate.report.plugin import MatrixRecorder
from tests.support.cli import run_module

LockRule = Callable[..., None]


@pytest.mark.history
@pytest.mark.parametrize("rule", LOCK_RULES, ids=lambda rule: rule.__name__)
def test_project_history_keeps_its_lock(
    project_history: History, rule: LockRule, gate_matrix: MatrixRecorder
) -> None:
    rule(project_history)
    gate_matrix.passed("locked-revisions", [s.revision for s in project_history.revisions()])


def test_comment_and_formatting_edits_keep_the_lock() -> None:
    """Comments and reflowed signatures on every revision: `alembic/versions.lock` still holds."""
    project_lock = read_lock(lock_path(History()))
    assert project_lock is not None
    for rule in LOCK_RULES:
        rule(comment_formatting_edit(), project_lock)


def test_normalised_code_ignores_comments_docstrings_and_formatting() -> None:
    original = 'def upgrade() -> None:\n    """Add it."""\n    op.add_column("t", c)\n'
    restyled = (
        "def upgrade(\n) -> None:  # reflowed\n    '''Say more.'''\n    op.add_column('t', c)\n"
    )
    changed = 'def upgrade() -> None:\n    op.add_column("t", c, if_not_exists=True)\n'
    assert normalised_code(original) == normalised_code(restyled)
    assert fingerprint(normalised_code(original)) != fingerprint(normalised_code(changed))


DECLARED = (
    'squawk_waivers = {"rule": "a reason of some words"}\n'
    "def upgrade() -> None:\n"
    '    op.execute("ALTER TABLE t ADD CONSTRAINT c CHECK (n >= 0)")\n'
)


def test_declarations_are_not_code_but_ddl_is() -> None:
    """Adding or rewording a declaration keeps the fingerprint; editing the DDL does not."""
    edited_declarations = (
        'squawk_waivers = {"rule": "another reason, reworded in review"}\n'
        "rewrites_tables_on: dict[str, dict[str, str]] = "
        '{"mariadb": {"t": "MariaDB has no NOT VALID: the CHECK copies t"}}\n'
        "def upgrade() -> None:\n"
        '    op.execute("ALTER TABLE t ADD CONSTRAINT c CHECK (n >= 0)")\n'
    )
    edited_ddl = DECLARED.replace("n >= 0", "n > 0")
    assert normalised_code(DECLARED) == normalised_code(edited_declarations)
    assert "squawk_waivers" not in normalised_code(DECLARED)
    assert normalised_code(DECLARED) != normalised_code(edited_ddl)


def test_a_declaration_the_code_reads_is_code() -> None:
    """A revision that reads its own declaration can change what runs by editing it."""
    reads_it = DECLARED + "    for name in squawk_waivers:\n        op.execute(name)\n"
    assert "squawk_waivers = " in normalised_code(reads_it)
    assert normalised_code(reads_it) != normalised_code(reads_it.replace('"rule"', '"other"'))


def test_a_lock_recorded_with_its_declarations_still_holds(locked_copy: History) -> None:
    """A lock written before declarations were left out records them; it is not re-recorded."""
    revision = locked_copy.versions / "w01_widgets.py"
    source = revision.read_text(encoding="utf-8")
    declared = 'rewrites_tables = {"widgets": "recorded when declarations still counted"}\n'
    revision.write_text(source + declared, encoding="utf-8")

    def record_old_style(data: dict[str, list[dict[str, object]]]) -> None:
        code = normalised_code(source) + declared  # as the rule before kept it
        data["revisions"][0]["code"] = code.rstrip("\n").split("\n")
        data["revisions"][0]["sha256"] = fingerprint(code)

    _rewrite_lock(locked_copy, record_old_style)
    for rule in LOCK_RULES:
        rule(locked_copy)
    revision.write_text(
        source.replace("nullable=True", "nullable=False") + declared, encoding="utf-8"
    )
    with pytest.raises(GateFailure, match="was edited in place"):
        check_locked_revisions_unchanged(locked_copy)


def test_revision_edited_in_place_fails_with_the_diff() -> None:
    """The first revision, locked, then edited to also create an index on widgets.name."""
    history = fixture_history("edited_in_place")
    with pytest.raises(GateFailure) as raised:
        check_locked_revisions_unchanged(history)
    failure = raised.value
    text = str(failure)
    assert text.startswith("[locked-revisions] locked revision a1000000ed17 was edited in place")
    assert failure.revisions == ("a1000000ed17",)
    assert failure.revision_file == "tests/migrations/fixtures/edited_in_place/w01_widgets.py"
    assert "--- locked in tests/migrations/fixtures/edited_in_place.lock" in text
    assert "+    op.create_index('ix_widgets_name', 'widgets', ['name'])" in text
    assert "+    op.drop_index('ix_widgets_name', 'widgets')" in text
    assert "names are searched" not in text  # comments are not code
    assert "Deployed databases" not in text  # nor are docstrings
    assert "write a new revision that makes the change" in text
    # One defect, one failure: the descent rule leaves it to the fingerprint.
    check_new_revisions_descend_from_locked_head(history)


@pytest.fixture
def locked_copy(tmp_path: Path) -> History:
    """`correct_new_column`'s first revision, locked by the command, in a folder of its own."""
    versions = tmp_path / "versions"
    versions.mkdir()
    shutil.copy(FIXTURE_HISTORIES / "correct_new_column" / "w01_widgets.py", versions)
    assert lock_main(["--versions", str(versions)]) == 0
    return History(versions=versions)


def add_second_revision(history: History) -> None:
    shutil.copy(FIXTURE_HISTORIES / "correct_new_column" / "w02_color_weight.py", history.versions)


def test_new_revision_passes_unlocked_until_the_command_locks_it(
    locked_copy: History, capsys: pytest.CaptureFixture[str]
) -> None:
    """A pull request's revision is not reviewed yet: it passes, then `nox -s lock` records it."""
    add_second_revision(locked_copy)
    for rule in LOCK_RULES:
        rule(locked_copy)
    capsys.readouterr()
    assert lock_main(["--versions", str(locked_copy.versions), "--check"]) == 1
    assert "not locked yet: b2000000c01c" in capsys.readouterr().out
    assert lock_main(["--versions", str(locked_copy.versions)]) == 0
    assert "locked 1 revision(s)" in capsys.readouterr().out
    lock = read_lock(lock_path(locked_copy))
    assert lock is not None
    assert [entry.revision for entry in lock.revisions] == ["a1000000c01c", "b2000000c01c"]
    assert lock_main(["--versions", str(locked_copy.versions), "--check"]) == 0
    for rule in LOCK_RULES:
        rule(locked_copy)


def test_the_command_refuses_to_lock_an_edit(tmp_path: Path) -> None:
    """Run as a developer runs it; relocking the edit would hide what the lock is for."""
    versions = tmp_path / "versions"
    shutil.copytree(FIXTURE_HISTORIES / "edited_in_place", versions)
    shutil.copy(FIXTURE_HISTORIES / "edited_in_place.lock", tmp_path / "versions.lock")
    before = (tmp_path / "versions.lock").read_text(encoding="utf-8")
    result = run_module("tests.migrations.gate.commands.lock", "--versions", str(versions))
    assert result.returncode == 1
    assert result.stderr.startswith("[locked-revisions] locked revision a1000000ed17 was edited")
    assert (tmp_path / "versions.lock").read_text(encoding="utf-8") == before


def test_a_deleted_locked_revision_fails(locked_copy: History) -> None:
    add_second_revision(locked_copy)
    assert lock_main(["--versions", str(locked_copy.versions)]) == 0
    (locked_copy.versions / "w02_color_weight.py").unlink()
    with pytest.raises(GateFailure) as raised:
        check_locked_revisions_unchanged(locked_copy)
    assert "locked revision b2000000c01c (w02_color_weight.py) is gone" in str(raised.value)


def test_a_missing_lock_file_fails_once(tmp_path: Path) -> None:
    versions = tmp_path / "versions"
    shutil.copytree(FIXTURE_HISTORIES / "clean_widgets", versions)
    history = History(versions=versions)
    with pytest.raises(GateFailure) as raised:
        check_locked_revisions_unchanged(history)
    assert "has no lock file (versions.lock beside it)" in str(raised.value)
    assert "nox -s lock" in str(raised.value)
    check_new_revisions_descend_from_locked_head(history)


def _rewrite_lock(
    history: History, edit: Callable[[dict[str, list[dict[str, object]]]], None]
) -> None:
    path = lock_path(history)
    data = json.loads(path.read_text(encoding="utf-8"))
    edit(data)
    path.write_text(json.dumps(data), encoding="utf-8")


def test_a_lock_that_skips_a_revision_fails_the_descent_rule(locked_copy: History) -> None:
    """The second revision locked, the first not: new work would sit below reviewed work."""
    add_second_revision(locked_copy)
    assert lock_main(["--versions", str(locked_copy.versions)]) == 0

    def forget_first(data: dict[str, list[dict[str, object]]]) -> None:
        del data["revisions"][0]

    _rewrite_lock(locked_copy, forget_first)
    check_locked_revisions_unchanged(locked_copy)
    with pytest.raises(GateFailure) as raised:
        check_new_revisions_descend_from_locked_head(locked_copy)
    text = str(raised.value)
    assert text.startswith(
        "[locked-revisions] revision a1000000c01c is not locked but comes before the locked "
        "head b2000000c01c"
    )
    assert "nearest locked revision below it is base" in text


def test_a_hand_edited_lock_entry_fails(locked_copy: History) -> None:
    def tamper(data: dict[str, list[dict[str, object]]]) -> None:
        data["revisions"][0]["code"] = ["pass"]

    _rewrite_lock(locked_copy, tamper)
    with pytest.raises(GateFailure) as raised:
        check_locked_revisions_unchanged(locked_copy)
    assert "the lock entry of a1000000c01c does not match its own code" in str(raised.value)
