"""daily-reset, retention-purge and holiday-data-check: what each does, and that a second
run changes nothing more."""

from datetime import UTC, date, datetime

from sqlalchemy import func, select

from booking.models import Applicant, Appointment, Slot
from core.extensions import db
from core.notices import SystemNotice
from core.privacy import encrypt, keyed_hash
from hallqueue.jobs import daily_reset_job
from hallqueue.models import Ticket, TicketCounter
from hours.jobs import holiday_data_check_job
from hours.models import HolidayNotice
from notify.models import OutboxMessage
from offices.models import Window
from scheduler.notices import active_warnings
from tests.scheduler.helpers import make_ticket

# --- daily-reset ----------------------------------------------------------------------------


def test_daily_reset_closes_leftover_tickets_and_prepares_today(offices, set_now):
    office = offices["chuanshan"]
    yesterday, today = date(2026, 6, 14), date(2026, 6, 15)
    left_waiting = make_ticket(office, yesterday, "waiting")
    left_called = make_ticket(office, yesterday, "called")
    done = make_ticket(office, yesterday, "completed")
    window = db.session.scalars(select(Window).where(Window.office_id == office.id)).first()
    window.paused = True
    db.session.commit()

    set_now("2026-06-15T00:05:00+08:00")
    summary = daily_reset_job()
    assert "2 tickets of past days closed as no-show" in summary
    assert "1 paused windows reopened" in summary
    db.session.expire_all()
    assert [left_waiting.status, left_called.status, done.status] == [
        "no_show", "no_show", "completed"]
    assert db.session.scalar(select(func.count(Ticket.id))) == 3  # history kept
    assert not window.paused
    counters = db.session.scalars(select(TicketCounter).where(
        TicketCounter.office_id == office.id, TicketCounter.date == today)).all()
    assert {c.service_code for c in counters} == set(office.service_codes)
    assert all(c.last_number == 0 for c in counters)

    again = daily_reset_job()
    assert "0 ticket counters created" in again
    assert "0 tickets of past days closed" in again and "0 paused windows" in again


def test_daily_reset_late_in_the_day_leaves_todays_pauses_and_tickets(offices, set_now):
    office = offices["chuanshan"]
    today = date(2026, 6, 15)
    waiting_today = make_ticket(office, today, "waiting")
    window = db.session.scalars(select(Window).where(Window.office_id == office.id)).first()
    window.paused = True
    db.session.commit()
    set_now("2026-06-15T10:00:00+08:00")
    daily_reset_job()
    db.session.expire_all()
    assert window.paused and waiting_today.status == "waiting"


# --- retention-purge ------------------------------------------------------------------------

def make_appointment(office, day: date, status: str, names=("张小三", "李四")) -> Appointment:
    slot = db.session.scalar(select(Slot).where(Slot.office_id == office.id, Slot.date == day))
    if slot is None:
        slot = Slot(office_id=office.id, service_code="marriage", date=day, start="09:00",
                    end="09:30", capacity=6, booked=0)
        db.session.add(slot)
        db.session.flush()
    appointment = Appointment(code=f"C{db.session.query(Appointment).count() + 1:07d}",
                              token=f"token-{day}-{status}-{len(names)}-{slot.id}-"
                                    f"{db.session.query(Appointment).count()}",
                              office_id=office.id, service_code="marriage", slot_id=slot.id,
                              date=day, start="09:00", end="09:30", status=status)
    for position, name in enumerate(names):
        number = "11010519491231002X" if position == 0 else "440524188001010014"
        appointment.applicants.append(Applicant(
            position=position, service_code="marriage", name=name, id_type="resident_id",
            id_number_enc=encrypt(number), id_hash=keyed_hash(number),
            id_masked="1101**********002X", sex="M" if position else "F",
            birth_date=date(1990, 1, 1), phone=f"+861380000000{position}"))
    db.session.add(appointment)
    db.session.commit()
    return appointment


