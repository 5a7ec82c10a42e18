"""The day-before reminder (`sms-reminders`) and the divorce step-2 notices: queued once
however often the jobs run, then sent once by `sms-dispatch`."""

from datetime import date

from core.extensions import db
from notify.jobs import dispatch_outbox
from tests.notify.helpers import book_couple, outbox

MONDAY_MORNING = "2026-06-01T10:00:00+08:00"
TUESDAY = date(2026, 6, 2)


def _reminders(twilio):
    return [m for m in twilio.messages if "提醒" in m["body"] or "Reminder" in m["body"]]


def test_reminders_then_dispatch_run_twice_send_each_reminder_once(app, offices, set_now,
                                                                   twilio):
    from booking.reminders import queue_reminders

    set_now(MONDAY_MORNING)
    appointment = book_couple(TUESDAY, start="09:30")
    dispatch_outbox()  # the confirmations
    twilio.clear()

    set_now("2026-06-01T18:00:00+08:00")
    assert queue_reminders() == "2 reminders queued for 1 appointments"
    assert dispatch_outbox() == "2 sent, 0 to retry, 0 failed"
    set_now("2026-06-01T18:05:00+08:00")
    assert queue_reminders() == "nothing due"
    assert dispatch_outbox() == "nothing due"

    reminders = _reminders(twilio)
    assert sorted(m["to"] for m in reminders) == ["+8613800138000", "+8613900139000"]
    body = reminders[0]["body"]
    assert body.startswith("【遂宁市婚姻登记中心】提醒：您明天6月2日 09:30预约办理结婚登记")
    assert "地址：遂宁市船山区" in body and "居民身份证" in body and appointment.code in body
    db.session.refresh(appointment)
    assert appointment.reminder_queued_at is not None


def test_no_reminder_before_the_reminder_hour_nor_for_other_days(app, offices, set_now, twilio):
    from booking.reminders import queue_reminders

    set_now(MONDAY_MORNING)
    book_couple(TUESDAY)
    book_couple(date(2026, 6, 3), phones=("13700137000", "13600136000"))
    set_now("2026-06-01T17:59:00+08:00")
    assert queue_reminders() == "nothing due"
    set_now("2026-06-01T19:00:00+08:00")
    queue_reminders()
    assert sorted(m.to_phone for m in outbox(kind="reminder")) == [
        "+8613800138000", "+8613900139000"]


def test_the_reminder_hour_is_configurable(app, offices, set_now):
    from booking.reminders import queue_reminders

    app.config["SMS_REMINDER_AT"] = "20:30"
    set_now(MONDAY_MORNING)
    book_couple(TUESDAY)
    set_now("2026-06-01T20:00:00+08:00")
    assert queue_reminders() == "nothing due"
    set_now("2026-06-01T20:30:00+08:00")
    assert queue_reminders().startswith("2 reminders")


def test_a_cancelled_appointment_gets_no_reminder(app, offices, set_now):
    from booking.reminders import queue_reminders
    from booking.transactions import cancel

    set_now(MONDAY_MORNING)
    appointment = book_couple(TUESDAY)
    cancel(appointment)
    db.session.commit()
    set_now("2026-06-01T18:30:00+08:00")
    assert queue_reminders() == "nothing due"


def test_an_english_booking_gets_an_english_reminder(app, offices, set_now, twilio):
    from booking.reminders import queue_reminders

    set_now(MONDAY_MORNING)
    book_couple(TUESDAY, language="en")
    set_now("2026-06-01T18:30:00+08:00")
    queue_reminders()
    [reminder, _] = outbox(kind="reminder")
    assert reminder.body.startswith(
        "[Suining Marriage Registration Center] Reminder: Marriage registration tomorrow "
        "2 Jun at 09:00")
    assert "Bring: your valid resident identity card; 3 recent 2-inch" in reminder.body


def test_racing_reminder_jobs_queue_each_reminder_once(app, offices, set_now):
    import threading

    from booking.reminders import queue_reminders

    set_now(MONDAY_MORNING)
    for n in range(4):
        book_couple(TUESDAY, phones=(f"1380013800{n}", f"1390013900{n}"))
    set_now("2026-06-01T18:30:00+08:00")
    barrier = threading.Barrier(3)
    errors = []

    def run():
        try:
            with app.app_context():
                barrier.wait()
                queue_reminders()
        except Exception as error:  # pragma: no cover
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert len(outbox(kind="reminder")) == 8


def _divorce_case(app, offices, set_now):
    from booking.divorce import record_divorce_application

    set_now("2026-09-04T10:00:00+08:00")
    appointment = book_couple(date(2026, 9, 7), service="divorce",
                              phones=("13500135000", "13400134000"))
    case = record_divorce_application(offices["suining"],
                                      [a.id_hash for a in appointment.applicants],
                                      date(2026, 9, 7), appointment)
    db.session.commit()
    return case


def test_divorce_window_notices_are_sent_once_when_it_opens_and_5_days_before_it_closes(
        app, offices, set_now, twilio):
    from booking.reminders import queue_divorce_window_notices

    case = _divorce_case(app, offices, set_now)
    assert (case.step2_from, case.step2_until) == (date(2026, 10, 9), date(2026, 11, 9))

    set_now("2026-10-08T12:00:00+08:00")  # still cooling off: the counselling offer only
    assert queue_divorce_window_notices() == "2 messages queued"
    assert queue_divorce_window_notices() == "nothing due"
    assert len(outbox(kind="counseling_offer")) == 2
    set_now("2026-10-09T09:30:00+08:00")
    assert queue_divorce_window_notices() == "2 messages queued"
    assert queue_divorce_window_notices() == "nothing due"
    opens = outbox(kind="step2_opens")
    assert sorted(m.to_phone for m in opens) == ["+8613400134000", "+8613500135000"]
    assert "10月9日至11月9日" in opens[0].body and "遂宁市婚姻登记中心" in opens[0].body

    set_now("2026-11-03T12:00:00+08:00")
    assert queue_divorce_window_notices() == "nothing due"
    set_now("2026-11-04T10:00:00+08:00")
    assert queue_divorce_window_notices() == "2 messages queued"
    set_now("2026-11-05T10:00:00+08:00")
    assert queue_divorce_window_notices() == "nothing due"
    closing = outbox(kind="step2_closing")
    assert len(closing) == 2 and "11月9日" in closing[0].body

    dispatch_outbox()
    assert len(twilio.messages) == 2 + 2 + 4  # confirmations, counselling offer, notices


def test_no_divorce_notices_for_a_withdrawn_case(app, offices, set_now):
    from booking.divorce import withdraw_now
    from booking.models import Appointment
    from booking.reminders import queue_divorce_window_notices
    from core.privacy import decrypt

    case = _divorce_case(app, offices, set_now)
    party = case.appointment_id and db.session.get(Appointment, case.appointment_id)
    withdraw_now(case, decrypt(party.applicants[0].id_number_enc), None)
    set_now("2026-10-09T09:30:00+08:00")
    assert queue_divorce_window_notices() == "nothing due"


def test_the_reminder_hour_is_each_office_s_local_time(app, offices, set_now):
    from booking.reminders import queue_reminders

    set_now(MONDAY_MORNING)
    book_couple(TUESDAY)
    offices["suining"].timezone = "Asia/Urumqi"  # UTC+6: two hours behind Beijing
    db.session.commit()
    set_now("2026-06-01T19:30:00+08:00")  # 17:30 in Ürümqi
    assert queue_reminders() == "nothing due"
    set_now("2026-06-01T20:00:00+08:00")  # 18:00 in Ürümqi
    assert queue_reminders().startswith("2 reminders")
