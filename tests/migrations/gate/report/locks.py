"""The locks each revision's upgrade on rows held, as a table in the gate's report.

The lock-holds check (18) fails only the holds over its budget of a lock that stops every
query (ACCESS EXCLUSIVE; on MariaDB MDL_EXCLUSIVE, MDL_SHARED_NO_READ_WRITE); a reviewer
also wants to see the rest (which tables a revision locks, in which mode, for how long), so the
history walk records every hold it measured and the report prints them under the matrix: one
row per revision × table × lock mode, with the longest hold in ms and how it was judged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class LockRow:
    """One lock mode one revision held on one table, and for how long at most."""

    revision: str
    table: str
    mode: str
    ms: float
    note: str


def _title(budget_ms: int | None) -> str:
    budget = (
        f" (budget {budget_ms} ms for a lock that stops every query)"
        if budget_ms is not None
        else ""
    )
    return f"locks held by each upgrade on rows{budget}:"


def lock_table_text(rows: Sequence[LockRow], *, budget_ms: int | None) -> str:
    """The table for a terminal (empty when no lock was measured)."""
    if not rows:
        return ""
    header = ("revision", "table", "lock mode", "held ms", "note")
    cells = [(r.revision, r.table, r.mode, f"{r.ms:.0f}", r.note) for r in rows]
    widths = [max(len(line[i]) for line in [header, *cells]) for i in range(4)]
    lines = [_title(budget_ms)]
    for line in [header, *cells]:
        first = "  ".join(
            f"{value:>{width}}" if i == 3 else f"{value:<{width}}"
            for i, (value, width) in enumerate(zip(line[:4], widths, strict=True))
        )
        lines.append(f"{first}  {line[4]}".rstrip())
    return "\n".join(lines)


def lock_table_markdown(rows: Sequence[LockRow], *, budget_ms: int | None) -> str:
    """The table for gate-report.md (empty when no lock was measured)."""
    if not rows:
        return ""
    lines = ["", f"### {_title(budget_ms).rstrip(':')}", ""]
    lines += ["| revision | table | lock mode | held (ms) | note |", "|---|---|---|---:|---|"]
    lines += [f"| `{r.revision}` | `{r.table}` | {r.mode} | {r.ms:.0f} | {r.note} |" for r in rows]
    return "\n".join(lines) + "\n"
