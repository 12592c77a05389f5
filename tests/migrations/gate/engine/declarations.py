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
