"""GET /api/v1/offices/{office}/calendar (docs/api.md §3)."""

from datetime import date

from core.extensions import db
from hours.models import DayExtension


def test_calendar_shape_around_national_day(client, offices):
    response = client.get("/api/v1/offices/chuanshan/calendar?from=2026-09-30&days=11")
    assert response.status_code == 200
    body = response.get_json()
    assert body["office"] == "chuanshan"
    days = body["days"]
    assert [d["date"] for d in days][:2] == ["2026-09-30", "2026-10-01"]
    assert len(days) == 11
    for day in days:
        assert set(day) >= {"date", "kind", "open", "hours", "peak", "extended"}
    first = days[0]
    assert first == {"date": "2026-09-30", "kind": "workday", "estimated": False, "open": True,
                     "hours": [{"start": "09:00", "end": "12:00"},
                               {"start": "13:30", "end": "17:00"}],
                     "peak": None, "extended": False}
    assert all(d["kind"] == "holiday" and not d["open"] and d["hours"] == []
               for d in days[1:8])
    assert days[10]["date"] == "2026-10-10" and days[10]["kind"] == "makeup_workday"
    assert days[10]["open"] is True


def test_calendar_peak_and_extension(client, offices):
    db.session.add(DayExtension(office_id=offices["anju"].id, date=date(2026, 6, 15),
                                previous_close="17:00", until="17:45"))
    db.session.commit()
    body = client.get("/api/v1/offices/anju/calendar?from=2026-05-20&days=1").get_json()
    day = body["days"][0]
    assert day["peak"]["code"] == "520" and day["peak"]["name"] == "5·20"
    assert day["extended"] is True and day["hours"][-1]["end"] == "18:30"
    body = client.get("/api/v1/offices/anju/calendar?from=2026-06-15&days=1").get_json()
    assert body["days"][0]["hours"][-1] == {"start": "13:30", "end": "17:45"}
    assert body["days"][0]["extended"] is True


def test_calendar_defaults_to_30_days_from_today(client, offices, set_now):
    set_now("2026-07-01T23:30:00+08:00")
    days = client.get("/api/v1/offices/chuanshan/calendar").get_json()["days"]
    assert len(days) == 30 and days[0]["date"] == "2026-07-01"
    assert len(client.get("/api/v1/offices/chuanshan/calendar?days=366").get_json()["days"]) == 366


def test_calendar_2027_is_estimated(client, offices):
    days = client.get("/api/v1/offices/chuanshan/calendar?from=2027-08-08&days=1").get_json()
    assert days["days"][0]["estimated"] is True and days["days"][0]["open"] is True
    days = client.get("/api/v1/offices/pengxi/calendar?from=2027-08-08&days=1").get_json()
    assert days["days"][0]["open"] is False


def test_calendar_bad_parameters(client, offices):
    for query in ("from=2026-13-01", "from=tomorrow", "days=0", "days=367", "days=abc",
                  "from=9999-12-31&days=5"):
        response = client.get(f"/api/v1/offices/chuanshan/calendar?{query}")
        assert response.status_code == 422, query
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["code"] == "invalid_request"


def test_calendar_unknown_office(client, offices):
    response = client.get("/api/v1/offices/nowhere/calendar")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["code"] == "not_found"


def test_calendar_in_openapi(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert "/offices/{office}/calendar" in paths
