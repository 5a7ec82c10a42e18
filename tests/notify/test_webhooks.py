"""Twilio's webhooks: delivery status callbacks and incoming SMS (退订 / STOP)."""

from datetime import date

from sqlalchemy import select

from core.extensions import db
from notify.dispatch import claim_next, record_sent
from notify.jobs import dispatch_outbox
from notify.models import SmsOptOut
from notify.outbox import is_opted_out, queue_sms
from notify.sender import SendResult
from tests.notify.helpers import book_couple, outbox

MONDAY_MORNING = "2026-06-01T10:00:00+08:00"
PHONE = "+8613800138000"


def _sent_message(twilio, set_now):
    set_now(MONDAY_MORNING)
    queue_sms(PHONE, "状态回调", "reminder")
    db.session.commit()
    dispatch_outbox()
    [row] = outbox()
    assert row.status == "sent" and row.twilio_sid == twilio.messages[0]["sid"]
    return row


def _status(sid, status, **extra):
    return {"MessageSid": sid, "MessageStatus": status, "SmsSid": sid, "SmsStatus": status,
            "AccountSid": "AC" + "5" * 32, "To": PHONE, "From": "+15005550006",
            "ApiVersion": "2010-04-01", **extra}


def test_a_signed_status_callback_updates_the_status(app, twilio, set_now, signed_post):
    row = _sent_message(twilio, set_now)
    response = signed_post("/sms/status", _status(row.twilio_sid, "delivered"))
    assert response.status_code == 204
    [row] = outbox()
    assert (row.status, row.provider_status) == ("delivered", "delivered")


def test_a_bad_or_missing_signature_gets_403(app, twilio, set_now, signed_post, client):
    row = _sent_message(twilio, set_now)
    assert signed_post("/sms/status", _status(row.twilio_sid, "delivered"),
                       valid=False).status_code == 403
    assert client.post("/sms/status", data=_status(row.twilio_sid, "delivered")).status_code == 403
    assert signed_post("/sms/status", _status(row.twilio_sid, "delivered"),
                       token="another-token").status_code == 403
    assert outbox()[0].status == "sent"


def test_the_signature_covers_the_public_url_not_the_internal_one(app, twilio, set_now, client):
    from twilio.request_validator import RequestValidator

    from tests.notify.conftest import AUTH_TOKEN

    row = _sent_message(twilio, set_now)
    form = _status(row.twilio_sid, "delivered")
    internal = RequestValidator(AUTH_TOKEN).compute_signature("http://localhost/sms/status", form)
    response = client.post("/sms/status", data=form, headers={"X-Twilio-Signature": internal})
    assert response.status_code == 403


def test_a_failed_delivery_keeps_twilio_s_error_code(app, twilio, set_now, signed_post):
    row = _sent_message(twilio, set_now)
    signed_post("/sms/status", _status(row.twilio_sid, "undelivered", ErrorCode="30003"))
    [row] = outbox()
    assert (row.status, row.error_code) == ("undelivered", "30003")


def test_late_callbacks_never_move_a_status_back(app, twilio, set_now, signed_post):
    row = _sent_message(twilio, set_now)
    signed_post("/sms/status", _status(row.twilio_sid, "delivered"))
    signed_post("/sms/status", _status(row.twilio_sid, "sent"))
    signed_post("/sms/status", _status(row.twilio_sid, "queued"))
    assert outbox()[0].status == "delivered"


def test_a_callback_before_the_send_is_recorded_is_not_lost(app, twilio, set_now, signed_post):
    set_now(MONDAY_MORNING)
    queue_sms(PHONE, "抢先回调", "reminder")
    db.session.commit()
    claim = claim_next()
    db.session.commit()
    ref = f"{claim.id}.{claim.attempts}"
    response = signed_post(f"/sms/status?m={ref}", _status("SM" + "a" * 32, "delivered"))
    assert response.status_code == 204
    record_sent(claim, "twilio", SendResult(sid="SM" + "a" * 32, provider_status="queued"))
    [row] = outbox()
    assert (row.status, row.twilio_sid, row.provider_status) == (
        "delivered", "SM" + "a" * 32, "delivered")


def test_a_callback_for_an_unknown_message_is_accepted_and_ignored(app, signed_post):
    assert signed_post("/sms/status", _status("SM" + "b" * 32, "delivered")).status_code == 204


def test_a_callback_without_sid_or_status_is_a_400(app, signed_post):
    assert signed_post("/sms/status", {"MessageStatus": "delivered"}).status_code == 400


def _inbound(signed_post, body, phone=PHONE):
    return signed_post("/sms/inbound", {"From": phone, "To": "+15005550006", "Body": body,
                                        "MessageSid": "SM" + "c" * 32})


def test_stop_opts_out_and_answers_twiml(app, signed_post):
    response = _inbound(signed_post, "退订")
    assert response.status_code == 200
    assert response.mimetype == "application/xml"
    text = response.get_data(as_text=True)
    assert text.startswith("<?xml") and "<Response><Message>" in text and "已退订" in text
    assert is_opted_out(PHONE)


def test_english_stop_gets_an_english_answer_and_start_opts_back_in(app, signed_post):
    assert "no more reminders" in _inbound(signed_post, "stop").get_data(as_text=True)
    assert is_opted_out(PHONE)
    assert "Reminders are on again" in _inbound(signed_post, " START ").get_data(as_text=True)
    assert not is_opted_out(PHONE)
    _inbound(signed_post, "TD")
    assert is_opted_out(PHONE)
    assert "恢复接收" in _inbound(signed_post, "订阅").get_data(as_text=True)
    assert not is_opted_out(PHONE)


def test_other_texts_change_nothing(app, signed_post):
    response = _inbound(signed_post, "你好，请问几点开门？")
    assert response.status_code == 200
    assert "<Message>" not in response.get_data(as_text=True)
    assert db.session.scalars(select(SmsOptOut)).all() == []


def test_inbound_needs_a_valid_signature(app, signed_post):
    assert signed_post("/sms/inbound", {"From": PHONE, "Body": "STOP"},
                       valid=False).status_code == 403
    assert not is_opted_out(PHONE)


def test_stop_drops_waiting_reminders_but_not_confirmations(app, twilio, set_now, signed_post):
    set_now(MONDAY_MORNING)
    queue_sms(PHONE, "提醒", "reminder")
    queue_sms(PHONE, "确认", "booking_confirmed")
    db.session.commit()
    _inbound(signed_post, "STOP")
    dispatch_outbox()
    assert [m["body"] for m in twilio.messages] == ["确认"]
    reminder = outbox(kind="reminder")[0]
    assert (reminder.status, reminder.error_code) == ("failed", "opted_out")


def test_stop_opts_out_of_reminders_but_not_of_booking_confirmations(app, offices, twilio,
                                                                     set_now, signed_post):
    from booking.reminders import queue_reminders

    set_now(MONDAY_MORNING)
    _inbound(signed_post, "退订", phone="+8613800138000")
    book_couple(date(2026, 6, 2), phones=("13800138000", "13900139000"))
    dispatch_outbox()
    confirmations = sorted(m["to"] for m in twilio.messages)
    assert confirmations == ["+8613800138000", "+8613900139000"]

    set_now("2026-06-01T18:30:00+08:00")
    assert queue_reminders() == "1 reminders queued for 1 appointments"
    dispatch_outbox()
    reminders = [m["to"] for m in twilio.messages if "提醒" in m["body"]]
    assert reminders == ["+8613900139000"]
