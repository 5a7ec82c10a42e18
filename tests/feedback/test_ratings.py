"""好差评: the window tablet, the SMS link, one rating per ticket, and the follow-up case
that every bad rating opens (due in working days by the state calendar)."""

import re
from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.audit import AuditEntry
from core.extensions import db
from core.privacy import secret_hash
from feedback.cases import follow_up_due
from feedback.models import FollowUpCase, Rating, RatingInvite
from feedback.ratings import RatingError, queue_rating_sms, rate_at_window
from notify.models import OutboxMessage
from tests.feedback.conftest import make_ticket, pair_tablet, window_of

DAY = date(2026, 9, 28)  # a Monday, just before the National Day holiday


@pytest.fixture
def hall(offices, set_now):
    set_now("2026-09-28T10:00:00+08:00")
    office = offices["chuanshan"]
    return office, window_of(office, "1")


def test_tablet_shows_the_ticket_just_completed_at_that_window(client, hall):
    office, window = hall
    make_ticket(office, DAY, window=window, completed="09:20")
    latest = make_ticket(office, DAY, window=window, completed="09:40")
    make_ticket(office, DAY, window=window_of(office, "2"), completed="09:50")  # another window

    pair_tablet(office, window, client)
    page = client.get("/rate/chuanshan/1").get_data(as_text=True)
    assert latest.number in page and "非常满意" in page and "非常不满意" in page
    state = client.get("/api/v1/offices/chuanshan/windows/1/rating").get_json()
    assert state == {"office": "chuanshan", "window": "1",  # the number only, never the id
                     "ticket": {"number": latest.number, "service": "marriage"}}


