"""How the feature shows up: staff links, the tablets list, OpenAPI, and the removal of
suggestion senders' contact data after the retention period."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from core.extensions import db
from feedback.models import Suggestion
from feedback.retention import purge_suggestion_contacts


def test_staff_home_links(client, offices, login):
    login("admin")
    text = client.get("/staff/").get_data(as_text=True)
    for href in ("/staff/feedback", "/staff/feedback/cases", "/staff/suggestions", "/staff/stats",
                 "/staff/registrars", "/staff/audit", "/staff/feedback/chuanshan/tablets"):
        assert f'href="{href}"' in text, href
    client.post("/staff/logout")
    login("registrar", "chuanshan")
    text = client.get("/staff/").get_data(as_text=True)
    assert 'href="/staff/feedback/chuanshan/tablets"' in text
    assert 'href="/staff/stats"' not in text
    tablets = client.get("/staff/feedback/chuanshan/tablets").get_data(as_text=True)
    assert 'href="/rate/chuanshan/1"' in tablets and 'href="/rate/chuanshan/3"' in tablets
    assert client.get("/staff/feedback/anju/tablets").status_code == 403
    assert client.get("/staff/stats").status_code == 403


def test_openapi_describes_the_json_endpoints(client, offices):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert "get" in paths["/offices/{office}/windows/{window}/rating"]
    assert paths["/stats"]["get"]["security"] == [{"bearer": []}]


def test_contacts_of_old_answered_suggestions_are_removed(app, offices, set_now):
    set_now("2026-05-12T10:00:00+08:00")
    now = datetime(2026, 5, 12, 10, tzinfo=ZoneInfo("Asia/Shanghai"))
    old = now - timedelta(days=app.config["RETENTION_DAYS"] + 1)
    for status, updated in (("closed", old), ("in_progress", old), ("closed", now)):
        db.session.add(Suggestion(token=f"t-{status}-{updated.year}", category="advice",
                                  text="一条意见。", name="李四", phone="+8613800138000",
                                  status=status, created_at=updated, updated_at=updated))
    db.session.commit()
    assert purge_suggestion_contacts() == 1
    assert purge_suggestion_contacts() == 0
    rows = db.session.scalars(select(Suggestion).order_by(Suggestion.id)).all()
    assert [(r.name, r.phone) for r in rows] == [
        ("", ""), ("李四", "+8613800138000"), ("李四", "+8613800138000")]
