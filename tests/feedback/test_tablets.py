"""Rating tablets paired by staff: an unpaired browser cannot rate and is told why; a tablet
paired by the office's desk staff (or an admin) rates the ticket just completed at its
window; staff list and unpair tablets; the SMS link still rates; and no public answer gives
out a ticket's id."""

import re
from datetime import date

import pytest
from sqlalchemy import select

from core.audit import AuditEntry
from core.extensions import db
from feedback.models import Rating
from feedback.ratings import RatingError, queue_rating_sms, rate_at_window
from feedback.tablets import COOKIE, RatingTablet
from notify.models import OutboxMessage
from staff.services import create_user
from tests.feedback.conftest import make_ticket, pair_tablet, window_of
from tests.hallqueue.factories import id_number

DAY = date(2026, 9, 28)  # a Monday
NOW = "2026-09-28T10:00:00+08:00"


@pytest.fixture
def hall(offices, set_now):
    set_now(NOW)
    office = offices["chuanshan"]
    return office, window_of(office, "1")


def _staff(client, role: str, office: str | None, username: str):
    create_user(username, role, "password-123", office)
    db.session.commit()
    signed_in = client.post("/staff/login", data={"username": username,
                                                  "password": "password-123"})
    assert signed_in.status_code == 302


def test_an_unpaired_device_cannot_rate_and_is_told_why(app, client, hall):
    office, window = hall
    ticket = make_ticket(office, DAY, window=window, completed="09:50")
    page = client.get("/rate/chuanshan/1")
    assert page.status_code == 403
    text = page.get_data(as_text=True)
    assert "此设备不是本窗口的评价平板" in text and "评价平板配对" in text
    assert ticket.number not in text and "rate-buttons" not in text
    # a made-up cookie, and a crafted post, are refused the same way
    client.set_cookie(COOKIE, "made-up-device-token")
    assert client.get("/rate/chuanshan/1").status_code == 403
    posted = client.post("/rate/chuanshan/1", data={"ticket": ticket.number, "level": "1"})
    assert posted.status_code == 403
    with pytest.raises(RatingError) as refused:
        rate_at_window("made-up-device-token", ticket.number, 1)
    assert refused.value.code == "not_paired"
    with pytest.raises(RatingError):
        rate_at_window(None, ticket.number, 1)
    assert db.session.scalar(select(Rating)) is None


def test_a_tablet_paired_by_the_desk_rates_at_its_window(app, client, hall):
    office, window = hall
    ticket = make_ticket(office, DAY, window=window, completed="09:50")
    _staff(client, "desk", "chuanshan", "desk-chuanshan")
    page = client.get("/staff/tablets/chuanshan").get_data(as_text=True)
    assert "1 号窗口" in page and "未配对" in page
    answer = client.post("/staff/tablets/chuanshan/pair", data={"window": "1"})
    assert answer.status_code == 302 and answer.headers["Location"] == "/rate/chuanshan/1"
    cookie = next(value for value in answer.headers.getlist("Set-Cookie")
                  if value.startswith(COOKIE + "="))
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Max-Age=" in cookie
    token = client.get_cookie(COOKIE).value
    tablet = db.session.scalar(select(RatingTablet))
    assert tablet.window_id == window.id and tablet.token_hash != token
    assert token not in tablet.token_hash  # only its keyed hash is kept
    # the staff member is signed out on the tablet
    assert client.get("/staff/").status_code == 302

    page = client.get("/rate/chuanshan/1")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert ticket.number in text
    assert f'name="ticket" value="{ticket.number}"' in text and "ticket_id" not in text
    thanks = client.post("/rate/chuanshan/1", data={"ticket": ticket.number, "level": "4",
                                                    "comment": "很快"})
    assert "感谢您的评价" in thanks.get_data(as_text=True)
    rating = db.session.scalar(select(Rating))
    assert (rating.ticket_id, rating.level, rating.channel) == (ticket.id, 4, "tablet")
    # the tablet of window 1 is not the tablet of window 2
    other = client.get("/rate/chuanshan/2")
    assert other.status_code == 403 and 'href="/rate/chuanshan/1"' in other.get_data(as_text=True)
    [entry] = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "feedback.tablet_pair")).all()
    assert (entry.username, entry.office_id, entry.details["window"]) == (
        "desk-chuanshan", office.id, "1")


def test_the_rating_is_only_for_the_ticket_just_completed_there(client, hall, set_now):
    office, window = hall
    older = make_ticket(office, DAY, window=window, completed="09:20")
    latest = make_ticket(office, DAY, window=window, completed="09:40")
    elsewhere = make_ticket(office, DAY, window=window_of(office, "2"), completed="09:45")
    token = pair_tablet(office, window, client)
    for shown in (older.number, elsewhere.number, str(latest.id), ""):
        with pytest.raises(RatingError) as error:
            rate_at_window(token, shown, 5)
        assert error.value.code == "not_rateable", shown
    set_now("2026-09-28T10:11:00+08:00")  # 31 minutes after: RATING_TABLET_MINUTES is 30
    with pytest.raises(RatingError):
        rate_at_window(token, latest.number, 5)
    assert db.session.scalar(select(Rating)) is None


