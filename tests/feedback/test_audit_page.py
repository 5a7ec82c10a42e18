"""The audit log page: filters by office, user, action and date range (Beijing dates), the
CSV export, and what an office's own admin may see."""

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from core.audit import AuditEntry
from core.extensions import db

SHANGHAI = ZoneInfo("Asia/Shanghai")


def entry(when: str, username: str, action: str, office, target: str = "", **details):
    db.session.add(AuditEntry(at=datetime.fromisoformat(when).replace(tzinfo=SHANGHAI),
                              username=username, action=action, target=target,
                              office_id=office.id if office else None, details=details))


@pytest.fixture
def log(offices, set_now):
    set_now("2026-05-25T10:00:00+08:00")
    chuanshan, anju = offices["chuanshan"], offices["anju"]
    entry("2026-05-18T09:00:00", "desk1", "ticket.issue", chuanshan, "ticket:1")
    entry("2026-05-19T23:30:00", "reg1", "ticket.complete", chuanshan, "ticket:1",
          outcome="registered")
    entry("2026-05-20T00:10:00", "boss", "feedback.case_update", chuanshan, "case:1",
          status_to="resolved")
    entry("2026-05-20T11:00:00", "boss", "feedback.suggestion_reply", anju, "suggestion:3")
    entry("2026-05-21T15:00:00", "root", "users.create", None, "user:9")
    db.session.commit()


def rows_of(client, query: str) -> list[tuple[str, str]]:
    response = client.get(f"/staff/audit.csv?{query}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    lines = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert lines[0] == ["time", "username", "office", "action", "target", "details", "ip"]
    # each export is itself audited ("audit.export"), and so is the test's own login
    # ("staff.login"): leave those out of the comparison
    return [(line[1], line[3]) for line in lines[1:]
            if line[3] not in ("audit.export", "staff.login")]


def test_filters(client, log, login):
    login("admin")
    everything = rows_of(client, "")
    assert everything == [("root", "users.create"), ("boss", "feedback.suggestion_reply"),
                          ("boss", "feedback.case_update"), ("reg1", "ticket.complete"),
                          ("desk1", "ticket.issue")]  # newest first
    assert rows_of(client, "office=anju") == [("boss", "feedback.suggestion_reply")]
    assert rows_of(client, "user=boss") == [("boss", "feedback.suggestion_reply"),
                                            ("boss", "feedback.case_update")]
    assert rows_of(client, "action=ticket.complete") == [("reg1", "ticket.complete")]
    assert rows_of(client, "action=feedback.*") == [("boss", "feedback.suggestion_reply"),
                                                    ("boss", "feedback.case_update")]
    # Beijing dates: 23:30 on the 19th is the 19th, 00:10 on the 20th is the 20th
    assert rows_of(client, "start=2026-05-19&end=2026-05-19") == [("reg1", "ticket.complete")]
    assert rows_of(client, "start=2026-05-20") == [
        ("root", "users.create"), ("boss", "feedback.suggestion_reply"),
        ("boss", "feedback.case_update")]
    assert rows_of(client, "end=2026-05-18") == [("desk1", "ticket.issue")]
    assert rows_of(client, "office=chuanshan&user=boss&start=2026-05-20&end=2026-05-20") == [
        ("boss", "feedback.case_update")]


def test_csv_content_and_the_export_is_audited(client, log, login):
    login("admin")
    response = client.get("/staff/audit.csv?action=ticket.complete")
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff") and "attachment" in response.headers["Content-Disposition"]
    lines = list(csv.reader(io.StringIO(text[1:])))
    assert lines[1] == ["2026-05-19T23:30:00+08:00", "reg1", "chuanshan", "ticket.complete",
                        "ticket:1", '{"outcome": "registered"}', ""]
    export = db.session.scalar(select(AuditEntry).where(
        AuditEntry.action == "audit.export"))
    assert export.username == "admin-all" and export.details["action_filter"] == "ticket.complete"


def test_page_shows_filters_and_entries(client, log, login):
    login("admin")
    text = client.get("/staff/audit?office=chuanshan&start=2026-05-19").get_data(as_text=True)
    assert "共 2 条" in text
    assert "feedback.case_update" in text and "ticket.complete" in text
    assert "ticket.issue" not in text.split("<tbody>")[1]
    assert '<option value="feedback.*"' in text and '<option value="boss"' in text
    bad = client.get("/staff/audit?start=2026-02-30", follow_redirects=True)
    assert "日期格式应为 YYYY-MM-DD" in bad.get_data(as_text=True)
    assert client.get("/staff/audit.csv?start=2026-05-20&end=2026-05-19").status_code == 422


def test_office_admin_sees_its_office_only_and_others_none(client, log, login):
    login("admin", "anju")
    assert rows_of(client, "") == [("boss", "feedback.suggestion_reply")]
    assert client.get("/staff/audit?office=chuanshan").status_code == 403
    client.post("/staff/logout")
    login("desk", "anju")
    assert client.get("/staff/audit").status_code == 403
    client.post("/staff/logout")
    assert client.get("/staff/audit").status_code == 302  # to the login page
