"""Check 10, offline half: every statement of every revision runs under both timeouts.

Without `lock_timeout`, an `ALTER TABLE` that waits behind one long transaction queues an
ACCESS EXCLUSIVE request that every later query on the table waits behind too: the table stops.
Without `statement_timeout`, a surprise table scan holds its lock for as long as it takes.
`env.py` emits both as `SET` statements through `context.execute`, so they appear in the offline
SQL; this check replays the `SET`/`RESET` statements of each revision's rendered SQL (up and
down) and fails if any statement the revision runs would run with a timeout unset or zero,
e.g. after a revision's own `SET lock_timeout = 0` or `RESET ALL`.

`lock_wait.py` is the online half: it proves the timeout really fires under contention.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tests.migrations.gate.engine.history import History
from tests.migrations.gate.engine.render import (
    DIRECTIONS,
    OfflineRenderError,
    RevisionSql,
    is_comment,
    is_version_table_statement,
    offline_render_failure,
    render_revision,
)
from tests.migrations.gate.failure import GateFailure

CHECK = "timeouts"
TIMEOUTS = ("lock_timeout", "statement_timeout")

_SET = re.compile(
    r"^\s*SET\s+(?P<scope>SESSION\s+|LOCAL\s+)?(?P<name>\w+)\s*(?:=|\bTO\b)\s*(?P<value>.+?)\s*;?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_RESET = re.compile(r"^\s*RESET\s+(?P<name>\w+)\s*;?\s*$", re.IGNORECASE)
_TRANSACTION_END = re.compile(r"^\s*(COMMIT|ROLLBACK|END)\b", re.IGNORECASE)
_TRANSACTION_CONTROL = re.compile(r"^\s*(BEGIN|START TRANSACTION|COMMIT|ROLLBACK|END)\b", re.I)
_ZERO = re.compile(r"^0+(\.0+)?\s*(us|ms|s|min|h|d)?$", re.IGNORECASE)


@dataclass
class _Settings:
    """Session values and `SET LOCAL` overrides, with the statement that set each."""

    session: dict[str, tuple[str, str]] = field(default_factory=dict)
    local: dict[str, tuple[str, str]] = field(default_factory=dict)

    def value(self, name: str) -> tuple[str, str] | None:
        return self.local.get(name) or self.session.get(name)

    def apply(self, statement: str) -> bool:
        """Apply `statement` if it is SET/RESET/COMMIT; return whether it was one of those."""
        if match := _SET.match(statement):
            name = match["name"].lower()
            value = match["value"].strip().strip("'\"")
            target = (
                self.local if (match["scope"] or "").strip().upper() == "LOCAL" else self.session
            )
            if name in TIMEOUTS:
                target[name] = (value, statement.strip())
            return True
        if match := _RESET.match(statement):
            name = match["name"].lower()
            for scope in (self.session, self.local):
                if name == "all":
                    scope.clear()
                else:
                    scope.pop(name, None)
            return True
        if _TRANSACTION_END.match(statement):
            self.local.clear()
        return bool(_TRANSACTION_CONTROL.match(statement))


def unprotected_statements(sql: RevisionSql) -> list[str]:
    """Each statement of `sql` that would run with a timeout unset or zero, explained."""
    settings = _Settings()
    problems: list[str] = []
    for line, statement in sql.statement_lines():
        if settings.apply(statement) or is_comment(statement):
            continue
        if is_version_table_statement(statement):
            continue  # Alembic's bookkeeping; the revision's own statements are what matter
        for name in TIMEOUTS:
            current = settings.value(name)
            first_line = statement.strip().split("\n")[0]
            if current is None:
                problems.append(f"line {line + 1}: `{first_line}` runs with no {name} set")
            elif _ZERO.match(current[0]) or current[0].upper() == "DEFAULT":
                problems.append(
                    f"line {line + 1}: `{first_line}` runs with {name} disabled by `{current[1]}`"
                )
    return problems


def check_timeouts_in_offline_sql(history: History) -> None:
    """Raise `GateFailure` if any revision, up or down, runs a statement without both timeouts."""
    details: list[str] = []
    revisions: list[str] = []
    for script in history.revisions():
        for direction in DIRECTIONS:
            try:
                sql = render_revision(history, script.revision, direction)
            except OfflineRenderError as error:
                raise offline_render_failure(error, history) from error
            problems = unprotected_statements(sql)
            if problems:
                revisions.append(script.revision)
                details.append(f"revision {script.revision}, {direction}grade SQL:")
                details.extend(f"  {problem}" for problem in problems)
    if details:
        raise GateFailure(
            check=CHECK,
            problem=(
                "a migration statement would run without lock_timeout or statement_timeout: "
                "behind one long transaction it would queue, and every query on the table with it"
            ),
            revision=revisions[0],
            also_revisions=[r for r in dict.fromkeys(revisions) if r != revisions[0]],
            details=details,
            how_to_fix=(
                "alembic/env.py sets both with context.execute('SET lock_timeout = …') before "
                "migrating, online and offline; a revision must not RESET them or set them to "
                "0/DEFAULT. If one statement needs longer (a VALIDATE on a big table), raise the "
                "value for it (SET statement_timeout = '30min'), never disable it; to retry, "
                "rerun the deploy, or pass -x lock_timeout=… to alembic."
            ),
        )
