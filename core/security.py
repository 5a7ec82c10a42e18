"""Security headers, cookie flags, and caching: `Cache-Control: no-store` on every answer
but static files and the public answers of PUBLIC_ENDPOINTS (docs/api.md §3.1)."""

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface

from core.converters import TokenConverter

# Answers without personal data that anyone may cache (as they always could): the
# offices, the services, the calendars, seats free, the hall display, the public pages
# before a booking, the disclosure pages. Everything else (staff pages and API answers, the
# manage page /a/<token>, the booking confirmation, ticket status, answers by token, error
# pages) is no-store, unless its view chose a Cache-Control of its own (the hall display's
# `no-cache` with an ETag, docs/api.md §3.7). Only anonymous requests: a request with a
# session cookie or a bearer token may get a page that shows who is signed in.
PUBLIC_ENDPOINTS = frozenset({
    "static", "offices_pages.favicon",
    "offices_api.list_offices", "offices_api.list_services", "openapi.openapi_document",
    "hours_api.office_calendar", "booking_api.availability", "hallqueue_api.display",
    "offices_pages.home", "hours_pages.calendar", "booking.office_page",
    "booking.calendar_page", "booking.day_page", "hallqueue_pages.display_page",
    "feedback_public.office_info", "feedback_public.registrar_photo",
    "feedback_public.suggestion_counts",
})
NO_STORE = "no-store"
# Set on each answer that has not set them itself.
SECURITY_HEADERS = (
    ("Content-Security-Policy",
     "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
     "style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'; "
     "base-uri 'self'; form-action 'self'"),
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
)


def cacheable(app: Flask) -> bool:
    """May this request's answer be kept by a cache (public, and asked anonymously)?"""
    if request.endpoint not in PUBLIC_ENDPOINTS:
        return False
    if request.endpoint == "static":
        return True
    return ("Authorization" not in request.headers
            and app.config["SESSION_COOKIE_NAME"] not in request.cookies)


def by_secret() -> bool:
    """Reached through the secret of a link (a <token:…> segment, core.converters): whoever
    holds the URL may see it, so no cache keeps it (not even the browser's, on a shared PC)."""
    rule = request.url_rule
    return rule is not None and any(isinstance(converter, TokenConverter)
                                    for converter in rule._converters.values())


class CookieSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, except that a request bringing no session cookie
    (every API call, every anonymous page) starts an empty session without first building
    the cookie's signer, as Flask does on every request (about 2 % of a booking's CPU), and
    an answer with nothing in its session goes out without reading the cookie's settings."""

    def open_session(self, app, request_):
        name = self.get_cookie_name(app)
        if app.secret_key and not (name in request_.cookies and request_.cookies[name]):
            return self.session_class()
        return super().open_session(app, request_)

    def save_session(self, app, session, response) -> None:
        # An empty session nobody changed (every API call) writes no cookie; Flask reads
        # seven cookie settings before finding that out. The rest is Flask's.
        if not session and not session.modified:
            if session.accessed:
                response.vary.add("Cookie")
            return
        super().save_session(app, session, response)


def init_security(app: Flask) -> None:
    if app.config.get("ENV_NAME") == "production":
        app.config.setdefault("SESSION_COOKIE_SECURE", True)
        app.config["SESSION_COOKIE_SECURE"] = True
    app.session_interface = CookieSessionInterface()

    @app.after_request
    def security_headers(response):
        headers = response.headers
        # the names already there, read once: werkzeug's Headers answers `in` and
        # setdefault() by raising (and building) a BadRequestKeyError for each name absent
        present = {name.lower() for name, _value in headers}
        for name, value in SECURITY_HEADERS:
            if name.lower() not in present:
                headers.add(name, value)
        if by_secret() or ("cache-control" not in present and not cacheable(app)):
            headers["Cache-Control"] = NO_STORE
        return response
