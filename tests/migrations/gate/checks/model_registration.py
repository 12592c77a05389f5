"""Check 15, model registration: every model of the app package reaches `app.models`' metadata.

The drift check (5) and autogenerate compare the migrations with what importing `app.models`
registers on `Base.metadata`, because that is all `env.py` imports. A model in a module that
nothing imports never gets there: no migration creates its table, drift is silent, and the
first query of it fails in production. (If a migration does create it, autogenerate proposes
dropping the table.) This is pytest-alembic's experimental `all_models_register_on_metadata`:
import every module of the package (`pkgutil.walk_packages`) and see which add tables.

It runs in a fresh interpreter: in the test process, whatever other tests imported has
already registered its tables, and the check would pass for the wrong reason. There it
imports the metadata module, records its tables, then imports each module of the package in
turn and attributes every table that appears to the module whose import added it. Tables
defined on another `MetaData` (a second declarative base) are reported too, since neither
comparison ever sees them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.migrations.gate.failure import GateFailure
from tests.support.migrations import PROJECT_ROOT

CHECK = "model-registration"

_PROBE = r"""
import importlib, json, pkgutil, sys
from sqlalchemy import MetaData, Table

package_name, metadata_module, attribute = sys.argv[1:4]
target = importlib.import_module(metadata_module)
for part in attribute.split("."):
    target = getattr(target, part)
assert isinstance(target, MetaData), f"{metadata_module}.{attribute} is not a MetaData"
seen = set(target.tables)
other = set()
report = {"registered": sorted(seen), "unregistered": {}, "elsewhere": {}, "broken": {}}
package = importlib.import_module(package_name)
modules = [package_name] + [
    info.name
    for info in pkgutil.walk_packages(package.__path__, prefix=package_name + ".")
]
for name in modules:
    try:
        module = importlib.import_module(name)
    except Exception as error:  # a module the check cannot import hides its models
        report["broken"][name] = f"{type(error).__name__}: {error}"
        continue
    new = sorted(set(target.tables) - seen)
    if new:
        report["unregistered"][name] = new
        seen |= set(new)
    for value in list(vars(module).values()):
        table = getattr(value, "__table__", value)
        if isinstance(table, Table) and table.metadata is not target and id(table) not in other:
            other.add(id(table))
            owner = None if isinstance(value, Table) else getattr(value, "__module__", None)
            report["elsewhere"].setdefault(owner or name, []).append(table.fullname)
print(json.dumps(report))
"""


@dataclass(frozen=True)
class Registration:
    """What importing the metadata module registers, and what the rest of the package adds."""

    registered: tuple[str, ...]
    unregistered: dict[str, list[str]]
    """Module -> tables its import added to the metadata, though the metadata module did not."""
    elsewhere: dict[str, list[str]]
    """Module -> tables it defines on another MetaData, which no comparison sees."""
    broken: dict[str, str]
    """Module -> the error importing it raised."""


def probe_registration(
    package: str = "app",
    metadata_module: str = "app.models",
    attribute: str = "Base.metadata",
    *,
    search_path: Sequence[Path] = (),
) -> Registration:
    """Import `package` module by module in a fresh interpreter and report what registers."""
    paths = [str(path) for path in (*search_path, PROJECT_ROOT)]
    code = f"import sys; sys.path[:0] = {paths!r}\n{_PROBE}"
    result = subprocess.run(
        [sys.executable, "-c", code, package, metadata_module, attribute],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if result.returncode != 0:
        raise GateFailure(
            check=CHECK,
            problem=f"cannot import {metadata_module} to read its metadata",
            how_to_fix=f"make `import {metadata_module}` work in a fresh interpreter",
            details=result.stderr.strip().splitlines()[-15:],
        )
    data = json.loads(result.stdout)
    return Registration(
        registered=tuple(data["registered"]),
        unregistered=data["unregistered"],
        elsewhere=data["elsewhere"],
        broken=data["broken"],
    )


def check_models_register_on_metadata(
    package: str = "app",
    metadata_module: str = "app.models",
    attribute: str = "Base.metadata",
    *,
    search_path: Sequence[Path] = (),
) -> Registration:
    """Fail naming each module whose tables importing `metadata_module` does not register."""
    found = probe_registration(package, metadata_module, attribute, search_path=search_path)
    details = [
        *(
            f"module {module} adds table(s) {', '.join(tables)} to {metadata_module}."
            f"{attribute}, but importing {metadata_module} alone does not"
            for module, tables in found.unregistered.items()
        ),
        *(
            f"module {module} defines table(s) {', '.join(tables)} on another MetaData than "
            f"{metadata_module}.{attribute}"
            for module, tables in found.elsewhere.items()
        ),
        *(
            f"module {module} cannot be imported, so its models are unknown: {error}"
            for module, error in found.broken.items()
        ),
    ]
    if not details:
        return found
    modules = [*found.unregistered, *found.elsewhere, *found.broken]
    raise GateFailure(
        check=CHECK,
        problem=(
            f"{len(modules)} module(s) of {package} define models that {metadata_module} does "
            f"not register (first: {modules[0]}), so no migration is compared with them"
        ),
        details=details,
        how_to_fix=(
            f"import each of these modules from {metadata_module} (e.g. `from {package} import "
            f"<module>  # noqa: F401` at its end, or move the model into it), and define every "
            f"model on {metadata_module}'s declarative Base; then `alembic revision "
            "--autogenerate` sees the table and the drift check compares it"
        ),
    )
