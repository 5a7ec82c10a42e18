"""The divorce case pages of the desk and the window (docs/api.md §3.11): the look-up form on
both pages, the case list by a party's ID number (posted, never echoed back), the withdrawal
and its 撤回确认单; staff of another office see none of it."""

from datetime import date

from sqlalchemy import select

from booking.divorce import record_divorce_application
from booking.models import DivorceCase
from core.audit import AuditEntry
from core.extensions import db
from core.privacy import keyed_hash
from staff.services import create_user
from tests.hallqueue.factories import id_number


def login(client, role, office="chuanshan"):
    username = f"cases-{role}-{office}"
    create_user(username, role, "password-123", office, "王登记员")
    assert client.post("/staff/login", data={"username": username,
                                             "password": "password-123"}).status_code == 302


def _case(office):
    parties = [id_number(7001, "M"), id_number(7002, "F")]
    case = record_divorce_application(office, [keyed_hash(n) for n in parties],
                                      date(2026, 6, 10))
    db.session.commit()
    return case, parties


def test_the_window_and_the_desk_link_the_case_look_up(client, hall):
    login(client, "registrar")
    assert 'id="divorce-lookup-id"' in client.get("/window/chuanshan/3").get_data(as_text=True)
    client.post("/staff/logout")
    login(client, "desk")
    assert 'id="divorce-lookup-id"' in client.get("/desk/chuanshan").get_data(as_text=True)


def test_look_up_withdraw_and_print(client, hall):
    case, parties = _case(hall)
    login(client, "registrar")
    found = client.post("/staff/divorce-cases/chuanshan",
                        data={"id_number": parties[0], "back": "/window/chuanshan/3"})
    page = found.get_data(as_text=True)
    assert found.status_code == 200 and "冷静期中" in page and "2026-07-10" in page
    assert parties[0] not in page and parties[1] not in page
    withdrawn = client.post(f"/staff/divorce-cases/chuanshan/{case.id}/withdraw",
                            data={"id_number": parties[1], "back": "/window/chuanshan/3"})
    assert withdrawn.status_code == 302 and "/receipt" in withdrawn.headers["Location"]
    receipt = client.get(withdrawn.headers["Location"]).get_data(as_text=True)
    assert "撤回离婚登记申请确认单" in receipt and "王登记员" in receipt
    assert 'href="/window/chuanshan/3"' in receipt
    db.session.expire_all()
    assert db.session.get(DivorceCase, case.id).status == "withdrawn"
    assert db.session.scalar(select(AuditEntry.action).where(
        AuditEntry.target == f"divorce_case:{case.id}")) == "divorce_case.withdraw"
    # again: refused with what happened, nothing changes
    again = client.post(f"/staff/divorce-cases/chuanshan/{case.id}/withdraw",
                        data={"id_number": parties[0]}, follow_redirects=True)
    assert "已撤回" in again.get_data(as_text=True)


def test_a_stranger_cannot_withdraw_and_a_foreign_back_link_is_dropped(client, hall):
    case, _parties = _case(hall)
    login(client, "desk")
    answer = client.post(f"/staff/divorce-cases/chuanshan/{case.id}/withdraw",
                         data={"id_number": id_number(7003), "back": "https://evil.example/"},
                         follow_redirects=True)
    text = answer.get_data(as_text=True)
    assert "不是本离婚登记申请的当事人" in text and "evil.example" not in text
    db.session.expire_all()
    assert db.session.get(DivorceCase, case.id).status == "cooling_off"


def test_another_office_sees_nothing(client, hall, offices):
    case, parties = _case(hall)
    login(client, "registrar", office="anju")
    assert client.get("/staff/divorce-cases/chuanshan").status_code == 403
    assert client.post(f"/staff/divorce-cases/anju/{case.id}/withdraw",
                       data={"id_number": parties[0]}).status_code == 404
    assert client.get(f"/staff/divorce-cases/anju/{case.id}/receipt").status_code == 404
    page = client.post("/staff/divorce-cases/anju", data={"id_number": parties[0]})
    assert "本登记处没有该证件号码为当事人的离婚登记申请" in page.get_data(as_text=True)
