"""Check 18: how long a revision holds a lock that stops every query on a table with rows.

PostgreSQL's fixtures hold ACCESS EXCLUSIVE (`postgresql_only`); MariaDB's hold the metadata lock
of `LOCK TABLES … WRITE` (`mariadb_only`); the budget and its configuration are server-free.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import URL, create_engine, pool, text

from tests.migrations.gate.checks.lock_holds import LockHolds, LockHoldsOutcome
from tests.migrations.gate.engine.history import History, fixture_history
from tests.migrations.gate.engine.lint_policy import (
    DEFAULT_LOCK_BUDGET_MS,
    LintPolicyError,
    load_lock_budget,
)
from tests.migrations.gate.engine.lock_sampling import sampled_locks
from tests.migrations.gate.engine.walk import walk_history
from tests.migrations.gate.failure import GateFailure
from tests.migrations.gate.report.locks import LockRow, lock_table_markdown, lock_table_text
from tests.support.migrations import PROJECT_ROOT
from tests.support.postgres import PostgresServer
from tests.support.servers import DatabaseServer

on_postgresql = pytest.mark.postgresql_only("PostgreSQL's ACCESS EXCLUSIVE, in PostgreSQL SQL")
on_mariadb = pytest.mark.mariadb_only("MariaDB's metadata locks; PostgreSQL's are tested above")


@on_postgresql
def test_the_sampler_sees_a_lock_another_session_holds_and_for_how_long(
    empty_database_url: URL,
) -> None:
    engine = create_engine(empty_database_url, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            connection.execute(text("CREATE TABLE gadgets (id int)"))
            connection.commit()
            with sampled_locks(empty_database_url) as sampling:
                connection.execute(text("LOCK TABLE gadgets IN ACCESS EXCLUSIVE MODE"))
                time.sleep(0.3)
                connection.commit()
    finally:
        engine.dispose()
    samples = sampling.samples
    assert samples is not None
    assert samples.error is None
    held = samples.held("gadgets", "ACCESS EXCLUSIVE")
    assert held is not None
    # A lower bound, short by up to an interval at each end: loose, the machine may be busy.
    assert 150 <= held <= 600, samples


@on_postgresql
def test_a_declaration_for_a_brief_hold_is_stale(
    postgres_server: PostgresServer, scratch_database_url: URL
) -> None:
    with pytest.raises(GateFailure) as raised:
        walk_history(
            fixture_history("stale_lock_declaration"),
            postgres_server,
            [LockHolds()],
            scratch=scratch_database_url,
        )
    failure = raised.value
    assert (failure.check, failure.revision) == ("lock-holds", "1c020000dead"), str(failure)
    assert failure.problem == "`holds_access_exclusive` of 1c020000dead excuses nothing"
    assert "`holds_access_exclusive['widgets']` is stale" in str(failure)
    assert "remove the stale `holds_access_exclusive` entries" in failure.how_to_fix


@on_postgresql
def test_the_budget_decides_a_higher_one_lets_the_same_hold_pass(
    postgres_server: PostgresServer, scratch_database_url: URL
) -> None:
    reports = walk_history(
        fixture_history("lock_held_too_long"),
        postgres_server,
        [LockHolds(budget_ms=10_000)],
        scratch=scratch_database_url,
    )
    outcome = reports[-1].observed(LockHolds.name, LockHoldsOutcome)
    assert outcome is not None
    assert "within the 10000 ms budget" in {hold.note for hold in outcome.holds}


@on_postgresql
@pytest.mark.parametrize(
    ("declaration", "expected"),
    [
        ('holds_access_exclusive = ["widgets"]', "must be a dict of name -> reason, got list"),
        ('holds_access_exclusive = {"widgets": "ok"}', "has no real reason ('ok')"),
    ],
)
def test_a_badly_shaped_declaration_fails_readably(
    postgres_server: PostgresServer,
    scratch_database_url: URL,
    tmp_path: Path,
    declaration: str,
    expected: str,
) -> None:
    versions = tmp_path / "versions"
    shutil.copytree(fixture_history("declared_lock_hold").versions, versions)
    revision = versions / "lh02_note.py"
    source = revision.read_text(encoding="utf-8")
    start = source.index("holds_access_exclusive = {")
    end = source.index("}\n", start) + 2
    revision.write_text(source[:start] + declaration + "\n" + source[end:], encoding="utf-8")
    with pytest.raises(GateFailure) as raised:
        walk_history(
            History(versions=versions), postgres_server, [LockHolds()], scratch=scratch_database_url
        )
    failure = raised.value
    assert (
        failure.problem == "the `holds_access_exclusive` declaration of 1c0100000002 is not valid"
    )
    assert expected in str(failure)


def test_the_budget_is_read_from_the_toml_config(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text("[tool.migration-gate]\naccess-exclusive-budget-ms = 100\n")
    assert load_lock_budget(pyproject) == 100
    assert load_lock_budget(tmp_path / "missing.toml") == DEFAULT_LOCK_BUDGET_MS
    # This project sets the default explicitly, with why, in its pyproject.toml.
    assert load_lock_budget(PROJECT_ROOT / "pyproject.toml") == 250


@pytest.mark.parametrize("value", ["0", "-5", '"250ms"', "2.5", "true"])
def test_a_wrong_budget_is_an_error_not_the_default(tmp_path: Path, value: str) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(f"[tool.migration-gate]\naccess-exclusive-budget-ms = {value}\n")
    with pytest.raises(LintPolicyError) as raised:
        load_lock_budget(pyproject)
    assert raised.value.check == "lock-holds"
    assert "must be a positive number of ms" in str(raised.value)


def test_the_report_lists_each_hold_as_a_table() -> None:
    rows = [
        LockRow("r2", "widgets", "ACCESS EXCLUSIVE", 503.2, "over the 250 ms budget, declared: x"),
        LockRow("r2", "widgets", "ROW EXCLUSIVE", 3.0, ""),
    ]
    text_lines = lock_table_text(rows, budget_ms=250).splitlines()
    assert text_lines[0] == (
        "locks held by each upgrade on rows (budget 250 ms for a lock that stops every query):"
    )
    assert text_lines[2].split()[:5] == ["r2", "widgets", "ACCESS", "EXCLUSIVE", "503"]
    markdown = lock_table_markdown(rows, budget_ms=250)
    assert "| revision | table | lock mode | held (ms) | note |" in markdown
    assert "| `r2` | `widgets` | ACCESS EXCLUSIVE | 503 | over the 250 ms budget" in markdown
    assert lock_table_text([], budget_ms=250) == ""


@on_postgresql
def test_a_long_hold_and_a_stale_entry_of_one_revision_are_one_failure(
    postgres_server: PostgresServer, scratch_database_url: URL, tmp_path: Path
) -> None:
    versions = tmp_path / "versions"
    shutil.copytree(fixture_history("lock_held_too_long").versions, versions)
    revision = versions / "lh02_note.py"
    source = revision.read_text(encoding="utf-8")
    anchor = "\n\ndef upgrade()"
    stale = '\nholds_access_exclusive = {"gadgets": "gadgets was rewritten by an older draft"}\n'
    revision.write_text(source.replace(anchor, stale + anchor, 1), encoding="utf-8")
    with pytest.raises(GateFailure) as raised:
        walk_history(
            History(versions=versions), postgres_server, [LockHolds()], scratch=scratch_database_url
        )
    failure = raised.value
    assert "held ACCESS EXCLUSIVE on widgets for" in failure.problem
    assert "`holds_access_exclusive['gadgets']` is stale" in str(failure)
    assert "never held ACCESS EXCLUSIVE on gadgets" in str(failure)
    assert failure.how_to_fix.endswith("and remove the stale `holds_access_exclusive` entries")


@on_mariadb
def test_the_mariadb_sampler_sees_lock_tables_write_and_for_how_long(
    empty_database_url: URL,
) -> None:
    engine = create_engine(empty_database_url, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            connection.execute(text("CREATE TABLE gadgets (id int)"))
            with sampled_locks(empty_database_url) as sampling:
                connection.execute(text("LOCK TABLES gadgets WRITE"))
                time.sleep(0.3)
                connection.execute(text("UNLOCK TABLES"))
    finally:
        engine.dispose()
    samples = sampling.samples
    assert samples is not None
    assert samples.error is None
    held = samples.held("gadgets", "MDL_SHARED_NO_READ_WRITE")
    assert held is not None, samples
    assert 150 <= held <= 600, samples


@dataclass(frozen=True)
class LongHold:
    """A server's fixture of a revision that holds a blocking lock too long, and its words."""

    fixture: str
    declared_fixture: str
    revision: str
    mode: str
    advice: str
    """What the how-to-fix must say on this server."""
    foreign_advice: str
    """What it must not say: the other server's advice."""


