"""SMS_BACKEND=aliyun and tencent: the real SDKs against the local stand-ins
(tests/notify/cloud_doubles.py). Every test runs for both providers."""

from datetime import date, datetime, timedelta
from types import SimpleNamespace

import pytest

from core.clock import utcnow
from core.extensions import db
from notify.dispatch import claim_next
from notify.jobs import dispatch_outbox
from notify.messages import render
from notify.outbox import queue_sms
from notify.sender import make_sender
from tests.notify.cloud_doubles import SIGN_NAMES as SIGN
from tests.notify.cloud_doubles import TEMPLATES, start_double
from tests.notify.helpers import book_couple, outbox, race_dispatchers

MONDAY_MORNING = "2026-06-01T10:00:00+08:00"
TUESDAY = date(2026, 6, 2)
PUBLIC_BASE_URL = "https://xiyue.example.gov.cn"
RECEIPT_TOKEN = "receipt-secret-0123456789"
FINAL = {"aliyun": "isv.MOBILE_NUMBER_ILLEGAL",
         "tencent": "InvalidParameterValue.IncorrectPhoneNumber"}
FLOW_CONTROL = {"aliyun": "isv.BUSINESS_LIMIT_CONTROL",
                "tencent": "LimitExceeded.PhoneNumberOneHourLimit"}


@pytest.fixture(params=["aliyun", "tencent"])
def provider(request):
    double = start_double(request.param)
    yield double
    double.stop()


@pytest.fixture
def app_overrides(provider) -> dict:
    assert provider.app_config()["SMS_TEMPLATES"] is TEMPLATES
    return provider.app_config() | {"PUBLIC_BASE_URL": PUBLIC_BASE_URL,
                                    "SMS_RATE_PER_SECOND": 0,
                                    "SMS_RECEIPT_TOKEN": RECEIPT_TOKEN}


@pytest.fixture(autouse=True)
def same_clock(app, provider, set_now):
    """The stand-in's clock follows the app's pinned clock."""
    set_now(MONDAY_MORNING)
    provider.clock = lambda: datetime.fromisoformat(app.config["FROZEN_NOW"]).timestamp()


def _later(seconds: float) -> str:
    return (utcnow() + timedelta(seconds=seconds)).isoformat()


def _queue(phone="+8613800138000", number="J007"):
    message = queue_sms(phone, render("called", "zh_CN", office="遂宁市婚姻登记中心",
                                      number=number, window="3"), "called")
    db.session.commit()
    return message


def test_a_booking_confirmation_reaches_each_phone_once_with_signature_and_template(
        app, offices, provider):
    appointment = book_couple(TUESDAY, phones=("138 0013 8000", "13900139000"))
    assert dispatch_outbox() == "2 sent, 0 to retry, 0 failed"

    messages = provider.messages
    assert sorted(m["to"] for m in messages) == ["+8613800138000", "+8613900139000"]
    assert {m["sign"] for m in messages} == {SIGN[provider.name]}
    assert {m["template"] for m in messages} == {"SMS_1001"}
    params = messages[0]["params"]
    if provider.name == "tencent":  # {1} … in the order of the Chinese text
        assert params[0] == "遂宁市婚姻登记中心" and params[-1] == f"a/{appointment.token}"
        assert appointment.code in params
    else:
        assert params["code"] == appointment.code
        assert params["link"] == f"a/{appointment.token}"  # the origin is in the template
        assert params["date"] == "2026-06-02" and params["start"] == "09:00"
    rows = outbox()
    assert {(r.status, r.backend) for r in rows} == {("sent", provider.name)}
    assert {r.twilio_sid for r in rows} == {m["id"] for m in messages}
    assert {m["ref"] for m in messages} == {str(r.id) if provider.name == "aliyun"
                                            else f"xiyue:{r.id}" for r in rows}


def test_an_english_booking_uses_the_english_template(app, offices, provider):
    book_couple(TUESDAY, language="en")
    dispatch_outbox()
    assert {m["template"] for m in provider.messages} == {"SMS_1002"}


