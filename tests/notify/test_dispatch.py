"""Sending the outbox through the real twilio client, against the local stand-in."""

import json
import logging
import os
import subprocess
import sys
from datetime import date, datetime, timedelta
from types import SimpleNamespace

import pytest

from core.clock import utcnow
from core.extensions import db
from notify.dispatch import claim_next, retry_delay
from notify.jobs import dispatch_outbox
from notify.messages import render
from notify.outbox import queue_sms
from tests.notify.cloud_doubles import start_double
from tests.notify.conftest import ACCOUNT_SID, PUBLIC_BASE_URL, SENDER
from tests.notify.helpers import book_couple, outbox, race_dispatchers

MONDAY_MORNING = "2026-06-01T10:00:00+08:00"
TUESDAY = date(2026, 6, 2)


def _queue(phone="+8613800138000", kind="booking_confirmed", body="测试短信"):
    message = queue_sms(phone, body, kind)
    db.session.commit()
    return message


def _later(seconds: float) -> str:
    return (utcnow() + timedelta(seconds=seconds)).isoformat()


def test_a_booking_sends_one_confirmation_to_each_applicant(app, offices, set_now, twilio):
    set_now(MONDAY_MORNING)
    appointment = book_couple(TUESDAY, phones=("138 0013 8000", "13900139000"))

    assert twilio.requests == []  # the booking itself never talks to Twilio
    assert dispatch_outbox() == "2 sent, 0 to retry, 0 failed"

    sent = twilio.messages
    assert sorted(m["to"] for m in sent) == ["+8613800138000", "+8613900139000"]
    for request in twilio.requests:
        assert request.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
        assert request.form["From"] == SENDER
        assert request.headers["Authorization"].startswith("Basic ")
        assert request.form["StatusCallback"].startswith(PUBLIC_BASE_URL + "/sms/status?m=")
        body = request.form["Body"]
        assert "遂宁市婚姻登记中心" in body and appointment.code in body
    rows = outbox()
    assert {(r.to_phone, r.status, r.kind, r.backend) for r in rows} == {
        ("+8613800138000", "sent", "booking_confirmed", "twilio"),
        ("+8613900139000", "sent", "booking_confirmed", "twilio")}
    assert {r.twilio_sid for r in rows} == {m["sid"] for m in sent}
    assert all(r.provider_status == "queued" and r.sent_at is not None for r in rows)

    assert dispatch_outbox() == "nothing due"
    assert len(twilio.requests) == 2


def test_an_english_booking_gets_english_texts(app, offices, set_now, twilio):
    set_now(MONDAY_MORNING)
    book_couple(TUESDAY, language="en")
    dispatch_outbox()
    bodies = [m["body"] for m in twilio.messages]
    assert len(bodies) == 2
    assert all(b.startswith("[Suining Marriage Registration Center] Booked:") for b in bodies)


def test_a_500_answer_is_retried_with_backoff_then_succeeds(app, set_now, twilio):
    set_now(MONDAY_MORNING)
    message = _queue()
    twilio.fail_next(1, status=500)

    assert dispatch_outbox() == "0 sent, 1 to retry, 0 failed"
    [row] = outbox()
    assert (row.status, row.attempts, row.error_code) == ("pending", 1, "20500")
    wait = (row.next_attempt_at - utcnow()).total_seconds()
    assert 20 <= wait <= 30  # the first retry: 30 s with a little jitter

    assert dispatch_outbox() == "nothing due"  # the backoff is respected
    assert len(twilio.requests) == 1

    set_now(_later(31))
    assert dispatch_outbox() == "1 sent, 0 to retry, 0 failed"
    [row] = outbox()
    assert (row.status, row.attempts, row.error_code, row.id) == ("sent", 2, None, message.id)
    # a 5xx does not prove Twilio refused it: Twilio is asked first (nothing there), then
    # the message is sent
    assert [(r.method, r.answered_status) for r in twilio.requests] == [
        ("POST", 500), ("GET", 200), ("POST", 201)]
    assert twilio.lookups[0].query["To"] == "+8613800138000"
    assert len(twilio.messages) == 1


def test_retries_back_off_exponentially_and_always_within_the_hour(app):
    delays = [retry_delay(n).total_seconds() for n in range(1, 12)]
    assert 24 <= delays[0] <= 30 and 48 <= delays[1] <= 60 and 96 <= delays[2] <= 120
    assert max(delays) <= 900 < 3600


def test_a_message_that_keeps_failing_is_given_up_after_max_attempts(app, set_now, twilio):
    app.config["SMS_MAX_ATTEMPTS"] = 4
    set_now(MONDAY_MORNING)
    _queue()
    twilio.fail_next(10, status=503)
    for _ in range(6):
        dispatch_outbox()
        set_now(_later(3600))
    [row] = outbox()
    # after the first 503 each attempt asks Twilio first, and that fails too: never a
    # blind second send
    assert (row.status, row.attempts, row.error_code) == ("failed", 4, "lookup")
    assert "20500" in row.error_message
    assert [r.method for r in twilio.requests] == ["POST", "GET", "GET", "GET"]


