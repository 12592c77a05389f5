"""Read what a revision declares about itself, next to its code, each entry with a reason.

Checks that accept explicit exceptions: the squawk lint (`squawk_waivers = {"rule": "reason"}`),
rewrite detection (`rewrites_tables = {"items": "reason"}`), the populated check
(`changes_data`), the previous-release check (`breaks_previous_release = {"items.colour":
"reason"}`, a contract step) and the lock-holds check (`holds_access_exclusive = {"items":
"reason"}`, a long ACCESS EXCLUSIVE hold). All live as module-level
dicts in the revision file, so a reviewer sees the excuse beside the DDL it excuses, and all
are held to the same standard: a real reason (not empty, not "ok"), and nothing stale.

A declaration that is true on one database server only is written per server, beside the one
for every server: `rewrites_tables_on = {"mariadb": {"items": "reason"}}`
(`read_declaration_on`). A server name the gate has no dialect for is refused (a typo would
excuse nothing, silently), and so is a name declared both for every server and for one.

Declarations change what the gate accepts, never what a revision runs, so the lock file's
fingerprints leave them out (`DECLARATIONS`, read by `engine/fingerprints.py`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from alembic.script import Script

from tests.migrations.gate.failure import GateFailure

MIN_REASON_WORDS = 3
SERVER_SUFFIX = "_on"
"""`<declaration>_on = {"server": {name: reason}}`: the per-server form of a declaration."""

DECLARATIONS = frozenset(
    {
        "squawk_waivers",
        "mariadb_lint_waivers",
        "rewrites_tables",
        "rewrites_tables" + SERVER_SUFFIX,
        "changes_data",
        "breaks_previous_release",
        "holds_access_exclusive",
    }
)
"""Every module-level declaration the gate reads. A new declaration is added here, so that
editing it (a reason reworded, a waiver added) is not mistaken for editing a locked revision."""


@dataclass(frozen=True)
class Declaration:
    """A revision's `{name: reason}` dict, plus what was wrong with its shape or reasons."""

    entries: dict[str, str]
    problems: tuple[str, ...]
    spelled: dict[str, str] = field(default_factory=dict)
    """How each entry is written in the revision (`rewrites_tables_on['mariadb']['items']`),
    for failures that point at it; `spelling(name)` falls back to `<attribute>[name]`."""

    def spelling(self, name: str, attribute: str) -> str:
        """How the entry `name` is written in the revision, to quote it in a failure."""
        return self.spelled.get(name, f"{attribute}[{name!r}]")


def _validated(raw: object, label: str) -> tuple[dict[str, str], list[str]]:
    """`raw`'s valid `{name: reason}` entries, and a problem for each invalid one."""
    if not isinstance(raw, dict):
        return {}, [f"`{label}` must be a dict of name -> reason, got {type(raw).__name__}"]
    entries: dict[str, str] = {}
    problems: list[str] = []
    for name, reason in raw.items():
        if not isinstance(name, str) or not isinstance(reason, str):
            problems.append(f"`{label}[{name!r}]` must map a str to a str reason")
            continue
        if len(reason.split()) < MIN_REASON_WORDS:
            problems.append(
                f"`{label}[{name!r}]` has no real reason ({reason!r}): say in a sentence "
                "why this is safe here, so a reviewer can check it"
            )
            continue
        entries[name] = reason.strip()
    return entries, problems


def read_declaration(script: Script, attribute: str) -> Declaration:
    """The `attribute` dict of the revision module (empty if absent), validated.

    Entries whose reason is missing or too short are reported as problems and left out of
    `entries`, so they excuse nothing.
    """
    raw = getattr(script.module, attribute, None)
    if raw is None:
        return Declaration(entries={}, problems=())
    entries, problems = _validated(raw, attribute)
    return Declaration(entries=entries, problems=tuple(problems))


def read_declaration_on(
    script: Script, attribute: str, server: str, servers: Collection[str]
) -> Declaration:
    """`attribute` for every server plus `<attribute>_on[server]`, as one declaration.

    Every server's entries are validated on every server (a bad reason fails wherever the gate
    runs), but only `server`'s excuse anything here, and only they can be stale here: an entry
    for another server is judged when the gate runs there. `servers` are the names the gate
    knows (its dialects); any other name is a problem, as is a name declared both for every
    server and for one of them.
    """
    common = read_declaration(script, attribute)
    per_server = attribute + SERVER_SUFFIX
    raw = getattr(script.module, per_server, None)
    if raw is None:
        return common
    entries = dict(common.entries)
    problems = list(common.problems)
    spelled = dict(common.spelled)
    if not isinstance(raw, dict):
        problems.append(
            f"`{per_server}` must be a dict of server -> {{name: reason}}, got {type(raw).__name__}"
        )
        return Declaration(entries=entries, problems=tuple(problems), spelled=spelled)
    known = ", ".join(sorted(servers))
    for name, declared in raw.items():
        label = f"{per_server}[{name!r}]"
        if name not in servers:
            problems.append(
                f"`{label}` names no server the gate knows (it knows: {known}): a "
                "declaration for it would never be checked"
            )
            continue
        valid, bad = _validated(declared, label)
        problems.extend(bad)
        for entry in sorted(set(valid) & set(common.entries)):
            problems.append(
                f"`{label}[{entry!r}]` repeats `{attribute}[{entry!r}]`, which holds for every "
                "server: keep one of them"
            )
        if name != server:
            continue
        for entry, reason in valid.items():
            if entry in common.entries:
                continue
            entries[entry] = reason
            spelled[entry] = f"{label}[{entry!r}]"
    return Declaration(entries=entries, problems=tuple(problems), spelled=spelled)


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
