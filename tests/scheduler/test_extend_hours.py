"""延时服务: at closing time with people still waiting, the day is extended, the hall
display's state changes, and everyone waiting gets an SMS; repeated runs add nothing; an
empty hall is never extended."""

from datetime import date

from sqlalchemy import func, select

from core.extensions import db
from hallqueue.extensions import extend_hours_job
from hours.calendar import day_plan
from hours.extensions import next_closing
from hours.models import DayExtension
from notify.models import OutboxMessage
from tests.scheduler.helpers import make_ticket

MONDAY = date(2026, 6, 15)  # chuanshan: 09:00-12:00, 13:30-17:00


def sms(kind="hours_extended"):
    return db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind)
                              .order_by(OutboxMessage.id)).all()


def extensions(office):
    return db.session.scalars(select(DayExtension).where(DayExtension.office_id == office.id)
                              .order_by(DayExtension.id)).all()


def test_closing_time_with_people_waiting_extends_the_day(offices, set_now):
    office = offices["chuanshan"]
    make_ticket(office, MONDAY, "called", phone="+8613800000001")
    make_ticket(office, MONDAY, "waiting", phone="+8613800000002")
    make_ticket(office, MONDAY, "waiting", phone="+8613800000003", language="en")
    make_ticket(office, MONDAY, "waiting", phone="")  # no phone: no SMS, still waiting
    make_ticket(office, MONDAY, "completed", phone="+8613800000004")

    set_now("2026-06-15T16:59:00+08:00")
    assert extend_hours_job() == "no office needs an extension"
    assert not day_plan(office, MONDAY).extended

    set_now("2026-06-15T17:00:00+08:00")
    summary = extend_hours_job()
    assert "chuanshan: extended 17:00 → 17:30" in summary
    assert "4 in the hall, 2 SMS queued" in summary
    plan = day_plan(office, MONDAY)
    assert plan.extended and plan.closes_at == "17:30"
    assert plan.hours == (("09:00", "12:00"), ("13:30", "17:30"))
    assert plan.planned_hours == (("09:00", "12:00"), ("13:30", "17:00"))  # no new slots

    messages = sms()
    assert [m.to_phone for m in messages] == ["+8613800000002", "+8613800000003"]
    assert "今天延时服务至17:30" in messages[0].body and office.name in messages[0].body
    assert "until 17:30" in messages[1].body and office.name_en in messages[1].body

    # other offices have nobody waiting: not extended
    assert not day_plan(offices["suining"], MONDAY).extended


def test_running_again_at_once_does_nothing_more(offices, set_now):
    office = offices["chuanshan"]
    make_ticket(office, MONDAY, "waiting", phone="+8613800000002")
    set_now("2026-06-15T17:00:30+08:00")
    extend_hours_job()
    assert extend_hours_job() == "no office needs an extension"
    set_now("2026-06-15T17:29:00+08:00")
    assert extend_hours_job() == "no office needs an extension"
    assert [e.until for e in extensions(office)] == ["17:30"]
    assert len(sms()) == 1


def test_extends_again_at_the_new_closing_time_until_the_hall_is_empty(offices, set_now):
    office = offices["chuanshan"]
    first = make_ticket(office, MONDAY, "waiting", phone="+8613800000002")
    second = make_ticket(office, MONDAY, "waiting", phone="+8613800000003")
    set_now("2026-06-15T17:00:00+08:00")
    extend_hours_job()

    first.status = "completed"
    db.session.commit()
    set_now("2026-06-15T17:30:00+08:00")
    assert "extended 17:30 → 18:00 (1 in the hall, 1 SMS queued)" in extend_hours_job()
    assert day_plan(office, MONDAY).closes_at == "18:00"
    assert [m.dedupe_key for m in sms()] == [
        f"hours_extended:{first.id}:17:30", f"hours_extended:{second.id}:17:30",
        f"hours_extended:{second.id}:18:00"]

    second.status = "completed"
    db.session.commit()
    set_now("2026-06-15T18:00:00+08:00")
    assert extend_hours_job() == "no office needs an extension"
    set_now("2026-06-15T18:45:00+08:00")
    assert extend_hours_job() == "no office needs an extension"
    plan = day_plan(office, MONDAY)
    assert plan.closes_at == "18:00" and plan.extended  # never taken back
    assert [e.until for e in extensions(office)] == ["17:30", "18:00"]


def test_empty_hall_at_closing_time_is_not_extended(offices, set_now):
    office = offices["chuanshan"]
    make_ticket(office, MONDAY, "completed")
    make_ticket(office, MONDAY, "no_show")
    make_ticket(office, date(2026, 6, 12), "waiting")  # an earlier day's leftover
    set_now("2026-06-15T17:05:00+08:00")
    assert extend_hours_job() == "no office needs an extension"
    assert db.session.scalar(select(func.count(DayExtension.id))) == 0
    assert not day_plan(office, MONDAY).extended


def test_closed_day_is_never_extended(offices, set_now):
    office = offices["chuanshan"]
    saturday = date(2026, 6, 13)
    make_ticket(office, saturday, "waiting")
    set_now("2026-06-13T18:00:00+08:00")
    assert extend_hours_job() == "no office needs an extension"


def test_a_late_run_extends_past_now(offices, set_now):
    office = offices["chuanshan"]
    make_ticket(office, MONDAY, "waiting")
    set_now("2026-06-15T17:41:00+08:00")  # the scheduler was down at 17:00 and 17:30
    assert "extended 17:00 → 18:00" in extend_hours_job()


def test_next_closing_steps():
    assert next_closing(17 * 60, 17 * 60, 30) == 17 * 60 + 30
    assert next_closing(17 * 60, 17 * 60 + 29, 30) == 17 * 60 + 30
    assert next_closing(17 * 60, 17 * 60 + 30, 30) == 18 * 60
    assert next_closing(23 * 60 + 45, 23 * 60 + 50, 30) == 23 * 60 + 59


def test_the_hall_display_shows_the_extension(client, offices, set_now):
    make_ticket(offices["chuanshan"], MONDAY, "waiting", phone="+8613800000002")
    set_now("2026-06-15T17:00:00+08:00")
    before = client.get("/api/v1/offices/chuanshan/display").get_json()
    assert before["open_until"] == "17:00" and before["extended"] is False
    extend_hours_job()
    after = client.get("/api/v1/offices/chuanshan/display").get_json()
    assert after["open_until"] == "17:30" and after["extended"] is True
    assert any("17:30" in notice for notice in after["notices"])