LONG_HOLDS = [
    pytest.param(
        LongHold(
            "lock_held_too_long",
            "declared_lock_hold",
            "1c000000dead",
            "ACCESS EXCLUSIVE",  # pg_sleep(0.5) under the lock
            advice="CONCURRENTLY",
            foreign_advice="LOCK TABLES",
        ),
        marks=on_postgresql,
        id="postgresql",
    ),
    pytest.param(
        LongHold(
            "mariadb_lock_held_too_long",
            "mariadb_declared_lock_hold",
            "b2000000b10c",
            "MDL_SHARED_NO_READ_WRITE",  # SLEEP(0.5) under LOCK TABLES … WRITE
            advice="LOCK TABLES",
            foreign_advice="CONCURRENTLY",
        ),
        marks=on_mariadb,
        id="mariadb",
    ),
]


@pytest.mark.parametrize("case", LONG_HOLDS)
def test_a_long_undeclared_hold_fails_naming_mode_table_time_budget_and_fix(
    gate_server: DatabaseServer, scratch_database_url: URL, case: LongHold
) -> None:
    with pytest.raises(GateFailure) as raised:
        walk_history(
            fixture_history(case.fixture), gate_server, [LockHolds()], scratch=scratch_database_url
        )
    failure = raised.value
    message = str(failure)
    assert (failure.check, failure.revision) == ("lock-holds", case.revision), message
    assert f"held {case.mode} on widgets for" in failure.problem
    assert "over the 250 ms budget" in failure.problem
    held = int(failure.problem.split(" for ")[1].split(" ms")[0])
    assert 250 < held < 1500, message
    assert "access-exclusive-budget-ms" in message
    assert 'holds_access_exclusive = {"widgets": ' in failure.how_to_fix
    assert case.advice in failure.how_to_fix
    assert case.foreign_advice not in failure.how_to_fix
    assert any(line.startswith(f"  widgets {case.mode}") for line in failure.details)


@pytest.mark.parametrize("case", LONG_HOLDS)
def test_a_declared_long_hold_passes_and_is_recorded(
    gate_server: DatabaseServer, scratch_database_url: URL, case: LongHold
) -> None:
    reports = walk_history(
        fixture_history(case.declared_fixture),
        gate_server,
        [LockHolds()],
        scratch=scratch_database_url,
    )
    outcome = reports[-1].observed(LockHolds.name, LockHoldsOutcome)
    assert outcome is not None
    assert outcome.budget_ms == DEFAULT_LOCK_BUDGET_MS
    held = [h for h in outcome.holds if (h.table, h.mode) == ("widgets", case.mode)]
    assert len(held) == 1, outcome
    assert held[0].ms > 250
    assert "declared: widgets is a small lookup table" in held[0].note
    # The first step has no table with rows before it, so nothing it locks is judged.
    first = reports[0].observed(LockHolds.name, LockHoldsOutcome)
    assert first is not None
    assert all("over" not in hold.note for hold in first.holds)
