"""The public calendar page and the admins' calendar pages."""

import dataclasses
from datetime import date

import pytest
from sqlalchemy import select

from core.audit import AuditEntry
from core.extensions import db
from hours.models import CalendarOverride, HolidayNotice, StateDay
from offices.models import PeakDayRule
from staff.services import create_user


def login(client, role: str, office: str | None = None) -> None:
    username = f"{role}-{office or 'all'}"
    create_user(username, role, "password-123", office)
    response = client.post("/staff/login", data={"username": username,
                                                 "password": "password-123"})
    assert response.status_code == 302


@pytest.fixture
def admin(client, offices, set_now):
    set_now("2026-05-10T10:00:00+08:00")
    login(client, "admin")
    return client


# --- public page --------------------------------------------------------------------------

def test_public_month_view_marks_peak_days_and_hours(client, offices, set_now):
    set_now("2026-05-10T10:00:00+08:00")
    page = client.get("/calendar/chuanshan").get_data(as_text=True)
    assert "2026 年 5 月" in page
    assert "5·20" in page  # the peak day, by name
    assert "08:30–18:30" in page  # its longer hours
    assert "延时" in page
    assert "09:00–17:00" in page
    assert "七夕" not in page.split("近期高峰日")[0]  # not in May's grid


def test_public_month_view_of_october_shows_holidays(client, offices):
    page = client.get("/calendar/chuanshan?month=2026-10").get_data(as_text=True)
    assert "国庆节" in page and "班" in page and "不办公" in page


def test_public_page_lists_coming_peak_days(client, offices, set_now):
    set_now("2026-08-01T10:00:00+08:00")
    page = client.get("/calendar/pengxi").get_data(as_text=True)
    coming = page.split("近期高峰日与延时服务")[1]
    assert "2026-08-19" in coming and "七夕" in coming


def test_public_page_bad_month_and_unknown_office(client, offices):
    response = client.get("/calendar/chuanshan?month=2026-13")
    assert response.status_code == 400  # this month's calendar, and why
    assert "月份格式应为" in response.get_data(as_text=True)
    assert client.get("/calendar/nowhere").status_code == 404


def test_home_page_links_the_calendar(client, offices):
    assert "/calendar/chuanshan" in client.get("/").get_data(as_text=True)


# --- overrides ----------------------------------------------------------------------------

def test_create_override_and_preview_reflects_it(admin, offices):
    response = admin.post("/staff/calendar/chuanshan/overrides", data={
        "date": "2026-05-20", "mode": "closed", "hours": "", "note": "设备检修"})
    assert response.status_code == 302
    row = db.session.scalar(select(CalendarOverride))
    assert row.closed and row.note == "设备检修"
    page = admin.get("/staff/calendar/chuanshan/overrides").get_data(as_text=True)
    preview = page.split("未来 60 天预览")[1]
    row_520 = preview.split("2026-05-20")[1].split("</tr>")[0]
    assert "不办公" in row_520 and "特殊安排" in row_520 and "设备检修" in row_520
    audit = db.session.scalar(select(AuditEntry).where(
        AuditEntry.action == "calendar.override.create"))
    assert audit is not None and audit.details["date"] == "2026-05-20"
    # the public API agrees
    day = admin.get("/api/v1/offices/chuanshan/calendar?from=2026-05-20&days=1").get_json()
    assert day["days"][0]["open"] is False


def test_override_with_special_hours_then_edit_and_delete(admin, offices):
    admin.post("/staff/calendar/chuanshan/overrides", data={
        "date": "2026-05-16", "mode": "hours", "hours": "09:00-12:00", "note": "集体颁证"})
    day = admin.get("/api/v1/offices/chuanshan/calendar?from=2026-05-16&days=1").get_json()
    assert day["days"][0]["open"] and day["days"][0]["hours"] == [
        {"start": "09:00", "end": "12:00"}]
    form = admin.get("/staff/calendar/chuanshan/overrides?date=2026-05-16").get_data(
        as_text=True)
    assert 'value="09:00-12:00"' in form
    admin.post("/staff/calendar/chuanshan/overrides", data={
        "date": "2026-05-16", "mode": "hours", "hours": "08:00-12:00，13:00-16:00", "note": ""})
    rows = db.session.scalars(select(CalendarOverride)).all()
    assert len(rows) == 1 and rows[0].hours == ["08:00-12:00", "13:00-16:00"]
    response = admin.post(f"/staff/calendar/chuanshan/overrides/{rows[0].id}/delete")
    assert response.status_code == 302
    assert db.session.scalar(select(CalendarOverride)) is None
    actions = set(db.session.scalars(select(AuditEntry.action)))
    assert {"calendar.override.create", "calendar.override.update",
            "calendar.override.delete"} <= actions


