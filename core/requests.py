"""Reading request input: one place that turns bad input into a 422 (API) or a default /
a message (pages). docs/api.md §3.2: no input gives a 500.

- `query_args` / `body_of`: the API's query strings and bodies through their models.
- `whole_number`, `iso_month`, `iso_day`: numbers in ASCII digits within bounds, months
  and days with years from FIRST_YEAR to LAST_YEAR; ValueError otherwise, as int() and
  date.fromisoformat, whose place they take. `parse_int`, `parse_month`, `parse_day`: the
  same, None for what does not fit.
- Pages: `arg_page`, `arg_month`, `arg_day`, `arg_int` (query string) and `form_id` (a form
  field) give the value, None (or page 1) when absent, and raise `BadQuery` (400, a sentence
  saying what is expected) for anything else. `arg_next` / `local_path`: a `next=` that
  stays on this site.
- `register_input_guards`: NUL characters and JSON nested too deep, refused up front.
Route converters with bounds (ids, tokens, days in paths) are in core/converters.py; what
still escapes a view as OverflowError or a conversion's ValueError is answered by
core.errors as bad input."""

import re
from datetime import date
from typing import TypeVar
from urllib.parse import urlsplit

from flask import request
from flask_babel import gettext as _
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import BadRequest

from core.converters import FIRST_YEAR, LAST_YEAR  # the years any page shows
from core.errors import InvalidRequest
from core.i18n import N_
from core.schemas import describe

M = TypeVar("M", bound=BaseModel)


def json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidRequest("The body must be a JSON object.")
    return body


def query_args(model: type[M]) -> M:
    """The query string through `model` (the one the view declares with spec.validate): the
    first value of each name, an empty value counting as absent. 422 invalid_request with
    a sentence naming the parameter otherwise."""
    values = {name: value for name, value in request.args.items() if value != ""}
    try:
        return model.model_validate(values)
    except ValidationError as error:
        raise InvalidRequest(describe(error, model)) from None


def body_of(model: type[M]) -> M:
    """The JSON body through `model` (the one the view declares with spec.validate); 422
    invalid_request with a sentence naming the member otherwise."""
    body = json_body()
    try:
        return model.model_validate(body)
    except ValidationError as error:
        raise InvalidRequest(describe(error, model)) from None


# --- the pages' query parameters ----------------------------------------------------------

PAGE_MAX = 100_000
_DIGITS = re.compile(r"[0-9]{1,10}")  # ASCII only: "²".isdigit() is true, int("３") is 3
_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def whole_number(text: str, low: int = 1, high: int = 2**31 - 1) -> int:
    """Plain ASCII digits between low and high; ValueError otherwise. ("²".isdigit() is
    true and int("²") fails; int() takes "１２", " 12 ", "1_000" and numbers of any size.)"""
    if not _DIGITS.fullmatch(text or ""):
        raise ValueError(f"not a whole number of at most 10 digits: {(text or '')[:20]!r}")
    value = int(text)
    if not low <= value <= high:
        raise ValueError(f"not between {low} and {high}: {value}")
    return value


def iso_month(text: str, first_year: int = FIRST_YEAR, last_year: int = LAST_YEAR) -> date:
    """YYYY-MM with the year in first_year..last_year: the month's first day; ValueError
    otherwise. A drop-in for date(*map(int, text.split("-")), 1) inside `except ValueError`."""
    match = _MONTH.fullmatch(text or "")
    if match is None:
        raise ValueError(f"not a month YYYY-MM: {(text or '')[:20]!r}")
    year, month = int(match.group(1)), int(match.group(2))
    if not first_year <= year <= last_year:
        raise ValueError(f"not a year from {first_year} to {last_year}: {year}")
    return date(year, month, 1)  # ValueError for month 00 or 13


def iso_day(text: str, first_year: int = FIRST_YEAR, last_year: int = LAST_YEAR) -> date:
    """YYYY-MM-DD, a real day with the year in first_year..last_year; ValueError otherwise.
    A drop-in for date.fromisoformat (which also takes 0001-01-01, 9999-12-31 and 20260615),
    so that no later date arithmetic or time-zone conversion overflows."""
    if not _DAY.fullmatch(text or ""):
        raise ValueError(f"not a day YYYY-MM-DD: {(text or '')[:20]!r}")
    day = date.fromisoformat(text)
    if not first_year <= day.year <= last_year:
        raise ValueError(f"not a year from {first_year} to {last_year}: {day.year}")
    return day


def _or_none(parse, text, *bounds):
    try:
        return parse(text, *bounds) if text is not None else None
    except ValueError:
        return None


def parse_int(text: str | None, low: int = 1, high: int = 2**31 - 1) -> int | None:
    """whole_number, or None."""
    return _or_none(whole_number, text, low, high)


