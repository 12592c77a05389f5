"""Check 11: every revision renders as offline SQL, up and down; `render --out` writes it all."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.migrations.gate.checks.offline_sql import check_offline_sql
from tests.migrations.gate.commands.sql_review import main as render_main
from tests.migrations.gate.engine.history import FIXTURE_HISTORIES, History, fixture_history
from tests.migrations.gate.engine.render import parent_of, slug
from tests.migrations.gate.failure import GateFailure
from tests.migrations.gate.report.plugin import MatrixRecorder
from tests.support.cli import run_module


@pytest.mark.history
def test_every_project_revision_renders_both_ways(gate_matrix: MatrixRecorder) -> None:
    history = History()
    rendered = check_offline_sql(history)
    assert len(rendered) == 2 * len(history.revisions())
    for sql in rendered:
        verb = "upgrade" if sql.direction == "up" else "downgrade"
        assert f"-- Running {verb} " in sql.text
        assert sql.statements[-1] == "COMMIT;"
    gate_matrix.passed("offline-sql", [script.revision for script in history.revisions()])


def test_autocommit_block_shows_its_commit_in_the_offline_sql() -> None:
    """`autocommit_block()` must surface as COMMIT … BEGIN, or lint and review would miss it."""
    fixture = fixture_history("safe_changes")
    (sql,) = [s for s in check_offline_sql(fixture) if s.revision == "sc04_concurrent_index"][:1]
    statements = list(sql.statements)
    create = next(i for i, s in enumerate(statements) if "CREATE INDEX CONCURRENTLY" in s)
    assert statements[create - 2 : create] == ["COMMIT;", statements[create - 1]]
    assert "DROP INDEX CONCURRENTLY IF EXISTS" in statements[create - 1]
    assert statements[create + 1] == "BEGIN;"


def test_reading_data_through_get_bind_fails_offline_both_ways() -> None:
    with pytest.raises(GateFailure) as raised:
        check_offline_sql(fixture_history("reads_data"))
    text = str(raised.value)
    assert text.startswith("[offline-sql] 2 revision directions cannot be rendered")
    assert (
        "  revision: rd02_backfill_in_python "
        "(tests/migrations/fixtures/reads_data/rd02_backfill_in_python.py)"
    ) in text
    assert "`alembic upgrade rd01_things:rd02_backfill_in_python --sql` fails" in text
    assert "`alembic downgrade rd02_backfill_in_python:rd01_things --sql` fails" in text
    assert "AttributeError: 'NoneType' object has no attribute 'fetchall'" in text
    assert "AttributeError: 'NoneType' object has no attribute 'scalar'" in text
    assert "op.get_bind()" in text
    assert "op.execute('UPDATE" in text
    assert "rd01_things (" not in text


def run_render(*args: str) -> subprocess.CompletedProcess[str]:
    return run_module("tests.migrations.gate.commands.sql_review", *args)


def test_render_cli_writes_every_revision_up_and_down(tmp_path: Path) -> None:
    out = tmp_path / "sql"
    out.mkdir()
    (out / "0099_stale_old.up.sql").write_text("-- from a deleted revision\n")
    (out / "notes.txt").write_text("kept\n")
    result = run_render("--out", str(out))
    assert result.returncode == 0, result.stderr
    history = History()
    expected = set()
    for index, script in enumerate(history.revisions(), start=1):
        for direction in ("up", "down"):
            name = f"{index:04d}_{script.revision}_{slug(script.doc)}.{direction}.sql"
            expected.add(name)
            text = (out / name).read_text(encoding="utf-8")
            assert text.startswith("SET lock_timeout = ")
            verb = "upgrade" if direction == "up" else "downgrade"
            parent = parent_of(script) or ""
            arrow = (
                f"{parent} -> {script.revision}"
                if direction == "up"
                else (f"{script.revision} -> {parent}")
            )
            assert f"-- Running {verb} {arrow}".rstrip() in text
    assert {p.name for p in out.iterdir()} == {*expected, "notes.txt"}
    assert "0001_3c1d9e4a7b20_create_the_items_table.up.sql" in expected


def test_render_cli_fails_on_a_revision_that_cannot_render(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    versions = FIXTURE_HISTORIES / "reads_data"
    assert render_main(["--out", str(tmp_path), "--versions", str(versions)]) == 1
    assert capsys.readouterr().err.startswith("[offline-sql] `alembic upgrade rd01_things:")
    assert {p.name for p in tmp_path.iterdir()} == {
        "0001_rd01_things_create_things.up.sql",
        "0001_rd01_things_create_things.down.sql",
    }
