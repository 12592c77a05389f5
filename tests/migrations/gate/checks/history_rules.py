"""Check 1: the rules every revision file and the revision graph must follow, read statically.

The files are parsed with `ast`, never imported: a duplicate revision id makes Alembic warn
(an error under this suite's `filterwarnings`), a file importing `app` would run application
code, and an empty `downgrade()` is a fact about the source, not about any database.
"""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from tests.migrations.gate.engine.history import History
from tests.migrations.gate.failure import GateFailure

APPLICATION_PACKAGE = "app"
PLACEHOLDER_MESSAGES = {"", "empty message"}


@dataclass(frozen=True)
class RevisionFile:
    """What the gate needs to know about one revision file, read without importing it."""

    path: Path
    revision: str | None
    down_revisions: tuple[str, ...]
    message: str
    functions: dict[str, ast.FunctionDef]
    imports: tuple[tuple[str, int], ...]

    @property
    def label(self) -> str:
        """`<revision> (<file name>)`, how failures point at a file."""
        return f"{self.revision} ({self.path.name})"


def _literal(node: ast.expr | None) -> object:
    try:
        return ast.literal_eval(node) if node is not None else None
    except ValueError:
        return None


def _assignments(module: ast.Module) -> dict[str, object]:
    found: dict[str, object] = {}
    for node in module.body:
        target: ast.expr | None = None
        value: ast.expr | None = None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign):
            target, value = node.target, node.value
        if isinstance(target, ast.Name) and value is not None:
            found[target.id] = _literal(value)
    return found


