"""A revision's normalised code, its fingerprint, and the lock file that records them.

A revision that has run on a database never runs there again, so editing it in place changes
fresh databases and CI but no deployed one. The lock file (`alembic/versions.lock`, in general
`<versions folder>.lock`) records, for every reviewed revision, the sha256 of its normalised
code *and* that code, so a failure can show what changed without git (CI clones are often
shallow).

"Normalised" means what Python runs, not how it is written: the file is parsed with `ast`,
docstrings are dropped, and `ast.unparse` writes it back. Comments, blank lines, quotes, line
breaks and docstrings therefore never count; a changed statement, argument, default or
`down_revision` always does. Nor do the gate's declarations (`squawk_waivers`,
`rewrites_tables`, … : `engine/declarations.DECLARATIONS`): a module-level assignment of one is
dropped, since it changes what the gate accepts, not what the revision runs (a reason
reworded, a server-specific excuse added to a locked revision). The assignment is kept, and
counts, if the module's own code reads the name, for then it can change what runs.

A lock recorded before a normalisation rule was added holds code normalised the old way; an
edit is judged by normalising both sides the current way (`LockedRevision.normalised`), so a
new rule never forces re-recording the lock, and the recorded fingerprint still proves the
recorded code untouched (`intact`). `engine/edited.py` holds its formatting-only edit of the
project's revisions to the same rule.
"""

from __future__ import annotations

import ast
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from tests.migrations.gate.engine.declarations import DECLARATIONS
from tests.migrations.gate.engine.history import History
from tests.support.migrations import PROJECT_ROOT

LOCK_FORMAT = 1


def _without_docstrings(tree: ast.Module) -> ast.Module:
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                node.body = body[1:] or [ast.Pass()]
    return tree


def _declared_name(statement: ast.stmt) -> str | None:
    """The declaration a module-level statement assigns (`rewrites_tables = {…}`), if any."""
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
        target: ast.expr = statement.targets[0]
    elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
        target = statement.target
    else:
        return None
    if isinstance(target, ast.Name) and target.id in DECLARATIONS:
        return target.id
    return None


def _without_declarations(tree: ast.Module) -> ast.Module:
    """`tree` without its module-level declaration assignments that nothing else reads."""
    declared = {name for statement in tree.body if (name := _declared_name(statement))}
    read = {
        node.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in declared
    }
    tree.body = [s for s in tree.body if _declared_name(s) not in declared - read] or [ast.Pass()]
    return tree


def normalised_code(source: str, filename: str = "<revision>") -> str:
    """`source` as Python sees it: parsed, docstrings and the gate's declarations dropped,
    unparsed (no comments, one style)."""
    tree = _without_declarations(_without_docstrings(ast.parse(source, filename=filename)))
    return ast.unparse(tree) + "\n"


def fingerprint(code: str) -> str:
    """The sha256 of normalised `code`, in hex."""
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class LockedRevision:
    """One reviewed revision as the lock file records it."""

    revision: str
    file: str
    sha256: str
    code: str

    @property
    def intact(self) -> bool:
        """Whether the recorded code still hashes to the recorded fingerprint."""
        return fingerprint(self.code) == self.sha256

    @property
    def normalised(self) -> str:
        """The recorded code normalised by today's rules (it may predate one), to compare."""
        return normalised_code(self.code, filename=self.file)


@dataclass(frozen=True)
class Lock:
    """The lock file of one history: its revisions in upgrade order, the last one its head."""

    path: Path
    revisions: tuple[LockedRevision, ...] = ()

    @property
    def head(self) -> str | None:
        """The locked head: the newest reviewed revision."""
        return self.revisions[-1].revision if self.revisions else None

    def by_id(self) -> dict[str, LockedRevision]:
        """Each locked revision by its id."""
        return {entry.revision: entry for entry in self.revisions}

    @property
    def display(self) -> str:
        """How failures name the lock file (relative to the project when inside it)."""
        if self.path.is_relative_to(PROJECT_ROOT):
            return self.path.relative_to(PROJECT_ROOT).as_posix()
        return str(self.path)


def lock_path(history: History) -> Path:
    """`alembic/versions.lock` for the project; `<folder>.lock` beside any other versions folder."""
    return history.versions.with_name(history.versions.name + ".lock")


def read_lock(path: Path) -> Lock | None:
    """The lock at `path`, or None when there is no such file."""
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("format") != LOCK_FORMAT:
        raise ValueError(f"{path}: unknown lock format {data.get('format')!r}")
    return Lock(
        path=path,
        revisions=tuple(
            LockedRevision(
                revision=entry["revision"],
                file=entry["file"],
                sha256=entry["sha256"],
                code="\n".join(entry["code"]) + "\n",
            )
            for entry in data["revisions"]
        ),
    )


def write_lock(lock: Lock) -> None:
    """Write `lock` as JSON: one revision per entry, its code one line per string, so a review
    of the lock file's diff reads like a review of the code."""
    data = {
        "format": LOCK_FORMAT,
        "about": (
            "Reviewed Alembic revisions: sha256 of each revision's normalised code (no "
            "docstrings, comments or formatting) and that code. Written by `nox -s lock`; "
            "checked by tests/migrations/test_locked_revisions.py. Never edit a locked "
            "revision: write a new one."
        ),
        "revisions": [
            {
                "revision": entry.revision,
                "file": entry.file,
                "sha256": entry.sha256,
                "code": entry.code.rstrip("\n").split("\n"),
            }
            for entry in lock.revisions
        ],
    }
    lock.path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def locked_revision(revision: str, path: Path) -> LockedRevision:
    """What the lock records for the revision `revision` in file `path` as it is now."""
    code = normalised_code(path.read_text(encoding="utf-8"), filename=str(path))
    return LockedRevision(revision=revision, file=path.name, sha256=fingerprint(code), code=code)