def test_a_500_is_retried_and_the_phone_gets_exactly_one_accepted_send(
        app, provider, set_now):
    provider.fail_next(1, status=500)
    _queue()
    assert dispatch_outbox() == "0 sent, 1 to retry, 0 failed"
    [row] = outbox()
    assert row.status == "pending" and row.error_code
    # the 500 leaves the outcome open: the provider's status query is asked first
    set_now(_later(400))
    assert dispatch_outbox() == "1 sent, 0 to retry, 0 failed"
    assert len(provider.lookups) >= 1
    assert len(provider.messages) == 1
    assert outbox()[0].twilio_sid == provider.messages[0]["id"]


def test_a_send_the_provider_took_before_the_answer_was_lost_is_not_sent_again(
        app, provider, set_now):
    provider.accept_then_drop(1)
    _queue()
    assert dispatch_outbox() == "0 sent, 1 to retry, 0 failed"
    assert len(provider.messages) == 1
    set_now(_later(400))
    assert dispatch_outbox() == "1 sent, 0 to retry, 0 failed"
    assert len(provider.messages) == 1  # found by its status query, not sent twice
    [row] = outbox()
    assert row.status in ("sent", "delivered")


def test_a_final_error_is_not_retried(app, provider, set_now):
    provider.fail_number("+8613800138000", FINAL[provider.name])
    _queue()
    assert dispatch_outbox() == "0 sent, 0 to retry, 1 failed"
    set_now(_later(3600))
    assert dispatch_outbox() == "nothing due"
    [row] = outbox()
    assert (row.status, row.error_code) == ("failed", FINAL[provider.name])
    assert len(provider.sends) == 1 and provider.lookups == []


def test_flow_control_is_retried_later_without_a_look_up(app, provider, set_now):
    provider.fail_number("+8613800138000", FLOW_CONTROL[provider.name])
    _queue()
    assert dispatch_outbox() == "0 sent, 1 to retry, 0 failed"
    provider.clear()
    provider.clock = lambda: datetime.fromisoformat(app.config["FROZEN_NOW"]).timestamp()
    set_now(_later(3700))
    assert dispatch_outbox() == "1 sent, 0 to retry, 0 failed"
    assert provider.lookups == [] and len(provider.messages) == 1


def test_a_kind_without_a_template_is_not_sent_and_the_outbox_says_so(
        app, provider, client, staff_headers):
    queue_sms("+8613800138000", render("hours_extended", "zh_CN", office="遂宁", until="19:00"),
              "hours_extended")
    queue_sms("+8613800138001", "自由文本", "called")  # no parameters: a provider cannot
    db.session.commit()
    assert dispatch_outbox() == "0 sent, 0 to retry, 2 failed"
    assert [r.error_code for r in outbox()] == ["no_template", "no_params"]
    assert provider.requests == []


def _receipt(provider, row, delivered=True, phone="13800138000"):
    if provider.name == "aliyun":
        return [{"phone_number": phone, "send_time": "2026-06-01 10:00:00",
                 "report_time": "2026-06-01 10:00:05", "success": delivered,
                 "err_code": "DELIVERED" if delivered else "MK:0001",
                 "err_msg": "用户接收成功", "sms_size": "1", "biz_id": row.twilio_sid,
                 "out_id": str(row.id)}]
    return [{"user_receive_time": "2026-06-01 10:00:05", "nationcode": "86",
             "mobile": phone, "report_status": "SUCCESS" if delivered else "FAIL",
             "errmsg": "DELIVRD" if delivered else "MK:0001",
             "description": "用户短信送达成功", "sid": row.twilio_sid,
             "ext": f"xiyue:{row.id}"}]  # SessionContext (the account must ask for it)


def test_a_receipt_updates_the_status(app, provider, client):
    _queue()
    _queue(phone="+8613900139000", number="J008")
    dispatch_outbox()
    first, second = outbox()
    path = f"/sms/receipts/{provider.name}/{RECEIPT_TOKEN}"
    answer = client.post(path, json=_receipt(provider, first))
    assert answer.status_code == 200
    assert answer.get_json() in ({"code": 0, "msg": "接收成功"}, {"result": 0, "errmsg": "OK"})
    client.post(path, json=_receipt(provider, second, delivered=False, phone="13900139000"))
    first, second = outbox()
    assert (first.status, first.provider_status) == ("delivered", "delivered")
    assert (second.status, second.error_code) == ("undelivered", "MK:0001")


