"""Reading request input for the API: one place that turns bad input into a 422."""

from typing import TypeVar

from flask import request
from pydantic import BaseModel, ValidationError

from core.errors import InvalidRequest
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