def test_one_rating_per_ticket(client, hall):
    office, window = hall
    ticket = make_ticket(office, DAY, window=window, completed="09:40")

    pair_tablet(office, window, client)
    response = client.post("/rate/chuanshan/1", data={"ticket": ticket.number, "level": "5",
                                                      "comment": "很好"})
    assert response.status_code == 200 and "感谢您的评价" in response.get_data(as_text=True)
    again = client.post("/rate/chuanshan/1", data={"ticket": ticket.number, "level": "1"},
                        follow_redirects=True)
    assert again.status_code == 200
    ratings = db.session.scalars(select(Rating)).all()
    assert [(r.ticket_id, r.level, r.comment, r.channel) for r in ratings] == [
        (ticket.id, 5, "很好", "tablet")]
    # the tablet no longer offers the rated ticket
    assert client.get("/api/v1/offices/chuanshan/windows/1/rating").get_json()["ticket"] is None
    # and the database itself refuses a second rating of the ticket
    db.session.add(Rating(ticket_id=ticket.id, office_id=office.id, service_code="marriage",
                          date=DAY, level=3, channel="sms"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_tablet_rates_only_the_latest_ticket_of_today_and_only_soon_after(client, hall,
                                                                         set_now):
    office, window = hall
    older = make_ticket(office, DAY, window=window, completed="09:20")
    latest = make_ticket(office, DAY, window=window, completed="09:40")
    token = pair_tablet(office, window, client)
    with pytest.raises(RatingError) as error:
        rate_at_window(token, older.number, 5)  # a crafted post for an earlier couple
    assert error.value.code == "not_rateable"
    with pytest.raises(RatingError):
        rate_at_window(token, latest.number, 9)  # no such level
    # yesterday's ticket is never offered
    yesterday = make_ticket(office, date(2026, 9, 27), window=window_of(office, "3"),
                            completed="16:00")
    with pytest.raises(RatingError):
        rate_at_window(pair_tablet(office, "3"), yesterday.number, 5)
    # 31 minutes after completion the tablet shows its welcome again
    set_now("2026-09-28T10:11:00+08:00")
    assert "欢迎您" in client.get("/rate/chuanshan/1").get_data(as_text=True)
    with pytest.raises(RatingError):
        rate_at_window(token, latest.number, 5)
    assert db.session.scalar(select(Rating)) is None


def test_bad_rating_opens_a_case_due_after_the_national_day_holiday(app, hall):
    office, window = hall
    from staff.services import create_user

    boss = create_user("boss", "admin", "password-123", "chuanshan", "处长")
    create_user("bureau", "admin", "password-123", None)
    ticket = make_ticket(office, DAY, window=window, completed="09:40")

    rating = rate_at_window(pair_tablet(office, window), ticket.number, 2, "等太久")
    case = db.session.scalar(select(FollowUpCase).where(FollowUpCase.rating_id == rating.id))
    # 15 working days from Monday 2026-09-28: 09-29, 09-30, (10-01..10-07 holiday),
    # 10-08, 10-09, 10-10 (a make-up Saturday), 10-12..10-16, 10-19..10-23
    assert case.opened_on == DAY
    assert case.due_on == date(2026, 10, 23)
    assert case.status == "open" and case.assignee_id == boss.id  # the office's own admin
    # From Friday 09-18 the make-up Sunday 09-20 counts, the Mid-Autumn Festival (Friday
    # 09-25) does not: 09-20..09-24 (5), 09-28..09-30 (8), 10-08, 10-09, 10-10 (11),
    # 10-12..10-15 (15)
    assert follow_up_due(date(2026, 9, 18)) == date(2026, 10, 15)


def test_good_and_middling_ratings_open_no_case(hall):
    office, window = hall
    for level in (5, 4, 3):
        ticket = make_ticket(office, DAY, window=window, completed="09:40")
        rate_at_window(pair_tablet(office, window), ticket.number, level)
    assert db.session.scalar(select(FollowUpCase)) is None
    ticket = make_ticket(office, DAY, window=window, completed="09:45")
    rate_at_window(pair_tablet(office, window), ticket.number, 1)
    assert len(db.session.scalars(select(FollowUpCase)).all()) == 1


def _link_token(body: str) -> str:
    """The secret of the rating link an SMS carries."""
    return re.search(r"/rate/t/([A-Za-z0-9_-]+)", body).group(1)


def test_rating_by_sms_link(client, hall, app):
    office, window = hall
    ticket = make_ticket(office, DAY, window=window, completed="09:40", phone="+8613800138000",
                         language="en")
    queue_rating_sms(ticket)
    queue_rating_sms(ticket)  # completion retried: still one message
    db.session.commit()
    messages = db.session.scalars(select(OutboxMessage)).all()
    invite = db.session.scalar(select(RatingInvite))
    assert len(messages) == 1 and messages[0].kind == "rate_service"
    assert messages[0].to_phone == "+8613800138000"
    token = _link_token(messages[0].body)
    assert f"http://localhost/rate/t/{token}" in messages[0].body
    assert invite.token_hash == secret_hash(token)  # the link is stored only as its hash
    assert "Chuanshan District Marriage Registration Office" in messages[0].body  # English

    page = client.get(f"/rate/t/{token}").get_data(as_text=True)
    assert ticket.number in page
    client.post(f"/rate/t/{token}", data={"level": "1", "comment": "态度不好"})
    rating = db.session.scalar(select(Rating))
    assert (rating.level, rating.channel, rating.comment) == (1, "sms", "态度不好")
    assert db.session.scalar(select(FollowUpCase)).rating_id == rating.id
    assert "已经评价过" in client.get(f"/rate/t/{token}").get_data(as_text=True)
    client.post(f"/rate/t/{token}", data={"level": "5"})
    assert len(db.session.scalars(select(Rating)).all()) == 1
    assert client.get("/rate/t/no-such-token").status_code == 404


def test_sms_link_expires_and_needs_a_phone(client, hall, set_now):
    office, window = hall
    silent = make_ticket(office, DAY, window=window, completed="09:30")  # walk-in, no phone
    queue_rating_sms(silent)
    waiting = make_ticket(office, DAY, status="waiting", called=None, phone="+8613800138001")
    queue_rating_sms(waiting)  # not completed yet
    ticket = make_ticket(office, DAY, window=window, completed="09:40", phone="+8613800138000")
    queue_rating_sms(ticket)
    db.session.commit()
    messages = db.session.scalars(select(OutboxMessage)).all()
    assert len(messages) == 1
    token = _link_token(messages[0].body)
    set_now("2026-10-06T10:00:00+08:00")  # eight days later
    assert "已过期" in client.get(f"/rate/t/{token}").get_data(as_text=True)
    client.post(f"/rate/t/{token}", data={"level": "5"})
    assert db.session.scalar(select(Rating)) is None


def test_overdue_cases_are_flagged_and_updates_are_audited(client, hall, login, set_now):
    office, window = hall
    ticket = make_ticket(office, DAY, window=window, completed="09:40")
    rate_at_window(pair_tablet(office, window), ticket.number, 1)
    case = db.session.scalar(select(FollowUpCase))
    admin = login("admin", "chuanshan")

    set_now("2026-10-23T10:00:00+08:00")  # the due day itself: not yet overdue
    assert "没有逾期的回访工单" in client.get("/staff/feedback").get_data(as_text=True)
    set_now("2026-10-26T10:00:00+08:00")
    page = client.get("/staff/feedback").get_data(as_text=True)
    assert "逾期未办结的回访工单：1 件" in page
    assert "已逾期" in client.get("/staff/feedback/cases?overdue=1").get_data(as_text=True)

    # resolving needs what was done
    client.post(f"/staff/feedback/cases/{case.id}", data={
        "status": "resolved", "assignee": str(admin.id), "note": "", "resolution": ""})
    assert db.session.get(FollowUpCase, case.id).status == "open"
    client.post(f"/staff/feedback/cases/{case.id}", data={
        "status": "in_progress", "assignee": str(admin.id), "note": "已电话联系当事人"})
    client.post(f"/staff/feedback/cases/{case.id}", data={
        "status": "resolved", "assignee": str(admin.id), "note": "",
        "resolution": "当事人反映等候时间长，已增开窗口并致歉"})
    db.session.expire_all()
    case = db.session.get(FollowUpCase, case.id)
    assert case.status == "resolved" and case.resolved_at is not None
    assert [n.status for n in case.notes] == ["in_progress", "resolved"]
    entries = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "feedback.case_update").order_by(AuditEntry.id)).all()
    assert [(e.username, e.target, e.office_id, e.details["status_to"]) for e in entries] == [
        ("admin-chuanshan", f"case:{case.id}", office.id, "in_progress"),
        ("admin-chuanshan", f"case:{case.id}", office.id, "resolved")]
    assert "没有逾期的回访工单" in client.get("/staff/feedback").get_data(as_text=True)


def test_staff_of_another_office_cannot_open_the_case(client, hall, login):
    office, window = hall
    ticket = make_ticket(office, DAY, window=window, completed="09:40")
    rate_at_window(pair_tablet(office, window), ticket.number, 2)
    case = db.session.scalar(select(FollowUpCase))
    login("admin", "anju")
    assert client.get(f"/staff/feedback/cases/{case.id}").status_code == 403
    page = client.get("/staff/feedback/cases").get_data(as_text=True)
    assert f"/staff/feedback/cases/{case.id}" not in page and "没有工单" in page


def test_unknown_office_or_window_is_404(client, hall):
    assert client.get("/rate/nowhere/1").status_code == 404
    assert client.get("/rate/chuanshan/99").status_code == 404
    response = client.get("/api/v1/offices/chuanshan/windows/99/rating")
    assert response.status_code == 404 and response.get_json()["code"] == "not_found"
