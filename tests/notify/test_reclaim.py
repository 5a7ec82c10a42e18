"""At most once across crashes: a message whose earlier attempt has no known outcome (its
dispatcher died holding the claim, or the answer never came back) is looked up at Twilio
before it is sent again. Found: recorded as sent with Twilio's SID. Not found: sent once.
Twilio cannot be asked: it waits for a later run rather than being sent blindly."""

import time
from datetime import datetime, timedelta

import pytest

from core.clock import utcnow
from core.extensions import db
from notify.dispatch import claim_next, deliver, status_callback_url
from notify.jobs import dispatch_outbox
from notify.outbox import queue_sms
from notify.sender import make_sender
from tests.notify.conftest import SENDER
from tests.notify.helpers import outbox, race_dispatchers

MONDAY_MORNING = "2026-06-01T10:00:00+08:00"
PHONE = "+8613800138000"
BODY = "【遂宁市婚姻登记中心】预约成功：6月2日 09:00，预约码 K7Q2M9"


@pytest.fixture(autouse=True)
def same_clock(app, twilio, set_now):
    """The stand-in's clock follows the app's pinned clock, as Twilio's and ours agree."""
    set_now(MONDAY_MORNING)
    twilio.clock = lambda: datetime.fromisoformat(app.config["FROZEN_NOW"]).timestamp()


def _later(seconds: float) -> str:
    return (utcnow() + timedelta(seconds=seconds)).isoformat()


def _queue(phone=PHONE, body=BODY, kind="booking_confirmed"):
    message = queue_sms(phone, body, kind)
    db.session.commit()
    return message


def _die_after_twilio_took_it(app):
    """A dispatcher claims the next message, Twilio accepts it, and the dispatcher is killed
    before it records anything."""
    claim = claim_next()
    db.session.commit()
    assert claim is not None
    make_sender(app.config).send(claim.id, claim.to_phone, claim.body, claim.kind,
                                 status_callback_url(claim))
    return claim


def _methods(twilio):
    return [r.method for r in twilio.requests]


def test_a_message_twilio_took_before_the_dispatcher_died_is_recorded_not_resent(
        app, twilio, set_now):
    message = _queue()
    _die_after_twilio_took_it(app)
    [accepted] = twilio.messages
    assert dispatch_outbox() == "nothing due"  # the dead dispatcher's lease still holds

    set_now(_later(61))
    assert dispatch_outbox() == "1 sent, 0 to retry, 0 failed"
    [row] = outbox()
    assert (row.id, row.status, row.twilio_sid, row.attempts) == (
        message.id, "sent", accepted["sid"], 2)
    assert row.provider_status == "sent"  # what Twilio's list says of it now
    assert row.backend == "twilio" and row.sent_at is not None
    assert _methods(twilio) == ["POST", "GET"]  # one send, one look-up
    [lookup] = twilio.lookups
    assert (lookup.query["To"], lookup.query["From"]) == (PHONE, SENDER)
    assert len(twilio.messages) == 1

    set_now(_later(3600))
    assert dispatch_outbox() == "nothing due"
    assert len(twilio.requests) == 2


def test_a_message_still_queued_at_twilio_is_found(app, twilio, set_now):
    """Twilio gives a queued message no date_sent: the look-up must not filter on it."""
    twilio.queue_seconds = 3600
    _queue()
    _die_after_twilio_took_it(app)
    set_now(_later(61))
    assert dispatch_outbox() == "1 sent, 0 to retry, 0 failed"
    [row] = outbox()
    assert (row.twilio_sid, row.provider_status) == (twilio.messages[0]["sid"], "queued")
    assert len(twilio.messages) == 1


def test_a_message_twilio_does_not_have_is_sent_once(app, twilio, set_now):
    _queue()
    claim = claim_next()  # the dispatcher dies before it reaches Twilio
    db.session.commit()
    assert claim is not None
    set_now(_later(61))
    assert dispatch_outbox() == "1 sent, 0 to retry, 0 failed"
    assert _methods(twilio) == ["GET", "POST"]
    [row] = outbox()
    assert row.twilio_sid == twilio.messages[0]["sid"]
    assert twilio.messages[0]["status_callback"].endswith(f"/sms/status?m={row.id}.2")

    set_now(_later(3600))
    assert dispatch_outbox() == "nothing due"
    assert len(twilio.messages) == 1


