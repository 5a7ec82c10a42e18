"""Day plans: weekly hours, holidays, make-up days, peak days, overrides, extensions, slots."""

from datetime import date

from core.extensions import db
from hours.calendar import (
    day_plan,
    day_plans,
    lunar_to_solar,
    peak_rules_for,
    rule_dates,
    slot_specs,
)
from hours.models import CalendarOverride, DayExtension
from offices.models import PeakDayRule


def test_normal_weekday_and_weekend(offices):
    office = offices["chuanshan"]
    monday = day_plan(office, date(2026, 6, 15))
    assert monday.kind == "workday" and monday.open and not monday.estimated
    assert monday.hours == (("09:00", "12:00"), ("13:30", "17:00"))
    assert monday.opens_at == "09:00" and monday.closes_at == "17:00"
    assert monday.peak is None and not monday.extended
    saturday = day_plan(office, date(2026, 6, 13))
    assert saturday.kind == "weekend" and not saturday.open and saturday.hours == ()
    assert saturday.opens_at is None and saturday.closes_at is None
    # shehong opens on Saturday mornings
    assert day_plan(offices["shehong"], date(2026, 6, 13)).hours == (("09:00", "12:00"),)


def test_national_day_closes_and_make_up_days_open(offices):
    office = offices["chuanshan"]
    for plan in day_plans(office, date(2026, 10, 1), 7):
        assert plan.kind == "holiday" and not plan.open
    for day in (date(2026, 9, 20), date(2026, 10, 10)):
        plan = day_plan(office, day)
        assert plan.kind == "makeup_workday" and plan.open
        assert plan.hours == (("09:00", "12:00"), ("13:30", "17:00"))  # the mon hours


def test_make_up_hours_used_when_given(offices):
    office = offices["chuanshan"]
    office.hours = {**office.hours, "makeup": ["09:00-12:00"]}
    db.session.commit()
    assert day_plan(office, date(2026, 10, 10)).hours == (("09:00", "12:00"),)


def test_open_on_holidays(offices):
    office = offices["chuanshan"]
    office.open_on_holidays = True
    db.session.commit()
    plan = day_plan(office, date(2026, 10, 1))  # Thursday
    assert plan.kind == "holiday" and plan.open
    assert not day_plan(office, date(2026, 10, 3)).open  # a Saturday: no weekend hours


def test_valentine_2026_is_a_make_up_saturday_with_peak_hours(offices):
    plan = day_plan(offices["chuanshan"], date(2026, 2, 14))
    assert plan.kind == "makeup_workday" and plan.open
    assert plan.peak.code == "valentine"
    assert plan.hours == (("08:30", "12:00"), ("12:00", "18:00"))
    assert plan.extended


def test_520_peak_at_every_office_open_that_day(offices):
    # 2026-05-20 is a Wednesday: every office opens, with the peak's longer hours
    for office in offices.values():
        plan = day_plan(office, date(2026, 5, 20))
        assert plan.open and plan.peak.code == "520", office.code
        assert plan.peak.capacity_factor == 2.0
        assert plan.planned_hours == (("08:30", "12:00"), ("12:00", "18:30"))
        assert plan.closes_at == "18:30" and plan.extended


def test_qixi_dates_follow_the_lunar_calendar(offices):
    rule = next(r for r in peak_rules_for(offices["chuanshan"]) if r.code == "qixi")
    assert rule_dates(rule, 2026) == {date(2026, 8, 19)}
    assert rule_dates(rule, 2027) == {date(2027, 8, 8)}
    assert rule_dates(rule, 2028) == {date(2028, 8, 26)}
    assert day_plan(offices["chuanshan"], date(2026, 8, 19)).peak.code == "qixi"


def test_leap_month_gives_no_second_qixi():
    # 2025 has a leap 6th month, 2006 and 2044 a leap 7th month: still one 七夕 each
    from lunardate import LunarDate

    assert LunarDate.leapMonthForYear(2006) == 7
    assert lunar_to_solar(2006, 7, 7) == [date(2006, 7, 31)]
    assert LunarDate.leapMonthForYear(2025) == 6
    assert lunar_to_solar(2025, 7, 7) == [date(2025, 8, 29)]
    # a lunar 12th-month date falls in January/February of the next solar year
    assert lunar_to_solar(2027, 12, 8) == [date(2027, 1, 15)]


def test_qixi_2027_sunday_opens_only_where_peak_days_open(offices):
    sunday = date(2027, 8, 8)
    open_plan = day_plan(offices["chuanshan"], sunday)
    assert open_plan.kind == "weekend" and open_plan.estimated
    assert open_plan.open and open_plan.peak.code == "qixi"
    assert open_plan.hours == (("08:30", "12:00"), ("12:00", "18:30"))
    assert open_plan.extended
    closed_plan = day_plan(offices["pengxi"], sunday)  # open_on_peak_days = false
    assert not closed_plan.open and closed_plan.hours == ()
    assert not closed_plan.extended
    assert slot_specs(offices["pengxi"], "marriage", sunday) == []