def test_retention_purge_removes_old_personal_data_and_keeps_counts(app, offices, set_now):
    from scheduler.retention import retention_purge_job

    app.config["RETENTION_DAYS"] = 365
    office = offices["chuanshan"]
    old_done = make_appointment(office, date(2025, 5, 1), "completed")
    old_cancelled = make_appointment(office, date(2025, 6, 1), "cancelled", names=("欧阳小三",))
    old_booked = make_appointment(office, date(2025, 5, 2), "booked")  # not finished
    recent = make_appointment(office, date(2026, 5, 1), "no_show")
    old_ticket = make_ticket(office, date(2025, 5, 1), "completed", phone="+8613800000009")
    old_ticket.party_hashes = ["abc"]
    db.session.add(OutboxMessage(to_phone="+8613800000009", body="【x】您已预约…", kind="x",
                                 status="delivered"))
    db.session.commit()
    db.session.execute(OutboxMessage.__table__.update().values(
        created_at=datetime(2025, 5, 1, 10, 0, tzinfo=UTC)))
    db.session.commit()

    set_now("2026-06-15T03:30:00+08:00")
    summary = retention_purge_job()
    assert summary == ("personal data removed from 2 appointments (3 applicants), 1 tickets, "
                       "1 SMS and 0 suggestions dated before 2025-06-15")
    db.session.expire_all()
    for appointment in (old_done, old_cancelled):
        assert appointment.purged_at is not None
        for applicant in appointment.applicants:
            assert applicant.id_number_enc == "" and applicant.phone == ""
            assert applicant.birth_date is None  # encrypted until now, then removed
            assert applicant.id_masked == "1101**********002X"  # no birth date in it
    assert [a.name for a in old_done.applicants] == ["张*三", "李*"]
    assert [a.name for a in old_cancelled.applicants] == ["欧**三"]
    for kept in (old_booked, recent):
        assert kept.purged_at is None
        assert kept.applicants[0].name == "张小三" and kept.applicants[0].id_number_enc
        assert kept.applicants[0].birth_date == date(1990, 1, 1)
    assert old_ticket.phone == "" and old_ticket.party_hashes == []
    message = db.session.scalars(select(OutboxMessage)).one()
    assert message.to_phone == "" and message.body == "" and message.to_phone_hash == ""
    assert db.session.scalar(select(func.count(Appointment.id))) == 4  # counts kept

    assert retention_purge_job() == ("personal data removed from 0 appointments (0 applicants), "
                                     "0 tickets, 0 SMS and 0 suggestions dated before 2025-06-15")
    assert [a.name for a in old_done.applicants] == ["张*三", "李*"]


# --- holiday-data-check ---------------------------------------------------------------------

def test_holiday_check_warns_from_november_until_the_year_is_confirmed(app, set_now):
    set_now("2026-10-31T08:00:00+08:00")
    assert holiday_data_check_job() == ("holiday data in place for 2026; nothing due for "
                                        "2027 yet")
    assert active_warnings() == []

    set_now("2026-11-01T08:00:00+08:00")
    assert holiday_data_check_job() == ("holiday notice not entered and confirmed for 2027 "
                                        "(1 new warning(s))")
    assert "(0 new warning(s))" in holiday_data_check_job()  # once, refreshed
    assert db.session.scalar(select(func.count()).select_from(SystemNotice)) == 1
    warnings = active_warnings()
    assert len(warnings) == 1 and "2027" in warnings[0]

    # the admin confirms 2027: the warning disappears at once and the next check resolves it
    db.session.add(HolidayNotice(year=2027, note="国办发明电"))
    db.session.commit()
    assert active_warnings() == []
    assert "1 warning(s) resolved" in holiday_data_check_job()
    notice = db.session.get(SystemNotice, "holiday-notice-2027")
    assert notice.resolved_at is not None


def test_holiday_warning_stays_into_the_new_year_while_unconfirmed(app, set_now):
    set_now("2026-12-01T08:00:00+08:00")
    holiday_data_check_job()
    set_now("2027-01-05T08:00:00+08:00")
    assert "confirmed for 2027 (0 new warning(s))" in holiday_data_check_job()
    warnings = active_warnings()
    assert len(warnings) == 1 and "2027" in warnings[0]
    db.session.add(HolidayNotice(year=2027))
    db.session.commit()
    set_now("2027-01-06T08:00:00+08:00")
    assert "1 warning(s) resolved" in holiday_data_check_job()
    assert active_warnings() == []
