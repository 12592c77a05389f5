"""Which revisions a pull request adds: files under the versions folder new since the base.

Old revisions were reviewed (and waived) when they merged; a pull request should be held to the
lint for what it adds. "New" means added since `git merge-base <base> HEAD`, committed or not
(an untracked revision file counts, so the check means the same locally and in CI).

If the base cannot be resolved (a shallow clone, no `origin` remote, not a git checkout), every
revision is in scope instead, and the description says why: failing open would let an unsafe
revision through, failing closed on a missing remote would block work for no reason.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.migrations.gate.engine.history import History
from tests.support.migrations import PROJECT_ROOT

DEFAULT_BASE = "origin/main"


@dataclass(frozen=True)
class RevisionScope:
    """The revision ids to check, and a sentence saying how they were chosen."""

    revisions: tuple[str, ...]
    description: str


class _GitError(Exception):
    pass


def _git(repo: Path, *args: str) -> str:
    try:
        result = subprocess.run(
            ["git", "-c", "core.quotepath=off", *args],
            cwd=repo,
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
    except OSError as error:
        raise _GitError(f"git is not available: {error}") from error
    if result.returncode != 0:
        raise _GitError(result.stderr.strip() or f"git {' '.join(args)} failed")
    return result.stdout


def added_paths(repo: Path, base: str, folder: Path) -> tuple[str, list[Path]]:
    """The merge-base commit, and the files under `folder` added since it (or untracked)."""
    # From the top level: git prints (and reads) paths relative to the working directory.
    top = Path(_git(repo, "rev-parse", "--show-toplevel").strip()).resolve()
    repo = top
    _git(repo, "rev-parse", "--verify", "--quiet", f"{base}^{{commit}}")
    merge_base = _git(repo, "merge-base", base, "HEAD").strip()
    relative = folder.resolve().relative_to(top).as_posix()
    added = _git(
        repo, "diff", "--name-only", "--no-renames", "--diff-filter=A", merge_base, "--", relative
    )
    untracked = _git(repo, "ls-files", "--others", "--exclude-standard", "--", relative)
    names = [*added.splitlines(), *untracked.splitlines()]
    return merge_base, sorted({(top / name).resolve() for name in names if name})


def revisions_new_since(
    history: History, base: str = DEFAULT_BASE, *, repo: Path | None = None
) -> RevisionScope:
    """The revisions of `history` whose files are new since `git merge-base base HEAD`.

    `repo` defaults to the git checkout holding the versions folder (the project's, for the
    project and its fixtures), so a history in another repository is judged by its own git.
    """
    repo = repo or (history.versions if history.versions.is_dir() else PROJECT_ROOT)
    scripts = history.revisions()
    try:
        merge_base, paths = added_paths(repo, base, history.versions)
    except (_GitError, ValueError) as error:
        return RevisionScope(
            revisions=tuple(s.revision for s in scripts),
            description=(
                f"cannot compare with {base!r} ({error}); linting all {len(scripts)} "
                f"revision(s) instead. Fetch the base (git fetch origin main) or pass --base."
            ),
        )
    new = tuple(s.revision for s in scripts if Path(s.path).resolve() in set(paths))
    listed = ", ".join(new) if new else "none"
    return RevisionScope(
        revisions=new,
        description=(
            f"{len(new)} revision(s) added since {base} (merge-base {merge_base[:12]}): {listed}"
        ),
    )