def test_a_receipt_needs_the_secret_and_the_messages_number(app, provider, client):
    _queue()
    dispatch_outbox()
    [row] = outbox()
    assert client.post(f"/sms/receipts/{provider.name}/wrong",
                       json=_receipt(provider, row)).status_code == 404
    client.post(f"/sms/receipts/{provider.name}/{RECEIPT_TOKEN}",
                json=_receipt(provider, row, phone="13700137000"))
    assert outbox()[0].status == "sent"


def test_a_receipt_while_the_send_is_unrecorded_stops_a_second_send(app, provider, client,
                                                                    set_now):
    _queue()
    claim = claim_next()  # the dispatcher claims it, the provider takes it, the dispatcher dies
    db.session.commit()
    result = make_sender(app.config).send(claim.id, claim.to_phone, claim.body, claim.kind,
                                          params=claim.params)
    sent = SimpleNamespace(id=claim.id, twilio_sid=result.sid)  # what the receipt carries
    client.post(f"/sms/receipts/{provider.name}/{RECEIPT_TOKEN}", json=_receipt(provider, sent))
    set_now(_later(61))
    assert dispatch_outbox() == "1 sent, 0 to retry, 0 failed"
    assert len(provider.messages) == 1 and provider.lookups == []
    assert outbox()[0].status == "delivered"


def test_two_dispatchers_racing_send_each_message_exactly_once(app, provider):
    phones = [f"+86138{n:08d}" for n in range(30)]
    for n, phone in enumerate(phones):
        queue_sms(phone, render("called", "zh_CN", office="遂宁", number=f"A{n}", window="1"),
                  "called")
    db.session.commit()
    provider.delay = 0.01
    race_dispatchers(app)
    assert sorted(m["to"] for m in provider.messages) == sorted(phones)  # each exactly once
    rows = outbox()
    assert all(r.status == "sent" and r.attempts == 1 for r in rows)
    assert len({r.twilio_sid for r in rows}) == 30


def test_racing_dispatchers_settle_dead_claims_once_each(app, provider, set_now):
    """Ten claims left by a dead dispatcher, five of them already taken by the provider;
    three dispatchers then run at once: each message reaches the provider exactly once."""
    for n in range(10):
        _queue(phone=f"+86138{n:08d}", number=f"B{n}")
    sender = make_sender(app.config)
    claims = [claim_next() for _ in range(10)]
    db.session.commit()
    for claim in claims[:5]:
        sender.send(claim.id, claim.to_phone, claim.body, claim.kind, params=claim.params)
    set_now(_later(400))
    provider.delay = 0.01
    race_dispatchers(app)
    assert sorted(m["to"] for m in provider.messages) == sorted(
        f"+86138{n:08d}" for n in range(10))
    assert {r.status for r in outbox()} <= {"sent", "delivered"}


def test_missing_keys_leave_messages_queued(app, provider):
    app.config["SMS_TEMPLATES"] = "{not json"
    _queue()
    assert "cannot send" in dispatch_outbox() or outbox()[0].status == "pending"
    assert outbox()[0].status == "pending" and provider.requests == []


def test_receipts_may_be_limited_to_the_providers_addresses(app, provider, client):
    _queue()
    dispatch_outbox()
    [row] = outbox()
    path = f"/sms/receipts/{provider.name}/{RECEIPT_TOKEN}"
    app.config["SMS_RECEIPT_ALLOWED_IPS"] = ["203.0.113.0/24"]
    assert client.post(path, json=_receipt(provider, row)).status_code == 403
    app.config["SMS_RECEIPT_ALLOWED_IPS"] = "203.0.113.0/24, 127.0.0.1"
    assert client.post(path, json=_receipt(provider, row)).status_code == 200
    assert outbox()[0].status == "delivered"
    assert client.post(path, data="not json").status_code == 400