def test_a_21211_answer_is_final_and_recorded(app, set_now, twilio):
    set_now(MONDAY_MORNING)
    twilio.fail_number("+8613800138000", status=400, code=21211)
    _queue("+8613800138000")
    _queue("+8613900139000")

    assert dispatch_outbox() == "1 sent, 0 to retry, 1 failed"
    bad, good = outbox()
    assert (bad.status, bad.error_code, bad.attempts) == ("failed", "21211", 1)
    assert "not a valid phone number" in bad.error_message
    assert good.status == "sent"

    set_now(_later(6 * 3600))
    assert dispatch_outbox() == "nothing due"
    assert len(twilio.requests) == 2


@pytest.mark.parametrize("code", [21610, 21614])
def test_other_permanent_errors_are_final(app, set_now, twilio, code):
    set_now(MONDAY_MORNING)
    twilio.fail_next(1, status=400, code=code)
    _queue()
    dispatch_outbox()
    [row] = outbox()
    assert (row.status, row.error_code) == ("failed", str(code))


def test_21610_unsubscribed_opts_the_number_out(app, set_now, twilio):
    from notify.outbox import is_opted_out

    set_now(MONDAY_MORNING)
    twilio.fail_next(1, status=400, code=21610)
    _queue()
    dispatch_outbox()
    assert is_opted_out("+8613800138000")


def test_a_timeout_is_retried(app, set_now, twilio):
    app.config["SMS_HTTP_TIMEOUT_SECONDS"] = 0.5
    set_now(MONDAY_MORNING)
    _queue()
    twilio.delay = 2
    assert dispatch_outbox() == "0 sent, 1 to retry, 0 failed"
    [row] = outbox()
    assert (row.status, row.error_code) == ("pending", "timeout")

    twilio.delay = 0
    set_now(_later(60))
    assert dispatch_outbox().startswith("1 sent")


def test_a_refused_connection_is_retried(app, set_now, twilio):
    set_now(MONDAY_MORNING)
    _queue()
    twilio.stop()  # nothing listens on the port any more
    assert dispatch_outbox() == "0 sent, 1 to retry, 0 failed"
    [row] = outbox()
    assert (row.status, row.error_code) == ("pending", "network")


@pytest.fixture(params=["twilio", "aliyun", "tencent"])
def gateway(request, app, twilio):
    """The SMS provider the test sends through, with its stand-in: Twilio (the app's
    default in these tests), or Alibaba Cloud / Tencent Cloud through their SDKs.
    `gateway.sent_to()` is the number of every send request it received."""
    if request.param == "twilio":
        yield SimpleNamespace(name="twilio", double=twilio, config={},
                              sent_to=lambda: [r.form["To"] for r in twilio.requests])
        return
    double = start_double(request.param)
    app.config.update(double.app_config())
    try:
        yield SimpleNamespace(name=request.param, double=double, config=double.app_config(),
                              sent_to=lambda: double.sent_to)
    finally:
        double.stop()


def _notice(number: str) -> str:
    """A text every backend can send (the template providers need its parameters)."""
    return render("called", "zh_CN", office="遂宁市婚姻登记中心", number=number, window="2")


def test_two_dispatchers_racing_send_each_message_exactly_once(app, set_now, gateway):
    set_now(MONDAY_MORNING)
    phones = [f"+86138{n:08d}" for n in range(40)]
    for n, phone in enumerate(phones):
        queue_sms(phone, _notice(f"A{n}"), "called")
    db.session.commit()
    gateway.double.delay = 0.01
    summaries = race_dispatchers(app)

    assert sorted(gateway.sent_to()) == sorted(phones)  # each exactly once
    rows = outbox()
    assert all(r.status == "sent" and r.attempts == 1 for r in rows)
    assert len({r.twilio_sid for r in rows}) == 40
    sent_counts = [int(s.split()[0]) for s in summaries if "sent" in s]
    assert sum(sent_counts) == 40


DISPATCH_SCRIPT = """
import json, sys
from wsgi import create_app
app = create_app({"SQLALCHEMY_DATABASE_URI": sys.argv[1], "SMS_BACKEND": "twilio",
                  "TWILIO_ACCOUNT_SID": sys.argv[2], "TWILIO_AUTH_TOKEN": sys.argv[3],
                  "TWILIO_FROM": "+15005550006", "TWILIO_API_BASE_URL": sys.argv[4],
                  "SMS_RATE_PER_SECOND": 0, "FROZEN_NOW": sys.argv[5],
                  # the keys of the test's app: the outbox's numbers and texts are encrypted
                  "SECRET_KEY": sys.argv[6], **json.loads(sys.argv[7])})
with app.app_context():
    from notify.jobs import dispatch_outbox
    print(dispatch_outbox())
"""