@pytest.mark.parametrize("data, message", [
    ({"date": "2026-05-16", "mode": "hours", "hours": ""}, "请填写办公时段"),
    ({"date": "2026-05-16", "mode": "hours", "hours": "9-12"}, "办公时段格式应为"),
    ({"date": "2026-05-16", "mode": "hours", "hours": "13:00-12:00"}, "办公时段格式应为"),
    ({"date": "", "mode": "closed"}, "日期"),
])
def test_override_validation_messages(admin, offices, data, message):
    response = admin.post("/staff/calendar/chuanshan/overrides", data=data)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(CalendarOverride)) is None


def test_non_admin_gets_403(client, offices):
    login(client, "desk", "chuanshan")
    assert client.get("/staff/calendar/chuanshan/overrides").status_code == 403
    assert client.post("/staff/calendar/chuanshan/overrides", data={
        "date": "2026-05-20", "mode": "closed"}).status_code == 403
    assert client.get("/staff/calendar/peak-days").status_code == 403
    assert client.get("/staff/calendar/state-days").status_code == 403
    assert db.session.scalar(select(CalendarOverride)) is None


def test_anonymous_is_sent_to_login(client, offices):
    response = client.get("/staff/calendar/")
    assert response.status_code == 302 and "/staff/login" in response.headers["Location"]


def test_office_admin_manages_only_own_office(client, offices):
    login(client, "admin", "anju")
    assert client.get("/staff/calendar/anju/overrides").status_code == 200
    assert client.get("/staff/calendar/chuanshan/overrides").status_code == 403
    assert client.get("/staff/calendar/state-days").status_code == 403


# --- peak-day rules -----------------------------------------------------------------------

def test_add_office_peak_rule(admin, offices):
    response = admin.post("/staff/calendar/peak-days", data={
        "scope": "pengxi", "code": "520", "name": "5·20 蓬溪", "dates": "05-20",
        "lunar": "", "hours": "08:00-18:00", "capacity_factor": "3",
        "open_backup_windows": "y", "active": "y"})
    assert response.status_code == 302
    rule = db.session.scalar(select(PeakDayRule).where(PeakDayRule.scope == "pengxi"))
    assert rule.office_id == offices["pengxi"].id and rule.capacity_factor == 3.0
    day = admin.get("/api/v1/offices/pengxi/calendar?from=2026-05-20&days=2").get_json()
    assert day["days"][0]["peak"]["name"] == "5·20 蓬溪"
    assert day["days"][0]["hours"] == [{"start": "08:00", "end": "18:00"}]
    assert day["days"][1]["peak"] is None  # the office's rule replaces the global one
    page = admin.get("/staff/calendar/peak-days?office=pengxi").get_data(as_text=True)
    assert "5·20 蓬溪" in page


def test_edit_global_rule(admin, offices):
    rule = db.session.scalar(select(PeakDayRule).where(PeakDayRule.code == "qixi"))
    form = admin.get(f"/staff/calendar/peak-days?edit={rule.id}").get_data(as_text=True)
    assert 'value="07-07"' in form
    admin.post(f"/staff/calendar/peak-days?edit={rule.id}", data={
        "scope": "*", "code": "qixi", "name": "七夕节", "dates": "", "lunar": "07-07",
        "hours": "08:30-12:00, 12:00-18:30", "capacity_factor": "2.5", "active": "y"})
    db.session.expire_all()
    rule = db.session.get(PeakDayRule, rule.id)
    assert rule.name == "七夕节" and rule.capacity_factor == 2.5
    assert rule.open_backup_windows is False
    assert db.session.scalar(select(AuditEntry).where(
        AuditEntry.action == "calendar.peak_rule.update")) is not None


@pytest.mark.parametrize("data, message", [
    ({"code": "Bad Code", "name": "x", "dates": "05-20"}, "代码只能用"),
    ({"code": "x", "name": "x", "dates": ""}, "请至少填写一个"),
    ({"code": "x", "name": "x", "dates": "5/20"}, "日期格式应为"),
    ({"code": "x", "name": "x", "lunar": "7-7"}, "农历日期格式"),
    ({"code": "x", "name": "x", "dates": "05-20", "capacity_factor": "0.5"}, "名额倍数"),
    ({"code": "520", "name": "x", "dates": "05-20"}, "已有代码为 520"),
])
def test_peak_rule_validation(admin, offices, data, message):
    before = len(db.session.scalars(select(PeakDayRule)).all())
    payload = {"scope": "*", "capacity_factor": "1.5", "hours": "", **data}
    response = admin.post("/staff/calendar/peak-days", data=payload)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert len(db.session.scalars(select(PeakDayRule)).all()) == before


