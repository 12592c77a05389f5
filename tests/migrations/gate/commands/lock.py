"""`python -m tests.migrations.gate.commands.lock [--versions DIR] [--check]`: lock revisions.

Records each revision not yet in the lock file (`alembic/versions.lock`) with its fingerprint,
once it is reviewed: `nox -s lock`, then commit the file with the revision. It never re-locks
a changed revision: if a locked revision was edited, or the history branches, it prints the
gate's failure and exits 1 without writing, because locking an edit would hide exactly what
the lock exists to catch. `--check` writes nothing and exits 1 if any revision is unlocked.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from tests.migrations.gate.checks.locked_revisions import (
    CHECK,
    check_locked_revisions_unchanged,
    check_new_revisions_descend_from_locked_head,
    script_path,
)
from tests.migrations.gate.engine.fingerprints import (
    Lock,
    lock_path,
    locked_revision,
    read_lock,
    write_lock,
)
from tests.migrations.gate.engine.history import History
from tests.migrations.gate.failure import GateFailure


def new_lock(history: History) -> tuple[Lock, list[str]]:
    """The history's lock with every unlocked revision appended, and those revisions' ids.

    Raises `GateFailure` if a locked revision changed, the lock is inconsistent, or the
    history is not one line of revisions.
    """
    path = lock_path(history)
    lock = read_lock(path) or Lock(path=path)
    if lock.revisions:
        check_locked_revisions_unchanged(history, lock)
        check_new_revisions_descend_from_locked_head(history, lock)
    heads = history.script().get_heads()
    if len(heads) != 1:
        raise GateFailure(
            check=CHECK,
            problem=f"{history.name} has {len(heads)} heads; only one line of revisions is locked",
            how_to_fix="linearise the history first (see the history rules' failure)",
            details=[f"head: {head}" for head in heads],
        )
    locked = lock.by_id()
    added = [
        locked_revision(script.revision, script_path(script))
        for script in history.revisions()
        if script.revision not in locked
    ]
    return Lock(path=path, revisions=(*lock.revisions, *added)), [a.revision for a in added]


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point: exit status 1 if nothing could be locked honestly."""
    parser = argparse.ArgumentParser(
        prog="python -m tests.migrations.gate.commands.lock",
        description="Record the fingerprint of every reviewed Alembic revision not yet locked.",
    )
    parser.add_argument(
        "--versions",
        type=Path,
        default=None,
        help="a versions folder other than alembic/versions (its lock is <folder>.lock)",
    )
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if a revision is unlocked"
    )
    args = parser.parse_args(argv)
    history = History() if args.versions is None else History(versions=args.versions.resolve())
    try:
        lock, added = new_lock(history)
    except GateFailure as failure:
        print(failure, file=sys.stderr)
        return 1
    if not added:
        print(f"{CHECK}: every revision of {history.name} is locked ({lock.display})")
        return 0
    if args.check:
        print(f"{CHECK}: not locked yet: {', '.join(added)} (run `nox -s lock` once reviewed)")
        return 1
    write_lock(lock)
    print(f"{CHECK}: locked {len(added)} revision(s) in {lock.display}: {', '.join(added)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
