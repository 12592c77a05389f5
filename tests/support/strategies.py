"""Hypothesis strategies for the items API: valid items and updates, and hostile input.

Hostile bodies are drawn as raw JSON *text* (see `json_text`), not as Python objects handed to
an HTTP client: only text can carry the non-standard `NaN`/`Infinity` literals, integers beyond
64 bits and lone surrogates escaped as `\\ud800` to the server exactly as an attacker would send
them. Valid values stay inside what the API promises to store and read back exactly.
"""

from __future__ import annotations

import json
import math
from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st

from app.models import NAME_MAX_LENGTH, QUANTITY_MAX, WHITESPACE

FIELDS = ("name", "price", "quantity")
BODY_LIMIT_BYTES = 16 * 1024  # the service's default `max_body_bytes`

JsonValue = Any  # what `json.loads` returns; recursive, so left open


def json_text(value: JsonValue) -> str:
    """Encode as JSON the way a hostile client may: `NaN`/`Infinity` literals, `\\uXXXX` escapes.

    `ensure_ascii` turns a lone surrogate into the escape `\\ud800`, which Python's parser (and
    so the server) turns back into an unpaired surrogate: the input PostgreSQL cannot store.
    """
    return json.dumps(value, allow_nan=True, ensure_ascii=True)


# --- valid input: what the API must accept and give back unchanged ------------------------------

name_characters = st.characters(exclude_categories=["Cs"], exclude_characters="\x00")
"""Any code point that is not NUL and not a lone surrogate: every script, emoji, controls."""

valid_names = st.text(name_characters, min_size=1, max_size=NAME_MAX_LENGTH).filter(
    lambda name: bool(name.strip(WHITESPACE))
)
valid_prices = st.floats(
    min_value=0.0, exclude_min=True, allow_nan=False, allow_infinity=False, allow_subnormal=True
)
valid_quantities = st.integers(min_value=0, max_value=QUANTITY_MAX)

valid_items = st.fixed_dictionaries(
    {"name": valid_names, "price": valid_prices}, optional={"quantity": valid_quantities}
)
"""A body `POST /items` must accept (201)."""

valid_updates = st.fixed_dictionaries(
    {}, optional={"name": valid_names, "price": valid_prices, "quantity": valid_quantities}
)
"""A body `PUT /items/{id}` must accept (200 for an existing item), possibly empty."""


# --- hostile input: what the API must refuse with a clear 4xx, or accept and store exactly ------

lone_surrogates = st.characters(categories=["Cs"])
weird_strings = st.one_of(
    st.text(),
    st.text(st.characters(codec=None), max_size=20),
    st.builds(lambda a, s, b: a + s + b, st.text(max_size=5), lone_surrogates, st.text(max_size=5)),
    st.sampled_from(
        [
            "",
            " ",
            "\x00",
            "mug\x00",
            "\t\n\u3000\u00a0\u2028",
            "\u200b",
            "\ufeff",
            "\U0001f600",
            "x" * (NAME_MAX_LENGTH + 1),
            "x" * NAME_MAX_LENGTH,
            "9.5",
            "NaN",
            "Infinity",
            "true",
            "null",
        ]
    ),
)
weird_numbers = st.one_of(
    st.integers(),
    st.floats(),  # includes NaN, ±Infinity, -0.0, subnormals, the extremes
    st.sampled_from(
        [0, -1, 2**31 - 1, 2**31, 2**63 - 1, 2**63, 2**64, -(2**63) - 1, 10**400, -(10**400)]
    ),
    st.sampled_from([math.nan, math.inf, -math.inf, -0.0, 5e-324, -5e-324, 1.7976931348623157e308]),
)
scalars = st.one_of(st.none(), st.booleans(), weird_numbers, weird_strings)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
"""Any JSON value, shallow or nested, with every awkward scalar above at the leaves."""

field_values = st.one_of(scalars, json_values, valid_names, valid_prices, valid_quantities)


def _insert(text: str, extra: str, at: int) -> str:
    return text[:at] + extra + text[at:]


