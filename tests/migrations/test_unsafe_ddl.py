"""Check 8: squawk lints every revision's offline upgrade SQL; waivers are explicit and honest."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from tests.migrations.gate.advice import GateAdvice
from tests.migrations.gate.checks.unsafe_ddl import (
    check_unsafe_ddl,
    describe_advice,
    lint_revisions,
)
from tests.migrations.gate.dialects.postgresql.squawk import is_squawk_rule, run_squawk
from tests.migrations.gate.engine.history import History, fixture_history
from tests.migrations.gate.engine.lint_policy import (
    ADVISORY_RULES,
    LintPolicy,
    LintPolicyError,
    load_policy,
)
from tests.migrations.gate.engine.render import render_revision
from tests.migrations.gate.failure import GateFailure
from tests.migrations.gate.report.plugin import MatrixRecorder

PROJECT_REVISIONS = [script.revision for script in History().revisions()]


@pytest.mark.history
@pytest.mark.parametrize("revision", PROJECT_REVISIONS)
def test_project_revision_passes_the_lint(revision: str, gate_matrix: MatrixRecorder) -> None:
    """Each real revision is clean, every waiver it carries matched a finding.

    Advice (style rules the project has not opted in to) is listed in pytest's warnings
    summary, and does not fail.
    """
    (lint,) = check_unsafe_ddl(History(), [revision])
    assert lint.ok
    assert set(lint.waived) == set(lint.waivers)
    if lint.advice:
        warnings.warn(GateAdvice("\n".join(describe_advice(lint))), stacklevel=1)
    gate_matrix.passed("unsafe-ddl", [revision])


def test_each_unsafe_operation_fails_with_its_rule() -> None:
    """The classic outages are caught, each on its own revision, and nothing else is reported."""
    lints = lint_revisions(fixture_history("unsafe_ddl"))
    found = {lint.script.revision: sorted(f.rule for f in lint.findings) for lint in lints}
    assert found == {
        "ud01_things": [],  # its one finding is honestly waived
        "ud02_index": ["require-concurrent-index-creation"],
        "ud03_required": ["adding-required-field"],
        "ud04_volatile": ["adding-field-with-default"],
        "ud05_widen": ["changing-column-type"],
    }


def test_unsafe_failure_names_revision_rule_statement_help_and_waiver() -> None:
    with pytest.raises(GateFailure) as raised:
        check_unsafe_ddl(fixture_history("unsafe_ddl"))
    text = str(raised.value)
    assert text.startswith("[unsafe-ddl] squawk found 4 unsafe statement(s)")
    for revision, rule, statement in [
        ("ud02_index", "require-concurrent-index-creation", "CREATE INDEX ix_things_name"),
        ("ud03_required", "adding-required-field", "ADD COLUMN code TEXT NOT NULL"),
        ("ud04_volatile", "adding-field-with-default", "DEFAULT random()"),
        ("ud05_widen", "changing-column-type", "ALTER COLUMN amount TYPE BIGINT"),
    ]:
        section = text.partition(f"revision {revision} (")[2].partition("\n    revision ")[0]
        assert f"tests/migrations/fixtures/unsafe_ddl/{revision}.py" in section
        assert f"{rule}: " in section
        assert statement in section
        assert f"docs: https://squawkhq.com/docs/{rule}" in section
        assert "safe alternative:" in section
    assert "squawk's help: Use `concurrently` to avoid blocking writes." in text
    assert raised.value.revisions == (
        "ud02_index",
        "ud03_required",
        "ud04_volatile",
        "ud05_widen",
    )
    assert 'squawk_waivers = {"require-concurrent-index-creation": "why this is safe' in text


def test_bad_waivers_fail_and_excuse_nothing() -> None:
    """No reason, an unknown rule, or a waiver that matches nothing: each is its own failure."""
    lints = {lint.script.revision: lint for lint in lint_revisions(fixture_history("bad_waivers"))}
    assert lints["bw01_things"].ok
    no_reason = lints["bw02_no_reason"]
    assert [f.rule for f in no_reason.findings] == ["require-concurrent-index-creation"]
    assert no_reason.waiver_problems == [
        "`squawk_waivers['require-concurrent-index-creation']` has no real reason (''): say in "
        "a sentence why this is safe here, so a reviewer can check it"
    ]
    unknown = lints["bw03_unknown_rule"]
    assert [f.rule for f in unknown.findings] == ["require-concurrent-index-creation"]
    assert unknown.waiver_problems == [
        "`squawk_waivers['require-concurent-index-creation']`: squawk has no rule called "
        "'require-concurent-index-creation' (did you mean 'require-concurrent-index-creation'?)"
    ]
    unused = lints["bw04_unused"]
    assert not unused.findings
    assert unused.waiver_problems == [
        "`squawk_waivers['changing-column-type']` waives nothing: squawk does not report "
        "changing-column-type for this revision; delete the waiver"
    ]
    with pytest.raises(GateFailure) as raised:
        check_unsafe_ddl(fixture_history("bad_waivers"))
    assert "2 unsafe statement(s) and 3 waiver problem(s) in 3 revision(s)" in str(raised.value)
    assert raised.value.revisions == ("bw02_no_reason", "bw03_unknown_rule", "bw04_unused")


def test_correct_changes_pass() -> None:
    """Nullable column, constant default, CONCURRENTLY in autocommit_block, new table + index."""
    lints = check_unsafe_ddl(fixture_history("safe_changes"))
    assert [lint.script.revision for lint in lints] == [
        "sc01_things",
        "sc02_nullable",
        "sc03_constant_default",
        "sc04_concurrent_index",
        "sc05_new_table",
    ]
    assert all(lint.ok and not lint.waivers for lint in lints)


def test_alembic_version_statements_are_not_the_revisions_fault() -> None:
    """squawk flags Alembic's `version_num VARCHAR(32)`; the gate does not blame the revision."""
    history = fixture_history("safe_changes")
    sql = render_revision(history, "sc01_things", "up")
    raw = run_squawk({"first.sql": sql.text})
    assert [finding.rule for finding in raw] == ["prefer-text-field"]
    assert "CREATE TABLE alembic_version" in sql.text
    (lint,) = check_unsafe_ddl(history, ["sc01_things"])
    assert lint.ok


