"""An older commit of the project, unpacked to a temporary folder, to serve beside the current
tree: `--baseline REF` measures a change against what it replaced in the same run, which on a
noisy machine is the only comparison worth committing."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.server import PROJECT_ROOT


@contextmanager
def checkout(ref: str) -> Iterator[Path]:
    """`git archive REF` extracted to a temporary folder (the work tree is left untouched)."""
    with tempfile.TemporaryDirectory(prefix="bench-baseline-") as folder:
        archive = subprocess.run(
            ["git", "archive", "--format=tar", ref],
            cwd=PROJECT_ROOT,
            capture_output=True,
            check=True,
            timeout=60,
        )
        subprocess.run(["tar", "-x", "-C", folder], input=archive.stdout, check=True, timeout=60)
        yield Path(folder)
