"""Gate speed: the full migration gate and pytest-alembic's four built-ins on 25/50/100 revisions.

For each chain length the project is copied (working tree, so the gate runs as it stands now),
a synthetic chain is appended with matching models (`bench/synthetic_chain.py`), and four
pytest runs are timed back to back on the copy: the whole gate (`pytest tests/migrations`),
its checks of the history alone, without the self-tests on fixture histories (`-m history`,
what `nox -s gate` runs), the four built-ins alone (a generated `tests/bench_builtins/`), and
the whole gate under `pytest-xdist -n auto`. Seconds per revision use the total chain length
(synthetic + the project's own); the marginal cost per added revision (slope between chain
lengths) shows whether the gate grows linearly, free of pytest's fixed start-up cost.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from alembic.script import ScriptDirectory

from bench.server import PROJECT_ROOT
from bench.synthetic_chain import write_chain
from tests.support.migrations import alembic_config
from tests.support.postgres import PostgresServer

RUN_TIMEOUT_SECONDS = 1800
_IGNORE = shutil.ignore_patterns(
    ".git",
    ".pgdata",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    "__pycache__",
    ".nox",
    ".venv",
    "bench",
)

_BUILTINS_CONFTEST = '''"""Fixtures for the built-ins alone: one database per test."""

from collections.abc import Iterator

import pytest
from alembic.config import Config
from sqlalchemy import Engine, create_engine, pool

from tests.support.migrations import alembic_config as project_alembic_config
from tests.support.postgres import PostgresServer


@pytest.fixture
def alembic_config() -> Config:
    return project_alembic_config()


@pytest.fixture
def alembic_engine(postgres_server: PostgresServer) -> Iterator[Engine]:
    with postgres_server.temporary_database("bench_builtins") as url:
        engine = create_engine(url, poolclass=pool.NullPool)
        yield engine
        engine.dispose()
'''

_BUILTINS_TESTS = '''"""pytest-alembic's four built-in tests alone: the gate's yardstick."""

from pytest_alembic.tests import (  # noqa: F401
    test_model_definitions_match_ddl,
    test_single_head_revision,
    test_up_down_consistency,
    test_upgrade,
)
'''


@dataclass(frozen=True)
class PytestRun:
    """One timed pytest run: wall seconds and pytest's closing counts."""

    seconds: float
    summary: str
    exit_code: int
    failures: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChainRuns:
    """The timed runs on one chain: `total` revisions in all (synthetic + the project's)."""

    count: int
    total: int
    gate: PytestRun
    history: PytestRun
    builtins: PytestRun
    parallel: PytestRun | None


def _project_head() -> str:
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"the project has {len(heads)} heads; the bench needs exactly one")
    return heads[0]


def prepare_copy(destination: Path, count: int) -> int:
    """Copy the project to `destination`, add `count` revisions; return the chain's length."""
    shutil.copytree(PROJECT_ROOT, destination, ignore=_IGNORE)
    project_revisions = len(list((destination / "alembic" / "versions").glob("*.py")))
    write_chain(destination, count, _project_head())
    builtins = destination / "tests" / "bench_builtins"
    builtins.mkdir()
    (builtins / "__init__.py").write_text("")
    (builtins / "conftest.py").write_text(_BUILTINS_CONFTEST)
    (builtins / "test_pytest_alembic_builtins.py").write_text(_BUILTINS_TESTS)
    _commit_everything(destination)
    return project_revisions + count


def _commit_everything(project: Path) -> None:
    """Make the copy a git repository with one commit, as a developer's checkout is.

    The gate's lint scope compares with a git base; without a repository it would fall back to
    linting everything and its own CLI tests would fail for a reason that is the copy's, not
    the gate's.
    """
    identity = ["-c", "user.name=bench", "-c", "user.email=bench@example.invalid"]
    for arguments in (["init", "-q", "-b", "main"], ["add", "."], ["commit", "-q", "-m", "copy"]):
        subprocess.run(
            ["git", *identity, *arguments], cwd=project, check=True, capture_output=True, timeout=60
        )


def run_pytest(project: Path, server: PostgresServer, *arguments: str) -> PytestRun:
    """`python -m pytest <arguments>` in `project`, against `server`; timed, bounded."""
    env = {
        **os.environ,
        "TEST_DATABASE_URL": server.admin_url.render_as_string(hide_password=False),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *arguments],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_SECONDS,
        check=False,
    )
    seconds = time.perf_counter() - started
    lines = [line for line in completed.stdout.splitlines() if line.strip()]
    closing = [
        line
        for line in lines
        if re.search(r"\d+ (tests? collected|passed|failed|errors?|skipped)", line)
    ]
    summary = closing[-1].strip("= ") if closing else (lines[-1] if lines else "no output")
    failures = tuple(
        line.split(" - ")[0] for line in lines if line.startswith(("FAILED ", "ERROR "))
    )
    return PytestRun(seconds, summary, completed.returncode, failures)