# --- the state's notice -------------------------------------------------------------------

def test_enter_and_confirm_2027_notice(admin, offices, set_now):
    set_now("2026-11-15T10:00:00+08:00")
    page = admin.get("/staff/calendar/state-days?year=2027").get_data(as_text=True)
    assert "2027 年的国务院节假日安排尚未录入确认" in page  # the warning
    response = admin.post("/staff/calendar/state-days?year=2027", data={
        "start": "2027-10-01", "end": "2027-10-07", "kind": "holiday", "name": "国庆节"})
    assert response.status_code == 302
    assert len(db.session.scalars(select(StateDay)).all()) == 7
    admin.post("/staff/calendar/state-days", data={
        "start": "2027-09-26", "end": "", "kind": "makeup_workday", "name": "国庆节"})
    assert db.session.get(StateDay, date(2027, 9, 26)).kind == \
        "makeup_workday"
    response = admin.post("/staff/calendar/state-days/confirm", data={
        "year": "2027", "note": "国办发明电"})
    assert response.status_code == 302
    assert db.session.get(HolidayNotice, 2027) is not None
    page = admin.get("/staff/calendar/state-days?year=2027").get_data(as_text=True)
    assert "尚未录入确认" not in page and "已确认" in page
    day = admin.get("/api/v1/offices/chuanshan/calendar?from=2027-09-26&days=1").get_json()
    assert day["days"][0] == {**day["days"][0], "kind": "makeup_workday", "estimated": False,
                              "open": True}


def test_confirming_a_year_twice_at_once_is_a_clear_no(admin, offices, set_now, monkeypatch):
    """Two admins confirm the same year in the same instant: the one that comes second is
    told it is confirmed already (PostgreSQL lets both checks pass: the insert decides)."""
    from hours import services

    set_now("2026-11-15T10:00:00+08:00")
    admin.post("/staff/calendar/state-days?year=2027", data={
        "start": "2027-10-01", "end": "2027-10-07", "kind": "holiday", "name": "国庆节"})
    assert admin.post("/staff/calendar/state-days/confirm",
                      data={"year": "2027"}).status_code == 302
    status_before_the_other_commit = dataclasses.replace(services.year_status(2027), notice=None)
    monkeypatch.setattr(services, "year_status", lambda year: status_before_the_other_commit)
    response = admin.post("/staff/calendar/state-days/confirm", data={"year": "2027"},
                          follow_redirects=True)
    assert response.status_code == 200
    assert "2027 年的节假日安排已经确认过了" in response.get_data(as_text=True)
    assert len(db.session.scalars(select(HolidayNotice)).all()) == 1


def test_state_day_validation(admin, offices):
    response = admin.post("/staff/calendar/state-days", data={
        "start": "2027-09-27", "kind": "makeup_workday", "name": ""})  # a Monday
    assert "调休上班日应是周六或周日" in response.get_data(as_text=True)
    response = admin.post("/staff/calendar/state-days", data={
        "start": "2027-10-07", "end": "2027-10-01", "kind": "holiday"})
    assert "结束日期不能早于开始日期" in response.get_data(as_text=True)
    response = admin.post("/staff/calendar/state-days/confirm", data={"year": "2027"},
                          follow_redirects=True)
    assert "请先录入 2027 年的放假日期" in response.get_data(as_text=True)
    assert db.session.scalar(select(StateDay)) is None
    assert db.session.get(HolidayNotice, 2027) is None


def test_staff_home_links_calendar_admin(admin):
    page = admin.get("/staff/").get_data(as_text=True)
    assert "/staff/calendar/" in page and "/staff/calendar/chuanshan/overrides" in page


def test_peak_day_page_names_the_offices_in_english(admin):
    response = admin.post("/staff/calendar/peak-days", data={
        "scope": "chuanshan", "code": "local", "name": "本地节日", "name_en": "Local day",
        "dates": "06-01", "lunar": "", "hours": "09:00-12:00", "capacity_factor": "1.5",
        "active": "y"})
    assert response.status_code == 302
    page = admin.get("/staff/calendar/peak-days?lang=en").get_data(as_text=True)
    assert "<td>Chuanshan District Marriage Registration Office</td>" in page  # the rule's row
    assert ">Chuanshan District Marriage Registration Office</option>" in page  # its scope
    assert "遂宁市船山区婚姻登记处" not in page
