"""The secrets of links never reach gunicorn's logs (docs/deploy.md §2): the masking logger
of config/gunicorn.conf.py, run on requests to every route that has a <token:…> segment,
with the access-log format the deployment uses and with every atom gunicorn offers."""

import datetime
import logging
import re
import runpy
from types import SimpleNamespace

import pytest
import requests
from gunicorn.config import Config

from config.log_masking import MASK, MaskingLogger, mask_secrets
from core.converters import TokenConverter
from tests.conftest import PROJECT_ROOT
from tests.robustness.helpers import booking

SECRET = "Zq3-x_Y7pLm2Nv8Rt4Ws6Ub9Kc1Hd5Jf0Ga"  # the shape of secrets.token_urlsafe
CONFIG_FILE = PROJECT_ROOT / "config" / "gunicorn.conf.py"
EVERY_ATOM = " ".join(f"%({atom})s" for atom in "hlutrsmUqHbBfaTDMLp") + (
    " %({referer}i)s %({location}o)s %({raw_uri}e)s %({path_info}e)s")


def _token_rules(app) -> list[str]:
    return sorted({rule.rule for rule in app.url_map.iter_rules()
                   if any(isinstance(c, TokenConverter) for c in rule._converters.values())})


def _path(rule: str, token: str) -> str:
    values = {"office": "chuanshan", "window": "1", "day": "2026-06-15"}
    return re.sub(r"<(?:(\w+):)?(\w+)>",
                  lambda m: token if m.group(1) == "token" else values.get(m.group(2), "1"),
                  rule)


def _logger(access_format: str) -> tuple[MaskingLogger, list[str]]:
    config = Config()
    for name, value in runpy.run_path(str(CONFIG_FILE)).items():
        if name in config.settings:
            config.set(name, value)
    config.set("accesslog", None)  # no file: the lines are caught below
    config.set("access_log_format", access_format)
    logger = config.logger_class(config)
    lines: list[str] = []

    class Catch(logging.Handler):
        def emit(self, record):
            lines.append(record.getMessage())

    logger.access_log.handlers[:] = [Catch()]
    logger.error_log.handlers[:] = [Catch()]
    logger.cfg.set("accesslog", "-")  # access() writes only when an access log is set
    return logger, lines


def _access(logger: MaskingLogger, path: str, query: str = "") -> None:
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": path + ("?" + query if query else ""),
               "PATH_INFO": path, "QUERY_STRING": query, "SERVER_PROTOCOL": "HTTP/1.1",
               "REMOTE_ADDR": "127.0.0.1", "HTTP_REFERER": f"https://yuyue.example.gov.cn{path}",
               "HTTP_USER_AGENT": "test"}
    request = SimpleNamespace(headers=[("REFERER", environ["HTTP_REFERER"])])
    response = SimpleNamespace(status="302 FOUND", sent=12, headers=[("Location", path)])
    logger.access(response, request, environ, datetime.timedelta(microseconds=1500))


def test_the_gunicorn_configuration_uses_the_masking_logger():
    settings = runpy.run_path(str(CONFIG_FILE))
    config = Config()
    config.set("logger_class", settings["logger_class"])
    assert config.logger_class is MaskingLogger
    assert settings["accesslog"] == "-"
    run = (PROJECT_ROOT / "scripts" / "run.sh").read_text()
    assert "--config config/gunicorn.conf.py" in run and "--access-logfile" not in run


def test_the_token_routes_are_the_ones_the_masking_knows(app):
    rules = _token_rules(app)
    assert "/a/<token:token>" in rules and "/api/v1/appointments/<token:token>" in rules
    assert {"/t/<token:token>", "/rate/t/<token:token>", "/suggestions/t/<token:token>",
            "/api/v1/tickets/<token:token>"} <= set(rules)
    assert not [rule.rule for rule in app.url_map.iter_rules() if "token" in rule.arguments
                and rule.rule not in rules], "a token segment without the token converter"


