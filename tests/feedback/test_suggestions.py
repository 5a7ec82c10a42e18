"""The suggestion box (意见箱): a public form, the staff workflow received -> in progress
-> replied -> closed with an SMS reply, audit entries, and public monthly counts."""

import pytest
from sqlalchemy import select

from core.audit import AuditEntry
from core.extensions import db
from feedback.models import Suggestion
from notify.models import OutboxMessage


@pytest.fixture
def now(offices, set_now):
    set_now("2026-05-12T10:00:00+08:00")
    return offices


def test_suggestion_workflow_end_to_end(client, now, login):
    response = client.post("/suggestions", data={
        "office": "chuanshan", "category": "advice", "text": "希望周六也能办理结婚登记。",
        "name": "李四", "phone": "138 0013 8000"})
    assert response.status_code == 302
    item = db.session.scalar(select(Suggestion))
    assert (item.office_id, item.category, item.name, item.phone, item.status) == (
        now["chuanshan"].id, "advice", "李四", "+8613800138000", "received")
    # the sender's status page (the redirect target) shows it, without the phone number
    status_page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "希望周六也能办理结婚登记" in status_page and "已收到" in status_page
    assert "13800138000" not in status_page

    admin = login("admin", "chuanshan")
    assert "希望周六也能办理" in client.get("/staff/suggestions").get_data(as_text=True)
    client.post(f"/staff/suggestions/{item.id}", data={"action": "take_up"})
    db.session.expire_all()
    assert db.session.get(Suggestion, item.id).status == "in_progress"

    client.post(f"/staff/suggestions/{item.id}", data={
        "action": "reply", "reply": "感谢建议，本处已于每月第一个周六开放预约。"})
    db.session.expire_all()
    item = db.session.get(Suggestion, item.id)
    assert item.status == "replied" and item.replied_by_id == admin.id
    assert item.reply_sms_queued
    message = db.session.scalar(select(OutboxMessage))
    assert message.to_phone == "+8613800138000" and message.kind == "suggestion_reply"
    assert message.body == ("【遂宁市船山区婚姻登记处】您提交的意见已答复："
                            "感谢建议，本处已于每月第一个周六开放预约。")
    status_link = response.headers["Location"]  # the link is stored only as its hash
    assert "每月第一个周六" in client.get(status_link).get_data(as_text=True)

    # a second reply is refused; closing works once
    client.post(f"/staff/suggestions/{item.id}", data={"action": "reply", "reply": "再次答复"})
    client.post(f"/staff/suggestions/{item.id}", data={"action": "close"})
    db.session.expire_all()
    item = db.session.get(Suggestion, item.id)
    assert item.status == "closed" and item.reply.startswith("感谢建议")
    assert len(db.session.scalars(select(OutboxMessage)).all()) == 1

    everything = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    # besides the changes: the staff's login and each view of the sender's contact details
    assert {e.action for e in everything} >= {"staff.login", "feedback.suggestion_view"}
    entries = [e for e in everything
               if e.action in ("feedback.suggestion_status", "feedback.suggestion_reply")]
    assert [(e.action, e.target, e.details["status_to"]) for e in entries] == [
        ("feedback.suggestion_status", f"suggestion:{item.id}", "in_progress"),
        ("feedback.suggestion_reply", f"suggestion:{item.id}", "replied"),
        ("feedback.suggestion_status", f"suggestion:{item.id}", "closed")]
    assert all(e.username == "admin-chuanshan" and e.office_id == item.office_id
               for e in entries)
    assert entries[1].details["sms"] is True


def test_reply_without_phone_sends_no_sms(client, now, login):
    client.post("/suggestions", data={"office": "", "category": "praise",
                                      "text": "登记员服务很热情，谢谢！"})
    item = db.session.scalar(select(Suggestion))
    assert item.office_id is None and item.phone == ""
    login("admin")
    client.post(f"/staff/suggestions/{item.id}", data={"action": "reply", "reply": "谢谢您的鼓励！"})
    db.session.expire_all()
    assert db.session.get(Suggestion, item.id).status == "replied"
    assert db.session.scalar(select(OutboxMessage)) is None


