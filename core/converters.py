"""Route converters with bounds (docs/api.md §3.2: no input gives a 500). A path segment that
does not fit is no route at all: 404 `not_found` (problem+json on the API, the error page
elsewhere), before any view or database sees it.

- `int` (app-wide, replacing werkzeug's): ASCII digits, 1..2^31-1, so that every id in a
  path fits a PostgreSQL `integer` and SQLite never meets a number too big for it.
- `token`: the secret of a link (/a/<token>, /t/<token>, …): URL-safe base64 characters,
  at most 64 of them. Answers to these routes are never cached (core.security), and their
  secrets are masked in the logs (config/log_masking.py; tests/robustness/test_access_log.py
  checks that it knows every route with this converter).
- `day`: a calendar day YYYY-MM-DD between 2000 and 2100; the view receives the text."""

from __future__ import annotations

import re
from datetime import date

from werkzeug.routing import BaseConverter, IntegerConverter, ValidationError

ID_MAX = 2**31 - 1  # PostgreSQL integer
TOKEN_PATTERN = r"[A-Za-z0-9_-]{1,64}"
FIRST_YEAR, LAST_YEAR = 2000, 2100


class BoundedInt(IntegerConverter):
    """`<int:x>`: 1..2^31-1 unless the rule says otherwise (`<int(min=0):x>`)."""

    def __init__(self, map, fixed_digits: int = 0, min: int | None = 1,  # noqa: A002
                 max: int | None = ID_MAX, signed: bool = False) -> None:  # noqa: A002
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)
        # no run of digits longer than the bound has: int() never reads an enormous number
        self.regex = r"\d{1,10}" if not signed else r"-?\d{1,10}"

    def to_python(self, value: str) -> int:
        if not value.isascii():  # \d matches other scripts' digits too ("٣", "３")
            raise ValidationError()
        return super().to_python(value)


class TokenConverter(BaseConverter):
    regex = TOKEN_PATTERN


class DayConverter(BaseConverter):
    """YYYY-MM-DD, a real day from FIRST_YEAR to LAST_YEAR; passed on as the text."""

    regex = r"\d{4}-\d{2}-\d{2}"

    def to_python(self, value: str) -> str:
        try:
            day = date.fromisoformat(value) if value.isascii() else None
        except ValueError:
            day = None
        if day is None or not FIRST_YEAR <= day.year <= LAST_YEAR:
            raise ValidationError()
        return value


CONVERTERS = {"int": BoundedInt, "token": TokenConverter, "day": DayConverter}

# How the OpenAPI document (core/openapi.py) describes a path parameter of each converter.
SCHEMAS = {
    "int": {"type": "integer", "minimum": 1, "maximum": ID_MAX},
    "token": {"type": "string", "pattern": f"^{TOKEN_PATTERN}$"},
    "day": {"type": "string", "format": "date"},
}
_VARIABLE = re.compile(r"<(?:([a-zA-Z_][a-zA-Z0-9_]*)(?:\([^)]*\))?:)?([a-zA-Z_][a-zA-Z0-9_]*)>")


def parameter_schemas(rule: str) -> dict[str, dict]:
    """{variable: its schema} for the variables of `rule` taken by these converters."""
    return {variable: dict(SCHEMAS[converter]) for converter, variable in _VARIABLE.findall(rule)
            if converter in SCHEMAS}


def register_converters(app) -> None:
    """Before any blueprint is registered: its rules are compiled with these."""
    app.url_map.converters.update(CONVERTERS)