def test_rule_names_are_checked_against_squawk_itself() -> None:
    assert is_squawk_rule("require-concurrent-index-creation")
    assert not is_squawk_rule("require-concurent-index-creation")
    assert not is_squawk_rule("prefer-robust-stmts,ban-drop-table")


NEWCOMER = "newcomer_colour"
"""The project's revisions plus `colour: Mapped[str | None] = mapped_column(String(30))`,
exactly as `alembic revision --autogenerate` wrote it."""


def test_newcomers_autogenerated_column_is_advised_not_failed() -> None:
    """The first change a new user makes: a nullable varchar column. squawk's
    prefer-text-field fires, but ADD COLUMN of a varchar locks and writes nothing more than
    ADD COLUMN of a text does, so it is advice, and no waiver is needed."""
    lints = check_unsafe_ddl(fixture_history(NEWCOMER), policy=LintPolicy())
    colour = lints[-1]
    assert colour.script.revision == "1c0d51629c30"
    assert colour.ok
    assert not colour.waivers
    assert [finding.rule for finding in colour.advice] == ["prefer-text-field"]
    text = "\n".join(describe_advice(colour))
    assert text.startswith("revision 1c0d51629c30 (tests/migrations/fixtures/newcomer_colour/")
    assert "prefer-text-field (line " in text
    assert "ADD COLUMN colour VARCHAR(30)" in text
    assert "why it does not fail: its premise" in text


def test_opting_in_makes_a_style_rule_fail() -> None:
    with pytest.raises(GateFailure) as raised:
        check_unsafe_ddl(
            fixture_history(NEWCOMER), policy=LintPolicy(frozenset({"prefer-text-field"}))
        )
    assert raised.value.revision == "1c0d51629c30"
    assert "prefer-text-field: " in str(raised.value)


def test_lock_and_rewrite_rules_are_never_advice() -> None:
    """Whatever the opt-in, a rule that finds a lock or a rewrite fails (the unsafe fixtures)."""
    lints = lint_revisions(fixture_history("unsafe_ddl"), policy=LintPolicy())
    assert all(not lint.advice for lint in lints if lint.findings)
    assert not LintPolicy().is_advice("changing-column-type")
    assert not LintPolicy().is_advice("require-concurrent-index-creation")


def test_every_advisory_rule_is_one_squawk_knows() -> None:
    assert all(is_squawk_rule(rule) for rule in ADVISORY_RULES)


def test_opt_in_is_read_from_the_toml_config(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[tool.migration-gate]\nblocking-advice = ["prefer-identity", "prefer-timestamptz"]\n',
        encoding="utf-8",
    )
    policy = load_policy(pyproject)
    assert not policy.is_advice("prefer-identity")
    assert not policy.is_advice("prefer-timestamp-tz")  # its old name opted it in
    assert policy.is_advice("prefer-text-field")
    assert load_policy(tmp_path / "missing.toml") == LintPolicy()
    assert load_policy() == LintPolicy()  # this project opts in to nothing


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ('blocking-advice = ["prefer-text-feld"]', "not advisory: prefer-text-feld"),
        ('blocking-advice = ["changing-column-type"]', "not advisory: changing-column-type"),
        ('blocking-advice = "prefer-text-field"', "must be a list of rule names"),
        ('blocking_advice = ["prefer-text-field"]', "unknown key(s)"),
    ],
)
def test_a_wrong_opt_in_is_an_error_not_silence(tmp_path: Path, config: str, expected: str) -> None:
    """A project that believes it opted in must not quietly get advice instead."""
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(f"[tool.migration-gate]\n{config}\n", encoding="utf-8")
    with pytest.raises(LintPolicyError) as raised:
        load_policy(pyproject)
    assert expected in str(raised.value)
    assert "how to fix:" in str(raised.value)
