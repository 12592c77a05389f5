"""Check 5: strict drift, head must equal the models; also the `drift` pull-request command.

Two independent comparisons, both against a database built by the migrations:

1. Alembic autogenerate, with exactly the comparison options `env.py` gives it (captured by
   running `env.py`, not copied), rendered as the Python a developer would paste into a
   revision rather than as raw op tuples;
2. the catalog snapshot of that database against one built by `metadata.create_all`: this is
   what sees a changed CHECK expression, enum labels or a server default autogenerate reads
   differently.

The metadata is a parameter, so fixture histories are compared with a small MetaData of their
own and the project with `app.models.Base.metadata`.

The pull-request check (`commands/pull_request.py`) runs it on a fresh database upgraded to head.
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any

from alembic.autogenerate import produce_migrations, render_python_code
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext
from sqlalchemy import URL, MetaData

from tests.migrations.gate.dialects import dialect_for
from tests.migrations.gate.engine.history import History
from tests.migrations.gate.engine.sessions import connect
from tests.migrations.gate.engine.snapshots import snapshot_of
from tests.migrations.gate.failure import GateFailure
from tests.support.servers import DatabaseServer

CHECK = "drift"
COMPARISON_OPTIONS = (
    "compare_type",
    "compare_server_default",
    "include_object",
    "include_name",
    "include_schemas",
    "render_item",
    "user_module_prefix",
    "version_table",
    "version_table_schema",
)
"""The `context.configure` options of env.py that shape an autogenerate comparison."""


def env_comparison_options(history: History, url: URL) -> dict[str, Any]:
    """The comparison options env.py passes to `context.configure`, captured by running it.

    env.py is run with a migration function that records the options and migrates nothing, so
    whatever env.py decides (today: `compare_type` and `compare_server_default`) is what the
    drift check uses, with no copy to fall out of date.
    """
    captured: dict[str, Any] = {}

    def record(_: object, context: MigrationContext) -> list[Any]:
        captured.update(context.opts)
        return []

    script = history.script()
    with EnvironmentContext(history.config(url), script, fn=record):
        script.run_env()
    return {key: captured[key] for key in COMPARISON_OPTIONS if key in captured}


def autogenerate_diff(history: History, url: URL, metadata: MetaData) -> list[str]:
    """The migration autogenerate would write to bring `url` to `metadata` (empty: none)."""
    options = env_comparison_options(history, url)
    with connect(url) as connection:
        context = MigrationContext.configure(
            connection, opts={**options, "target_metadata": metadata}
        )
        script = produce_migrations(context, metadata)
        if script.upgrade_ops is not None:  # a reflection gap of the server is no drift
            noise = dialect_for(url).autogenerate_noise
            script.upgrade_ops.ops = [op for op in script.upgrade_ops.ops if not noise(op)]
        if script.upgrade_ops is None or script.upgrade_ops.is_empty():
            return []
        code = render_python_code(script.upgrade_ops, migration_context=context)
    # render_python_code indents the operations for a function body; outdent them to read.
    return [line.removeprefix("    ") for line in code.splitlines() if line.strip()]


def catalog_diff(
    server: DatabaseServer, url: URL, metadata: MetaData, *, scratch: URL | None = None
) -> list[str]:
    """Unified diff from the migrated catalog to the catalog `metadata.create_all` builds.

    The models are built in `scratch` (emptied first) when given, else in a new database.
    """
    with ExitStack() as stack:
        if scratch is None:
            scratch = stack.enter_context(server.temporary_database("gate_models"))
        else:
            dialect_for(scratch).empty_schema(scratch)
        with connect(scratch) as connection:
            metadata.create_all(connection)
            connection.commit()
        models = snapshot_of(scratch)
    return snapshot_of(url).diff(
        models,
        before="migrations (alembic upgrade head)",
        after="models (metadata.create_all)",
    )


def check_drift(
    server: DatabaseServer,
    history: History,
    url: URL,
    metadata: MetaData,
    *,
    scratch: URL | None = None,
) -> None:
    """Fail if the database at `url` (upgraded to head) differs from `metadata` in any way.

    `scratch`, an expendable database, saves creating one for the models' schema.
    """
    details: list[str] = []
    operations = autogenerate_diff(history, url, metadata)
    if operations:
        details += ["autogenerate would write this migration:", *operations, ""]
    difference = catalog_diff(server, url, metadata, scratch=scratch)
    if difference:
        details += [
            "catalog: '-' is what the migrations build, '+' what the models build:",
            *difference,
        ]
    if details:
        head = history.script().get_current_head()
        raise GateFailure(
            check=CHECK,
            problem=f"the schema the migrations build differs from the models ({history.name})",
            how_to_fix=(
                "if the model is right, write a revision that makes the change (`alembic "
                "revision --autogenerate -m '...'` then check it against the catalog lines: "
                "autogenerate misses changed CHECK expressions and enum labels); if the "
                "migrations are right, change the model to match"
            ),
            revision=head,
            details=details,
        )