def test_flask_sms_templates_prints_what_to_register(app, provider, runner):
    result = runner.invoke(args=["sms", "templates", "--provider", provider.name,
                                 "--language", "both"])
    assert result.exit_code == 0, result.output
    if provider.name == "aliyun":
        assert ("${office}：您已预约${date} ${start}办理${service}，预约码${code}。"
                f"请携带身份证件按时到场，免费办理。管理预约：{PUBLIC_BASE_URL}/${{link}}"
                in result.output)
    else:
        assert "{1}：请{2}号到{3}号窗口办理。" in result.output
        assert "tencent 其他号码, at most 12 characters" in result.output
    assert "== booking_confirmed (en) [XIYUE_SMS_TEMPLATES: SMS_1002]" in result.output
    assert "== hours_extended (zh_CN) [XIYUE_SMS_TEMPLATES: not set, not sent]" in result.output
    assert "【" not in result.output and "sms_help" not in result.output


def test_every_text_can_be_registered_with_both_providers():
    """Each kind's template text names every parameter once, holds no 【】, and its
    parameters are known (their types and lengths are printed for registration)."""
    from notify.messages import PARAMETERS, REPLY_KINDS, TEXTS, parameters, provider_template

    for kind in set(TEXTS) - REPLY_KINDS:
        for language in ("zh_CN", "en"):
            names = parameters(kind, language)
            assert set(names) <= set(PARAMETERS), kind
            aliyun = provider_template(kind, language, "aliyun", PUBLIC_BASE_URL)
            assert all(aliyun.count("${" + name + "}") == 1 for name in names), kind
            assert "【" not in aliyun and not aliyun.startswith("[")
            tencent = provider_template(kind, language, "tencent", PUBLIC_BASE_URL)
            assert all(f"{{{n}}}" in tencent for n in range(1, len(names) + 1)), kind


def test_the_outbox_page_shows_receipts_and_why_a_message_was_not_sent(app, provider, client):
    from tests.notify.test_admin import _login

    _queue()
    queue_sms("+8613900139000", render("hours_extended", "zh_CN", office="遂宁", until="19:00"),
              "hours_extended")
    db.session.commit()
    dispatch_outbox()
    delivered = outbox()[0]
    client.post(f"/sms/receipts/{provider.name}/{RECEIPT_TOKEN}",
                json=_receipt(provider, delivered))
    _login(client, "admin")
    page = client.get("/staff/sms").get_data(as_text=True)
    assert "已送达" in page and delivered.twilio_sid in page
    assert {"aliyun": "阿里云短信", "tencent": "腾讯云短信"}[provider.name] in page  # no raw codes
    assert "no_template" in page and "该类短信未配置服务商模板，未发送" in page


def test_a_daily_limit_waits_an_hour_before_the_next_try(app, provider):
    daily = {"aliyun": "isv.DAY_LIMIT_CONTROL", "tencent": "LimitExceeded.PhoneNumberDailyLimit"}
    provider.fail_number("+8613800138000", daily[provider.name])
    _queue()
    assert dispatch_outbox() == "0 sent, 1 to retry, 0 failed"
    [row] = outbox()
    assert row.error_code == daily[provider.name]
    assert row.next_attempt_at >= utcnow() + timedelta(hours=1)


def test_an_unreachable_provider_is_retried(app, provider, set_now):
    endpoint = "ALIYUN_SMS_ENDPOINT" if provider.name == "aliyun" else "TENCENT_SMS_ENDPOINT"
    app.config[endpoint] = "http://127.0.0.1:9"  # nothing listens there
    _queue()
    assert dispatch_outbox() == "0 sent, 1 to retry, 0 failed"
    assert outbox()[0].error_code in ("network", "ClientNetworkError")
    app.config[endpoint] = provider.url
    set_now(_later(400))
    assert dispatch_outbox() == "1 sent, 0 to retry, 0 failed"
    assert len(provider.messages) == 1
