"""The request and response bodies of the items API, with every bound the database enforces.

Validation is strict on purpose: a boolean or a string where a number belongs is a 422, not a
silent coercion, and JSON's non-standard `NaN`/`Infinity` (which Python's parser accepts) are
rejected along with anything that overflows a double (`1e309`).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import (
    MISSING,
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
)

from app.models import ID_MAX, NAME_MAX_LENGTH, QUANTITY_MAX, WHITESPACE


def _storable_name(name: str) -> str:
    """Refuse names PostgreSQL cannot store, or that the `name_not_blank` constraint refuses."""
    if "\x00" in name:
        raise ValueError("must not contain NUL (\\u0000) characters")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValueError("must be valid Unicode (no unpaired surrogates)") from error
    if not name.strip(WHITESPACE):
        raise ValueError("must contain at least one non-whitespace character")
    return name


def _integral_number(value: object) -> object:
    """Read `3.0` as 3: JSON has one number type, and JSON Schema's `integer` includes 3.0.

    The published schema says `quantity` is an `integer`, which by JSON Schema admits 3.0, so the
    API must too. Fractions, `NaN`, infinities, strings and booleans pass through unchanged and are
    refused by the strict check as before.
    """
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# The same rule as `_storable_name`, as a JSON Schema `pattern` for the published schema only:
# without it the schema promised that "\u0000" and "   " were valid names. Validation stays with
# `_storable_name`, whose messages say which rule was broken. (Lone surrogates cannot be
# expressed portably in a pattern; JSON generators never produce them.)
_NOT_NAME_CHARS = "\\u0000" + "".join(f"\\u{ord(char):04x}" for char in WHITESPACE)
NAME_PATTERN = f"^[^\\u0000]*[^{_NOT_NAME_CHARS}][^\\u0000]*$"

Name = Annotated[
    str,
    Field(
        min_length=1,
        max_length=NAME_MAX_LENGTH,
        strict=True,
        description="Any text with a visible character; no NUL bytes.",
        examples=["Blue mug"],
        json_schema_extra={"pattern": NAME_PATTERN},
    ),
    AfterValidator(_storable_name),
]
Price = Annotated[
    StrictFloat,
    Field(gt=0, allow_inf_nan=False, description="Positive and finite.", examples=[9.5]),
]
Quantity = Annotated[
    StrictInt,
    Field(ge=0, le=QUANTITY_MAX, description="Units in stock.", examples=[3]),
    BeforeValidator(_integral_number),
]
ItemId = Annotated[int, Field(ge=1, le=ID_MAX)]


class ItemCreate(BaseModel):
    """Body of `POST /items`; `quantity` defaults to 0 like the column."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    price: Price
    quantity: Quantity = 0


class ItemUpdate(BaseModel):
    """Body of `PUT /items/{id}`: a partial update of the fields given.

    The fields are not nullable: an omitted field is left alone, an explicit `null` is a 422
    (the column cannot hold it), never a silent no-op. Pydantic's `MISSING` marks "not given":
    it is left out of `model_dump()` and keeps the schema free of a false `null` option.
    """

    model_config = ConfigDict(extra="forbid")

    name: Name | MISSING = MISSING
    price: Price | MISSING = MISSING
    quantity: Quantity | MISSING = MISSING


class ItemRead(BaseModel):
    """An item as the API returns it."""

    model_config = ConfigDict(from_attributes=True)

    id: ItemId
    name: str = Field(max_length=NAME_MAX_LENGTH)
    price: float = Field(gt=0)
    quantity: int = Field(ge=0, le=QUANTITY_MAX)


class ErrorBody(BaseModel):
    """Every non-validation error: a sentence saying what went wrong and what to do."""

    detail: str