def _imported_modules(module: ast.Module) -> Iterator[tuple[str, int]]:
    for node in ast.walk(module):
        if isinstance(node, ast.Import):
            yield from ((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module, node.lineno


def read_revision_file(path: Path) -> RevisionFile:
    """Parse one revision file."""
    module = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    values = _assignments(module)
    down = values.get("down_revision")
    downs: tuple[str, ...] = ()
    if isinstance(down, str):
        downs = (down,)
    elif isinstance(down, tuple | list):
        downs = tuple(str(d) for d in down)
    docstring = ast.get_docstring(module) or ""
    first_line = docstring.strip().splitlines()[0].strip() if docstring.strip() else ""
    revision = values.get("revision")
    return RevisionFile(
        path=path,
        revision=revision if isinstance(revision, str) else None,
        down_revisions=downs,
        message=first_line,
        functions={node.name: node for node in module.body if isinstance(node, ast.FunctionDef)},
        imports=tuple(_imported_modules(module)),
    )


def revision_files(history: History) -> list[RevisionFile]:
    """Every revision file of `history` (Alembic's rule: `*.py`, not starting with `_`)."""
    return [
        read_revision_file(path)
        for path in sorted(history.versions.glob("*.py"))
        if not path.name.startswith("_")
    ]


def _failure(problem: str, how_to_fix: str, revision: str | None, details: list[str]) -> NoReturn:
    raise GateFailure(
        check="history", problem=problem, how_to_fix=how_to_fix, revision=revision, details=details
    )


def check_unique_ids(history: History) -> None:
    """Two files must never claim the same revision id (Alembic would keep only one)."""
    files = revision_files(history)
    missing = [f.path.name for f in files if f.revision is None]
    if missing:
        _failure(
            'revision file(s) without a `revision = "..."` id',
            'generate revisions with `alembic revision -m "..."`, which writes the id',
            None,
            missing,
        )
    counts = Counter(f.revision for f in files)
    for revision, count in counts.items():
        if count > 1:
            _failure(
                f"revision id {revision} is used by {count} files",
                "give one of them a fresh id (`python -c 'import uuid; print(uuid.uuid4().hex"
                "[:12])'`) in both its `revision` variable and its docstring, and re-point any "
                "child's `down_revision` that meant it",
                revision,
                [f.path.name for f in files if f.revision == revision],
            )


def _children(files: list[RevisionFile]) -> dict[str, list[RevisionFile]]:
    children: dict[str, list[RevisionFile]] = {f.revision or "": [] for f in files}
    for file in files:
        for down in file.down_revisions:
            children.setdefault(down, []).append(file)
    return children


def check_single_head(history: History) -> None:
    """Exactly one head: parallel branches were never joined into one line."""
    files = revision_files(history)
    children = _children(files)
    heads = [f for f in files if not children.get(f.revision or "")]
    if len(heads) != 1:
        _failure(
            f"expected exactly one head revision, found {len(heads)}",
            "two branches were merged without linearising their migrations: set the "
            "`down_revision` of the newer revision to the other head (and update the "
            "'Revises:' line of its docstring), so the history is one line again",
            heads[0].revision if heads else None,
            [f"head: {f.label}, revises {', '.join(f.down_revisions) or 'base'}" for f in heads],
        )


def check_linear(history: History) -> None:
    """One base, one parent per revision, one child per revision: a single chain."""
    files = revision_files(history)
    known = {f.revision for f in files}
    for file in files:
        unknown = [down for down in file.down_revisions if down not in known]
        if unknown:
            _failure(
                f"revision {file.revision} revises {unknown}, which no file defines",
                "point `down_revision` at an existing revision (the current head when adding one)",
                file.revision,
                [file.label],
            )
        if len(file.down_revisions) > 1:
            _failure(
                f"revision {file.revision} merges {len(file.down_revisions)} branches",
                "the gate walks one line of revisions: instead of a merge revision, re-point the "
                "newer branch's first revision at the other branch's head and delete the merge",
                file.revision,
                [file.label, *(f"revises {down}" for down in file.down_revisions)],
            )
    bases = [f for f in files if not f.down_revisions]
    if len(bases) > 1:
        _failure(
            f"the history has {len(bases)} base revisions (down_revision = None)",
            "only the first revision may start from an empty database; point the others' "
            "`down_revision` at the revision they build on",
            bases[1].revision,
            [f.label for f in bases],
        )
    for parent, kids in _children(files).items():
        if len(kids) > 1:
            _failure(
                f"the history branches after {parent}: {len(kids)} revisions revise it",
                "linearise: set the newer revision's `down_revision` to the last revision of "
                "the other branch, so each revision has exactly one successor",
                parent,
                [f"child: {kid.label}" for kid in kids],
            )


def check_messages(history: History) -> None:
    """Every revision says what it does (the docstring's first line, `-m` of alembic revision)."""
    for file in revision_files(history):
        if file.message.lower() in PLACEHOLDER_MESSAGES:
            _failure(
                f"revision {file.revision} has no message",
                "write a one-line summary as the first line of the module docstring (what "
                '`alembic revision -m "add items.quantity"` would have written)',
                file.revision,
                [f"{file.path.name}: first docstring line is {file.message!r}"],
            )


def _effective_body(function: ast.FunctionDef) -> list[ast.stmt]:
    """The statements that do something: no docstring, `pass` or `...`."""
    body = list(function.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return [
        statement
        for statement in body
        if not isinstance(statement, ast.Pass)
        and not (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant))
    ]


def _only_raises(body: list[ast.stmt]) -> bool:
    return len(body) == 1 and isinstance(body[0], ast.Raise)


def _check_function(file: RevisionFile, name: str, how_to_fix: str) -> None:
    function = file.functions.get(name)
    if function is None:
        _failure(
            f"revision {file.revision} has no {name}() function",
            how_to_fix,
            file.revision,
            [file.path.name],
        )
        return
    body = _effective_body(function)
    if not body or _only_raises(body):
        what = "only raises" if body else "is empty (pass, ... or a docstring only)"
        _failure(
            f"{name}() of revision {file.revision} {what}",
            how_to_fix,
            file.revision,
            [f"{file.path.name}:{function.lineno}: def {name}()"],
        )


def check_upgrade_not_empty(history: History) -> None:
    """An empty upgrade() is a forgotten migration: the revision id changes, the schema not."""
    for file in revision_files(history):
        _check_function(
            file,
            "upgrade",
            "write the operations (or run `alembic revision --autogenerate` against a database "
            "at the previous head and review them); delete the revision if it has nothing to do",
        )


def check_downgrade_not_empty(history: History) -> None:
    """downgrade() must do something: a rollback that silently does nothing is a trap.

    Only that it is not empty, read from the source. That it really undoes upgrade() is the
    downgrade-leaves-no-trace check's job, on a real database.
    """
    for file in revision_files(history):
        _check_function(
            file,
            "downgrade",
            "write the reverse of upgrade() in reverse order (drop what it created, restore "
            "what it changed: types, NOT NULL, defaults, constraints, enum types); the "
            "downgrade-leaves-no-trace check then proves it",
        )


def check_no_application_imports(history: History) -> None:
    """Revisions describe tables as they were; importing `app` ties them to today's models."""
    for file in revision_files(history):
        for module, line in file.imports:
            if module == APPLICATION_PACKAGE or module.startswith(f"{APPLICATION_PACKAGE}."):
                _failure(
                    f"revision {file.revision} imports application code ({module})",
                    "copy the values the revision needs into it (constants, column types, table "
                    "definitions with `sa.table()`/`sa.column()`), as they are at this revision: "
                    "the models will change, and an old revision must keep doing what it did",
                    file.revision,
                    [f"{file.path.name}:{line}: import of {module}"],
                )


HISTORY_RULES: tuple[Callable[[History], None], ...] = (
    check_unique_ids,
    check_single_head,
    check_linear,
    check_messages,
    check_upgrade_not_empty,
    check_downgrade_not_empty,
    check_no_application_imports,
)
"""Every history rule, each a test of its own in `test_history_rules.py`."""


def check_history(history: History) -> None:
    """All rules, first failure wins."""
    for rule in HISTORY_RULES:
        rule(history)
