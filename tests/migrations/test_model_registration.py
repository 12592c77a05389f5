"""Check 15: every model module of the app package is registered by importing `app.models`."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.migrations.gate.checks.model_registration import check_models_register_on_metadata
from tests.migrations.gate.engine.history import History
from tests.migrations.gate.failure import GateFailure
from tests.migrations.gate.report.plugin import MatrixRecorder

MODELS = """
from sqlalchemy import BigInteger
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "items"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
"""

ORPHAN = """
from sqlalchemy import BigInteger
from sqlalchemy.orm import Mapped, mapped_column

from shop.models import Base


class Coupon(Base):
    __tablename__ = "coupons"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
"""

SECOND_BASE = """
from sqlalchemy import BigInteger
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class AuditBase(DeclarativeBase):
    pass


class AuditEntry(AuditBase):
    __tablename__ = "audit_entries"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
"""


def make_package(root: Path, **modules: str) -> Path:
    """A package `shop` under `root` with `models.py` and the given modules (name -> code)."""
    package = root / "shop"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "models.py").write_text(textwrap.dedent(MODELS), encoding="utf-8")
    for name, code in modules.items():
        target = package / f"{name.replace('.', '/')}.py"
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.parent != package:
            (target.parent / "__init__.py").write_text("", encoding="utf-8")
        target.write_text(textwrap.dedent(code), encoding="utf-8")
    return root


def check_shop(root: Path) -> None:
    check_models_register_on_metadata("shop", "shop.models", search_path=[root])


@pytest.mark.history
def test_project_models_all_register_on_app_models_metadata(gate_matrix: MatrixRecorder) -> None:
    registration = check_models_register_on_metadata()
    assert "items" in registration.registered
    gate_matrix.passed("model-registration", [History().script().get_current_head() or ""])


def test_a_model_module_nothing_imports_fails_naming_it(tmp_path: Path) -> None:
    root = make_package(tmp_path, **{"billing.coupons": ORPHAN})
    with pytest.raises(GateFailure) as raised:
        check_shop(root)
    text = str(raised.value)
    assert text.startswith("[model-registration] 1 module(s) of shop define models that")
    assert "(first: shop.billing.coupons)" in text
    assert (
        "module shop.billing.coupons adds table(s) coupons to shop.models.Base.metadata, "
        "but importing shop.models alone does not"
    ) in text
    assert "import each of these modules from shop.models" in text


def test_the_same_module_imported_by_the_models_passes(tmp_path: Path) -> None:
    root = make_package(tmp_path, **{"billing.coupons": ORPHAN})
    models = root / "shop" / "models.py"
    models.write_text(
        models.read_text(encoding="utf-8") + "\nfrom shop.billing import coupons  # noqa: F401\n",
        encoding="utf-8",
    )
    registration = check_models_register_on_metadata("shop", "shop.models", search_path=[root])
    assert registration.registered == ("coupons", "items")


def test_a_model_on_another_metadata_fails(tmp_path: Path) -> None:
    root = make_package(tmp_path, audit=SECOND_BASE)
    with pytest.raises(GateFailure) as raised:
        check_shop(root)
    assert (
        "module shop.audit defines table(s) audit_entries on another MetaData than "
        "shop.models.Base.metadata"
    ) in str(raised.value)


def test_a_module_that_cannot_be_imported_fails(tmp_path: Path) -> None:
    root = make_package(tmp_path, legacy="import no_such_module_for_the_gate\n")
    with pytest.raises(GateFailure) as raised:
        check_shop(root)
    assert "module shop.legacy cannot be imported, so its models are unknown: " in str(raised.value)
    assert "ModuleNotFoundError" in str(raised.value)
