"""The staff's booking page (电话预约 / 现场代约): the desk books, reschedules and cancels for
a couple by the public site's rules and seats; without phones the confirmation is printed."""

from sqlalchemy import select

from booking.models import Appointment
from core.audit import AuditEntry
from core.extensions import db
from notify.models import OutboxMessage
from staff.services import create_user
from tests.booking.helpers import MONDAY, TUESDAY
from tests.booking.ids import make_id, wrong_check

GROOM, BRIDE = make_id("19500101", "M"), make_id("19520303", "F")


def _login(client, role: str, office: str | None):
    create_user(f"{role}-{office}", role, "password-123", office)
    response = client.post("/staff/login", data={"username": f"{role}-{office}",
                                                 "password": "password-123"})
    assert response.status_code == 302


def _form(start: str = "09:00", phones=("", "")) -> dict:
    return {"start": start, "language": "zh_CN",
            "applicants-0-name": "王大爷", "applicants-0-id_type": "resident_id",
            "applicants-0-id_number": GROOM, "applicants-0-phone": phones[0],
            "applicants-1-name": "赵奶奶", "applicants-1-id_type": "resident_id",
            "applicants-1-id_number": BRIDE, "applicants-1-phone": phones[1]}


def test_the_desk_books_for_a_couple_without_phones_and_prints(client, booking_env):
    _login(client, "desk", "chuanshan")
    assert "/staff/booking/chuanshan/new" in client.get("/staff/").get_data(as_text=True)
    url = f"/staff/booking/chuanshan/new?service=marriage&date={MONDAY}"
    page = client.get(url).get_data(as_text=True)
    assert 'name="start" value="09:00"' in page and "没有手机可不填" in page

    booked = client.post(url, data=_form())
    assert booked.status_code == 302, booked.get_data(as_text=True)
    appointment = db.session.scalar(select(Appointment))
    assert appointment.channel == "staff" and appointment.status == "booked"
    assert booked.headers["Location"].endswith(f"/staff/booking/chuanshan/{appointment.id}")
    shown = client.get(booked.headers["Location"]).get_data(as_text=True)
    assert appointment.code in shown and "请打印确认单" in shown
    assert f"/a/{appointment.token}/print" in shown and GROOM not in shown
    assert client.get(f"/a/{appointment.token}/print").status_code == 200
    assert db.session.scalars(select(OutboxMessage)).all() == []
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "appointment.book"))
    assert entry.username == "desk-chuanshan" and entry.details["code"] == appointment.code

    # reschedule and cancel for them, by the same rules (audited)
    moved = client.post(f"/staff/booking/chuanshan/{appointment.id}",
                        data={"date": TUESDAY, "start": "10:00"})
    assert moved.status_code == 302
    db.session.refresh(appointment)
    assert (appointment.date.isoformat(), appointment.start) == (TUESDAY, "10:00")
    cancelled = client.post(f"/staff/booking/chuanshan/{appointment.id}/cancel",
                            data={"reason": "申请人来电取消", "back": "appointment"})
    assert cancelled.headers["Location"].endswith(f"/staff/booking/chuanshan/{appointment.id}")
    db.session.refresh(appointment)
    assert appointment.status == "cancelled"
    actions = set(db.session.scalars(select(AuditEntry.action)))
    assert {"appointment.book", "appointment.reschedule", "appointment.cancel"} <= actions


def test_with_phones_the_confirmation_sms_goes_to_the_couple(client, booking_env):
    _login(client, "desk", "chuanshan")
    url = f"/staff/booking/chuanshan/new?service=marriage&date={MONDAY}"
    assert client.post(url, data=_form(phones=("13800138000", ""))).status_code == 302
    messages = db.session.scalars(select(OutboxMessage)).all()
    assert [(m.kind, m.to_phone) for m in messages] == [("booking_confirmed", "+8613800138000")]


def test_errors_are_shown_next_to_the_fields(client, booking_env):
    _login(client, "desk", "chuanshan")
    url = f"/staff/booking/chuanshan/new?service=marriage&date={MONDAY}"
    wrong = _form() | {"applicants-1-id_number": wrong_check(BRIDE)}
    page = client.post(url, data=wrong)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="applicants-1-id_number-error"' in html
    assert db.session.scalars(select(Appointment)).all() == []
    no_slot = client.post(url, data=_form(start=""))
    assert "请选择一个可预约的时段" in no_slot.get_data(as_text=True)


def test_the_desk_of_another_office_may_not_book_here(client, booking_env):
    _login(client, "desk", "anju")
    assert client.get("/staff/booking/chuanshan/new").status_code == 403
    assert client.post(f"/staff/booking/chuanshan/new?service=marriage&date={MONDAY}",
                       data=_form()).status_code == 403
    assert client.get("/staff/booking/anju/new").status_code == 200
    assert db.session.scalars(select(Appointment)).all() == []