def test_the_same_text_sent_before_the_attempt_does_not_count(app, twilio, set_now):
    """An identical text to the same number from an hour earlier is another send."""
    sender = make_sender(app.config)
    sender.send(0, PHONE, BODY, "booking_confirmed")  # at 10:00, by another route
    set_now(_later(3600))
    _queue()
    claim_next()
    db.session.commit()
    set_now(_later(61))
    assert dispatch_outbox() == "1 sent, 0 to retry, 0 failed"
    assert len(twilio.messages) == 2
    [row] = outbox()
    assert row.twilio_sid == twilio.messages[1]["sid"]


def test_an_identical_text_recorded_for_another_message_is_not_taken(app, twilio, set_now):
    """Two outbox messages with the same text to one number: the first is sent and recorded;
    the second's dispatcher dies before sending. Twilio's list shows one such text, and it
    is the first's: the second is sent, once."""
    first = _queue()
    second = _queue()
    claim = claim_next()  # both are due: one dispatcher sends the first and records it
    db.session.commit()
    assert claim.id == first.id
    assert deliver(claim, make_sender(app.config)) == "sent"
    assert claim_next().id == second.id  # … and its dispatcher dies
    db.session.commit()

    set_now(_later(61))
    assert dispatch_outbox() == "1 sent, 0 to retry, 0 failed"
    rows = outbox()
    assert [r.status for r in rows] == ["sent", "sent"]
    assert len(twilio.messages) == 2
    assert {r.twilio_sid for r in rows} == {m["sid"] for m in twilio.messages}


def test_a_failed_look_up_is_retried_later_never_sent_blindly(app, twilio, set_now):
    _queue()
    _die_after_twilio_took_it(app)
    [accepted] = twilio.messages
    set_now(_later(61))
    twilio.fail_next(1, status=503)

    assert dispatch_outbox() == "0 sent, 1 to retry, 0 failed"
    [row] = outbox()
    assert (row.status, row.error_code, row.twilio_sid) == ("pending", "lookup", None)
    assert "20500" in row.error_message
    wait = (row.next_attempt_at - utcnow()).total_seconds()
    assert 0 < wait <= 60  # backoff, well within the hour
    assert _methods(twilio) == ["POST", "GET"]
    assert dispatch_outbox() == "nothing due"

    set_now(row.next_attempt_at.isoformat())
    assert dispatch_outbox() == "1 sent, 0 to retry, 0 failed"
    [row] = outbox()
    assert (row.status, row.twilio_sid, row.error_code) == ("sent", accepted["sid"], None)
    assert _methods(twilio) == ["POST", "GET", "GET"]
    assert len(twilio.messages) == 1


def test_a_look_up_that_cannot_reach_twilio_waits(app, twilio, set_now):
    _queue()
    claim_next()
    db.session.commit()
    twilio.stop()  # nothing listens any more
    set_now(_later(61))
    assert dispatch_outbox() == "0 sent, 1 to retry, 0 failed"
    [row] = outbox()
    assert (row.status, row.error_code) == ("pending", "lookup")
    assert "network" in row.error_message


def test_a_status_callback_while_the_dispatcher_was_dead_is_honoured(
        app, twilio, set_now, signed_post):
    message = _queue()
    claim = _die_after_twilio_took_it(app)
    [accepted] = twilio.messages
    callback = {"MessageSid": accepted["sid"], "MessageStatus": "delivered",
                "AccountSid": "AC" + "5" * 32, "To": PHONE, "From": SENDER}
    response = signed_post(f"/sms/status?m={message.id}.{claim.attempts}", callback)
    assert response.status_code == 204
    [row] = outbox()
    assert (row.status, row.twilio_sid, row.provider_status) == (
        "sending", accepted["sid"], "delivered")

    set_now(_later(61))
    assert dispatch_outbox() == "1 sent, 0 to retry, 0 failed"
    [row] = outbox()
    assert (row.status, row.twilio_sid, row.provider_status) == (
        "delivered", accepted["sid"], "delivered")
    assert row.claim_token is None and row.sent_at is not None
    assert _methods(twilio) == ["POST"]  # neither a look-up nor a second send


