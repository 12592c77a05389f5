"""Git repositories the tests make themselves, so git-only behaviour is tested anywhere.

The suite must pass from a source archive with no `.git` (a "Download ZIP", an sdist): a test of
what the pull-request commands do with a base ref builds its own repository in `tmp_path`.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def git(repo: Path, *args: str) -> None:
    """Run `git args…` in `repo`, as a throwaway identity; raise if it fails."""
    subprocess.run(
        ["git", "-c", "user.name=gate", "-c", "user.email=gate@example.invalid", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def versions_repository(repo: Path, *revision_files: Path) -> Path:
    """A new repository at `repo` whose branch `main` commits `revision_files` under
    `versions/`; returns that folder."""
    versions = repo / "versions"
    versions.mkdir(parents=True)
    for path in revision_files:
        shutil.copy(path, versions)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "main")
    return versions
