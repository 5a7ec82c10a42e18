"""Reading request input for the API: one place that turns bad input into a 422."""

from datetime import date

from flask import request

from core.errors import InvalidRequest


def json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidRequest("The body must be a JSON object.")
    return body


def parse_date(value: object, name: str) -> date:
    if not isinstance(value, str):
        raise InvalidRequest(f"{name} must be a date YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidRequest(f"{name} must be a date YYYY-MM-DD, not {value!r}") from None


def parse_hhmm(value: object, name: str) -> str:
    if not isinstance(value, str) or len(value) != 5 or value[2] != ":":
        raise InvalidRequest(f"{name} must be a time HH:MM")
    hour, minute = value[:2], value[3:]
    if not (hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60):
        raise InvalidRequest(f"{name} must be a time HH:MM, not {value!r}")
    return value


def int_arg(name: str, default: int, minimum: int, maximum: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidRequest(f"{name} must be a whole number") from None
    if not minimum <= value <= maximum:
        raise InvalidRequest(f"{name} must be between {minimum} and {maximum}")
    return value


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
    from werkzeug.exceptions import BadRequest

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
