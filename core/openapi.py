"""/api/v1/openapi.json, generated from the routes and the models their views declare.

Each API view declares its query string, body and answers with `spec.validate` (spectree),
under its route and guards:

    @blueprint.get("/offices/<office_code>/calendar")
    @spec.validate(query=CalendarQuery, resp=answers(HTTP_200=Calendar, HTTP_404="not_found"),
                   tags=["public"])
    def office_calendar(office_code: str):
        '''An office's days: open or closed, hours, peak days, extended hours.'''
        office = find_office(office_code)
        args = query_args(CalendarQuery)  # validated where the old checks were

spectree reads the path and its parameters from Flask's URL rule, the operation's summary
from the view's docstring, and the schemas from the pydantic models (*/schemas.py). The
decorator only describes, it adds no work to a request: the view validates its input
through the same models itself (core.requests.query_args / body_of) at the point where it
always checked it — after the token, the office and the access checks, so that statuses
and codes stay what they were — and answers are not validated at run time
(tests/robustness/test_api_answers.py checks real answers against the document).

Features import `spec` and `answers` from here; this module imports no feature."""

from __future__ import annotations

import copy
import threading
from typing import Any

from flask import Blueprint, current_app
from spectree import Response, SpecTree
from spectree.plugins.flask_plugin import FlaskPlugin

from core.converters import parameter_schemas
from core.schemas import Problem

API_PREFIX = "/api/v1"
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
BEARER = {"bearer": []}

# Path parameters as the document names them (and describes them), whatever the view's
# argument is called: /offices/<office_code>/display is /offices/{office}/display.
PATH_PARAMETERS = {
    "office": ("office", "An office's code (GET /offices), e.g. chuanshan."),
    "office_code": ("office", "An office's code (GET /offices), e.g. chuanshan."),
    "window": ("window", "A window's number at the office, e.g. 1."),
    "window_number": ("window", "A window's number at the office, e.g. 1."),
    "ticket_id": ("id", "A ticket's id (its `id` when it was issued)."),
    "token": ("token", "The secret token of the appointment or ticket (its link)."),
    "code": ("code", "An appointment code, e.g. K7M2Q9XD."),
}

blueprint = Blueprint("openapi", __name__, url_prefix=API_PREFIX)


class _Describe(FlaskPlugin):
    """spectree's Flask plugin that describes and does nothing at run time (see above), and
    writes paths relative to the server /api/v1 with the parameter names of PATH_PARAMETERS."""

    def validate(self, func, query, json, form, headers, cookies, resp, before, after,
                 validation_error_status, skip_validation, force_resp_serialize,
                 *args: Any, **kwargs: Any):
        return func(*args, **kwargs)

    def parse_path(self, route, path_parameter_descriptions):
        path, parameters = super().parse_path(route, path_parameter_descriptions)
        if not path.startswith(API_PREFIX + "/"):
            raise ValueError(f"{route}: only {API_PREFIX} views are described")
        path = path[len(API_PREFIX):]
        bounded = parameter_schemas(str(route))  # core.converters: <int:…>, <token:…>
        for parameter in parameters:
            parameter["schema"] = bounded.get(parameter["name"], parameter["schema"])
            name, description = PATH_PARAMETERS.get(parameter["name"],
                                                    (parameter["name"], ""))
            path = path.replace("{" + parameter["name"] + "}", "{" + name + "}")
            parameter["name"] = name
            parameter["description"] = parameter["description"] or description
            if parameter["schema"] == {"type": "integer", "format": "int32"}:
                parameter["schema"] = {"type": "integer", "minimum": 0}  # werkzeug's int: \d+
            elif parameter["schema"] == {"type": "string"}:
                parameter["schema"] = {"type": "string", "pattern": "^[^/]+$"}  # a segment
        return path, parameters

    def get_func_operation_id(self, func, path, method):
        return f"{func.__module__.partition('.')[0]}.{func.__name__}"


class _Answers(Response):
    """spectree's Response whose error answers are application/problem+json and whose
    other media types (an SVG, an iCalendar file) are said."""

    def __init__(self, media: dict[int, str], **code_models: Any) -> None:
        super().__init__(**code_models)
        self.media = media

    def generate_spec(self, naming_strategy=None) -> dict[str, Any]:
        responses = super().generate_spec(naming_strategy or _model_name)
        for code, response in responses.items():
            if int(code) >= 400:
                response["content"] = {"application/problem+json": {"schema": PROBLEM_REF}}
            elif int(code) in self.media:
                response["content"] = {self.media[int(code)]: {"schema": {"type": "string"}}}
        return dict(sorted(responses.items()))


