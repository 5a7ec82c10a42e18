"""Errors: problem+json on the API (docs/api.md §3), friendly pages everywhere else."""

import logging
import os
import re

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    InterfaceError,
    OperationalError,
    StatementError,
)
from werkzeug.exceptions import HTTPException

from config.log_masking import mask_secrets

log = logging.getLogger(__name__)

# What a conversion of request input says when the input does not fit: int("²"),
# date(9999, 12, 32), date.fromisoformat("…"), "a-b-c".split("-") into two names, a
# newline in a header value (a redirect to ?next=…). Such a ValueError that escapes a view
# is the client's input, not a bug (docs/api.md §3.2: no input gives a 500); any other
# ValueError stays a 500. An OverflowError (a date past 9999, a number too big for the
# database driver) is always the input's.
INPUT_VALUE_ERROR = re.compile(
    r"invalid literal for int\(\)|could not convert string to|"
    r"integer string conversion|"
    r"year -?\d+ is out of range|month must be in|day is out of range|"
    r"Invalid isoformat string|does not match format|unconverted data remains|"
    r"values to unpack|"
    r"must not contain newline|header value|"
    r"codec can't (?:en|de)code", re.IGNORECASE)

API_PREFIX = "/api/"

# The stable machine code for each plain HTTP status the API can answer without a raise.
STATUS_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "invalid_request",
    415: "invalid_request",
    422: "invalid_request",
    429: "rate_limited",
}


class ApiError(Exception):
    """A failure a client can act on. Raised by services and views; rendered as problem+json."""

    def __init__(self, status: int, code: str, detail: str = "", title: str | None = None):
        super().__init__(detail or code)
        self.status = status
        self.code = code
        self.detail = detail
        self.title = title or code.replace("_", " ").capitalize()


class NotFound(ApiError):
    def __init__(self, detail: str = "Not found", code: str = "not_found"):
        super().__init__(404, code, detail)


class InvalidRequest(ApiError):
    def __init__(self, detail: str, code: str = "invalid_request"):
        super().__init__(422, code, detail)


def problem(status: int, code: str, detail: str = "", title: str | None = None):
    body = {
        "type": f"https://xiyue.example/problems/{code}",
        "title": title or code.replace("_", " ").capitalize(),
        "status": status,
        "code": code,
        "detail": detail,
    }
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


def wants_problem_json() -> bool:
    return request.path.startswith(API_PREFIX)


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def handle_api_error(error: ApiError):
        if wants_problem_json():
            return problem(error.status, error.code, error.detail, error.title)
        return render_template("errors/error.html", status=error.status,
                               message=error.detail or error.title), error.status

    @app.errorhandler(CSRFError)
    def handle_csrf(error: CSRFError):
        if wants_problem_json():
            return problem(400, "csrf_failed", error.description)
        return render_template("errors/error.html", status=400,
                               message=_("表单已过期，请刷新页面后重试。")), 400

    @app.errorhandler(HTTPException)
    def handle_http(error: HTTPException):
        status = error.code or 500
        if wants_problem_json():
            if status == 429:
                return problem(429, "rate_limited", "Too many requests; try again later.")
            code = STATUS_CODES.get(status, "error")
            return problem(status, code, error.description or "")
        message = error.description
        if message == type(error).description:  # werkzeug's English default: the heading says it
            message = ""
        return render_template("errors/error.html", status=status, message=message), status

    @app.errorhandler(DataError)
    def handle_data_error(error: DataError):
        # A value the database cannot take (out of range, malformed): the client's input.
        log.warning("database refused a value on %s: %s", _where(), type(error.orig).__name__)
        return _bad_value()

    @app.errorhandler(OverflowError)
    @app.errorhandler(ValueError)
    def handle_bad_value(error: ValueError | OverflowError):
        # A number or date out of range, a character a conversion cannot read: the input.
        # Its text may hold what was typed (an ID number, say): only the kind is logged.
        if not is_input_error(error):
            return handle_unexpected(error)
        log.warning("a value in the request could not be read on %s: %s at %s", _where(),
                    type(error).__name__, _raised_at(error))
        return _bad_value()

    @app.errorhandler(StatementError)
    def handle_statement_error(error: StatementError):
        # A parameter the driver or a column type could not convert (a date before year 1
        # once moved to UTC, a number too big for SQLite): the input, as above.
        if is_input_error(error.orig):
            log.warning("a value in the request could not be stored or compared on %s: %s at "
                        "%s", _where(), type(error.orig).__name__, _raised_at(error))
            return _bad_value()
        return handle_unexpected(error)

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def handle_database_down(error: DBAPIError):
        # The database is unreachable or busy: say so, and let the pool reconnect on the next
        # request (a connection the server closed is replaced at checkout:
        # core.database) — no restart needed. The page is plain: rendering the
        # layout would ask the database for the logged-in user again.
        log.error("database unavailable on %s: %s", _where(), type(error.orig).__name__)
        _discard_session()
        if wants_problem_json():
            response = problem(503, "service_unavailable",
                               "The database is unavailable; try again shortly.")
        else:
            response = app.make_response((
                "<!doctype html><html lang=zh-CN><meta charset=utf-8><title>503</title>"
                "<p>系统暂时无法访问数据库，请稍后再试。The service is briefly unavailable; "
                "please try again shortly.</p></html>", 503))
        response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(DBAPIError)
    def handle_lost_connection(error: DBAPIError):
        # the connection died under the statement (the server went away mid-request)
        if error.connection_invalidated:
            return handle_database_down(error)
        return handle_unexpected(error)

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception):
        log.exception("unhandled error on %s", _where())
        if wants_problem_json():
            return problem(500, "internal_error", "An unexpected error occurred.")
        return render_template("errors/error.html", status=500,
                               message=_("系统繁忙，请稍后再试。")), 500


def is_input_error(error: BaseException) -> bool:
    if isinstance(error, OverflowError):
        return True
    return isinstance(error, ValueError) and bool(INPUT_VALUE_ERROR.search(str(error)))


def _bad_value():
    _discard_session()
    if wants_problem_json():
        return problem(422, "invalid_request", "A value in the request is not acceptable.")
    return render_template("errors/error.html", status=400,
                           message=_("请求中有无法处理的内容，请检查后重试。")), 400


def _where() -> str:
    """The request for a log line: its method and path, the secrets of links masked."""
    return f"{request.method} {mask_secrets(request.path)}"


def _raised_at(error: BaseException) -> str:
    """path:line of the innermost frame of the application's own code in the traceback."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
    where, traceback = "?", error.__traceback__
    while traceback is not None:
        filename = traceback.tb_frame.f_code.co_filename
        if filename.startswith(root) and os.sep + "site-packages" + os.sep not in filename:
            where = f"{filename[len(root):]}:{traceback.tb_lineno}"
        traceback = traceback.tb_next
    return where


def _discard_session() -> None:
    from core.extensions import db

    try:
        db.session.rollback()
    except Exception:  # the connection is gone; the pool will replace it
        log.debug("rollback after a database failure failed", exc_info=True)