def parse_month(text: str | None, first_year: int = FIRST_YEAR,
                last_year: int = LAST_YEAR) -> date | None:
    """iso_month, or None."""
    return _or_none(iso_month, text, first_year, last_year)


def parse_day(text: str | None, first_year: int = FIRST_YEAR,
              last_year: int = LAST_YEAR) -> date | None:
    """iso_day, or None."""
    return _or_none(iso_day, text, first_year, last_year)


class BadQuery(BadRequest):
    """A page's query parameter (or a form's hidden field) that cannot be read: 400. Left
    alone it is the error page with its description; a view that can show its default view
    instead catches it, flashes the description and answers that view with 400."""


def _query_value(name: str, read, message: str, *bounds):
    raw = request.args.get(name, "")
    if raw == "":
        return None
    try:
        return read(raw, *bounds)
    except ValueError:
        raise BadQuery(_(message, name=name, value=raw[:20])) from None


def arg_int(name: str, low: int = 1, high: int = 2**31 - 1) -> int | None:
    """?name=N, N in low..high in ASCII digits; None when absent; BadQuery otherwise."""
    return _query_value(name, whole_number, _INT_MESSAGE, low, high)


def arg_page(name: str = "page") -> int:
    """?page=N, 1..PAGE_MAX in ASCII digits; 1 when absent; BadQuery otherwise."""
    return _query_value(name, whole_number, _PAGE_MESSAGE, 1, PAGE_MAX) or 1


def arg_month(name: str = "month") -> date | None:
    """?month=YYYY-MM (years FIRST_YEAR..LAST_YEAR); None when absent; BadQuery otherwise."""
    return _query_value(name, iso_month, _MONTH_MESSAGE)


def arg_day(name: str) -> date | None:
    """?name=YYYY-MM-DD (years FIRST_YEAR..LAST_YEAR); None when absent; BadQuery otherwise."""
    return _query_value(name, iso_day, _DAY_MESSAGE)


def form_id(name: str) -> int | None:
    """A row id in a form field (a hidden `ticket`, say): None when absent; BadQuery when it
    is not an id at all (a page that was tampered with, not a stale one)."""
    raw = request.form.get(name, "")
    if raw == "":
        return None
    try:
        return whole_number(raw)
    except ValueError:
        raise BadQuery(_(_INT_MESSAGE, name=name, value=raw[:20])) from None


# Message ids (translated in _query_value): what was wrong and what is expected.
_INT_MESSAGE = N_("参数 %(name)s 应为正整数：%(value)s")
_PAGE_MESSAGE = N_("页码应为 1 至 100000 之间的整数：%(value)s")
_MONTH_MESSAGE = N_("月份格式应为 YYYY-MM（2000 至 2100 年）：%(value)s")
_DAY_MESSAGE = N_("日期格式应为 YYYY-MM-DD（2000 至 2100 年）：%(value)s")


def arg_next(name: str = "next") -> str | None:
    """?next= for a redirect after the action: a path on this site, or None (absent, or
    another site: the caller goes to its default page). Control characters (a CR/LF would
    split the Location header) are a BadQuery."""
    target = request.args.get(name)
    if target and any(ord(char) < 0x20 or ord(char) == 0x7F for char in target):
        raise BadQuery(_("跳转地址 %(name)s 含有控制字符。", name=name))
    return local_path(target)


def local_path(target: str | None) -> str | None:
    """`next=` and other redirect targets: a path on this site ("/staff/…"), else None. No
    scheme or host, no "//" or "/\\" (which browsers read as another host), no control
    characters (a newline would split the Location header), at most 2000 characters."""
    if not target or len(target) > 2000 or not target.startswith("/"):
        return None
    if target.startswith(("//", "/\\")) or "\\" in target:
        return None
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


NUL_MARKERS = (b"\x00", b"%00", b"\\u0000")


def _has_nul(request_) -> bool:
    if "\x00" in request_.path or any(m in request_.query_string for m in NUL_MARKERS[:2]):
        return True
    if request_.content_length and request_.mimetype in ("application/json",
                                                         "application/x-www-form-urlencoded"):
        data = request_.get_data(cache=True)
        return any(marker in data for marker in NUL_MARKERS)
    return False


def register_input_guards(app) -> None:
    """Input no part of the application can store: NUL characters (PostgreSQL refuses them
    in text) and JSON nested too deep to parse. Refused up front with a clear 422 (API) or
    400 (pages), so no view meets them."""
    @app.before_request
    def refuse_unstorable_input():
        if _has_nul(request):
            if request.path.startswith("/api/"):
                raise InvalidRequest("The request contains a NUL character.")
            raise BadRequest("The request contains a NUL character.")
        if request.is_json and request.content_length:
            try:
                request.get_json(silent=True)
            except RecursionError:
                raise InvalidRequest("The JSON body is nested too deeply.") from None
