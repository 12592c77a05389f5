"""Read what a revision declares about itself, next to its code, each entry with a reason.

Checks that accept explicit exceptions: the squawk lint (`squawk_waivers = {"rule": "reason"}`),
rewrite detection (`rewrites_tables = {"items": "reason"}`), the populated check
(`changes_data`), the previous-release check (`breaks_previous_release = {"items.colour":
"reason"}`, a contract step) and the lock-holds check (`holds_access_exclusive = {"items":
"reason"}`, a long ACCESS EXCLUSIVE hold). All live as module-level
dicts in the revision file, so a reviewer sees the excuse beside the DDL it excuses, and all
are held to the same standard: a real reason (not empty, not "ok"), and nothing stale.
"""

from __future__ import annotations

from dataclasses import dataclass

from alembic.script import Script

from tests.migrations.gate.failure import GateFailure

MIN_REASON_WORDS = 3


@dataclass(frozen=True)
class Declaration:
    """A revision's `{name: reason}` dict, plus what was wrong with its shape or reasons."""

    entries: dict[str, str]
    problems: tuple[str, ...]


def read_declaration(script: Script, attribute: str) -> Declaration:
    """The `attribute` dict of the revision module (empty if absent), validated.

    Entries whose reason is missing or too short are reported as problems and left out of
    `entries`, so they excuse nothing.
    """
    raw = getattr(script.module, attribute, None)
    if raw is None:
        return Declaration(entries={}, problems=())
    if not isinstance(raw, dict):
        return Declaration(
            entries={},
            problems=(f"`{attribute}` must be a dict of name -> reason, got {type(raw).__name__}",),
        )
    entries: dict[str, str] = {}
    problems: list[str] = []
    for name, reason in raw.items():
        if not isinstance(name, str) or not isinstance(reason, str):
            problems.append(f"`{attribute}[{name!r}]` must map a str to a str reason")
            continue
        if len(reason.split()) < MIN_REASON_WORDS:
            problems.append(
                f"`{attribute}[{name!r}]` has no real reason ({reason!r}): say in a sentence "
                "why this is safe here, so a reviewer can check it"
            )
            continue
        entries[name] = reason.strip()
    return Declaration(entries=entries, problems=tuple(problems))


def valid_entries(script: Script, attribute: str, *, check: str, shape: str) -> dict[str, str]:
    """The `attribute` declaration's entries, or a `GateFailure` of `check` if any is invalid.

    A malformed declaration excuses nothing and fails on its own, naming the revision, so a
    typo in an excuse is never mistaken for the defect it meant to excuse. `shape` is the
    declaration as it should be written, e.g. `{"table": "why holding it that long is fine"}`.
    """
    declaration = read_declaration(script, attribute)
    if declaration.problems:
        raise GateFailure(
            check=check,
            problem=f"the `{attribute}` declaration of {script.revision} is not valid",
            how_to_fix=f"write `{attribute} = {shape}` with a real reason, or remove it",
            revision=script.revision,
            details=list(declaration.problems),
        )
    return declaration.entries
