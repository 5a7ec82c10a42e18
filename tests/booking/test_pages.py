"""A person books, sees, reschedules and cancels through the pages (plain forms, no
JavaScript); staff list, search, cancel on behalf and export."""

import re

from sqlalchemy import select

from booking.models import Appointment, Slot
from core.audit import AuditEntry
from core.extensions import db
from notify.models import OutboxMessage
from staff.services import create_user
from tests.booking.ids import make_id, wrong_check

APPLY = "/book/chuanshan/marriage/2026-06-15/apply?start=09:00"


def _form(groom_id: str, bride_id: str, **changes) -> dict:
    data = {
        "applicants-0-name": "张三", "applicants-0-id_type": "resident_id",
        "applicants-0-id_number": groom_id, "applicants-0-phone": "13800138000",
        "applicants-0-sex": "", "applicants-0-birth_date": "",
        "applicants-1-name": "李小红", "applicants-1-id_type": "resident_id",
        "applicants-1-id_number": bride_id, "applicants-1-phone": "13900139000",
        "applicants-1-sex": "", "applicants-1-birth_date": "",
        "start": "09:00",
    }
    data.update(changes)
    return data


def _book_through_pages(client) -> tuple[str, str, str]:
    groom, bride = make_id("19900101", "M"), make_id("19920202", "F")
    response = client.post(APPLY, data=_form(groom, bride))
    assert response.status_code == 302, response.get_data(as_text=True)
    token = response.headers["Location"].rsplit("/a/", 1)[1]
    return token, groom, bride


def test_home_page_has_the_booking_button(client, booking_env):
    html = client.get("/").get_data(as_text=True)
    assert 'href="/book/chuanshan"' in html and "预约办理" in html


def test_choose_office_service_day_and_slot(client, booking_env):
    office = client.get("/book/chuanshan")
    html = office.get_data(as_text=True)
    assert office.status_code == 200
    assert "遂宁市船山区婚姻登记处" in html and "结婚登记" in html and "离婚登记发证" in html
    assert "/book/chuanshan/marriage" in html
    assert "/book/chuanshan/marriage/2026-06-11" in html  # the next free day
    month = client.get("/book/chuanshan/marriage").get_data(as_text=True)
    assert "2026年6月" in month
    assert 'href="/book/chuanshan/marriage/2026-06-15"' in month
    assert 'href="/book/chuanshan/marriage/2026-06-19"' not in month  # 端午节
    assert 'href="/book/chuanshan/marriage/2026-06-10"' not in month  # today
    assert "余78" in month  # 13 slots of 6 seats
    day = client.get("/book/chuanshan/marriage/2026-06-15").get_data(as_text=True)
    assert "/book/chuanshan/marriage/2026-06-15/apply?start=09:00" in day
    assert "剩余 6 / 6" in day
    form = client.get(APPLY).get_data(as_text=True)
    assert 'name="applicants-1-id_number"' in form and "确认预约" in form
    assert '<label for="applicants-0-name"' in form


def test_peak_days_are_marked_on_the_calendar(client, booking_env, set_now):
    set_now("2026-05-01T10:00:00+08:00")
    html = client.get("/book/chuanshan/marriage?month=2026-05").get_data(as_text=True)
    assert "5·20" in html and "peak" in html