def test_bad_input_is_explained_not_saved(client, now):
    for data, message in (
            ({"category": "advice", "text": "太短"}, "至少 5 个字"),
            ({"category": "advice", "text": "这是一条足够长的意见。", "phone": "12345"},
             "手机号码格式不对"),
            ({"category": "spam", "text": "这是一条足够长的意见。"}, "类别：不是有效的选择"),
            ({"category": "advice", "text": "这是一条足够长的意见。", "office": "nowhere"},
             "请选择列表中的登记处")):
        page = client.post("/suggestions", data=data).get_data(as_text=True)
        assert message in page, data
    assert db.session.scalar(select(Suggestion)) is None


def test_office_admin_sees_only_its_office(client, now, login):
    client.post("/suggestions", data={"office": "anju", "category": "complaint",
                                      "text": "安居区的排队时间太长了。"})
    item = db.session.scalar(select(Suggestion))
    login("admin", "chuanshan")
    assert "安居区的排队" not in client.get("/staff/suggestions").get_data(as_text=True)
    assert client.get(f"/staff/suggestions/{item.id}").status_code == 403
    client.post(f"/staff/suggestions/{item.id}", data={"action": "close"})
    db.session.expire_all()
    assert db.session.get(Suggestion, item.id).status == "received"


def test_public_monthly_counts(client, now, set_now, login):
    for when, text in (("2026-03-31T23:30:00+08:00", "三月底的意见一条。"),
                       ("2026-04-01T00:10:00+08:00", "四月初的意见一条。"),
                       ("2026-04-15T09:00:00+08:00", "四月中的意见一条。"),
                       ("2026-05-02T09:00:00+08:00", "五月的意见一条。")):
        set_now(when)
        client.post("/suggestions", data={"category": "advice", "text": text})
    set_now("2026-05-12T10:00:00+08:00")
    login("admin")
    april = db.session.scalar(select(Suggestion).where(Suggestion.text.startswith("四月中")))
    client.post(f"/staff/suggestions/{april.id}", data={"action": "reply", "reply": "已答复。"})
    client.post(f"/staff/suggestions/{april.id}", data={"action": "close"})

    page = client.get("/suggestions/counts").get_data(as_text=True)
    from feedback.suggestions import monthly_counts

    months = {m["month"]: m for m in monthly_counts(12)}
    assert months["2026-05"] == {"month": "2026-05", "received": 1, "answered": 0,
                                 "closed": 0, "open": 1}
    assert months["2026-04"] == {"month": "2026-04", "received": 2, "answered": 1,
                                 "closed": 1, "open": 1}
    assert months["2026-03"]["received"] == 1  # 23:30 Beijing time is still March
    assert len(months) == 12 and "2025-06" in months
    assert "2026-04" in page and "<td class=\"num\">2</td>" in page


class TestRateLimitAndCsrf:
    @pytest.fixture
    def app_overrides(self):
        return {"RATELIMIT_ENABLED": True, "WTF_CSRF_ENABLED": True,
                "RATELIMIT_SUGGESTION": "2 per minute"}

    def test_the_form_needs_its_csrf_token_and_is_rate_limited(self, client, now):
        data = {"category": "advice", "text": "这是一条足够长的意见。"}
        assert client.post("/suggestions", data=data).status_code == 400  # no CSRF token
        page = client.get("/suggestions").get_data(as_text=True)
        token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
        data["csrf_token"] = token
        assert client.post("/suggestions", data=data).status_code == 302
        assert client.post("/suggestions", data=data).status_code == 302
        assert client.post("/suggestions", data=data).status_code == 429  # 3rd this minute
        assert client.get("/suggestions").status_code == 200  # reading is not limited
        assert len(db.session.scalars(select(Suggestion)).all()) == 2