def test_dispatcher_processes_racing_send_each_message_exactly_once(app, database_url,
                                                                      set_now, gateway):
    from tests.conftest import PROJECT_ROOT, TEST_SECRET
    from tests.notify.conftest import AUTH_TOKEN

    set_now(MONDAY_MORNING)
    phones = [f"+86137{n:08d}" for n in range(30)]
    for n, phone in enumerate(phones):
        queue_sms(phone, _notice(f"B{n}"), "called")
    db.session.commit()
    gateway.double.delay = 0.02
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    twilio_url = gateway.double.url if gateway.name == "twilio" else "http://127.0.0.1:9"
    processes = [subprocess.Popen(
        [sys.executable, "-c", DISPATCH_SCRIPT, database_url, ACCOUNT_SID, AUTH_TOKEN,
         twilio_url, MONDAY_MORNING, TEST_SECRET, json.dumps(gateway.config)],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in processes]
    assert all(p.returncode == 0 for p in processes), [err[-2000:] for _, err in outputs]

    assert sorted(gateway.sent_to()) == sorted(phones)
    assert all(r.status == "sent" and r.attempts == 1 for r in outbox())


def test_a_claim_whose_dispatcher_died_is_taken_again_after_its_lease(app, set_now, twilio):
    set_now(MONDAY_MORNING)
    _queue()
    claim = claim_next()  # a dispatcher claims it … and dies
    db.session.commit()
    assert claim is not None
    assert dispatch_outbox() == "nothing due"  # the lease still holds

    set_now(_later(61))
    assert dispatch_outbox() == "1 sent, 0 to retry, 0 failed"
    [row] = outbox()
    assert (row.status, row.attempts) == ("sent", 2)
    # its outcome was unknown: Twilio is asked first (it has nothing), then it is sent once
    assert [r.method for r in twilio.requests] == ["GET", "POST"]
    assert len(twilio.messages) == 1 and row.twilio_sid == twilio.messages[0]["sid"]


def test_the_rate_limit_paces_sends_per_sender(app, set_now, twilio):
    app.config["SMS_RATE_PER_SECOND"] = 5
    set_now(MONDAY_MORNING)
    for n in range(6):
        queue_sms(f"+86139{n:08d}", "限速", "reminder")
    db.session.commit()
    dispatch_outbox()
    stamps = sorted(r.received_at for r in twilio.requests)
    assert len(stamps) == 6
    # 6 sends at 5 per second are paced 1 s apart first to last (unpaced: about 0.05 s);
    # stamped on arrival, the first may arrive a little late (a new connection): 0.8 s
    assert stamps[-1] - stamps[0] >= 0.8


def test_missing_credentials_leave_messages_queued(app, set_now, twilio):
    app.config["TWILIO_AUTH_TOKEN"] = None
    set_now(MONDAY_MORNING)
    _queue()
    summary = dispatch_outbox()
    assert summary.startswith("not configured") and "TWILIO_AUTH_TOKEN" in summary
    assert outbox()[0].status == "pending"
    assert twilio.requests == []


def test_a_wrong_auth_token_is_retried_not_dropped(app, set_now, twilio):
    app.config["TWILIO_AUTH_TOKEN"] = "not-the-token"
    set_now(MONDAY_MORNING)
    _queue()
    dispatch_outbox()
    [row] = outbox()
    assert (row.status, row.error_code) == ("pending", "20003")


class TestConsoleBackend:
    @pytest.fixture
    def app_overrides(self):
        return {"SMS_BACKEND": "console"}

    def test_console_records_as_sent_and_logs_masked_phone_and_kind(self, app, set_now,
                                                                    twilio, caplog):
        set_now(MONDAY_MORNING)
        _queue("+8613800138000", kind="reminder", body="秘密正文ABC")
        with caplog.at_level(logging.INFO):
            assert dispatch_outbox() == "1 sent, 0 to retry, 0 failed"
        [row] = outbox()
        assert (row.status, row.backend, row.twilio_sid) == ("sent", "console", None)
        assert "+86138****8000" in caplog.text and "reminder" in caplog.text
        assert "秘密正文ABC" not in caplog.text and "13800138000" not in caplog.text
        assert twilio.requests == []


def test_a_retry_is_never_later_than_an_hour_after_the_failure(app, set_now, twilio):
    set_now(MONDAY_MORNING)
    _queue()
    twilio.fail_next(7, status=502)
    for _ in range(7):
        before = utcnow()
        dispatch_outbox()
        [row] = outbox()
        assert row.next_attempt_at - before <= timedelta(hours=1)
        set_now(row.next_attempt_at.isoformat())
    dispatch_outbox()
    assert outbox()[0].status == "sent"
    assert isinstance(outbox()[0].sent_at, datetime)
