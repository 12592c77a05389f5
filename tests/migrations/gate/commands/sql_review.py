"""`python -m tests.migrations.gate.commands.sql_review --out DIR`: each revision's SQL.

Writes `NNNN_<rev>_<slug>.up.sql` / `.down.sql`: exactly what `alembic --sql` prints through
`env.py` (timeouts included), rendered by `engine/render.py`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from tests.migrations.gate.engine.history import History
from tests.migrations.gate.engine.render import (
    DIRECTIONS,
    OfflineRenderError,
    offline_render_failure,
    render_revision,
    slug,
)
from tests.migrations.gate.failure import GateFailure


def write_review_folder(history: History, out: Path) -> list[Path]:
    """Write `NNNN_<rev>_<slug>.up.sql` / `.down.sql` for every revision into `out`.

    Stale files of the same naming pattern are removed first, so the folder shows exactly the
    current history. Raises `GateFailure` (after writing the rest) if a revision cannot render.
    """
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("[0-9][0-9][0-9][0-9]_*.sql"):
        stale.unlink()
    written: list[Path] = []
    failures: list[GateFailure] = []
    for index, script in enumerate(history.revisions(), start=1):
        for direction in DIRECTIONS:
            name = f"{index:04d}_{script.revision}_{slug(script.doc)}.{direction}.sql"
            try:
                sql = render_revision(history, script.revision, direction)
            except OfflineRenderError as error:
                failures.append(offline_render_failure(error, history))
                continue
            target = out / name
            target.write_text(sql.text, encoding="utf-8")
            written.append(target)
    if failures:
        raise failures[0]
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m tests.migrations.gate.commands.sql_review --out DIR [--versions PATH]`."""
    parser = argparse.ArgumentParser(
        prog="python -m tests.migrations.gate.commands.sql_review",
        description="Write each revision's offline SQL, up and down, into a folder for review.",
    )
    parser.add_argument("--out", type=Path, required=True, help="folder to write the .sql into")
    parser.add_argument(
        "--versions",
        type=Path,
        default=None,
        help="a versions folder other than alembic/versions (e.g. a test fixture history)",
    )
    args = parser.parse_args(argv)
    history = History() if args.versions is None else History(versions=args.versions.resolve())
    try:
        written = write_review_folder(history, args.out)
    except GateFailure as failure:
        print(failure, file=sys.stderr)
        return 1
    for path in written:
        print(path)
    print(f"{len(written)} files written to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