spoiled_names = st.one_of(
    st.builds(_insert, valid_names, st.just("\x00") | lone_surrogates, st.integers(0, 200)),
    st.text(st.sampled_from(WHITESPACE), max_size=5),
    st.text(name_characters, min_size=NAME_MAX_LENGTH + 1, max_size=NAME_MAX_LENGTH + 5),
)
"""A name that is nearly valid: one NUL or lone surrogate inside, blank, or one char too long."""

hostile_values = {
    "name": st.one_of(spoiled_names, weird_strings, scalars),
    "price": st.one_of(weird_numbers, scalars),
    "quantity": st.one_of(weird_numbers, scalars),
}
"""Per field: values that probe its rules hardest (anything else for it is in `field_values`)."""

unknown_fields = st.dictionaries(
    st.text(max_size=10).filter(lambda key: key not in FIELDS), json_values, min_size=1, max_size=3
)


@st.composite
def item_like_bodies(draw: st.DrawFn) -> dict[str, JsonValue]:
    """A body shaped like an item, with some fields hostile, missing or unknown.

    Starting from a valid item and spoiling part of it reaches the code paths past validation
    that a fully random value rarely does (the INSERT, the UPDATE, the constraints).
    """
    body: dict[str, JsonValue] = dict(draw(valid_items))
    for field in draw(st.lists(st.sampled_from(FIELDS), max_size=2, unique=True)):
        if draw(st.booleans()):
            body[field] = draw(st.one_of(hostile_values[field], field_values))
        else:
            body.pop(field, None)
    if draw(st.integers(0, 3)) == 0:
        body.update(draw(unknown_fields))
    return body


def _nested(depth: int, opener: str) -> str:
    if opener == "[":
        return "[" * depth + "]" * depth
    return '{"a":' * depth + "1" + "}" * depth


deeply_nested_text = st.builds(
    _nested, st.integers(min_value=1, max_value=BODY_LIMIT_BYTES // 2), st.sampled_from("[{")
)
"""Nesting deep enough to exhaust a recursive parser, still under the body limit."""

malformed_text = st.one_of(
    st.text(max_size=50),
    st.sampled_from(["", "{", "}", "[]", "null", '{"name": "mug", "price": 1,}', "{'a': 1}"]),
    st.sampled_from(["NaN", "-Infinity", '{"price": NaN}', '{"name": "\\ud800", "price": 1}']),
)

hostile_body_text = st.one_of(
    st.builds(json_text, item_like_bodies()),
    st.builds(json_text, item_like_bodies()),
    st.builds(json_text, json_values),
    deeply_nested_text,
    malformed_text,
)
"""The text of a request body for `POST`/`PUT`: anything from nearly valid to not JSON at all."""


# --- query strings and path segments ------------------------------------------------------------

query_values = st.one_of(
    st.integers().map(str),
    st.sampled_from([str(2**63 - 1), str(2**63), str(2**64), "-0", "+1", " 1", "1 ", "0x10"]),
    st.floats().map(repr),
    st.sampled_from(["", "NaN", "inf", "-Infinity", "1e3", "1.0", "true", "null", "%00"]),
    weird_strings,
)


def _encoded(text: str) -> str:
    # `surrogatepass` puts lone surrogates on the wire as the invalid UTF-8 they are.
    return quote(text, safe="", errors="surrogatepass")


def _encode_query(pairs: list[tuple[str, str]]) -> str:
    return "&".join(f"{_encoded(key)}={_encoded(value)}" for key, value in pairs)


@st.composite
def list_query_strings(draw: st.DrawFn) -> str:
    """A raw query string for `GET /items`: skip and limit (each maybe absent, maybe repeated,
    any text at all), and sometimes unknown parameters, in any order."""
    pairs = [(key, draw(query_values)) for key in ("skip", "limit") if draw(st.booleans())]
    pairs += draw(
        st.lists(
            st.tuples(st.sampled_from(["skip", "limit"]) | st.text(max_size=6), query_values),
            max_size=2,
        )
    )
    return _encode_query(draw(st.permutations(pairs)))


item_path_segments = query_values.map(_encoded)
"""A raw, percent-encoded `{item_id}` segment: anything a client may put where the id goes."""
