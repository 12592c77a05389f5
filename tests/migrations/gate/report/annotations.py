"""GitHub Actions error annotations: each failure shown on its revision file, at the function.

A workflow command printed to the log (`::error file=…,line=…,title=…::message`) becomes an
annotation on the pull request's diff. The line is that of `def upgrade` or `def downgrade`,
whichever the failure is about (the upgrade when it does not say), so a reviewer lands on the
code at fault.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from tests.migrations.gate.engine.history import History
from tests.migrations.gate.report.matrix import HISTORY_ROW, FailureNote
from tests.support.migrations import PROJECT_ROOT


def _escape(value: str, *, property_value: bool = False) -> str:
    """GitHub's escaping for workflow command data (and, stricter, for property values)."""
    value = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property_value:
        value = value.replace(":", "%3A").replace(",", "%2C")
    return value


def _revision_file(note: FailureNote) -> str | None:
    if note.revision_file is not None:
        return note.revision_file
    return None if note.revision == HISTORY_ROW else History().revision_file(note.revision)


def _function_line(path: str, direction: str | None) -> int:
    name = "downgrade" if direction == "down" else "upgrade"
    try:
        text = (PROJECT_ROOT / path).read_text(encoding="utf-8")
    except OSError:
        return 1
    match = re.search(rf"^def {name}\(", text, re.MULTILINE)
    return text.count("\n", 0, match.start()) + 1 if match else 1


def github_annotations(failures: Iterable[FailureNote]) -> Iterator[str]:
    """One `::error` workflow command per failure."""
    for note in failures:
        title = _escape(f"[{note.check}] {note.revision}", property_value=True)
        message = _escape(f"{note.problem}\nhow to fix: {note.how_to_fix}")
        path = _revision_file(note)
        if path is None:
            yield f"::error title={title}::{message}"
        else:
            line = _function_line(path, note.direction)
            where = f"file={_escape(path, property_value=True)},line={line}"
            yield f"::error {where},title={title}::{message}"
