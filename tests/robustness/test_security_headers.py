"""Security headers on pages and the API, and cookie flags in production."""

import pytest

from core.extensions import db
from staff.services import create_user

PAGES = ("/", "/book/robust", "/staff/login", "/display/robust", "/api/v1/offices",
         "/api/v1/appointments/unknown-token")


def _csp(value: str) -> dict[str, str]:
    out = {}
    for part in value.split(";"):
        name, _, rest = part.strip().partition(" ")
        if name:
            out[name] = rest.strip()
    return out


def test_headers_on_pages_and_api(app, robust_office, client):
    for url in PAGES:
        response = client.get(url)
        assert response.status_code < 500, url
        csp = _csp(response.headers.get("Content-Security-Policy", ""))
        assert csp.get("default-src") == "'self'", (url, csp)
        assert csp.get("frame-ancestors") == "'none'", url
        assert "'unsafe-inline'" not in csp.get("script-src", "'self'"), url
        assert "http:" not in response.headers["Content-Security-Policy"], url
        assert response.headers.get("X-Frame-Options") == "DENY", url
        assert response.headers.get("X-Content-Type-Options") == "nosniff", url
        assert response.headers.get("Referrer-Policy") in ("same-origin", "no-referrer",
                                                           "strict-origin-when-cross-origin")
        assert "Server" not in response.headers or "Python" not in response.headers["Server"]


def test_errors_do_not_show_internals(app, robust_office, client):
    for url in ("/api/v1/offices/robust/availability?service=marriage&days=abc",
                "/book/nowhere", "/api/v1/tickets/0/complete"):
        body = client.get(url).get_data(as_text=True)
        assert "Traceback" not in body and "sqlalchemy" not in body.lower(), url


class TestProduction:
    @pytest.fixture
    def app_overrides(self):
        from tests.robustness.test_production_settings import PRODUCTION

        # production refuses to start without its keys and shared rate-limit storage
        return {**PRODUCTION, "TESTING": False, "RATELIMIT_ENABLED": False}

    def test_session_cookie_is_secure_httponly_and_samesite(self, app, robust_office, client):
        assert not app.debug
        create_user("cookie-desk", "desk", "password-123", "robust")
        db.session.commit()
        answer = client.post("/staff/login", data={"username": "cookie-desk",
                                                   "password": "password-123"},
                             base_url="https://xiyue.example")
        assert answer.status_code == 302
        cookies = answer.headers.getlist("Set-Cookie")
        session = [c for c in cookies if c.startswith(app.config["SESSION_COOKIE_NAME"] + "=")]
        assert session, cookies
        flags = {part.strip().split("=")[0].lower() for part in session[0].split(";")}
        assert {"secure", "httponly", "samesite"} <= flags, session[0]
        assert "samesite=lax" in session[0].lower() or "samesite=strict" in session[0].lower()

    def test_production_needs_a_secret_key(self, database_url):
        from wsgi import create_app

        with pytest.raises(RuntimeError, match="SECRET_KEY"):
            create_app({"ENV_NAME": "production", "SECRET_KEY": None,
                        "SQLALCHEMY_DATABASE_URI": database_url})
