"""Check 20: the base ref's app, served against the database at the pull request's head.

During a rolling deploy, and after an image rollback, the release before this one runs against
the migrated database. Check 16 (`previous_release.py`) replays, at every step, the write and
the read that revision N's schema implies; this check runs the real previous release: the
`app/` package of `git merge-base <base> HEAD`, taken with `git archive` (`engine/git_ref.py`),
served by uvicorn in a subprocess on a fresh database upgraded to head, and exercised through
its own `/openapi.json` by schemathesis with positive data only (`engine/app_probe.py`). Any
5xx fails the check, and so does a valid write (POST, PUT, PATCH) refused with a 4xx other
than 404: the old release's clients send exactly such requests, and the new schema refuses
them (a NOT NULL column without a default, a renamed column, a tighter rule).

It runs only where it can say something, and says why when it does not: no revision added
since the base (the base app was released on this schema), the base not resolvable (a shallow
clone, no remote), no `app/` at the base (no release to run), the head not upgrading (the
upgrade check already failed), or a new revision declaring `breaks_previous_release` (a
contract step, the same declaration as check 16: it says, with a reason, that no running
release needs what it removes).
"""

from __future__ import annotations

import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import URL

from tests.migrations.gate.engine import app_probe
from tests.migrations.gate.engine.declarations import read_declaration
from tests.migrations.gate.engine.git_ref import (
    BaseRef,
    GitRefError,
    extract,
    resolve_base,
    tree_id,
)
from tests.migrations.gate.engine.history import History
from tests.migrations.gate.engine.revision_scope import revisions_new_since
from tests.migrations.gate.failure import GateFailure
from tests.support.postgres import PostgresServer

CHECK = "base-release-app"
DECLARATION = "breaks_previous_release"
APP_FOLDER = "app"
HOW_TO_FIX = (
    "the release the pull request starts from still runs against this schema during the deploy "
    "and after a rollback, so change it expand/contract: add new columns nullable or with a "
    "server default; keep a column's default while old code relies on it; rename by adding the "
    "new column, copying, and dropping the old one releases later; add a rule old values break "
    "only once no running release writes them; or, for a contract step whose old release is "
    f'gone, declare it in the revision: {DECLARATION} = {{"table.column": "why no running '
    'release uses it"}'
)


@dataclass(frozen=True)
class Verdict:
    """What the check judged (empty: it did not run) and the lines the report prints."""

    revisions: tuple[str, ...]
    lines: list[str]


def _note(text: str) -> Verdict:
    return Verdict(revisions=(), lines=[f"{CHECK}: not run, {text}"])


def _declarations(history: History, revisions: tuple[str, ...]) -> list[str]:
    """`revision: name: reason` for each valid `breaks_previous_release` entry of `revisions`."""
    script = history.script()
    found: list[str] = []
    for revision in revisions:
        entries = read_declaration(script.get_revision(revision), DECLARATION).entries
        found += [f"{revision}: {name}: {reason}" for name, reason in entries.items()]
    return found


def check_base_release_app(
    server: PostgresServer,
    history: History,
    base_ref: str,
    *,
    head_upgrades: bool = True,
    examples: int = app_probe.EXAMPLES_PER_OPERATION,
    empty: URL | None = None,
) -> Verdict:
    """Serve the base's app on a database at head; raise `GateFailure` on what it cannot do.

    The database is `empty` when given (an empty one the caller provides, upgraded here), else a
    new one dropped afterwards: the app writes rows, so it never reuses another check's.
    """
    if not head_upgrades:
        return _note("the head does not upgrade (see the upgrade failure)")
    try:
        base = resolve_base(history.versions, base_ref)
    except GitRefError as error:
        return _note(
            f"cannot resolve {base_ref!r} ({error}); fetch the base (git fetch origin main) "
            "or pass --base"
        )
    new = revisions_new_since(history, base_ref, repo=base.repo).revisions
    if not new:
        return _note(f"no revision added since {base_ref} ({base.short}): the schema is the base's")
    if tree_id(base, APP_FOLDER) is None:
        return _note(f"{base_ref} ({base.short}) has no {APP_FOLDER}/: there is no release to run")
    declared = _declarations(history, new)
    if declared:
        lines = [f"  {line}" for line in declared]
        return Verdict((), [f"{CHECK}: not run, a contract step breaks old releases:", *lines])
    findings, stderr = _run(server, history, base, new[-1], examples=examples, empty=empty)
    if findings:
        head = new[-1]
        raise GateFailure(
            check=CHECK,
            problem=(
                f"the app of {base_ref} ({base.short}) fails on the database at {head} "
                f"({history.name}); revisions added since: {', '.join(new)}"
            ),
            how_to_fix=HOW_TO_FIX,
            revision=head,
            revision_file=history.revision_file(head),
            details=[
                *(line for finding in findings for line in finding.lines()),
                *(["the app's stderr (last lines):"] if stderr else []),
                *(f"  {line}" for line in stderr),
            ],
        )
    return Verdict(
        new,
        [
            f"{CHECK}: the app of {base_ref} ({base.short}) works on the database at {new[-1]}: "
            f"{examples} positive requests per operation, no 5xx, no valid write refused"
        ],
    )


def _run(
    server: PostgresServer,
    history: History,
    base: BaseRef,
    head: str,
    *,
    examples: int,
    empty: URL | None,
) -> tuple[list[app_probe.Finding], list[str]]:
    """The findings of the base app on a fresh database at head, and its stderr's tail."""
    with ExitStack() as stack:
        root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="gate_base_app_")))
        url = empty or stack.enter_context(server.temporary_database("gate_base_app"))
        try:
            extract(base, APP_FOLDER, root)
        except GitRefError as error:
            raise GateFailure(
                check=CHECK,
                problem=f"cannot take {APP_FOLDER}/ from {base.ref} ({base.short})",
                how_to_fix="check that the base ref has the app package at the top level",
                details=[str(error)],
            ) from error
        history.upgrade(url, "head")
        try:
            with app_probe.served(root, url) as app:
                findings = app_probe.exercise(app.base_url, examples=examples)
                return findings, app.stderr_tail() if findings else []
        except app_probe.AppDidNotStartError as error:
            raise GateFailure(
                check=CHECK,
                problem=(
                    f"the app of {base.ref} ({base.short}) does not start on the database at "
                    f"{head} ({history.name})"
                ),
                revision=head,
                revision_file=history.revision_file(head),
                how_to_fix=(
                    "the base app runs on the pull request's installed packages and settings; "
                    "if a dependency upgrade broke it, that breaks a rollback too. " + HOW_TO_FIX
                ),
                details=str(error).splitlines(),
            ) from error