def test_an_answer_lost_on_the_way_back_is_not_sent_again(app, twilio, set_now):
    twilio.accept_then_drop(1)
    _queue()
    assert dispatch_outbox() == "0 sent, 1 to retry, 0 failed"
    [row] = outbox()
    assert (row.status, row.error_code) == ("pending", "network")
    [accepted] = twilio.messages

    set_now(_later(31))
    assert dispatch_outbox() == "1 sent, 0 to retry, 0 failed"
    [row] = outbox()
    assert (row.status, row.twilio_sid, row.attempts) == ("sent", accepted["sid"], 2)
    assert _methods(twilio) == ["POST", "GET"]


def test_a_callback_after_a_lost_answer_gives_the_sid(app, twilio, set_now, signed_post):
    twilio.accept_then_drop(1)
    message = _queue()
    dispatch_outbox()
    [accepted] = twilio.messages
    callback = {"MessageSid": accepted["sid"], "MessageStatus": "sent",
                "AccountSid": "AC" + "5" * 32, "To": PHONE, "From": SENDER}
    assert signed_post(f"/sms/status?m={message.id}.1", callback).status_code == 204
    set_now(_later(31))
    assert dispatch_outbox() == "1 sent, 0 to retry, 0 failed"
    [row] = outbox()
    assert (row.status, row.twilio_sid, row.provider_status) == ("sent", accepted["sid"], "sent")
    assert _methods(twilio) == ["POST"]


def test_a_definite_refusal_is_retried_without_a_look_up(app, twilio, set_now):
    twilio.fail_next(1, status=429, code=20429)
    _queue()
    assert dispatch_outbox() == "0 sent, 1 to retry, 0 failed"
    set_now(_later(31))
    assert dispatch_outbox() == "1 sent, 0 to retry, 0 failed"
    assert _methods(twilio) == ["POST", "POST"]


def test_racing_dispatchers_settle_dead_claims_once_each(app, twilio, set_now):
    """Ten claims left by a dead dispatcher, five of them already accepted by Twilio; three
    dispatchers then run at once: each message reaches Twilio exactly once in all."""
    for n in range(10):
        _queue(phone=f"+86138{n:08d}", body=f"通知 {n}", kind="reminder")
    sender = make_sender(app.config)
    claims = [claim_next() for _ in range(10)]
    db.session.commit()
    for claim in claims[:5]:
        sender.send(claim.id, claim.to_phone, claim.body, claim.kind, status_callback_url(claim))
    set_now(_later(61))
    twilio.delay = 0.01
    race_dispatchers(app)
    sent_to = sorted(m["to"] for m in twilio.messages)
    assert sent_to == sorted(f"+86138{n:08d}" for n in range(10))  # each exactly once
    rows = outbox()
    assert all(r.status == "sent" for r in rows)
    assert {r.twilio_sid for r in rows} == {m["sid"] for m in twilio.messages}


def test_a_timed_out_send_that_twilio_took_is_not_sent_again(app, twilio, set_now):
    app.config["SMS_HTTP_TIMEOUT_SECONDS"] = 0.3
    twilio.delay = 0.8  # Twilio takes it, after the dispatcher stopped waiting
    _queue()
    assert dispatch_outbox() == "0 sent, 1 to retry, 0 failed"
    assert outbox()[0].error_code == "timeout"
    deadline = time.monotonic() + 5
    while not twilio.messages and time.monotonic() < deadline:
        time.sleep(0.02)
    twilio.delay = 0
    set_now(_later(31))
    assert dispatch_outbox() == "1 sent, 0 to retry, 0 failed"
    assert len(twilio.messages) == 1
    assert outbox()[0].twilio_sid == twilio.messages[0]["sid"]


class TestConsoleBackend:
    @pytest.fixture
    def app_overrides(self):
        return {"SMS_BACKEND": "console"}

    def test_the_console_has_nothing_to_look_up_and_sends_once(self, app, twilio, set_now):
        _queue()
        claim_next()  # dies
        db.session.commit()
        set_now(_later(61))
        assert dispatch_outbox() == "1 sent, 0 to retry, 0 failed"
        [row] = outbox()
        assert (row.status, row.backend, row.attempts) == ("sent", "console", 2)
        assert twilio.requests == []
