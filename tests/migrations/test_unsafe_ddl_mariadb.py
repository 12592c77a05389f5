"""Check 8 on MariaDB: the gate's own DDL rules (`dialects/mariadb/lint.py`), each with teeth.

The lint reads SQL rendered offline for MariaDB, so these tests need no MariaDB server and run
in every suite; the tests marked `mariadb_only` prove on the server itself what a rule
claims (that MariaDB refuses an ALTER it cannot do online, that a CHECK means something else
there), and `test_check_parsed_differently_means_what_the_rule_says` runs on both servers.
"""

from __future__ import annotations

import pytest
from sqlalchemy import URL, create_engine, pool, text
from sqlalchemy.exc import DBAPIError

from tests.migrations.gate.checks.unsafe_ddl import check_unsafe_ddl, lint_revisions
from tests.migrations.gate.dialects import dialect_for, dialect_named
from tests.migrations.gate.dialects.mariadb.lint import RULES, lint_file
from tests.migrations.gate.engine.history import History, fixture_history
from tests.migrations.gate.failure import GateFailure
from tests.migrations.gate.report.plugin import MatrixRecorder

MARIADB = "mariadb"
PROJECT_REVISIONS = [script.revision for script in History().revisions()]


def _rules(fixture: str) -> dict[str, list[str]]:
    lints = lint_revisions(fixture_history(fixture), backend=MARIADB)
    return {lint.script.revision: [f.rule for f in lint.findings] for lint in lints}


@pytest.mark.history
@pytest.mark.parametrize("revision", PROJECT_REVISIONS)
def test_project_revision_passes_the_mariadb_lint(
    revision: str, gate_matrix: MatrixRecorder
) -> None:
    """Each real revision's MariaDB SQL is clean; each waiver it carries matched a finding."""
    (lint,) = check_unsafe_ddl(History(), [revision], backend=MARIADB)
    assert lint.ok
    assert set(lint.waived) == set(lint.waivers)
    gate_matrix.passed("unsafe-ddl", [revision])


def test_the_quantity_revisions_check_copy_is_waived_not_hidden() -> None:
    """The one MariaDB finding of the project is the CHECK that copies items, waived by name."""
    (lint,) = lint_revisions(History(), ["9a4f2e61c8d5"], backend=MARIADB)
    (finding,) = lint.waived["require-online-alter"]
    assert "ADD CONSTRAINT ck_items_quantity_non_negative CHECK" in finding.statement
    assert "can only be done by copying the table" in finding.message


def test_each_unsafe_operation_fails_with_its_rule() -> None:
    assert _rules("mariadb_unsafe_ddl") == {
        "md01_things": [],  # a new table takes any DDL
        "md02_widen": ["require-online-alter"],
        "md03_fulltext": ["require-online-index"],
        "md04_check": ["require-online-alter"],
        "md05_no_statement_limit": ["require-lock-wait-timeout"],
        "md06_exclusive": ["require-online-alter"],
    }


def test_unsafe_failure_names_revision_rule_statement_and_the_safe_way() -> None:
    with pytest.raises(GateFailure) as raised:
        check_unsafe_ddl(fixture_history("mariadb_unsafe_ddl"), backend=MARIADB)
    text_ = str(raised.value)
    assert text_.startswith("[unsafe-ddl] mariadb-lint found 5 unsafe statement(s)")
    for revision, rule, statement, why in [
        ("md02_widen", "require-online-alter", "MODIFY amount BIGINT", "may be done by copying"),
        ("md03_fulltext", "require-online-index", "CREATE FULLTEXT INDEX", "LOCK=NONE"),
        ("md04_check", "require-online-alter", "ADD CONSTRAINT", "can only be done by copying"),
        ("md05_no_statement_limit", "require-lock-wait-timeout", "max_statement_time = 0", ""),
        ("md06_exclusive", "require-online-alter", "LOCK=EXCLUSIVE", "asks for LOCK=EXCLUSIVE"),
    ]:
        section = text_.partition(f"revision {revision} (")[2].partition("\n    revision ")[0]
        assert f"tests/migrations/fixtures/mariadb_unsafe_ddl/{revision}.py" in section
        assert f"{rule}: " in section
        assert statement in section
        assert why in section
        assert f"mariadb-lint's help: {RULES[rule].help}" in section
        assert f"docs: {RULES[rule].docs}" in section
    assert "mariadb_lint_waivers = {" in text_  # how to waive, in this linter's own words
    assert "squawk" not in text_


def test_correct_online_changes_pass_without_a_waiver() -> None:
    """MODIFY … ALGORITHM=INSTANT, CREATE INDEX … LOCK=NONE, a plain ADD COLUMN, a new table
    whose CHECKs mean the same on both servers: nothing reported, nothing waived."""
    lints = check_unsafe_ddl(fixture_history("mariadb_online_ddl"), backend=MARIADB)
    assert [lint.script.revision for lint in lints] == [
        "mo01_things",
        "mo02_widen_name",
        "mo03_index_and_column",
        "mo04_new_table_check",
    ]
    assert all(lint.ok and not lint.waivers and not lint.findings for lint in lints)


