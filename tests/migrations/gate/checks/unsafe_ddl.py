"""Check 8, unsafe DDL: lint every revision's offline upgrade SQL with its server's linter.

The linter is the dialect's (`Dialect.lint`): squawk for PostgreSQL, the gate's own rules for
MariaDB (`dialects/mariadb/lint.py`), each reading the SQL rendered for its own server
(`backend`). What follows is said of squawk; the MariaDB rules work the same way, with their
waivers in `mariadb_lint_waivers` (`Dialect.lint_waivers`).

squawk reads each revision's SQL exactly as `alembic upgrade prev:rev --sql` renders it through
the project's `env.py` (see `render.py`), so it also sees the `SET lock_timeout` / `SET
statement_timeout` that `env.py` emits and the transaction boundaries Alembic adds. Findings on
Alembic's own `alembic_version` statements are dropped: they are not the revision's DDL.

Only upgrades are linted: they are what a deploy runs against a live table. Downgrades drop
what the upgrade added (squawk's `ban-drop-*` rules would fire on every one of them); their SQL
is still rendered and checked by `offline.py` and `timeouts.py`.

A finding can be waived for one revision and one rule, next to the code it excuses:

    squawk_waivers = {
        "prefer-bigint-over-int": "quantity is a stock count capped at 2**31-1 by the API",
    }

A waiver with no real reason, for a rule squawk does not know, or that matches nothing any more
is itself a failure, so waivers cannot rot or hide typos.

Style rules (`prefer-text-field`, `prefer-bigint-over-int`, … in `engine/lint_policy.py`) are
advice, not failures, unless `pyproject.toml` opts in: their findings land in
`RevisionLint.advice`, which the test and the commands report without failing.

`lint_new_revisions` lints only the revisions added since `git merge-base REF HEAD` (default
`origin/main`): the pull-request check and `commands/waivers.py` use it.
"""

from __future__ import annotations

import difflib
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from alembic.script import Script

from tests.migrations.gate.dialects import dialect_named
from tests.migrations.gate.dialects.base import Dialect, LintFinding
from tests.migrations.gate.engine.declarations import read_declaration
from tests.migrations.gate.engine.history import History
from tests.migrations.gate.engine.lint_policy import (
    ADVISORY_RULES,
    ALIASES,
    LintPolicy,
    load_policy,
)
from tests.migrations.gate.engine.render import (
    OfflineRenderError,
    RevisionSql,
    display_path,
    is_comment,
    is_version_table_statement,
    offline_render_failure,
    render_revision,
)
from tests.migrations.gate.engine.revision_scope import (
    DEFAULT_BASE,
    RevisionScope,
    revisions_new_since,
)
from tests.migrations.gate.failure import GateFailure

CHECK = "unsafe-ddl"
DEFAULT_BACKEND = "postgresql"
LINTED_SERVERS = ("postgresql", "mariadb")
"""The servers one history is written for (README, MariaDB): the pull-request check lints the
SQL of each, since a revision's branches differ by server."""
MAX_STATEMENT_LINES = 8


@dataclass(frozen=True)
class Finding:
    """A squawk finding tied to the revision statement it is about."""

    rule: str
    message: str
    help: str | None
    docs: str
    statement: str
    line: int  # 1-based, in the revision's upgrade SQL
    offset: int  # 0-based line within `statement` that squawk pointed at


