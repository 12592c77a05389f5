"""The project's own revisions after a comment-and-formatting-only edit, made fresh each run.

"A comment or formatting edit must pass" is only worth proving on the revisions as they are
today: a copy frozen under `fixtures/` would drift from `app.models` as soon as revision 3
lands. So the edit is applied to `alembic/versions` when the tests ask for it, written under
the git-ignored `build/`, and checked to be formatting-only: both versions of every file must
have the same normalised code (`engine/fingerprints.py`), the rule by which the lock file
decides that a locked revision was not edited.
"""

from __future__ import annotations

import atexit
import os
import shutil
from functools import cache

from tests.migrations.gate.engine.fingerprints import normalised_code
from tests.migrations.gate.engine.history import PROJECT_VERSIONS, History, fixture_history
from tests.support.migrations import PROJECT_ROOT

NAME = "comment_formatting_edit"
EDITS = (
    (
        "def upgrade() -> None:\n",
        "# Reviewed: comments and formatting only.\ndef upgrade() -> None:\n",
    ),
    ("def downgrade() -> None:\n", "def downgrade(\n) -> None:  # signature reformatted\n"),
)


@cache
def comment_formatting_edit() -> History:
    """`alembic/versions` with a comment added and a signature reflowed in every file."""
    target = PROJECT_ROOT / "build" / "gate" / f"{NAME}_{os.getpid()}"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    atexit.register(shutil.rmtree, target, ignore_errors=True)
    for path in sorted(PROJECT_VERSIONS.glob("*.py")):
        source = path.read_text(encoding="utf-8")
        edited = source
        for old, new in EDITS:
            edited = edited.replace(old, new, 1)
        if normalised_code(edited) != normalised_code(source):
            raise AssertionError(f"the edit of {path.name} changed more than formatting")
        (target / path.name).write_text(edited, encoding="utf-8")
    return History(versions=target)


def named_history(name: str) -> History:
    """`comment_formatting_edit` (generated), or the fixture history of that name."""
    return comment_formatting_edit() if name == NAME else fixture_history(name)