@pytest.mark.parametrize("access_format", [
    runpy.run_path(str(CONFIG_FILE))["access_log_format"],
    '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"',  # gunicorn's default
    EVERY_ATOM,
])
def test_no_secret_in_the_access_log(app, access_format):
    logger, lines = _logger(access_format)
    for rule in _token_rules(app):
        path = _path(rule, SECRET)
        _access(logger, path, query=f"token={SECRET}&lang=en")
        line = lines[-1]
        assert SECRET not in line, (rule, line)
        assert MASK in line, (rule, line)
        assert path.replace(SECRET, MASK) in line or "%(r)s" not in access_format, line
    assert len(lines) == len(_token_rules(app))


def test_the_rest_of_the_line_stays_readable():
    logger, lines = _logger(runpy.run_path(str(CONFIG_FILE))["access_log_format"])
    _access(logger, "/api/v1/tickets/42/complete")
    _access(logger, "/book/chuanshan/marriage/2026-06-15", query="month=2026-07")
    assert '"GET /api/v1/tickets/42/complete HTTP/1.1" 302 12 1500µs' in lines[0]
    assert "GET /book/chuanshan/marriage/2026-06-15?month=2026-07 HTTP/1.1" in lines[1]
    assert MASK not in "".join(lines)


def test_the_error_log_is_masked_too():
    logger, lines = _logger("%(r)s")
    logger.exception("Error handling request %s", f"/a/{SECRET}/cancel")
    logger.error(f"Error handling request /t/{SECRET}")
    assert lines and not [line for line in lines if SECRET in line], lines


@pytest.mark.parametrize("text, masked", [
    (f"GET /a/{SECRET} HTTP/1.1", "GET /a/… HTTP/1.1"),
    (f"https://host.example/rate/t/{SECRET}?lang=en", "https://host.example/rate/t/…?lang=en"),
    (f"/api/v1/appointments/{SECRET}/qr.svg", "/api/v1/appointments/…/qr.svg"),
    ("/api/v1/tickets/17/transfer", "/api/v1/tickets/17/transfer"),  # an id, no secret
    ("/book/a/marriage", "/book/a/marriage"),  # "a" as an office code, not the manage link
    ("/suggestions/counts", "/suggestions/counts"),
    (f"/staff/x?token={SECRET}", "/staff/x?token=…"),
])
def test_mask_secrets(text, masked):
    assert mask_secrets(text) == masked


def test_the_application_log_masks_the_path(app, client, caplog):
    """core.errors logs the path of a request that failed: without the secret."""

    def boom(token):
        raise RuntimeError("a bug")

    app.view_functions["booking.manage_page"] = boom
    caplog.set_level(logging.WARNING)
    assert client.get(f"/a/{SECRET}").status_code == 500
    assert caplog.records and not [r for r in caplog.records if SECRET in r.getMessage()]


@pytest.mark.slow
def test_a_real_gunicorn_logs_no_secret(robust_office, live_server_for):
    """gunicorn itself, with the configuration's logger and format, serving a booking and
    its manage page, QR code and calendar file, and a ticket's status page."""
    from tests.robustness.helpers import SERVER_ENV

    settings = runpy.run_path(str(CONFIG_FILE))
    server = live_server_for(workers=1, env=SERVER_ENV | {"GUNICORN_CMD_ARGS": (
        f"--access-logfile - --logger-class {settings['logger_class']}")})
    made = requests.post(f"{server.url}/api/v1/appointments", json=booking(7), timeout=30)
    assert made.status_code == 201
    token = made.json()["token"]
    for path in (f"/a/{token}", f"/a/{token}/print", f"/api/v1/appointments/{token}",
                 f"/api/v1/appointments/{token}/qr.svg", f"/a/{token}/calendar.ics"):
        assert requests.get(server.url + path, timeout=30,
                            headers={"Referer": f"{server.url}/a/{token}"}).status_code == 200
    log = server.log()
    assert "GET /a/… HTTP/1.1" in log and "/api/v1/appointments/…/qr.svg" in log
    assert token not in log
