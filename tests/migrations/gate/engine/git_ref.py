"""The base ref's files, read from git without touching the work tree.

The pull-request check compares the head with what the pull request targets. Some checks need
more than the base's revision list: `checks/base_release_app.py` serves the base's `app/`
package. It is taken with `git archive`, so the work tree, the index and any uncommitted change
stay as they are, and a dirty or detached checkout is judged the same as a clean one.

"The base" is `git merge-base <ref> HEAD`, as for the squawk lint of new revisions
(`engine/revision_scope.py`): the release the pull request started from, not whatever the
target branch moved to since.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

GIT_TIMEOUT_SECONDS = 60


class GitRefError(Exception):
    """git is missing, the folder is not a checkout, or the ref does not resolve."""


@dataclass(frozen=True)
class BaseRef:
    """A base ref resolved in a repository: what was asked for, and the merge-base commit."""

    repo: Path
    """The repository's top level."""
    ref: str
    """The ref as given (`origin/main`)."""
    commit: str
    """`git merge-base ref HEAD`, a full commit id."""

    @property
    def short(self) -> str:
        """The commit as people read it in a report."""
        return self.commit[:12]


def _git(repo: Path, *args: str) -> bytes:
    try:
        result = subprocess.run(
            ["git", "-c", "core.quotepath=off", *args],
            cwd=repo,
            capture_output=True,
            check=False,
            timeout=GIT_TIMEOUT_SECONDS,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise GitRefError(f"git {' '.join(args)} could not run: {error}") from error
    if result.returncode != 0:
        message = result.stderr.decode(errors="replace").strip()
        raise GitRefError(message or f"git {' '.join(args)} failed")
    return result.stdout


def repository_of(path: Path) -> Path:
    """The top level of the git checkout holding `path` (a folder)."""
    return Path(_git(path, "rev-parse", "--show-toplevel").decode().strip()).resolve()


def resolve_base(path: Path, ref: str) -> BaseRef:
    """`ref` resolved in the checkout holding `path`, as the merge-base with HEAD."""
    repo = repository_of(path)
    _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    commit = _git(repo, "merge-base", ref, "HEAD").decode().strip()
    return BaseRef(repo=repo, ref=ref, commit=commit)


def tree_id(base: BaseRef, folder: str, commit: str | None = None) -> str | None:
    """The git tree id of `folder` at `commit` (default: the base); None if it has none."""
    try:
        return _git(base.repo, "rev-parse", f"{commit or base.commit}:{folder}").decode().strip()
    except GitRefError:
        return None


def extract(base: BaseRef, folder: str, destination: Path) -> Path:
    """Write `folder` as it is at the base commit under `destination`; return its path there.

    `git archive` streams a tar of the committed tree; it is unpacked with the `data` filter,
    which refuses absolute paths, links out of the destination and device files.
    """
    if tree_id(base, folder) is None:
        raise GitRefError(f"{base.ref} ({base.short}) has no {folder}/")
    archive = _git(base.repo, "archive", "--format=tar", base.commit, "--", folder)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(destination, filter="data")
    return destination / folder
