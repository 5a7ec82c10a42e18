"""What the features' request and answer models (*/schemas.py) share: times of day, dates
and whole numbers as the code reads them, the problem answer, and the English sentence a
validation error becomes (docs/development.md "API schemas")."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
)
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError

from core.clock import HHMM_PATTERN

# --- models ----------------------------------------------------------------------------------


class Query(BaseModel):
    """A query string. Values arrive as text; unknown names are ignored, as the views always
    did; an empty value counts as absent (core.requests.query_args drops it)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=False)


class Body(BaseModel):
    """A JSON request body: strict types (true is no "true", 1 is no "1"); unknown members
    are ignored."""

    model_config = ConfigDict(extra="ignore", strict=True, populate_by_name=False)


class Answer(BaseModel):
    """An answer body (documentation, and the oracle of tests/robustness/test_api_answers.py:
    answers are not validated at run time)."""

    model_config = ConfigDict(extra="forbid")


class Problem(Answer):
    """Every API error (docs/api.md §3): application/problem+json."""

    type: str = Field(description="https://xiyue.example/problems/{code}")
    title: str
    status: int = Field(ge=400, le=599)
    code: str = Field(description="the stable machine code, e.g. invalid_request, not_found")
    detail: str = Field(description="what went wrong, for a person (may be translated)")


# --- values ----------------------------------------------------------------------------------

class Says:
    """`Annotated[..., Says("…")]`: the whole message when this field is wrong or missing,
    where a view has always said something more helpful than the generic sentence."""

    def __init__(self, message: str) -> None:
        self.message = message


def _iso_date(value: object) -> object:
    """date.fromisoformat, the rule of every date the API reads (YYYY-MM-DD)."""
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise PydanticCustomError(
                "iso_date", "must be a date YYYY-MM-DD, not {value}",
                {"value": repr(value)[:80]}) from None
    return value


def _whole_number(value: object) -> object:
    """int(text), the rule of every number in a query string."""
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            raise PydanticCustomError("whole_number", "must be a whole number") from None
    return value


# A calendar day: YYYY-MM-DD (format date).
IsoDate = Annotated[date, BeforeValidator(_iso_date)]
# A whole number in a query string.
WholeNumber = Annotated[int, BeforeValidator(_whole_number)]
# A time of day, 00:00 to 23:59 (core.clock.HHMM_PATTERN).
HHMM = Annotated[str, Field(pattern=HHMM_PATTERN, examples=["09:30"])]
# `x: IsoDate | Absent = Field(None, json_schema_extra=no_default)`: a parameter that may be
# left out (its default, "today" say, is said in its description), never sent as null.
Absent = SkipJsonSchema[None]


def no_default(schema: dict) -> None:
    schema.pop("default", None)


# A string with at least one character that is not white space (the views strip and
# refuse what is left empty): the pattern says it, str.strip decides it.
NOT_BLANK = r"\S"


def _not_blank(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("blank", "must not be blank")
    return value


NotBlank = Annotated[str, Field(pattern=NOT_BLANK), AfterValidator(_not_blank)]


# --- a validation error in words ---------------------------------------------------------------

_PHRASES = {
    "missing": "is required",
    "blank": "must not be blank",
    "string_type": "must be a string",
    "string_too_short": "must have at least {min_length} character(s)",
    "string_too_long": "must be a string of at most {max_length} characters",
    "string_pattern_mismatch": "does not have the expected form",
    "bool_type": "must be true or false",
    "int_type": "must be a whole number",
    "list_type": "must be a list",
    "too_long": "must have at most {max_length} items",
    "too_short": "must have at least {min_length} items",
    "greater_than_equal": "must be at least {ge}",
    "less_than_equal": "must be at most {le}",
    "literal_error": "must be {expected}",
    "enum": "must be {expected}",
}


def _field_message(model: type[BaseModel], name: object) -> str | None:
    if not isinstance(name, str):
        return None
    for field_name, field in model.model_fields.items():
        if name in (field_name, field.alias):
            return next((m.message for m in field.metadata if isinstance(m, Says)), None)
    return None


def describe(error: ValidationError, model: type[BaseModel]) -> str:
    """The first error as one sentence naming the field: "days must be at most 366"."""
    first: dict[str, Any] = error.errors(include_url=False, include_input=False)[0]
    # names and indexes, without the members of a union pydantic tried ("function-before[…]")
    location = [str(part) for part in first.get("loc", ()) if isinstance(part, int)
                or re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part)]
    if not location:  # the whole: not an object, or a rule between members
        if first["type"] in ("model_type", "dict_type", "model_attributes_type"):
            return "The body must be a JSON object."
        return first["msg"]
    said = _field_message(model, first["loc"][0] if first.get("loc") else None)
    if said is not None and len(location) == 1:
        return said
    name = ".".join(location) or "the body"
    if first["type"] == "string_pattern_mismatch" and first.get("ctx", {}).get(
            "pattern") == HHMM_PATTERN:
        return f"{name} must be a time HH:MM (00:00 to 23:59)"
    if first["type"] in ("iso_date", "whole_number"):
        return f"{name} {first['msg']}"
    phrase = _PHRASES.get(first["type"])
    if phrase is None:
        return f"{name}: {first['msg']}"
    try:
        return f"{name} {phrase.format(**first.get('ctx', {}))}"
    except (KeyError, IndexError):
        return f"{name}: {first['msg']}"
