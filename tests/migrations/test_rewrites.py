"""Check 9: no revision rewrites a table holding rows unless it declares it.

The project's history is judged on both servers. The PostgreSQL fixtures (a new relfilenode)
are `postgresql_only`; the MariaDB ones (a new InnoDB table id: `mariadb_*`) are
`mariadb_only`: each shows how its own server rewrites.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import URL

from tests.migrations.gate.checks.table_rewrite import (
    CHECK,
    DECLARATION,
    check_rewrites,
    observe_rewrites,
)
from tests.migrations.gate.checks.upgrade import RevisionTemplates
from tests.migrations.gate.dialects import DIALECT_NAMES, dialect_for
from tests.migrations.gate.engine.declarations import read_declaration_on
from tests.migrations.gate.engine.history import History, fixture_history
from tests.migrations.gate.failure import GateFailure
from tests.migrations.gate.report.plugin import MatrixRecorder

postgresql_fixture = pytest.mark.postgresql_only(
    "a PostgreSQL fixture: ALTER COLUMN TYPE USING, volatile defaults and CREATE INDEX "
    "CONCURRENTLY, seen through relfilenodes; the mariadb_* fixtures below are MariaDB's"
)
mariadb_fixture = pytest.mark.mariadb_only(
    "a MariaDB fixture (ALGORITHM=INSTANT, InnoDB table ids); on PostgreSQL the "
    "table_rewrite and safe_changes fixtures prove the same"
)
QUANTITY = "9a4f2e61c8d5"
REBUILT_ON = {"postgresql": {}, "mariadb": {QUANTITY: {"items"}}}
"""What the project's history rewrites on each server: on MariaDB the quantity CHECK copies
items (no NOT VALID), declared in `rewrites_tables_on`; on PostgreSQL nothing."""


@pytest.mark.history
def test_project_revisions_rewrite_nothing_and_ran_on_rows(
    scratch_database_url: URL, project_templates: RevisionTemplates, gate_matrix: MatrixRecorder
) -> None:
    project_templates.require(CHECK)
    steps = check_rewrites(History(), scratch_database_url)
    assert [step.script.revision for step in steps] == [s.revision for s in History().revisions()]
    for step in steps:  # every table a revision can touch held rows when it ran
        assert set(step.filled.inserted) == set(step.in_play), step.filled
        assert all(rows > 0 for rows in step.filled.inserted.values()), step.filled
        assert not step.filled.skipped, step.filled.skipped
    assert any(step.in_play for step in steps)  # the quantity revision ran on rows
    rebuilt = {step.script.revision: set(step.tables) for step in steps if step.tables}
    assert rebuilt == REBUILT_ON[dialect_for(scratch_database_url).name]
    gate_matrix.passed(CHECK, [step.script.revision for step in steps])


@postgresql_fixture
def test_correct_changes_rewrite_nothing(scratch_database_url: URL) -> None:
    """Nullable column, constant default, concurrent index, new table: no existing file changes."""
    steps = check_rewrites(fixture_history("safe_changes"), scratch_database_url)
    assert all(not step.tables and not step.indexes for step in steps)


@postgresql_fixture
def test_rewrites_are_seen_in_relfilenode(scratch_database_url: URL) -> None:
    steps = {
        step.script.revision: step
        for step in observe_rewrites(fixture_history("table_rewrite"), scratch_database_url)
    }
    assert set(steps["tr02_widen"].tables) == {"things"}
    assert steps["tr02_widen"].rows == {"things": 50}
    assert "pk_things" in steps["tr02_widen"].indexes
    assert set(steps["tr03_volatile"].tables) == {"things"}
    assert set(steps["tr04_declared"].tables) == {"things"}
    assert not steps["tr05_stale"].tables


@postgresql_fixture
def test_undeclared_rewrites_and_bad_declarations_fail(scratch_database_url: URL) -> None:
    with pytest.raises(GateFailure) as raised:
        check_rewrites(fixture_history("table_rewrite"), scratch_database_url)
    failure = raised.value
    text = str(failure)
    assert failure.check == "table-rewrite"
    assert failure.revisions == ("tr02_widen", "tr03_volatile", "tr05_stale", "tr06_no_reason")
    assert "revision tr02_widen (tests/migrations/fixtures/table_rewrite/tr02_widen.py):" in text
    assert "table things rewritten (50 rows copied, relfilenode " in text
    assert "indexes rebuilt with it: " in text
    assert "table things rewritten (100 rows copied" in text  # tr03: volatile default
    assert "`rewrites_tables['things']` declares a rewrite that did not happen" in text
    assert "`rewrites_tables['things']` has no real reason ('ok')" in text
    assert "tr04_declared" not in text  # declared with a reason: accepted
    assert 'rewrites_tables = {"things": "why a rewrite of things is acceptable"}' in text
    assert "backfill it in batches" in text
    assert "relfilenode" in text
    assert "table id" not in text


@mariadb_fixture
def test_mariadb_rebuilds_of_a_populated_table_fail(scratch_database_url: URL) -> None:
    """ADD CONSTRAINT CHECK and MODIFY … BIGINT copy `things` (new table id), undeclared."""
    with pytest.raises(GateFailure) as raised:
        check_rewrites(fixture_history("mariadb_rebuilds_populated"), scratch_database_url)
    failure = raised.value
    text = str(failure)
    assert failure.check == CHECK
    assert failure.revisions == ("mr02_check", "mr03_widen")
    assert failure.details[0] == (
        "revision mr02_check (tests/migrations/fixtures/mariadb_rebuilds_populated/mr02_check.py):"
    )
    assert re.fullmatch(
        r"  table things rewritten \((\d+) rows copied, table id (\d+) -> (\d+)\)",
        failure.details[1],
    ), failure.details
    rows, old, new = map(int, re.findall(r"\d+", failure.details[1]))
    assert rows > 0
    assert new > old
    assert failure.details[2].startswith("revision mr03_widen")
    assert failure.details[3].startswith("  table things rewritten (")
    assert len(failure.details) == 4  # one line per rebuild: the index has no entry of its own
    assert "MariaDB copied every row into a new InnoDB table" in text
    assert "relfilenode" not in text
    assert "ACCESS EXCLUSIVE" not in text
    assert "ALGORITHM=INSTANT" in text
    assert "LOCK=NONE" in text
    assert (
        'rewrites_tables_on = {"mariadb": {"things": "why a rewrite of things is acceptable"}}'
        in (text)
    )


@mariadb_fixture
def test_mariadb_instant_column_keeps_the_table_id(scratch_database_url: URL) -> None:
    """ADD COLUMN … ALGORITHM=INSTANT on a populated table: same table id, accepted."""
    steps = check_rewrites(fixture_history("mariadb_instant_column"), scratch_database_url)
    assert [step.script.revision for step in steps] == ["mi01_things", "mi02_note"]
    assert steps[1].filled.inserted.get("things", 0) > 0  # it ran on rows
    assert all(not step.tables and not step.indexes for step in steps)


@mariadb_fixture
def test_mariadb_declared_rebuild_is_accepted(scratch_database_url: URL) -> None:
    steps = check_rewrites(fixture_history("mariadb_declared_rebuild"), scratch_database_url)
    assert set(steps[1].tables) == {"things"}
    assert set(steps[1].declared) == {"things"}
    assert not steps[1].problems


@mariadb_fixture
def test_mariadb_bad_per_server_declarations_fail(scratch_database_url: URL) -> None:
    """Stale for MariaDB, an unknown server, declared twice, no reason: each named once."""
    with pytest.raises(GateFailure) as raised:
        check_rewrites(fixture_history("mariadb_bad_rebuild_declarations"), scratch_database_url)
    failure = raised.value
    text = str(failure)
    assert failure.revisions == (
        "mb02_stale",
        "mb03_unknown_server",
        "mb04_twice",
        "mb05_no_reason",
    )
    assert (
        "`rewrites_tables_on['mariadb']['things']` declares a rewrite that did not happen" in text
    )
    assert "`rewrites_tables_on['maria']` names no server the gate knows (it knows: " in text
    assert "mariadb, postgresql)" in text
    # the typo excuses nothing: mb03's rebuild is reported as undeclared
    mb03 = text.split("revision mb03_unknown_server")[1].split("revision mb04_twice", maxsplit=1)[0]
    assert "table things rewritten (" in mb03
    mb04 = text.split("revision mb04_twice")[1].split("revision mb05_no_reason", maxsplit=1)[0]
    assert "repeats `rewrites_tables['things']`, which holds for every server" in mb04
    assert "table things rewritten" not in mb04  # declared (twice) all the same
    assert "`rewrites_tables_on['mariadb']['things']` has no real reason ('ok')" in text
    mb05 = text.split("revision mb05_no_reason")[1]
    assert "table things rewritten (" in mb05  # a declaration without a reason excuses nothing


def test_per_server_declarations_are_read_for_the_server_at_hand() -> None:
    """No database: which entries excuse what, and which are refused, on each server."""
    scripts = {
        script.revision: script
        for name in ("mariadb_declared_rebuild", "mariadb_bad_rebuild_declarations")
        for script in fixture_history(name).revisions()
    }
    on_mariadb = read_declaration_on(scripts["md02_check"], DECLARATION, "mariadb", DIALECT_NAMES)
    assert set(on_mariadb.entries) == {"things"}
    assert on_mariadb.spelled == {"things": "rewrites_tables_on['mariadb']['things']"}
    # on PostgreSQL MariaDB's entry excuses nothing, and is not stale there either
    on_postgresql = read_declaration_on(
        scripts["md02_check"], DECLARATION, "postgresql", DIALECT_NAMES
    )
    assert on_postgresql.entries == {}
    assert on_postgresql.problems == ()
    # a bad reason or an unknown server fails wherever the gate runs
    for server in sorted(DIALECT_NAMES):
        unknown = read_declaration_on(
            scripts["mb03_unknown_server"], DECLARATION, server, DIALECT_NAMES
        )
        assert len(unknown.problems) == 1
        assert "`rewrites_tables_on['maria']` names no server the gate knows" in unknown.problems[0]
        no_reason = read_declaration_on(
            scripts["mb05_no_reason"], DECLARATION, server, DIALECT_NAMES
        )
        assert no_reason.entries == {}
        assert "has no real reason ('ok')" in no_reason.problems[0]
