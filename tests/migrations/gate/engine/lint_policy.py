"""Which squawk findings fail the gate and which are advice, and the project's opt-in.

squawk mixes two kinds of rule. Some find statements that lock or rewrite a live table on the
target version (PostgreSQL 15), or that break the release still running: those fail the gate.
Others are about style, or guess at a risk another check measures for real: a newcomer's
first correct change (a nullable `String(30)` column, as autogenerate writes it) must not fail
on them. Those are *advice*: reported (a warning in the pytest summary, a line in the command's
output), never failed, unless the project opts in to a rule in `pyproject.toml`:

    [tool.migration-gate]
    blocking-advice = ["prefer-identity"]

A waiver still applies to an advisory rule, and silences its advice for that revision.

The same table sets the lock-holds check's budget (`access-exclusive-budget-ms`, default 250):
how long a revision may hold ACCESS EXCLUSIVE on a table with rows before it must say why.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tests.migrations.gate.failure import GateFailure
from tests.support.migrations import PROJECT_ROOT

CONFIG_TABLE = "migration-gate"
OPT_IN_KEY = "blocking-advice"
LOCK_BUDGET_KEY = "access-exclusive-budget-ms"
DEFAULT_LOCK_BUDGET_MS = 250
"""A quarter of a second: while ACCESS EXCLUSIVE is held every query on the table (a plain
SELECT too) queues behind it, so this is what the slowest request of a deploy pays on top of its
own time; a common p99 budget for an API call, and the order of a typical `lock_timeout`."""
KNOWN_KEYS = frozenset({OPT_IN_KEY, LOCK_BUDGET_KEY})

ADVISORY_RULES: Mapping[str, str] = {
    "prefer-text-field": (
        "its premise, that changing a varchar's length locks the table, is false for ADD COLUMN "
        "and for widening on PostgreSQL 9.2 and later (no rewrite, a brief lock bounded by "
        "lock_timeout); only narrowing rewrites, and changing-column-type catches that"
    ),
    "prefer-bigint-over-int": (
        "a capacity choice, not a lock: an integer column takes no lock and no rewrite today; "
        "widening it later would, and changing-column-type and the rewrite check catch that"
    ),
    "prefer-bigint-over-smallint": "the same capacity choice as prefer-bigint-over-int",
    "prefer-identity": (
        "serial and identity columns lock and write the same; identity is the better style, "
        "and this project's own keys use it"
    ),
    "prefer-timestamp-tz": (
        "which type holds a time is a modelling choice; `timestamp` takes no lock and no rewrite"
    ),
    "ban-char-field": "char(n) pads with spaces, a modelling mistake, not a lock or a rewrite",
    "prefer-robust-stmts": (
        "about rerunning after a part-way failure, not about locks; the atomic-failure check "
        "(13) makes every revision that commits part-way fail and reruns it on a real database, "
        "so it fails exactly the revisions that cannot rerun, where squawk guesses from syntax "
        "(it flags statements that rerun fine, such as VALIDATE CONSTRAINT)"
    ),
}
"""squawk rules that are advice unless opted in, each with why it is not a lock or a rewrite."""

ALIASES: Mapping[str, str] = {"prefer-timestamptz": "prefer-timestamp-tz"}
"""Older names squawk still accepts, mapped to the name it reports."""


@dataclass(frozen=True)
class LintPolicy:
    """Which advisory rules this project has opted in to failing."""

    blocking_advice: frozenset[str] = frozenset()

    def is_advice(self, rule: str) -> bool:
        """Whether a finding of `rule` is reported as advice rather than failed."""
        rule = ALIASES.get(rule, rule)
        return rule in ADVISORY_RULES and rule not in self.blocking_advice


class LintPolicyError(GateFailure):
    """`[tool.migration-gate]` in pyproject.toml says something the gate cannot follow."""


def _config_error(problem: str, details: list[str]) -> LintPolicyError:
    return LintPolicyError(
        check="unsafe-ddl",
        problem=problem,
        how_to_fix=(
            f"`{OPT_IN_KEY}` in `[tool.{CONFIG_TABLE}]` of pyproject.toml is a list of rule "
            f"names, each one of the advisory rules: {', '.join(sorted(ADVISORY_RULES))}; the "
            "other squawk rules always fail"
        ),
        details=details,
    )


def load_policy(pyproject: Path = PROJECT_ROOT / "pyproject.toml") -> LintPolicy:
    """The policy `pyproject`'s `[tool.migration-gate]` sets (none: every advisory rule advises).

    A rule that is not advisory, or a typo, is an error rather than ignored: a project that
    believes it opted in must not silently get advice instead.
    """
    config = _gate_config(pyproject)
    unknown_keys = sorted(set(config) - KNOWN_KEYS)
    if unknown_keys:
        raise _config_error(
            f"pyproject.toml: unknown key(s) in [tool.{CONFIG_TABLE}]: {', '.join(unknown_keys)}",
            [f"known: {', '.join(sorted(KNOWN_KEYS))}"],
        )
    rules = config.get(OPT_IN_KEY, [])
    if not isinstance(rules, list) or not all(isinstance(rule, str) for rule in rules):
        raise _config_error(
            f"pyproject.toml: `{OPT_IN_KEY}` must be a list of rule names", [repr(rules)]
        )
    chosen = [ALIASES.get(rule, rule) for rule in rules]
    wrong = [rule for rule in chosen if rule not in ADVISORY_RULES]
    if wrong:
        raise _config_error(
            f"pyproject.toml: `{OPT_IN_KEY}` names rule(s) that are not advisory: "
            f"{', '.join(wrong)}",
            [
                f"{rule}: not an advisory rule (unknown, or it fails the gate anyway)"
                for rule in wrong
            ],
        )
    return LintPolicy(blocking_advice=frozenset(chosen))


def _gate_config(pyproject: Path) -> dict[str, object]:
    """`[tool.migration-gate]` of `pyproject` (empty when the file or the table is missing)."""
    if not pyproject.is_file():
        return {}
    table = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {})
    config = table.get(CONFIG_TABLE, {})
    return config if isinstance(config, dict) else {}


def load_lock_budget(pyproject: Path = PROJECT_ROOT / "pyproject.toml") -> int:
    """How many ms a revision may hold ACCESS EXCLUSIVE on a table with rows, undeclared.

    `access-exclusive-budget-ms` in `[tool.migration-gate]`, else `DEFAULT_LOCK_BUDGET_MS`. A
    value that is not a positive whole number of ms is an error, not the default: a project
    that believes it set a budget must not be judged by another one.
    """
    value = _gate_config(pyproject).get(LOCK_BUDGET_KEY, DEFAULT_LOCK_BUDGET_MS)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise LintPolicyError(
            check="lock-holds",
            problem=f"pyproject.toml: `{LOCK_BUDGET_KEY}` must be a positive number of ms",
            how_to_fix=(
                f"write `{LOCK_BUDGET_KEY} = {DEFAULT_LOCK_BUDGET_MS}` (a whole number of "
                f"milliseconds) in `[tool.{CONFIG_TABLE}]` of pyproject.toml, or leave it out "
                f"for the default of {DEFAULT_LOCK_BUDGET_MS} ms"
            ),
            details=[repr(value)],
        )
    return value
