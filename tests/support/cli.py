"""Run one of the project's modules as a user runs it from a shell: `python -m <module> …`.

The command-line tests (the serve-side Alembic wrapper, the gate's lint and SQL render commands)
judge what a user sees: exit code, stdout and stderr of a separate process in the project root.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from tests.support.migrations import PROJECT_ROOT


def run_module(
    module: str,
    *arguments: str,
    env: Mapping[str, str] | None = None,
    timeout: float = 300,
    cwd: Path = PROJECT_ROOT,
) -> subprocess.CompletedProcess[str]:
    """`python -m module arguments…` in `cwd` (the project root unless a test needs a folder of
    its own, for its `.env`); its output captured, never raising."""
    return subprocess.run(
        [sys.executable, "-m", module, *arguments],
        cwd=cwd,
        env=None if env is None else dict(env),
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )
