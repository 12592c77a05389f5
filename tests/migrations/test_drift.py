"""Check 5: strict drift, the migrated head against the models, and the `drift` command."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import (
    URL,
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Enum,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from app.models import NAMING_CONVENTION, Base
from tests.migrations.gate.checks.drift import check_drift
from tests.migrations.gate.checks.upgrade import RevisionTemplates
from tests.migrations.gate.commands.pull_request import report, run_checks
from tests.migrations.gate.engine.edited import named_history
from tests.migrations.gate.engine.history import FIXTURE_HISTORIES, History, fixture_history
from tests.migrations.gate.failure import GateFailure
from tests.migrations.gate.report.plugin import MatrixRecorder
from tests.support.git import git, versions_repository
from tests.support.postgres import PostgresServer
from tests.support.servers import DatabaseServer


def widgets_metadata(
    *,
    size_default: str = "0",
    model_default: str | None = None,
    size_type: type[Integer] = Integer,
    size_check: str = "size >= 0",
    extra: tuple[Column[object], ...] = (),
) -> MetaData:
    """A small model of the fixtures' `widgets` table, separate from `app.models`.

    `size_default` is SQL text; `model_default`, if given, replaces it with a plain string as
    `app.models` writes one (`server_default="0"`), which SQLAlchemy quotes: `DEFAULT '0'`.
    """
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    default = text(size_default) if model_default is None else model_default
    Table(
        "widgets",
        metadata,
        Column("id", BigInteger, Identity(), primary_key=True),
        Column("name", String(50), nullable=False),
        Column("size", size_type, nullable=False, server_default=default),
        Column("note", Text, nullable=True),
        *extra,
        CheckConstraint(size_check, name="size_non_negative"),
    )
    return metadata


@pytest.fixture(scope="module")
def models_scratch(gate_server: DatabaseServer) -> Iterator[URL]:
    """Where `check_drift` builds the models' schema in these tests (emptied at each use)."""
    with gate_server.temporary_database("gate_drift_models") as url:
        yield url


@pytest.fixture
def head_url(gate_server: DatabaseServer, scratch_database_url: URL) -> tuple[DatabaseServer, URL]:
    return gate_server, scratch_database_url


def _migrated(server_url: tuple[DatabaseServer, URL], name: str) -> tuple[DatabaseServer, URL]:
    server, url = server_url
    named_history(name).upgrade(url, "head")
    return server, url


@pytest.mark.history
def test_project_head_matches_app_models(
    models_scratch: URL,
    project_templates: RevisionTemplates,
    project_history: History,
    gate_server: DatabaseServer,
    gate_matrix: MatrixRecorder,
) -> None:
    project_templates.require("drift")
    head = project_history.script().get_current_head() or ""
    with project_templates.database_at(head) as url:
        check_drift(gate_server, project_history, url, Base.metadata, scratch=models_scratch)
    gate_matrix.passed("drift", [head])


def test_comment_and_formatting_edits_do_not_drift(
    models_scratch: URL,
    head_url: tuple[DatabaseServer, URL],
) -> None:
    server, url = _migrated(head_url, "comment_formatting_edit")
    check_drift(
        server,
        named_history("comment_formatting_edit"),
        url,
        Base.metadata,
        scratch=models_scratch,
    )


def test_matching_widgets_model_does_not_drift(
    models_scratch: URL, head_url: tuple[DatabaseServer, URL]
) -> None:
    server, url = _migrated(head_url, "clean_widgets")
    check_drift(
        server, fixture_history("clean_widgets"), url, widgets_metadata(), scratch=models_scratch
    )


@pytest.mark.postgresql_only(
    "its fixture histories are PostgreSQL SQL, its expectations PostgreSQL's words"
)
def test_new_column_with_its_migration_does_not_drift(
    models_scratch: URL,
    head_url: tuple[DatabaseServer, URL],
) -> None:
    server, url = _migrated(head_url, "correct_new_column")
    metadata = widgets_metadata(
        extra=(
            Column("color", String(20), nullable=True),
            Column("weight", Integer, nullable=False, server_default=text("1")),
        )
    )
    Table(
        "widgets",
        metadata,
        CheckConstraint("weight > 0", name="weight_positive"),
        extend_existing=True,
    )
    check_drift(
        server, fixture_history("correct_new_column"), url, metadata, scratch=models_scratch
    )


@pytest.mark.postgresql_only(
    "its fixture histories are PostgreSQL SQL, its expectations PostgreSQL's words"
)
def test_new_table_with_its_migration_does_not_drift(
    models_scratch: URL,
    head_url: tuple[DatabaseServer, URL],
) -> None:
    server, url = _migrated(head_url, "correct_new_table")
    metadata = widgets_metadata()
    Table(
        "parts",
        metadata,
        Column("id", BigInteger, Identity(), primary_key=True),
        Column("widget_id", BigInteger, ForeignKey("widgets.id"), nullable=False),
        Column("kind", Enum("bolt", "nut", "gear", name="part_kind"), nullable=False),
        Column("serial", String(30), nullable=False),
        Column("weight_grams", Numeric(8, 2), nullable=True),
        Column("added_at", DateTime(timezone=True), server_default=text("now()"), nullable=False),
        UniqueConstraint("serial"),
        Index("ix_parts_widget_id", "widget_id"),
    )
    check_drift(server, fixture_history("correct_new_table"), url, metadata, scratch=models_scratch)


@pytest.mark.postgresql_only(
    "its fixture histories are PostgreSQL SQL, its expectations PostgreSQL's words"
)
def test_server_default_drift_is_rendered_as_a_migration(
    models_scratch: URL,
    head_url: tuple[DatabaseServer, URL],
) -> None:
    text_ = widgets_drift(head_url, models_scratch, widgets_metadata(size_default="1"))
    assert "[drift]" in text_
    assert "revision: a1000000c1ea" in text_
    assert "autogenerate would write this migration:" in text_
    assert "op.alter_column('widgets', 'size'" in text_
    assert "server_default=sa.text('1')" in text_
    assert "-table widgets: column size integer NOT NULL DEFAULT 0" in text_
    assert "+table widgets: column size integer NOT NULL DEFAULT 1" in text_
    assert " object at 0x" not in text_


@pytest.mark.postgresql_only(
    "its fixture histories are PostgreSQL SQL, its expectations PostgreSQL's words"
)
def test_widened_column_keeps_its_default_without_drift(
    models_scratch: URL, head_url: tuple[DatabaseServer, URL]
) -> None:
    """integer -> bigint leaves `DEFAULT 0`; the model's `server_default="0"` builds
    `DEFAULT '0'::bigint`. One value, two spellings: a correct change, no drift, no waiver."""
    server, url = _migrated(head_url, "correct_widen_with_default")
    metadata = widgets_metadata(model_default="0", size_type=BigInteger)
    check_drift(
        server, fixture_history("correct_widen_with_default"), url, metadata, scratch=models_scratch
    )


@pytest.mark.postgresql_only(
    "its fixture histories are PostgreSQL SQL, its expectations PostgreSQL's words"
)
def test_widened_column_with_another_default_still_drifts(
    models_scratch: URL, head_url: tuple[DatabaseServer, URL]
) -> None:
    """Comparing constants by value must not blur a real difference: 0 is not 1."""
    server, url = _migrated(head_url, "correct_widen_with_default")
    metadata = widgets_metadata(model_default="1", size_type=BigInteger)
    with pytest.raises(GateFailure) as failure:
        check_drift(
            server,
            fixture_history("correct_widen_with_default"),
            url,
            metadata,
            scratch=models_scratch,
        )
    text_ = str(failure.value)
    assert "-table widgets: column size bigint NOT NULL DEFAULT 0" in text_
    assert "+table widgets: column size bigint NOT NULL DEFAULT 1" in text_


@pytest.mark.postgresql_only(
    "its fixture histories are PostgreSQL SQL, its expectations PostgreSQL's words"
)
def test_check_expression_drift_is_caught_by_the_catalog(
    models_scratch: URL,
    head_url: tuple[DatabaseServer, URL],
) -> None:
    """Same CHECK name, other expression: autogenerate is blind to it, the catalog is not."""
    text_ = widgets_drift(head_url, models_scratch, widgets_metadata(size_check="size > 0"))
    assert "autogenerate would write" not in text_
    assert "-table widgets: constraint ck_widgets_size_non_negative CHECK (size >= 0)" in text_
    assert "+table widgets: constraint ck_widgets_size_non_negative CHECK (size > 0)" in text_
    assert "write a revision that makes the change" in text_


@pytest.mark.postgresql_only(
    "its fixture histories are PostgreSQL SQL, its expectations PostgreSQL's words"
)
def test_enum_label_drift_is_caught_by_the_catalog(
    models_scratch: URL, head_url: tuple[DatabaseServer, URL]
) -> None:
    server, url = _migrated(head_url, "correct_new_table")
    metadata = widgets_metadata()
    Table(
        "parts",
        metadata,
        Column("id", BigInteger, Identity(), primary_key=True),
        Column("widget_id", BigInteger, ForeignKey("widgets.id"), nullable=False),
        Column("kind", Enum("bolt", "nut", "gear", "spring", name="part_kind"), nullable=False),
        Column("serial", String(30), nullable=False),
        Column("weight_grams", Numeric(8, 2), nullable=True),
        Column("added_at", DateTime(timezone=True), server_default=text("now()"), nullable=False),
        UniqueConstraint("serial"),
        Index("ix_parts_widget_id", "widget_id"),
    )
    with pytest.raises(GateFailure) as failure:
        check_drift(
            server, fixture_history("correct_new_table"), url, metadata, scratch=models_scratch
        )
    text_ = str(failure.value)
    assert "+type part_kind AS ENUM ('bolt', 'nut', 'gear', 'spring')" in text_


@pytest.mark.postgresql_only(
    "the pull-request command starts PostgreSQL (commands/pull_request.py)"
)
def test_drift_command_reports_once_and_fails(postgres_server: PostgresServer) -> None:
    """What `python -m tests.migrations.gate.commands.pull_request` runs, on a drifting fixture."""
    history = fixture_history("clean_widgets")
    drifting = widgets_metadata(size_default="1")
    passed, failures = run_checks(postgres_server, history, drifting, "main", extra_checks=())
    assert passed == []
    assert len(failures) == 1
    assert report(passed, failures).startswith("[drift]")
    passed, failures = run_checks(
        postgres_server, history, widgets_metadata(), "main", extra_checks=()
    )
    assert failures == []
    assert report(passed, failures).startswith("drift: none")


UNSAFE_INDEX_REVISION = '''"""Index widgets.name.

Revision ID: b2000000ffff
Revises: a1000000c1ea
"""
import sqlalchemy as sa
from alembic import op

revision = "b2000000ffff"
down_revision = "a1000000c1ea"


def upgrade() -> None:
    op.create_index("ix_widgets_name", "widgets", ["name"])


def downgrade() -> None:
    op.drop_index("ix_widgets_name", "widgets")
'''


@pytest.mark.postgresql_only(
    "the pull-request command starts PostgreSQL (commands/pull_request.py)"
)
def test_drift_command_lints_the_new_revisions_of_a_pull_request(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    """The command's default checks on a fixture pull request, never on the project's history
    (`test_project_head_matches_app_models` and `test_unsafe_ddl.py` judge that, once each).

    `main` holds `clean_widgets`; the branch adds a revision whose index is built without
    CONCURRENTLY, and a model with that index. Drift passes; the lint fails the new revision.
    """
    repo = tmp_path / "repo"
    versions = versions_repository(repo, FIXTURE_HISTORIES / "clean_widgets" / "w01_widgets.py")
    history = History(versions=versions)
    passed, failures = run_checks(postgres_server, history, widgets_metadata(), "main")
    assert failures == []
    assert passed[0].startswith("drift: none")
    assert passed[1].startswith(
        "unsafe-DDL lint (squawk for postgresql, mariadb-lint for mariadb): 0 revision(s) added "
        "since main"
    )

    git(repo, "checkout", "-q", "-b", "feature")
    (versions / "w02_index.py").write_text(UNSAFE_INDEX_REVISION, encoding="utf-8")
    metadata = widgets_metadata()
    Index("ix_widgets_name", metadata.tables["widgets"].c.name)
    passed, failures = run_checks(postgres_server, history, metadata, "main")
    assert [failure.check for failure in failures] == ["unsafe-ddl"]
    assert failures[0].revisions == ("b2000000ffff",)
    assert "require-concurrent-index-creation" in str(failures[0])
    assert passed[0] == f"drift: none, {history.name} at head matches the models"
    assert len(passed) == 2, passed  # the base-release-app check has no app to run here
    assert passed[1].startswith("base-release-app: not run, main ("), passed
    assert passed[1].endswith("has no app/: there is no release to run"), passed


def widgets_drift(head_url: tuple[DatabaseServer, URL], scratch: URL, metadata: MetaData) -> str:
    """The drift report of `clean_widgets` at head against `metadata`, which must differ."""
    server, url = _migrated(head_url, "clean_widgets")
    with pytest.raises(GateFailure) as failure:
        check_drift(server, fixture_history("clean_widgets"), url, metadata, scratch=scratch)
    return str(failure.value)