@dataclass
class RevisionLint:
    """The lint of one revision: what squawk found, what was waived, what is wrong with waivers."""

    script: Script
    sql: RevisionSql
    path: str
    linter: Dialect
    """The dialect whose linter judged this SQL (its name and waivers are in the reports)."""
    findings: list[Finding] = field(default_factory=list)
    waived: dict[str, list[Finding]] = field(default_factory=dict)
    advice: list[Finding] = field(default_factory=list)
    """Unwaived findings of advisory rules: reported, not failed."""
    waivers: dict[str, str] = field(default_factory=dict)
    waiver_problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No unwaived finding and every waiver valid and used."""
        return not self.findings and not self.waiver_problems


def _statement_at(sql: RevisionSql, line: int) -> tuple[str, int]:
    """The statement of `sql` that covers 0-based `line`, and the 1-based line it starts on."""
    chosen = sql.statements[0] if sql.statements else ""
    start = 0
    for first_line, statement in sql.statement_lines():
        if first_line > line:
            break
        chosen, start = statement, first_line
    return chosen, start + 1


def _file_name(index: int, sql: RevisionSql) -> str:
    return f"{index:04d}_{sql.revision}.up.sql"


def lint_revisions(
    history: History,
    revisions: Iterable[str] | None = None,
    policy: LintPolicy | None = None,
    backend: str = DEFAULT_BACKEND,
) -> list[RevisionLint]:
    """Lint `revisions` (default: all) of `history` in one run of `backend`'s linter on the SQL
    rendered for `backend`; apply their waivers.

    `policy` (default: the project's `pyproject.toml`) decides which findings are advice.
    Raises the offline-sql `GateFailure` if a revision cannot be rendered at all.
    """
    policy = load_policy() if policy is None else policy
    wanted = None if revisions is None else set(revisions)
    scripts = [s for s in history.revisions() if wanted is None or s.revision in wanted]
    rendered: dict[str, tuple[Script, RevisionSql]] = {}
    for index, script in enumerate(scripts, start=1):
        try:
            sql = render_revision(history, script.revision, "up", backend)
        except OfflineRenderError as error:
            raise offline_render_failure(error, history) from error
        rendered[_file_name(index, sql)] = (script, sql)
    linter = dialect_named(backend)
    by_file: dict[str, list[LintFinding]] = {name: [] for name in rendered}
    for finding in linter.lint({name: sql.text for name, (_, sql) in rendered.items()}):
        by_file[finding.file].append(finding)
    return [
        _apply_waivers(history, script, sql, by_file[name], policy, linter=linter)
        for name, (script, sql) in rendered.items()
    ]


def _apply_waivers(
    history: History,
    script: Script,
    sql: RevisionSql,
    raw: list[LintFinding],
    policy: LintPolicy,
    *,
    linter: Dialect,
) -> RevisionLint:
    waivers = linter.lint_waivers
    declaration = read_declaration(script, waivers)
    lint = RevisionLint(
        script=script,
        sql=sql,
        path=display_path(script, history),
        linter=linter,
        waivers=declaration.entries,
        waiver_problems=list(declaration.problems),
    )
    for item in raw:
        statement, line = _statement_at(sql, item.line)
        if is_version_table_statement(statement) or is_comment(statement):
            continue  # Alembic's bookkeeping, not this revision's DDL
        finding = Finding(
            rule=item.rule,
            message=item.message,
            help=item.help,
            docs=item.docs,
            statement=statement,
            line=line,
            offset=max(0, item.line + 1 - line),
        )
        if item.rule in lint.waivers:
            lint.waived.setdefault(item.rule, []).append(finding)
        elif policy.is_advice(item.rule):
            lint.advice.append(finding)
        else:
            lint.findings.append(finding)
    for rule in lint.waivers:
        if not linter.knows_lint_rule(rule):
            close = difflib.get_close_matches(rule, list(linter.lint_rule_names()), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            lint.waiver_problems.append(
                f"`{waivers}[{rule!r}]`: {linter.linter} has no rule called {rule!r}{hint}"
            )
        elif rule not in lint.waived:
            lint.waiver_problems.append(
                f"`{waivers}[{rule!r}]` waives nothing: {linter.linter} does not report {rule} "
                "for this revision; delete the waiver"
            )
    return lint


def _printable(line: str) -> str:
    """`line` with control and invisible characters escaped, so a reader sees what is there."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in line.rstrip())


def excerpt(statement: str, offset: int) -> list[str]:
    """The statement (or, if long, its first line and the one squawk points at), marked `>`."""
    lines = [_printable(line) for line in statement.strip().split("\n")]
    if len(lines) <= MAX_STATEMENT_LINES:
        shown = list(enumerate(lines))
    else:
        keep = sorted({0, min(offset, len(lines) - 1)})
        shown = [(index, lines[index]) for index in keep]
    rendered: list[str] = []
    previous = -1
    for index, line in shown:
        if index > previous + 1:
            rendered.append("  …")
        rendered.append(f"{'>' if index == offset and len(lines) > 1 else ' '} {line}")
        previous = index
    if previous < len(lines) - 1:
        rendered.append(f"  … ({len(lines)} lines in all)")
    return rendered


def describe(lint: RevisionLint) -> list[str]:
    """The readable lines for one revision: each finding, then each waiver problem."""
    name = lint.linter.linter
    lines = [f"revision {lint.script.revision} ({lint.path}), upgrade SQL:"]
    for finding in lint.findings:
        lines.append(f"  {finding.rule}: {finding.message}")
        lines.append(f"    statement (line {finding.line} of the upgrade SQL):")
        lines.extend(f"     {line}" for line in excerpt(finding.statement, finding.offset))
        if finding.help:
            lines.append(f"    {name}'s help: {finding.help}")
        advice = lint.linter.lint_advice(finding.rule)
        if advice:
            lines.append(f"    safe alternative: {advice}")
        lines.append(f"    docs: {finding.docs}")
    lines.extend(f"  waiver problem: {problem}" for problem in lint.waiver_problems)
    return lines


def describe_advice(lint: RevisionLint) -> list[str]:
    """The readable lines of one revision's advice (empty when it has none)."""
    if not lint.advice:
        return []
    lines = [f"revision {lint.script.revision} ({lint.path}): advice, not a failure:"]
    for finding in lint.advice:
        first = excerpt(finding.statement, finding.offset)[0].strip()
        lines.append(f"  {finding.rule} (line {finding.line}: {first})")
        advice = lint.linter.lint_advice(finding.rule)
        if advice:
            lines.append(f"    consider: {advice}")
        why = ADVISORY_RULES[ALIASES.get(finding.rule, finding.rule)]
        lines.append(f"    why it does not fail: {why}")
    return lines


def lint_failure(lints: Sequence[RevisionLint]) -> GateFailure | None:
    """One failure listing every revision that is not clean, or None."""
    bad = [lint for lint in lints if not lint.ok]
    if not bad:
        return None
    findings = sum(len(lint.findings) for lint in bad)
    problems = sum(len(lint.waiver_problems) for lint in bad)
    example = bad[0].findings[0].rule if bad[0].findings else "rule-name"
    linter = bad[0].linter
    return GateFailure(
        check=CHECK,
        problem=(
            f"{linter.linter} found {findings} unsafe statement(s) and {problems} waiver "
            f"problem(s) in {len(bad)} revision(s)"
        ),
        revision=bad[0].script.revision,
        revision_file=bad[0].path,
        direction="up",
        also_revisions=[lint.script.revision for lint in bad[1:]],
        details=[line for lint in bad for line in describe(lint)],
        how_to_fix=textwrap.dedent(
            f"""\
            Change the revision the safe way (see each finding's advice and {linter.linter}'s docs).
              If a finding is truly safe *here* (for example the table is new in this same
              revision, or the statement cannot block anything), waive that rule for that
              revision only, in the revision file, with a reason a reviewer can check:
                {linter.lint_waivers} = {{"{example}": "why this is safe in this revision"}}
              A waiver must name a real {linter.linter} rule, give a reason of at least a few words,
              and still match a finding; otherwise it fails this check too."""
        ),
    )


def check_unsafe_ddl(
    history: History,
    revisions: Iterable[str] | None = None,
    policy: LintPolicy | None = None,
    backend: str = DEFAULT_BACKEND,
) -> list[RevisionLint]:
    """Lint `revisions` (default: all) for `backend`; raise `GateFailure` unless all are clean.

    Advice does not make a revision unclean; it is in each returned lint's `advice`.
    """
    lints = lint_revisions(history, revisions, policy, backend)
    failure = lint_failure(lints)
    if failure is not None:
        raise failure
    return lints


def lint_new_revisions(
    base: str = DEFAULT_BASE,
    history: History | None = None,
    repo: Path | None = None,
    backends: Sequence[str] = (DEFAULT_BACKEND,),
) -> tuple[RevisionScope, list[RevisionLint]]:
    """Lint only the revisions added since `git merge-base base HEAD` (all, if base is missing),
    for each of `backends`.

    Returns the scope (with its explanation) and the lints; raises `GateFailure` on findings
    (one failure per server, the first server's first).
    """
    history = history or History()
    scope = revisions_new_since(history, base, repo=repo)
    lints: list[RevisionLint] = []
    for backend in backends:
        lints.extend(check_unsafe_ddl(history, scope.revisions, backend=backend))
    return scope, lints