def test_book_see_reschedule_and_cancel_through_the_pages(client, booking_env):
    token, groom, bride = _book_through_pages(client)
    manage = client.get(f"/a/{token}")
    html = manage.get_data(as_text=True)
    assert manage.status_code == 200
    code = db.session.scalar(select(Appointment.code))
    assert code in html and "2026-06-15 09:00" in html and "已预约" in html
    assert groom not in html and bride not in html
    assert groom[:4] + "*" * 10 + groom[-4:] in html
    assert "预约成功" in html
    assert f"/api/v1/appointments/{token}/qr.svg" in html

    printable = client.get(f"/a/{token}/print").get_data(as_text=True)
    assert "本人有效的居民身份证" in printable and code in printable and groom not in printable
    ics = client.get(f"/a/{token}/calendar.ics")
    assert ics.mimetype == "text/calendar" and code in ics.get_data(as_text=True)

    calendar = client.get(f"/a/{token}/reschedule").get_data(as_text=True)
    assert f"/a/{token}/reschedule/2026-06-16" in calendar
    slots = client.get(f"/a/{token}/reschedule/2026-06-16").get_data(as_text=True)
    assert 'name="start" value="14:00"' in slots
    moved = client.post(f"/a/{token}/reschedule/2026-06-16", data={"start": "14:00"})
    assert moved.status_code == 302 and moved.headers["Location"].endswith(f"/a/{token}")
    html = client.get(f"/a/{token}").get_data(as_text=True)
    assert "2026-06-16 14:00" in html and "改约成功" in html

    confirm = client.get(f"/a/{token}/cancel").get_data(as_text=True)
    assert "确定取消" in confirm
    cancelled = client.post(f"/a/{token}/cancel", data={})
    assert cancelled.status_code == 302
    html = client.get(f"/a/{token}").get_data(as_text=True)
    assert "已取消" in html and "重新预约" in html
    seats = {(s.date.isoformat(), s.start): s.booked for s in db.session.scalars(select(Slot))}
    assert seats == {("2026-06-15", "09:00"): 0, ("2026-06-16", "14:00"): 0}
    kinds = sorted(m.kind for m in db.session.scalars(select(OutboxMessage)))
    assert kinds == ["booking_cancelled"] * 2 + ["booking_confirmed"] * 2 + \
        ["booking_rescheduled"] * 2


def test_inline_messages_say_what_to_fix_and_never_echo_id_numbers(client, booking_env):
    groom, bride = make_id("19900101", "M"), make_id("19920202", "F")
    response = client.post(APPLY, data=_form(groom, wrong_check(bride),
                                              **{"applicants-0-phone": "12345"}))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "校验位不正确" in html and "手机号码应为1开头的11位数字" in html
    assert 'id="applicants-1-id_number-error"' in html and 'aria-invalid="true"' in html
    assert groom not in html and wrong_check(bride) not in html
    assert 'value="张三"' in html  # the rest is kept
    assert db.session.scalar(select(Appointment.id)) is None


def test_eligibility_messages_on_the_form(client, booking_env):
    groom, bride = make_id("20050101", "M"), make_id("19920202", "F")
    html = client.post(APPLY, data=_form(groom, bride)).get_data(as_text=True)
    assert "未满法定婚龄 22 周岁" in html and "2027-01-01" in html


def test_a_full_slot_sends_the_person_back_to_choose(client, booking_env):
    client.post(APPLY, data=_form(make_id("19900101", "M"), make_id("19920202", "F")))
    db.session.execute(Slot.__table__.update().values(booked=6))
    db.session.commit()
    response = client.get(APPLY)
    assert response.status_code == 302 and response.headers["Location"].endswith(
        "/book/chuanshan/marriage/2026-06-15")
    day = client.get("/book/chuanshan/marriage/2026-06-15").get_data(as_text=True)
    assert "已约满" in day


def test_unknown_office_and_token_pages_are_404(client, booking_env):
    assert client.get("/book/atlantis").status_code == 404
    assert client.get("/book/chuanshan/ceremony").status_code == 404
    assert client.get("/book/chuanshan/marriage/2026-13-40").status_code == 404
    assert client.get("/a/not-a-real-token-at-all").status_code == 404
    for month in ("9999-12", "0001-01", "2026-00", "june"):  # the first bookable month, and why
        answer = client.get(f"/book/chuanshan/marriage?month={month}")
        html = answer.get_data(as_text=True)
        assert answer.status_code == 400 and "2026年6月" in html and "月份格式应为" in html
    assert client.get("/book/chuanshan/marriage?month=2030-01").status_code == 200  # old link


def test_pages_are_in_english_on_request(client, booking_env):
    html = client.get("/book/chuanshan?lang=en").get_data(as_text=True)
    assert 'lang="en"' in html


# --- staff ----------------------------------------------------------------------------------