def answers(media: dict[int, str] | None = None, **codes: Any) -> Response:
    """`answers(HTTP_200=Model, HTTP_204="nothing to do", HTTP_404="not_found", …)`: a model
    (or (model, description)) for a JSON answer, a description for an answer without a body;
    an error status takes the codes it answers with, as its description (the body is always
    a Problem). `media={200: "image/svg+xml"}` says a non-JSON answer's media type.
    422 invalid_request is always possible (core.requests refuses NUL characters)."""
    code_models: dict[str, Any] = {"HTTP_422": "invalid_request"} | codes
    for key, value in code_models.items():
        if isinstance(value, str):
            code_models[key] = (Problem if int(key[5:]) >= 400 else None, value)
    return _Answers(media or {}, **code_models)


_model_classes: dict[str, type] = {}


def _model_name(model: type) -> str:
    """Components are named by class: two models of one name would be a mistake."""
    name = model.__name__
    known = _model_classes.setdefault(name, model)
    if known is not model:
        raise ValueError(f"two API models are named {name}: {known.__module__} and "
                         f"{model.__module__}")
    return name


class _Spec(SpecTree):
    _lock = threading.Lock()

    def document(self) -> dict:
        """spectree's document for the current app (its own generation consumes the models'
        nested definitions, so it works on a copy)."""
        with self._lock:
            saved = copy.deepcopy(self.models)
            try:
                return self._generate_spec()
            finally:
                self.models = saved


spec = _Spec(backend_name="flask", backend=_Describe, mode="strict", annotations=False,
             title="Xiyue 喜约 API", version="1.0.0",
             description="Marriage-registration appointments and hall queue. Errors are "
                         "application/problem+json (type, title, status, code, detail).",
             validation_error_model=Problem, naming_strategy=_model_name,
             nested_naming_strategy=lambda _parent, child: child, page_templates={})


def _references(value: Any) -> set[str]:
    if isinstance(value, dict):
        found = {value["$ref"].rpartition("/")[2]} if isinstance(value.get("$ref"), str) else set()
        return found.union(*(_references(item) for item in value.values()))
    if isinstance(value, list):
        return set().union(*(_references(item) for item in value))
    return set()


def build_document() -> dict:
    """The OpenAPI 3.1 document of the current app's API: spectree's, with each request
    body's schema written in place (its nested models stay components), the 401 and 403 of
    staff operations, and only the components something refers to."""
    generated = spec.document()
    components = generated["components"]["schemas"]
    paths: dict[str, dict] = {}
    for path, operations in sorted(generated["paths"].items()):
        for operation in operations.values():
            if not operation.get("description"):
                operation.pop("description", None)
            for parameter in operation.get("parameters", []):
                parameter["schema"].pop("title", None)
            for content in operation.get("requestBody", {}).get("content", {}).values():
                name = content["schema"]["$ref"].rpartition("/")[2]
                content["schema"] = copy.deepcopy(components[name])
            if operation.get("security"):
                responses = operation["responses"]
                for status, code in (("401", "unauthorized"), ("403", "forbidden")):
                    responses.setdefault(status, {"description": code, "content": {
                        "application/problem+json": {"schema": PROBLEM_REF}}})
                operation["responses"] = dict(sorted(responses.items()))
        paths[path] = dict(sorted(operations.items()))
    used, todo = {"Problem"}, _references(paths)
    while todo:
        name = todo.pop()
        if name not in used:
            used.add(name)
            todo |= _references(components[name])
    schemas = {name: components[name] for name in sorted(used)}
    document = {
        "openapi": "3.1.0",
        "info": generated["info"],
        "servers": [{"url": API_PREFIX}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "POST /auth/token"}},
        },
    }
    if generated.get("tags"):
        document["tags"] = sorted(generated["tags"], key=lambda tag: tag["name"])
    return document


@blueprint.get("/openapi.json")
def openapi_document():
    document = current_app.extensions.get("xiyue_openapi")
    if document is None:
        document = current_app.extensions["xiyue_openapi"] = build_document()
    return document
