"""The foundation: the factory, the office file, staff accounts and tokens, errors."""

import pathlib
import subprocess
import sys

import pytest
from sqlalchemy import select

from core.extensions import db
from offices.loader import OfficeFileError, load_offices, load_offices_file
from offices.models import Office, OfficeService, PeakDayRule, Service, Window
from tests.conftest import DEFAULT_OFFICES, PROJECT_ROOT

SUINING_OFFICES = {"suining", "chuanshan", "anju", "shehong", "pengxi", "daying"}


def test_wsgi_exports_create_app_and_app():
    result = subprocess.run(
        [sys.executable, "-c",
         "from wsgi import create_app, app; import flask; "
         "assert isinstance(app, flask.Flask); "
         "a = create_app({'TESTING': True, 'SQLALCHEMY_DATABASE_URI': 'sqlite://'}); "
         "print(a.config['TESTING'])"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("True")


def test_a_worker_freezes_its_start_up_heap():
    """gunicorn's workers import wsgi:app; what that made is frozen, so that the collector's
    full passes skip it (they paused workers for 100-200 ms under load)."""
    result = subprocess.run(
        [sys.executable, "-c", "import gc, wsgi; print(gc.get_freeze_count())"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.split()[-1]) > 10_000


def test_secret_key_is_required_in_production(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c",
         "from wsgi import create_app; create_app({'ENV_NAME': 'production'})"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_postgres_urls_get_the_psycopg_driver():
    from core.settings import database_url

    assert database_url("postgres://u@h/db", "/tmp").startswith("postgresql+psycopg://u@h/db")
    assert database_url("postgresql://u@h/db", "/tmp") == "postgresql+psycopg://u@h/db"
    assert database_url(None, "/tmp/inst").startswith("sqlite:////tmp/inst/")


def test_no_top_level_module_shadows_the_standard_library():
    shadows = [p.name for p in PROJECT_ROOT.iterdir()
               if p.stem in sys.stdlib_module_names
               and (p.suffix == ".py" or (p / "__init__.py").exists())]
    assert shadows == []


def _snapshot() -> dict:
    return {
        "offices": sorted(
            (o.code, o.name, o.slot_minutes, str(sorted(o.hours.items())))
            for o in db.session.scalars(select(Office))),
        "services": sorted((s.office.code, s.service_code, s.capacity, s.peak_capacity, s.active)
                           for s in db.session.scalars(select(OfficeService))),
        "windows": sorted((w.office.code, w.number, tuple(w.services), w.backup)
                          for w in db.session.scalars(select(Window))),
        "peaks": sorted((p.scope, p.code, tuple(p.dates), tuple(p.lunar), p.capacity_factor)
                        for p in db.session.scalars(select(PeakDayRule))),
        "catalogue": sorted(s.code for s in db.session.scalars(select(Service))),
    }


def test_default_offices_load_and_loading_twice_changes_nothing(app):
    load_offices_file(DEFAULT_OFFICES)
    first = _snapshot()
    report = load_offices_file(DEFAULT_OFFICES)
    assert _snapshot() == first
    assert set(report.offices_updated) == SUINING_OFFICES and not report.offices_created
    assert {code for code, *_ in first["offices"]} == SUINING_OFFICES
    assert first["catalogue"] == ["ceremony", "counseling", "divorce", "divorce-certificate",
                                  "marriage", "reissue"]
    chuanshan = db.session.scalar(select(Office).where(Office.code == "chuanshan"))
    assert chuanshan.hours["mon"] == ["09:00-12:00", "13:30-17:00"]
    assert chuanshan.capacity_for("marriage") == 6
    # counselling everywhere, ceremonies at the city centre (group ceremonies on peak days)
    offered = {code: set(db.session.scalar(select(Office).where(Office.code == code))
                         .service_codes) for code in SUINING_OFFICES}
    assert all("counseling" in services for services in offered.values())
    assert {code for code, services in offered.items() if "ceremony" in services} == {"suining"}
    suining = db.session.scalar(select(Office).where(Office.code == "suining"))
    assert (suining.capacity_for("ceremony"), suining.peak_capacity_for("ceremony")) == (2, 10)
    assert {p[1] for p in first["peaks"]} >= {"valentine", "520", "qixi"}


@pytest.mark.parametrize("bad, where", [
    ('[[offices]]\ncode = "x"\nname = "X"\nservices = ["wedding"]\n', "offices[0].services[0]"),
    ('[[offices]]\ncode = "x"\nname = "X"\nservices = ["marriage"]\n[offices.hours]\n'
     'mon = ["17:00-09:00"]\n', "offices[0].hours.mon[0]"),
    ('[[offices]]\ncode = "x"\nname = "X"\nservices = ["marriage"]\n[offices.hours]\n'
     'funday = ["09:00-12:00"]\n', "offices[0].hours.funday"),
    ('[[offices]]\ncode = "x"\nservices = ["marriage"]\n', "offices[0]: the key 'name'"),
    ('[[peak_days]]\ncode = "p"\nname = "P"\ndates = ["13-40"]\n', "peak_days[0].dates[0]"),
    ('[[offices]]\ncode = "x"\nname = = "X"\n', "line 3"),
])
def test_a_wrong_office_file_names_the_key_and_saves_nothing(app, bad, where):
    with pytest.raises(OfficeFileError) as error:
        load_offices(bad)
    assert where in str(error.value)
    assert db.session.scalars(select(Office)).all() == []


def test_offices_load_command(runner, app):
    result = runner.invoke(args=["offices", "load", str(DEFAULT_OFFICES)])
    assert result.exit_code == 0, result.output
    assert "6 office(s) created" in result.output
    bad = pathlib.Path(app.instance_path) / "bad.toml"
    bad.write_text('[[offices]]\ncode = "Bad Code"\nname = "X"\nservices = ["marriage"]\n')
    result = runner.invoke(args=["offices", "load", str(bad)])
    assert result.exit_code != 0
    assert "offices[0].code" in result.output and "Nothing was changed" in result.output


def test_public_offices_and_services(client, offices):
    body = client.get("/api/v1/offices").get_json()
    codes = [o["code"] for o in body["offices"]]
    assert set(codes) == SUINING_OFFICES
    office = next(o for o in body["offices"] if o["code"] == "chuanshan")
    assert set(office) >= {"code", "name", "address", "phone", "timezone", "services"}
    assert office["services"] == ["marriage", "divorce", "divorce-certificate", "reissue",
                                  "counseling"]
    services = {s["code"]: s for s in client.get("/api/v1/services").get_json()["services"]}
    assert services["marriage"]["name"] == "结婚登记" and services["marriage"]["applicants"] == 2
    assert services["divorce"]["applicants"] == 2
    assert services["divorce-certificate"]["applicants"] == 2
    assert services["reissue"]["applicants"] == 1
    assert (services["counseling"]["min_applicants"], services["counseling"]["applicants"]) == (
        1, 2)
    assert (services["ceremony"]["min_applicants"], services["ceremony"]["applicants"]) == (2, 2)


def test_users_create_then_token(runner, client, offices):
    result = runner.invoke(args=["users", "create", "wang", "--role", "desk",
                                 "--password", "s3cret-pass", "--office", "chuanshan"])
    assert result.exit_code == 0, result.output
    ok = client.post("/api/v1/auth/token", json={"username": "wang", "password": "s3cret-pass"})
    assert ok.status_code == 200
    body = ok.get_json()
    assert body["role"] == "desk" and len(body["token"]) >= 32 and body["expires_at"]

    wrong = client.post("/api/v1/auth/token", json={"username": "wang", "password": "nope"})
    assert wrong.status_code == 401
    assert wrong.mimetype == "application/problem+json"
    assert wrong.get_json()["code"] == "invalid_credentials"

    revoke = client.post("/api/v1/auth/revoke",
                         headers={"Authorization": f"Bearer {body['token']}"})
    assert revoke.status_code == 200
    again = client.post("/api/v1/auth/revoke",
                        headers={"Authorization": f"Bearer {body['token']}"})
    assert again.status_code == 401


def test_users_create_rejects_bad_input(runner, offices):
    result = runner.invoke(args=["users", "create", "li", "--role", "desk",
                                 "--password", "short"])
    assert result.exit_code != 0 and "at least 8" in result.output
    result = runner.invoke(args=["users", "create", "li", "--role", "desk",
                                 "--password", "long-enough", "--office", "nowhere"])
    assert result.exit_code != 0 and "unknown office" in result.output


def test_staff_endpoint_without_token_is_401_problem_json(client):
    response = client.post("/api/v1/auth/revoke")
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["code"] == "unauthorized" and body["status"] == 401
    assert set(body) >= {"type", "title", "status", "code", "detail"}


def test_malformed_json_is_422_invalid_request(client):
    response = client.post("/api/v1/auth/token", data="{not json",
                           content_type="application/json")
    assert response.status_code == 422
    assert response.get_json()["code"] == "invalid_request"


def test_unknown_api_path_is_problem_json_404_and_pages_get_html(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404 and response.get_json()["code"] == "not_found"
    page = client.get("/no-such-page")
    assert page.status_code == 404 and b"<html" in page.data


def test_openapi_is_served(client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    assert "/auth/token" in document["paths"] and "/offices" in document["paths"]


def test_staff_login_home_and_language_switch(client, runner, offices):
    runner.invoke(args=["users", "create", "boss", "--role", "admin", "--password", "admin-pass"])
    assert client.get("/staff/").status_code == 302
    page = client.post("/staff/login", data={"username": "boss", "password": "wrong-one"})
    assert "用户名或密码错误" in page.get_data(as_text=True)
    response = client.post("/staff/login", data={"username": "boss", "password": "admin-pass"})
    assert response.status_code == 302
    home = client.get("/staff/").get_data(as_text=True)
    assert "工作台" in home and "遂宁市船山区婚姻登记处" in home
    client.get("/lang/en")
    english = client.get("/").get_data(as_text=True)
    assert 'lang="en"' in english


def test_the_session_cookie_is_written_only_when_the_session_has_something(app):
    from flask import Response

    interface = app.session_interface

    def saved(session) -> Response:
        response = Response()
        interface.save_session(app, session, response)
        return response

    with app.test_request_context():
        untouched = saved(interface.session_class())  # every API call
        assert "Set-Cookie" not in untouched.headers and "Vary" not in untouched.headers
        read = interface.session_class()
        read.accessed = True  # as flask.session marks a session a view read
        assert saved(read).headers["Vary"] == "Cookie" and "Set-Cookie" not in saved(read).headers
        emptied = interface.session_class({"user": "1"})
        emptied.pop("user")
        assert saved(emptied).headers["Set-Cookie"].startswith("session=;")  # deleted
        signed_in = interface.session_class()
        signed_in["user"] = "1"  # modified and accessed, as a login leaves it
        kept = saved(signed_in)
        assert kept.headers["Set-Cookie"].startswith("session=ey")
        assert kept.headers["Vary"] == "Cookie"


@pytest.fixture
def app_overrides():
    return {}


def test_forms_need_csrf_tokens(database_url):
    from tests.conftest import make_app

    app = make_app(database_url, WTF_CSRF_ENABLED=True)
    with app.app_context():
        db.create_all()
        response = app.test_client().post("/staff/login",
                                          data={"username": "x", "password": "y"})
        assert response.status_code == 400
        assert "表单已过期" in response.get_data(as_text=True)
        db.engine.dispose()


def test_security_headers(client):
    response = client.get("/")
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
