"""Errors: problem+json on the API (docs/api.md §3), friendly pages everywhere else."""

import logging

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError, DBAPIError, InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

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
        log.warning("database refused a value on %s %s: %s", request.method, request.path,
                    type(error.orig).__name__)
        _discard_session()
        if wants_problem_json():
            return problem(422, "invalid_request", "A value in the request is not acceptable.")
        return render_template("errors/error.html", status=400,
                               message=_("请求中有无法处理的内容，请检查后重试。")), 400

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def handle_database_down(error: DBAPIError):
        # The database is unreachable or busy: say so, and let the pool reconnect on the next
        # request (pool_pre_ping) — no restart needed. The page is plain: rendering the
        # layout would ask the database for the logged-in user again.
        log.error("database unavailable on %s %s: %s", request.method, request.path,
                  type(error.orig).__name__)
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
        log.exception("unhandled error on %s %s", request.method, request.path)
        if wants_problem_json():
            return problem(500, "internal_error", "An unexpected error occurred.")
        return render_template("errors/error.html", status=500,
                               message=_("系统繁忙，请稍后再试。")), 500


def _discard_session() -> None:
    from core.extensions import db

    try:
        db.session.rollback()
    except Exception:  # the connection is gone; the pool will replace it
        log.debug("rollback after a database failure failed", exc_info=True)