def test_staff_list_and_unpair_tablets(app, client, hall):
    office, window = hall
    make_ticket(office, DAY, window=window, completed="09:50")
    tablet = app.test_client()
    pair_tablet(office, window, tablet)
    assert tablet.get("/rate/chuanshan/1").status_code == 200
    _staff(client, "admin", None, "boss")
    page = client.get("/staff/tablets/chuanshan").get_data(as_text=True)
    row = db.session.scalar(select(RatingTablet))
    assert f'name="tablet" value="{row.id}"' in page
    done = client.post("/staff/tablets/chuanshan/unpair", data={"tablet": str(row.id)},
                       follow_redirects=True)
    assert "已取消配对" in done.get_data(as_text=True)
    assert db.session.scalar(select(RatingTablet)) is None
    assert tablet.get("/rate/chuanshan/1").status_code == 403
    again = client.post("/staff/tablets/chuanshan/unpair", data={"tablet": str(row.id)},
                        follow_redirects=True)
    assert "没有这台评价平板" in again.get_data(as_text=True)
    [entry] = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "feedback.tablet_unpair")).all()
    assert (entry.username, entry.target) == ("boss", f"tablet:{row.id}")


def test_who_may_pair(app, hall):
    office, _window = hall
    registrar = app.test_client()
    _staff(registrar, "registrar", "chuanshan", "clerk")
    assert registrar.get("/staff/tablets/chuanshan").status_code == 403
    assert registrar.post("/staff/tablets/chuanshan/pair", data={"window": "1"}).status_code == 403
    other_desk = app.test_client()
    _staff(other_desk, "desk", "anju", "desk-anju")
    assert other_desk.get("/staff/tablets/chuanshan").status_code == 403
    assert other_desk.post("/staff/tablets/chuanshan/pair",
                           data={"window": "1"}).status_code == 403
    unknown = other_desk.post("/staff/tablets/anju/pair", data={"window": "99"},
                              follow_redirects=True)
    assert "请选择要配对的窗口" in unknown.get_data(as_text=True)
    assert db.session.scalar(select(RatingTablet)) is None
    assert app.test_client().get("/staff/tablets/chuanshan").status_code == 302  # login


def test_the_sms_link_still_rates_without_a_tablet(client, hall):
    office, window = hall
    ticket = make_ticket(office, DAY, window=window, completed="09:40", phone="+8613800138000")
    queue_rating_sms(ticket)
    db.session.commit()
    body = db.session.scalar(select(OutboxMessage)).body
    link = re.search(r"/rate/t/([A-Za-z0-9_-]+)", body)[1]
    answer = client.post(f"/rate/t/{link}", data={"level": "5"})
    assert "感谢您的评价" in answer.get_data(as_text=True)
    rating = db.session.scalar(select(Rating))
    assert (rating.ticket_id, rating.channel) == (ticket.id, "sms")


def test_no_public_answer_gives_out_a_ticket_id(client, hall, staff_headers):
    office, window = hall
    issued = client.post("/api/v1/offices/chuanshan/tickets", headers=staff_headers("desk"), json={
        "service": "marriage", "present": [id_number(901, "M"), id_number(902, "F")]})
    assert issued.status_code == 201, issued.get_json()
    ticket_id, token = issued.get_json()["id"], issued.get_json()["token"]  # staff may see it
    registrar = staff_headers("registrar")
    called = client.post("/api/v1/offices/chuanshan/windows/1/call-next", headers=registrar)
    assert called.get_json()["ticket"]["id"] == ticket_id

    def no_ticket_id(answer, path):
        assert answer.status_code == 200, path
        body = answer.get_json()
        keys = set()

        def walk(value):
            if isinstance(value, dict):
                keys.update(value)
                for item in value.values():
                    walk(item)
            elif isinstance(value, list):
                for item in value:
                    walk(item)

        walk(body)
        assert not keys & {"id", "ticket_id"}, (path, body)
        return body

    status = no_ticket_id(client.get(f"/api/v1/tickets/{token}"), "ticket")
    assert set(status) == {"number", "service", "status", "ahead", "estimated_wait_minutes"}
    page_view = no_ticket_id(client.get(f"/api/v1/tickets/{token}?view=page"), "ticket page")
    assert "id" not in page_view
    display = client.get("/api/v1/offices/chuanshan/display").get_json()
    assert all(set(call) == {"window", "number", "called_at"} for call in display["calling"])
    screen = client.get("/api/v1/offices/chuanshan/display?view=screen").get_json()
    for call in screen["calling"]:  # call_id names the call (its announcement), not the ticket
        assert set(call) == {"window", "number", "called_at", "call_id", "service"}
    assert all("ticket_id" not in item for item in screen["history"])
    client.post(f"/api/v1/tickets/{ticket_id}/complete", headers=registrar,
                json={"outcome": "registered"})
    state = client.get("/api/v1/offices/chuanshan/windows/1/rating").get_json()
    assert state["ticket"] == {"number": called.get_json()["ticket"]["number"],
                               "service": "marriage"}
    html = client.get(f"/t/{token}").get_data(as_text=True)
    assert f'"{ticket_id}"' not in html


def test_the_unpaired_page_and_the_pairing_page_speak_english(app, client, hall):
    from flask_babel import get_domain

    get_domain().cache.clear()  # flask_babel's process-wide cache (other tests swap theirs)
    client.set_cookie("lang", "en")
    try:
        page = client.get("/rate/chuanshan/1").get_data(as_text=True)
        assert "This device is not this window's rating tablet" in page
        main = page.split('<main id="main">')[1].split("</main>")[0]
        assert re.findall(r"[\u4e00-\u9fff]+", main) == []
        _staff(client, "desk", "chuanshan", "desk-en")
        pairing = client.get("/staff/tablets/chuanshan").get_data(as_text=True)
        assert "Pair this device as the rating tablet of window 1" in pairing
    finally:
        get_domain().cache.clear()
