"""Check 14, locked revisions: a reviewed revision is never edited in place.

Once a revision has run on a database, Alembic never runs it there again. Editing it (say,
the first revision now also creates an index, and the model gains the index too) gives fresh
databases and CI the new schema while every deployed database keeps the old one, and every
other check passes, because each judges the history as it is now. Flyway and Atlas keep a
checksum file for this; `alembic/versions.lock` is this project's (`engine/fingerprints.py`).

Two rules, each its own test:
- every locked revision still exists and its normalised code still has its fingerprint
  (comments, docstrings and formatting may change; code may not);
- every revision not yet locked descends from the locked head: new work goes after reviewed
  work, never between.

A new revision passes unlocked (a pull request is not reviewed yet); `nox -s lock` records it
once it is (`commands/lock.py`).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from alembic.script import Script

from tests.migrations.gate.engine.fingerprints import (
    Lock,
    LockedRevision,
    lock_path,
    locked_revision,
    read_lock,
)
from tests.migrations.gate.engine.history import History
from tests.migrations.gate.engine.render import display_path
from tests.migrations.gate.failure import GateFailure

CHECK = "locked-revisions"
LOCK_COMMAND = "nox -s lock"


@dataclass(frozen=True)
class Changed:
    """A locked revision that no longer matches the lock: what is wrong, and the diff."""

    revision: str
    problem: str
    revision_file: str | None
    details: tuple[str, ...]


def _lock_of(history: History, lock: Lock | None) -> Lock:
    if lock is not None:
        return lock
    path = lock_path(history)
    found = read_lock(path)
    if found is None:
        raise GateFailure(
            check=CHECK,
            problem=f"{history.name} has no lock file ({path.name} beside it)",
            how_to_fix=(
                f"run `{LOCK_COMMAND}` once the revisions are reviewed, and commit the file it "
                "writes: it records each revision's fingerprint, so an edit of an applied "
                "revision cannot go unnoticed"
            ),
        )
    return found


def _diff(entry: LockedRevision, now: LockedRevision, lock: Lock, path: str) -> list[str]:
    return [
        line.rstrip("\n")
        for line in difflib.unified_diff(
            entry.normalised.splitlines(),
            now.code.splitlines(),
            fromfile=f"locked in {lock.display}",
            tofile=f"now in {path}",
            lineterm="",
            n=2,
        )
    ]


def changed_revisions(history: History, lock: Lock) -> list[Changed]:
    """Every locked revision that is gone, edited, or whose lock entry was tampered with."""
    scripts = {script.revision: script for script in history.revisions()}
    changed: list[Changed] = []
    for entry in lock.revisions:
        script = scripts.get(entry.revision)
        if script is None:
            changed.append(
                Changed(
                    entry.revision,
                    f"locked revision {entry.revision} ({entry.file}) is gone",
                    None,
                    (f"{lock.display} records it; no file of {history.name} defines it",),
                )
            )
            continue
        path = display_path(script, history)
        if not entry.intact:
            changed.append(
                Changed(
                    entry.revision,
                    f"the lock entry of {entry.revision} does not match its own code",
                    path,
                    (f"{lock.display} was edited by hand; regenerate it with {LOCK_COMMAND}",),
                )
            )
            continue
        now = locked_revision(entry.revision, script_path(script))
        if now.code != entry.normalised:
            changed.append(
                Changed(
                    entry.revision,
                    f"locked revision {entry.revision} was edited in place",
                    path,
                    (
                        f"revision {entry.revision} ({path}), normalised code ('-' as "
                        "reviewed and locked, '+' as it is now):",
                        *(f"  {line}" for line in _diff(entry, now, lock, path)),
                    ),
                )
            )
    return changed


def script_path(script: Script) -> Path:
    """The file a revision was loaded from."""
    return Path(script.path)


def check_locked_revisions_unchanged(history: History, lock: Lock | None = None) -> None:
    """Fail if any revision of `lock` (default: the history's lock file) changed or is gone."""
    lock = _lock_of(history, lock)
    changed = changed_revisions(history, lock)
    if not changed:
        return
    first = changed[0]
    raise GateFailure(
        check=CHECK,
        problem=(
            first.problem
            if len(changed) == 1
            else f"{len(changed)} locked revisions changed; first: {first.problem}"
        ),
        revision=first.revision,
        revision_file=first.revision_file,
        also_revisions=[item.revision for item in changed[1:]],
        details=[line for item in changed for line in item.details],
        how_to_fix=(
            "databases that already ran a locked revision never run it again, so an edit "
            "reaches only fresh ones: restore the revision as it was locked (`git checkout "
            "<base> -- <file>`; comments, docstrings and formatting may change freely) and "
            "write a new revision that makes the change (`alembic revision --autogenerate -m "
            "'...'`), then lock it with `nox -s lock` once reviewed"
        ),
    )


def _first_locked_ancestor(script: Script, scripts: dict[str, Script], locked: set[str]) -> str:
    """The nearest locked revision below `script`, or "base" if none is."""
    down = script.down_revision
    while isinstance(down, str):
        if down in locked:
            return down
        parent = scripts.get(down)
        if parent is None:
            return "base"
        down = parent.down_revision
    return "base"


def check_new_revisions_descend_from_locked_head(
    history: History, lock: Lock | None = None
) -> None:
    """Fail if a revision not in the lock comes before (or beside) the locked head.

    This rule reports only what the others do not, so one defect gives one failure: a missing
    lock file or a changed locked revision is the fingerprint rule's to report (re-pointing a
    locked revision's `down_revision` is an edit of it), and a branch of the history is the
    history rules'. What is left is a lock that does not describe the history's first
    revisions: a revision locked while one below it is not (a lock edited by hand, or merged
    from two branches).
    """
    path = lock_path(history)
    if lock is None:
        lock = read_lock(path)
    if lock is None or lock.head is None or changed_revisions(history, lock):
        return
    script_directory = history.script()
    if len(script_directory.get_heads()) != 1:
        return
    scripts = {script.revision: script for script in history.revisions()}
    locked = set(lock.by_id())
    stray = [
        (script, _first_locked_ancestor(script, scripts, locked))
        for script in history.revisions()
        if script.revision not in locked
    ]
    stray = [(script, below) for script, below in stray if below != lock.head]
    if not stray:
        return
    first, _ = stray[0]
    raise GateFailure(
        check=CHECK,
        problem=(
            f"revision {first.revision} is not locked but comes before the locked head {lock.head}"
        ),
        revision=first.revision,
        revision_file=display_path(first, history),
        also_revisions=[script.revision for script, _ in stray[1:]],
        details=[
            f"revision {script.revision} ({display_path(script, history)}) is not in "
            f"{lock.display}; the nearest locked revision below it is {below}, not the locked "
            f"head {lock.head}"
            for script, below in stray
        ],
        how_to_fix=(
            f"the lock must record the history's first revisions, in order: regenerate it "
            f"from the reviewed history with `{LOCK_COMMAND}` (after `git checkout <base> -- "
            f"{lock.display}`), so that every unlocked revision comes after the locked head"
        ),
    )


LOCK_RULES = (check_locked_revisions_unchanged, check_new_revisions_descend_from_locked_head)
"""Both rules, each a test of its own in `test_locked_revisions.py`."""