def test_qixi_2028_saturday_at_shehong_gets_peak_hours(offices):
    plan = day_plan(offices["shehong"], date(2028, 8, 26))
    assert plan.open and plan.peak.code == "qixi"
    assert plan.hours == (("08:30", "12:00"), ("12:00", "18:30"))


def test_peak_seats_are_normal_times_factor(offices):
    office = offices["chuanshan"]  # marriage 6, divorce 2
    normal = slot_specs(office, "marriage", date(2026, 6, 15))
    assert {s.capacity for s in normal} == {6}
    peak = slot_specs(office, "marriage", date(2026, 5, 20))  # factor 2.0
    assert {s.capacity for s in peak} == {12}
    valentine = slot_specs(office, "divorce", date(2026, 2, 14))  # 2 * 1.5
    assert {s.capacity for s in valentine} == {3}
    anju = slot_specs(offices["anju"], "reissue", date(2026, 2, 14))  # floor(1 * 1.5)
    assert {s.capacity for s in anju} == {1}


def test_slots_are_whole_and_remainders_dropped(offices):
    office = offices["chuanshan"]
    slots = slot_specs(office, "marriage", date(2026, 6, 15))
    assert [s.start for s in slots][:2] == ["09:00", "09:30"]
    assert len(slots) == 6 + 7  # 09:00-12:00 and 13:30-17:00
    # 520 hours 08:30-12:00 (7) and 12:00-18:30 (13)
    assert len(slot_specs(office, "marriage", date(2026, 5, 20))) == 20
    office.slot_minutes = 45
    db.session.commit()
    slots = slot_specs(office, "marriage", date(2026, 6, 15))
    # 09:00-12:00: 4 whole slots; 13:30-17:00 (210 min): 4 slots, 30 min left over
    assert [(s.start, s.end) for s in slots] == [
        ("09:00", "09:45"), ("09:45", "10:30"), ("10:30", "11:15"), ("11:15", "12:00"),
        ("13:30", "14:15"), ("14:15", "15:00"), ("15:00", "15:45"), ("15:45", "16:30")]


def test_service_not_offered_has_no_slots(offices):
    assert slot_specs(offices["chuanshan"], "ceremony", date(2026, 6, 15)) == []
    assert slot_specs(offices["chuanshan"], "marriage", date(2026, 6, 13)) == []


def test_overrides_win_over_everything(offices):
    office = offices["chuanshan"]
    db.session.add(CalendarOverride(office_id=office.id, date=date(2026, 5, 20), closed=True,
                                    note="停电"))
    db.session.add(CalendarOverride(office_id=office.id, date=date(2026, 10, 3), closed=False,
                                    hours=["10:00-12:00"], note="集体婚礼"))
    db.session.commit()
    closed = day_plan(office, date(2026, 5, 20))
    assert not closed.open and closed.override_note == "停电"
    assert slot_specs(office, "marriage", date(2026, 5, 20)) == []
    special = day_plan(office, date(2026, 10, 3))  # a holiday
    assert special.open and special.hours == (("10:00", "12:00"),)
    assert len(slot_specs(office, "marriage", date(2026, 10, 3))) == 4
    # other offices are untouched
    assert day_plan(offices["anju"], date(2026, 5, 20)).open


def test_extensions_extend_hours_but_not_planned_hours(offices):
    office = offices["chuanshan"]
    day = date(2026, 6, 15)
    for until in ("17:30", "18:00"):
        db.session.add(DayExtension(office_id=office.id, date=day, previous_close="17:00",
                                    until=until, waiting_count=3))
    db.session.commit()
    plan = day_plan(office, day)
    assert plan.planned_hours == (("09:00", "12:00"), ("13:30", "17:00"))
    assert plan.hours == (("09:00", "12:00"), ("13:30", "18:00"))
    assert plan.closes_at == "18:00" and plan.extended
    assert len(slot_specs(office, "marriage", day)) == 13  # no slot in the extension


def test_office_rule_replaces_global_rule_of_the_same_code(offices):
    office = offices["anju"]
    db.session.add(PeakDayRule(scope="anju", office_id=office.id, code="520", name="5·20 安居",
                               dates=["05-20"], hours=["08:00-18:00"], capacity_factor=3.0))
    db.session.commit()
    codes = [r.code for r in peak_rules_for(office)]
    assert codes.count("520") == 1
    plan = day_plan(office, date(2026, 5, 20))
    assert plan.peak.name == "5·20 安居" and plan.hours == (("08:00", "18:00"),)
    assert {s.capacity for s in slot_specs(office, "marriage", date(2026, 5, 20))} == {12}
    assert day_plan(office, date(2026, 5, 21)).peak is None  # the own rule lists only 05-20
    assert day_plan(offices["chuanshan"], date(2026, 5, 21)).peak.code == "520"


def test_a_year_of_plans(offices):
    plans = day_plans(offices["suining"], date(2026, 3, 1), 366)
    assert len(plans) == 366 and plans[-1].date == date(2027, 3, 1)
    assert any(p.estimated for p in plans) and any(not p.estimated for p in plans)
