"""Check 11: every revision renders as offline SQL, up and down.

DBAs review (and sometimes apply) `alembic upgrade --sql` output, and the lint and the timeout
check read it. A migration that reads data through `op.get_bind()` works online and breaks
offline, where the bind is a mock that returns no rows; this check finds it on the day the
revision is written rather than on the day someone needs the SQL.
"""

from __future__ import annotations

from tests.migrations.gate.engine.history import History
from tests.migrations.gate.engine.render import (
    DIRECTIONS,
    OfflineRenderError,
    RevisionSql,
    offline_render_failure,
    render_revision,
)
from tests.migrations.gate.failure import GateFailure


def check_offline_sql(history: History) -> list[RevisionSql]:
    """Render every revision of `history` up and down; raise `GateFailure` naming each failure."""
    rendered: list[RevisionSql] = []
    failures: list[GateFailure] = []
    for script in history.revisions():
        for direction in DIRECTIONS:
            try:
                rendered.append(render_revision(history, script.revision, direction))
            except OfflineRenderError as error:
                failures.append(offline_render_failure(error, history))
    if not failures:
        return rendered
    if len(failures) == 1:
        raise failures[0]
    first = failures[0]
    raise GateFailure(
        check=first.check,
        problem=f"{len(failures)} revision directions cannot be rendered as offline SQL",
        revision=first.revision,
        revision_file=first.revision_file,
        direction=first.direction,
        also_revisions=[
            r for r in dict.fromkeys(f.revision for f in failures[1:]) if r and r != first.revision
        ],
        details=[
            line
            for failure in failures
            for line in (f"{failure.revision}: {failure.problem}", *failure.details)
        ],
        how_to_fix=first.how_to_fix,
    )