def test_a_not_null_column_without_default_is_reported() -> None:
    """PostgreSQL refuses it on rows (test_populated_upgrades.py); MariaDB invents the values."""
    assert _rules("not_null_no_default") == {
        "a1000000beef": [],
        "b2000000beef": ["require-explicit-default"],
    }


@pytest.mark.mariadb_only("MariaDB's implicit defaults are a MariaDB fact")
def test_mariadb_fills_a_new_not_null_column_with_values_nobody_wrote(
    scratch_database_url: URL,
) -> None:
    """Why require-explicit-default exists: strict mode too, the old row gets 0 and ''."""
    engine = create_engine(scratch_database_url, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            connection.execute(text("SET SESSION sql_mode = 'STRICT_ALL_TABLES'"))
            connection.execute(text("CREATE TABLE t (id INT PRIMARY KEY)"))
            connection.execute(text("INSERT INTO t VALUES (1)"))
            connection.execute(text("ALTER TABLE t ADD COLUMN w INT NOT NULL, ADD s TEXT NOT NULL"))
            assert connection.execute(text("SELECT w, s FROM t")).one() == (0, "")
    finally:
        engine.dispose()


def test_a_check_mariadb_reads_differently_fails_each_of_its_rules() -> None:
    assert _rules("mariadb_check_parsed_differently") == {
        "mp01_tags": ["check-length-counts-bytes", "check-collation-comparison"],
    }


def test_bad_waivers_fail_and_excuse_nothing() -> None:
    """No reason, a misspelt rule, a waiver that matches nothing: each is its own problem."""
    history = fixture_history("mariadb_bad_lint_waivers")
    lints = {lint.script.revision: lint for lint in lint_revisions(history, backend=MARIADB)}
    assert lints["mw01_things"].ok
    assert [f.rule for f in lints["mw02_no_reason"].findings] == ["require-online-alter"]
    assert lints["mw02_no_reason"].waiver_problems == [
        "`mariadb_lint_waivers['require-online-alter']` has no real reason (''): say in a "
        "sentence why this is safe here, so a reviewer can check it"
    ]
    assert [f.rule for f in lints["mw03_unknown_rule"].findings] == ["require-online-alter"]
    assert lints["mw03_unknown_rule"].waiver_problems == [
        "`mariadb_lint_waivers['require-online-alters']`: mariadb-lint has no rule called "
        "'require-online-alters' (did you mean 'require-online-alter'?)"
    ]
    assert not lints["mw04_unused"].findings
    assert lints["mw04_unused"].waiver_problems == [
        "`mariadb_lint_waivers['require-online-index']` waives nothing: mariadb-lint does not "
        "report require-online-index for this revision; delete the waiver"
    ]
    with pytest.raises(GateFailure) as raised:
        check_unsafe_ddl(history, backend=MARIADB)
    assert "2 unsafe statement(s) and 3 waiver problem(s) in 3 revision(s)" in str(raised.value)


def test_squawk_waivers_do_not_excuse_mariadb_findings() -> None:
    """Each linter reads its own waivers: a rule name means something to one linter only."""
    assert dialect_named(MARIADB).lint_waivers == "mariadb_lint_waivers"
    assert dialect_named("postgresql").lint_waivers == "squawk_waivers"
    (lint,) = lint_revisions(fixture_history("bad_waivers"), ["bw02_no_reason"], backend=MARIADB)
    assert not lint.waivers  # its squawk_waivers are not read here


@pytest.mark.parametrize(
    ("sql", "rule"),
    [
        ("ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0), ALGORITHM=COPY", "require-online-alter"),
        ("ALTER TABLE t CHANGE a b BIGINT", "require-online-alter"),
        ("ALTER TABLE t ADD COLUMN n BIGINT AUTO_INCREMENT UNIQUE", "require-online-alter"),
        ("ALTER TABLE t ADD FOREIGN KEY (p) REFERENCES p (id)", "require-online-alter"),
        ("ALTER TABLE t ENGINE=InnoDB", "require-online-alter"),
        ("CREATE SPATIAL INDEX s ON t (g)", "require-online-index"),
        ("CREATE INDEX i ON t (a) LOCK=SHARED", "require-online-index"),
        ("CREATE TABLE n (a TEXT, CHECK (OCTET_LENGTH(a) < 5))", "check-length-counts-bytes"),
        ("CREATE TABLE n (s TEXT, CHECK (s IN ('a', 'b')))", "check-collation-comparison"),
        ("SET SESSION lock_wait_timeout = 86400", "require-lock-wait-timeout"),
        ("ALTER TABLE t ADD COLUMN w INT NOT NULL", "require-explicit-default"),
        ("ALTER TABLE t ADD IF NOT EXISTS s VARCHAR(5) NOT NULL", "require-explicit-default"),
    ],
)
def test_each_rule_fires_on_its_statement(sql: str, rule: str) -> None:
    """The rules on hand-written MariaDB SQL (env.py's preamble first, as Alembic prints it)."""
    preamble = "SET SESSION lock_wait_timeout = 5;\n\n-- Running upgrade a -> b\n\n"
    findings = lint_file("f.sql", f"{preamble}{sql};\n")
    assert [f.rule for f in findings] == [rule]
    assert findings[0].line == 4


@pytest.mark.parametrize(
    "sql",
    [
        "ALTER TABLE t MODIFY a BIGINT, ALGORITHM=INSTANT",
        "ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0), LOCK=NONE",  # the server will refuse it
        "ALTER TABLE t ADD COLUMN n INT NULL, DROP CONSTRAINT c, DROP INDEX i",
        "ALTER TABLE t ALTER COLUMN a SET DEFAULT 3",
        "ALTER TABLE t ADD COLUMN IF NOT EXISTS q INT NOT NULL DEFAULT 0, ALGORITHM=INSTANT",
        "CREATE TABLE n (w INT NOT NULL)",  # a new table has no rows to fill
        "CREATE UNIQUE INDEX i ON t (a)",
        "CREATE FULLTEXT INDEX f ON t (a) LOCK=NONE",  # an explicit claim: the server refuses
        "CREATE TABLE n (a TEXT, CHECK (CHAR_LENGTH(a) < 5 AND BINARY a <> ''))",
        "CREATE TABLE n (a TEXT, CHECK (a COLLATE utf8mb4_nopad_bin <> ''))",
        "UPDATE t SET a = 'LENGTH(x)' WHERE b = 'CHECK (x)'",  # words inside literals
        "INSERT INTO t (a) VALUES ('ALTER TABLE t MODIFY a INT')",
    ],
)
def test_online_or_harmless_statements_are_not_reported(sql: str) -> None:
    preamble = "SET SESSION lock_wait_timeout = 5;\n\n-- Running upgrade a -> b\n\n"
    assert lint_file("f.sql", f"{preamble}{sql};\n") == []


def test_ddl_before_any_lock_wait_timeout_is_reported_once() -> None:
    """env.py's preamble missing: one finding for the file, not one per statement."""
    sql = "ALTER TABLE t ADD COLUMN a INT;\n\nALTER TABLE t ADD COLUMN b INT;\n"
    assert [f.rule for f in lint_file("f.sql", sql)] == ["require-lock-wait-timeout"]


@pytest.mark.mariadb_only("MariaDB refusing ALTERs it cannot do online is a MariaDB fact")
def test_mariadb_refuses_what_the_online_clause_forbids(scratch_database_url: URL) -> None:
    """Why the rule asks for the clause: with it MariaDB refuses a copy instead of doing it."""
    assert dialect_for(scratch_database_url).name == MARIADB
    engine = create_engine(scratch_database_url, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            connection.execute(text("CREATE TABLE t (id INT PRIMARY KEY, a INT, b TEXT)"))
            for refused in (
                "ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0), LOCK=NONE",
                "ALTER TABLE t MODIFY a BIGINT, ALGORITHM=INSTANT",
                "CREATE FULLTEXT INDEX f ON t (b) LOCK=NONE",
            ):
                with pytest.raises(DBAPIError, match="not supported"):
                    connection.execute(text(refused))
            connection.execute(text("ALTER TABLE t ADD COLUMN n INT NULL, ALGORITHM=INSTANT"))
    finally:
        engine.dispose()


@pytest.mark.history
def test_check_parsed_differently_means_what_the_rule_says(scratch_database_url: URL) -> None:
    """The fixture's CHECKs on the server at hand: PostgreSQL takes both rows, MariaDB
    refuses both, though Python (and PostgreSQL) say each passes its rule."""
    label_of_spaces, ten_accents = "   ", "é" * 10
    assert label_of_spaces  # not empty, and
    assert len(ten_accents) <= 10  # ten characters: what the rules say in words
    server = dialect_for(scratch_database_url).name
    fixture_history("mariadb_check_parsed_differently").upgrade(scratch_database_url)
    engine = create_engine(scratch_database_url, poolclass=pool.NullPool)
    accepted: dict[str, bool] = {}
    refusals: list[DBAPIError] = []
    try:
        for label in (label_of_spaces, ten_accents):
            try:
                with engine.begin() as connection:
                    connection.execute(text("INSERT INTO tags (label) VALUES (:l)"), {"l": label})
                accepted[label] = True
            except DBAPIError as error:
                refusals.append(error)
                accepted[label] = False
    finally:
        engine.dispose()
    assert all(dialect_for(scratch_database_url).refuses_row(e) for e in refusals), refusals
    expected = server != MARIADB
    assert accepted == {label_of_spaces: expected, ten_accents: expected}
