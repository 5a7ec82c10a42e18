"""The admins' outbox page: statuses and errors, a filter, resending a failed message."""

import re

from sqlalchemy import select

from core.audit import AuditEntry
from core.extensions import db
from notify.jobs import dispatch_outbox
from notify.outbox import queue_sms
from staff.services import create_user
from tests.notify.helpers import outbox

MONDAY_MORNING = "2026-06-01T10:00:00+08:00"


def _login(client, role):
    create_user(f"{role}-user", role, "password-123", None)
    db.session.commit()
    response = client.post("/staff/login", data={"username": f"{role}-user",
                                                 "password": "password-123"})
    assert response.status_code == 302


def _one_failed_one_sent(twilio, set_now):
    set_now(MONDAY_MORNING)
    twilio.fail_number("+8613800138000", status=400, code=21211)
    queue_sms("+8613800138000", "正文甲XYZ", "reminder")
    queue_sms("+8613900139000", "正文乙XYZ", "booking_confirmed")
    db.session.commit()
    dispatch_outbox()
    return outbox()


def test_admins_see_the_outbox_with_status_and_error(app, client, twilio, set_now):
    _one_failed_one_sent(twilio, set_now)
    _login(client, "admin")
    page = client.get("/staff/sms").get_data(as_text=True)
    assert "短信发件箱" in page
    assert "21211" in page and "发送失败" in page and "已发送" in page
    assert "+86138****8000" in page and "13800138000" not in page
    assert "正文甲XYZ" not in page and "正文乙XYZ" not in page  # bodies are not shown

    failed_only = client.get("/staff/sms?status=failed").get_data(as_text=True)
    assert "+86138****8000" in failed_only and "+86139****9000" not in failed_only

    odd = client.get("/staff/sms?status=nonsense&page=abc")
    assert odd.status_code == 400 and "未知的状态" in odd.get_data(as_text=True)
    assert "页码应为" in odd.get_data(as_text=True)


def test_the_staff_home_links_the_outbox_for_admins(app, client):
    _login(client, "admin")
    assert "/staff/sms" in client.get("/staff/").get_data(as_text=True)


def test_other_roles_may_not_see_the_outbox(app, client):
    _login(client, "desk")
    assert client.get("/staff/sms").status_code == 403
    assert client.post("/staff/sms/1/resend").status_code == 403
    assert "/staff/sms" not in client.get("/staff/").get_data(as_text=True)


def test_resending_a_failed_message_sends_it_again_and_is_audited(app, client, twilio, set_now):
    failed, sent = _one_failed_one_sent(twilio, set_now)
    _login(client, "admin")
    twilio.clear()  # the number works now

    response = client.post(f"/staff/sms/{failed.id}/resend", data={"status": "failed"})
    assert response.status_code == 302 and "status=failed" in response.headers["Location"]
    row = outbox(id=failed.id)[0]
    assert (row.status, row.attempts, row.error_code) == ("pending", 0, None)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "sms.resend"))
    assert entry.target == f"sms:{failed.id}" and entry.username == "admin-user"
    assert entry.details["error_code"] == "21211" and entry.details["status"] == "failed"

    assert dispatch_outbox() == "1 sent, 0 to retry, 0 failed"
    assert [m["to"] for m in twilio.messages] == ["+8613800138000"]

    refused = client.post(f"/staff/sms/{sent.id}/resend", follow_redirects=True)
    assert "只有发送失败或未送达的短信可以重发" in refused.get_data(as_text=True)
    missing = client.post("/staff/sms/999999/resend", follow_redirects=True)
    assert "没有这条短信" in missing.get_data(as_text=True)


def test_the_outbox_names_provider_statuses_and_backends_in_the_page_language(
        app, client, twilio, set_now):
    messages = _one_failed_one_sent(twilio, set_now)
    sent = next(m for m in messages if m.status == "sent")
    sent.backend, sent.twilio_sid = "console", None  # as the console backend leaves it
    db.session.commit()
    _login(client, "admin")
    page = client.get("/staff/sms").get_data(as_text=True)
    provider_words = re.findall(r'<small class="muted">([^<]*)</small>', page)
    assert provider_words, "no provider status shown"
    assert all(re.search(r"[\u4e00-\u9fff]", word) for word in provider_words), provider_words
    assert "控制台（测试用，未真正发送）" in page and ">console<" not in page

    english = client.get("/staff/sms?lang=en").get_data(as_text=True)
    assert "console (for testing, not really sent)" in english
