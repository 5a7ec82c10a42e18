"""The state calendar: official 2026 data, estimated 2027, admin-entered days."""

from datetime import date

from core.extensions import db
from hours.calendar import (
    add_working_days,
    divorce_windows,
    is_statutory_rest_day,
    missing_notice_warning,
    next_working_day,
    state_day,
)
from hours.models import HolidayNotice, StateDay


def test_national_day_2026_is_a_holiday_week(app):
    for day in range(1, 8):
        assert state_day(date(2026, 10, day)) == ("holiday", False)
    assert state_day(date(2026, 10, 8)) == ("workday", False)


def test_2026_make_up_working_days(app):
    assert state_day(date(2026, 9, 20)) == ("makeup_workday", False)  # Sunday
    assert state_day(date(2026, 10, 10)) == ("makeup_workday", False)  # Saturday
    assert state_day(date(2026, 2, 14)) == ("makeup_workday", False)  # Saturday
    assert not is_statutory_rest_day(date(2026, 2, 14))


def test_plain_weekend_and_workday_2026(app):
    assert state_day(date(2026, 6, 13)) == ("weekend", False)  # Saturday
    assert state_day(date(2026, 6, 15)) == ("workday", False)  # Monday
    assert is_statutory_rest_day(date(2026, 6, 13))
    assert not is_statutory_rest_day(date(2026, 6, 15))


def test_2027_is_estimated(app):
    assert state_day(date(2027, 10, 1)) == ("holiday", True)
    assert state_day(date(2027, 3, 6)) == ("weekend", True)  # Saturday
    assert state_day(date(2027, 3, 8)) == ("workday", True)


def test_admin_state_days_win(app):
    db.session.add(StateDay(date=date(2027, 2, 20), kind="makeup_workday", name="春节调休"))
    db.session.add(StateDay(date=date(2026, 6, 15), kind="holiday", name="test"))
    db.session.commit()
    assert state_day(date(2027, 2, 20)) == ("makeup_workday", False)
    assert state_day(date(2026, 6, 15)) == ("holiday", False)
    # other 2027 days remain estimates until the year is confirmed
    assert state_day(date(2027, 10, 1)) == ("holiday", True)


def test_confirmed_year_uses_only_entered_days(app):
    db.session.add(StateDay(date=date(2027, 10, 1), kind="holiday", name="国庆节"))
    db.session.add(HolidayNotice(year=2027))
    db.session.commit()
    assert state_day(date(2027, 10, 1)) == ("holiday", False)
    # the holidays package estimates 10-04 as a holiday; the confirmed notice does not list it
    assert state_day(date(2027, 10, 4)) == ("workday", False)
    assert state_day(date(2027, 10, 2)) == ("weekend", False)


def test_working_day_arithmetic(app):
    assert next_working_day(date(2026, 10, 1)) == date(2026, 10, 8)
    assert next_working_day(date(2026, 10, 9)) == date(2026, 10, 9)
    assert next_working_day(date(2026, 10, 10)) == date(2026, 10, 10)  # make-up Saturday
    assert add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 8)
    assert add_working_days(date(2026, 9, 30), 0) == date(2026, 9, 30)
    # 10-08 Thu, 10-09 Fri, 10-10 Sat (make-up), 10-12 Mon
    assert add_working_days(date(2026, 10, 7), 4) == date(2026, 10, 12)


def test_cooling_off_example_from_the_domain(app):
    assert divorce_windows(date(2026, 9, 7)) == (
        date(2026, 10, 8), date(2026, 10, 9), date(2026, 11, 9))


def test_cooling_off_on_a_working_day_is_not_moved(app):
    # accepted Mon 2026-06-01: 30th day Wed 07-01; step 2 until 30th day after, Fri 07-31
    assert divorce_windows(date(2026, 6, 1)) == (
        date(2026, 7, 1), date(2026, 7, 2), date(2026, 7, 31))


def test_missing_notice_warning(app):
    assert missing_notice_warning(date(2026, 10, 31)) is None  # before November
    warning = missing_notice_warning(date(2026, 11, 1))
    assert warning and "2027" in warning
    db.session.add(HolidayNotice(year=2027))
    db.session.commit()
    assert missing_notice_warning(date(2026, 11, 1)) is None
    # 2026 is bundled: no warning in late 2025
    assert missing_notice_warning(date(2025, 12, 1)) is None


def test_calendar_warnings_cover_an_unconfirmed_current_year(app):
    from hours.calendar import calendar_warnings

    assert calendar_warnings(date(2026, 6, 1)) == []
    assert len(calendar_warnings(date(2026, 11, 2))) == 1
    warnings = calendar_warnings(date(2027, 1, 10))  # 2027 started without a notice
    assert len(warnings) == 1 and "2027" in warnings[0]
    db.session.add(HolidayNotice(year=2027))
    db.session.commit()
    assert calendar_warnings(date(2027, 1, 10)) == []