def run_gate_benchmark(
    server: PostgresServer,
    sizes: Sequence[int],
    out: Callable[[str], None],
    *,
    xdist: bool = True,
    smoke: bool = False,
) -> None:
    """Time the gate, its history checks, the built-ins and (`xdist`) the gate under `-n auto`.

    `smoke` (quick mode) only proves the harness: the copy, the chain and its models are built,
    the gate is collected and the built-ins run; a full gate run takes minutes per size.
    """
    gate_files = sorted(p.name for p in (PROJECT_ROOT / "tests" / "migrations").glob("test_*.py"))
    out(f"## Gate speed: chains of {', '.join(map(str, sizes))} synthetic revisions")
    out(
        f"gate as found now: {len(gate_files)} test modules in tests/migrations: "
        f"{', '.join(gate_files) or 'none'}"
    )
    rows: list[ChainRuns] = []
    for count in sizes:
        with tempfile.TemporaryDirectory(prefix="bench-gate-") as folder:
            project = Path(folder) / "project"
            total = prepare_copy(project, count)
            if smoke:
                collected = run_pytest(project, server, "tests/migrations", "--collect-only")
                builtins = run_pytest(project, server, "tests/bench_builtins")
                out(
                    f"  smoke, {count} synthetic: the gate collects ({collected.summary}), "
                    f"not timed; built-ins {builtins.seconds:.1f}s ({builtins.summary})"
                )
                continue
            gate = run_pytest(project, server, "tests/migrations")
            history = run_pytest(project, server, "tests/migrations", "-m", "history")
            builtins = run_pytest(project, server, "tests/bench_builtins")
            parallel = (
                run_pytest(project, server, "tests/migrations", "-n", "auto") if xdist else None
            )
            out(
                f"  {count} synthetic: gate {gate.seconds:.1f}s ({gate.summary}); history "
                f"checks {history.seconds:.1f}s ({history.summary}); built-ins "
                f"{builtins.seconds:.1f}s ({builtins.summary})"
                + (
                    f"; gate -n auto {parallel.seconds:.1f}s ({parallel.summary})"
                    if parallel
                    else ""
                )
            )
            for failure in dict.fromkeys(gate.failures + history.failures + builtins.failures):
                out(f"    {failure}")
            rows.append(ChainRuns(count, total, gate, history, builtins, parallel))
    if smoke:
        return
    _report(rows, out)


def _report(rows: Sequence[ChainRuns], out: Callable[[str], None]) -> None:
    """The table, and the marginal cost per added revision between the first and last chain."""
    out("")
    out(
        "| synthetic revs | chain length | gate s | gate s/rev | history checks s | "
        "built-ins s | built-ins s/rev | gate / built-ins | history / built-ins | "
        "gate -n auto s | xdist speed-up |"
    )
    out("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        gate, history, builtins, parallel = row.gate, row.history, row.builtins, row.parallel
        speed_up = f"{gate.seconds / parallel.seconds:.2f}x" if parallel else "not run"
        parallel_seconds = f"{parallel.seconds:.1f}" if parallel else "-"
        out(
            f"| {row.count} | {row.total} | {gate.seconds:.1f} | {gate.seconds / row.total:.2f} | "
            f"{history.seconds:.1f} | {builtins.seconds:.1f} | "
            f"{builtins.seconds / row.total:.2f} | {gate.seconds / builtins.seconds:.2f} | "
            f"{history.seconds / builtins.seconds:.2f} | {parallel_seconds} | {speed_up} |"
        )
    if len(rows) < 2:
        return
    first, last = rows[0], rows[-1]
    added = last.count - first.count

    def slope(pick: Callable[[ChainRuns], PytestRun]) -> float:
        return (pick(last).seconds - pick(first).seconds) / added

    builtins_slope = slope(lambda row: row.builtins)
    for label, pick in (
        ("gate", lambda row: row.gate),
        ("history checks", lambda row: row.history),
    ):
        ratio = slope(pick) / builtins_slope if builtins_slope > 0 else float("nan")
        out(
            f"marginal cost per added revision ({first.count} -> {last.count}): {label} "
            f"{slope(pick):.2f}s, built-ins {builtins_slope:.2f}s, ratio {ratio:.2f}"
        )