def _login(client, role: str, office: str | None):
    create_user(f"{role}-{office}", role, "password-123", office)
    response = client.post("/staff/login", data={"username": f"{role}-{office}",
                                                 "password": "password-123"})
    assert response.status_code == 302


def test_staff_list_search_cancel_and_export(client, booking_env):
    token, groom, bride = _book_through_pages(client)
    _login(client, "desk", "chuanshan")
    home = client.get("/staff/").get_data(as_text=True)
    assert "/staff/booking/chuanshan" in home
    listing = client.get("/staff/booking/chuanshan?date=2026-06-15").get_data(as_text=True)
    code = db.session.scalar(select(Appointment.code))
    assert code in listing and "张三" in listing and groom not in listing
    found = client.post("/staff/booking/chuanshan", data={"q": bride}).get_data(as_text=True)
    assert code in found and bride not in found and "查询结果：1 条" in found
    by_code = client.post("/staff/booking/chuanshan", data={"q": code.lower()})
    assert code in by_code.get_data(as_text=True)
    nothing = client.post("/staff/booking/chuanshan", data={"q": "ZZZZZZZZ"})
    assert "查询结果：0 条" in nothing.get_data(as_text=True)

    export = client.get("/staff/booking/chuanshan/export.csv?date=2026-06-15")
    text = export.get_data(as_text=True)
    assert export.mimetype == "text/csv" and code in text
    assert groom not in text and groom[:4] + "*" * 10 + groom[-4:] in text

    appointment = db.session.scalar(select(Appointment))
    refused = client.post(f"/staff/booking/chuanshan/{appointment.id}/cancel",
                          data={"reason": ""})
    assert refused.status_code == 302
    db.session.refresh(appointment)
    assert appointment.status == "booked"
    done = client.post(f"/staff/booking/chuanshan/{appointment.id}/cancel",
                       data={"reason": "系统维护"})
    assert done.status_code == 302
    db.session.refresh(appointment)
    assert appointment.status == "cancelled" and appointment.cancel_reason == "系统维护"
    audit = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "appointment.cancel"))
    assert audit is not None and audit.username == "desk-chuanshan"
    assert groom not in str(audit.details)
    sms = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.kind == "cancelled_by_office")).all()
    assert len(sms) == 2 and all("系统维护" in m.body for m in sms)


def test_desk_of_another_office_may_not_see_the_list(client, booking_env):
    _login(client, "desk", "anju")
    assert client.get("/staff/booking/chuanshan").status_code == 403
    assert client.get("/staff/booking/anju").status_code == 200


def test_staff_api_lists_and_cancels(client, booking_env, staff_headers):
    token, groom, _ = _book_through_pages(client)
    headers = staff_headers("desk", office="chuanshan")
    response = client.get("/api/v1/offices/chuanshan/appointments?date=2026-06-15",
                          headers=headers)
    assert response.status_code == 200
    rows = response.get_json()["appointments"]
    assert len(rows) == 1 and groom not in response.get_data(as_text=True)
    found = client.post("/api/v1/offices/chuanshan/appointments/search",
                        json={"query": groom}, headers=headers)
    assert found.get_json()["appointments"][0]["code"] == rows[0]["code"]
    assert groom not in found.get_data(as_text=True)
    assert client.post("/api/v1/offices/chuanshan/appointments/search", json={},
                       headers=headers).status_code == 422
    assert client.get("/api/v1/offices/chuanshan/appointments").status_code == 401
    other = staff_headers("desk", office="anju")
    assert client.get("/api/v1/offices/chuanshan/appointments",
                      headers=other).status_code == 403
    registrar = staff_headers("registrar", office="chuanshan")
    assert client.get("/api/v1/offices/chuanshan/appointments",
                      headers=registrar).status_code == 403
    url = f"/api/v1/offices/chuanshan/appointments/{rows[0]['code']}/cancel"
    assert client.post(url, json={}, headers=headers).status_code == 422
    cancelled = client.post(url, json={"reason": "停电"}, headers=headers)
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    assert re.search("停电", " ".join(m.body for m in db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "cancelled_by_office"))))
