"""Run the squawk binary (the `squawk-cli` wheel) over SQL text and parse its JSON report.

squawk is a static linter for PostgreSQL DDL (github.com/sbdchd/squawk). It is invoked with:
- `--pg-version`, production's major version (`[tool.items-service] postgresql-target` in
  `pyproject.toml`), because several rules depend on it (a constant `DEFAULT` is
  metadata-only from 11 on, so only volatile defaults are flagged);
- `--reporter json`, so findings become readable gate failures rather than terminal art;
- no `--assume-in-transaction`: Alembic's offline SQL already carries its `BEGIN`/`COMMIT`
  (and the `COMMIT … BEGIN` of `autocommit_block()`), so squawk sees the real transaction
  boundaries; assuming an outer one would report every `BEGIN` as `transaction-nesting`;
- a temporary working directory, so a stray `.squawk.toml` cannot change the rules silently.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from tests.migrations.gate.dialects.base import LintFinding
from tests.support.target import postgresql_target

PG_VERSION = str(postgresql_target())
DOCS = "https://squawkhq.com/docs/"
_RULE_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


class SquawkUnavailableError(RuntimeError):
    """The squawk binary is not installed where this interpreter can find it."""


def squawk_executable() -> Path:
    """The `squawk` binary next to this interpreter (a venv's bin/), else on PATH."""
    beside = Path(sys.executable).parent / "squawk"
    if beside.is_file():
        return beside
    found = shutil.which("squawk")
    if found:
        return Path(found)
    raise SquawkUnavailableError(
        f"squawk is not installed next to {sys.executable} nor on PATH: install the "
        "`squawk-cli` wheel (it is in the `test` dependency group of pyproject.toml)"
    )


def run_squawk(files: Mapping[str, str]) -> list[LintFinding]:
    """Lint each `{file name: SQL}` in one squawk run; return every finding."""
    if not files:
        return []
    with tempfile.TemporaryDirectory(prefix="gate-squawk-") as folder:
        for name, sql in files.items():
            (Path(folder) / name).write_text(sql, encoding="utf-8")
        result = subprocess.run(
            [
                str(squawk_executable()),
                "--pg-version",
                PG_VERSION,
                "--reporter",
                "json",
                *files,
            ],
            cwd=folder,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
    # 0: clean, 1: findings; anything else is squawk failing to run.
    if result.returncode not in {0, 1}:
        raise RuntimeError(
            f"squawk exited {result.returncode}: {result.stderr.strip() or result.stdout.strip()}"
        )
    return [
        LintFinding(
            file=item["file"],
            line=int(item["line"]),
            column=int(item["column"]),
            rule=item["rule_name"],
            message=item["message"],
            help=item.get("help"),
            docs=f"{DOCS}{item['rule_name']}",
        )
        for item in json.loads(result.stdout or "[]")
    ]


@functools.cache
def is_squawk_rule(name: str) -> bool:
    """Whether squawk knows a rule called `name` (asked of the binary, so never out of date)."""
    if not _RULE_NAME.match(name):
        return False  # `--exclude` would split "a,b" into two rules
    result = subprocess.run(
        [str(squawk_executable()), f"--exclude={name}", "--stdin-filepath", "probe.sql"],
        input="SELECT 1;\n",
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    return result.returncode == 0
