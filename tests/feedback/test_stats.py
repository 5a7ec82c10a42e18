"""Statistics: the figures of seeded days equal the figures computed by hand, on both
databases; the CSV export, the JSON API, the page, and the monthly report."""

import csv
import io
import re
from datetime import date

import pytest

from core.extensions import db
from feedback import stats
from feedback.models import Rating
from tests.feedback.conftest import make_appointment, make_ticket

ORDINARY = date(2026, 5, 19)  # a Tuesday
PEAK = date(2026, 5, 20)  # 5·20, a peak day (Wednesday)


def rate(ticket, level):
    db.session.add(Rating(ticket_id=ticket.id, office_id=ticket.office_id,
                          service_code=ticket.service_code, date=ticket.date, level=level,
                          channel="tablet"))
    db.session.commit()


@pytest.fixture
def seeded(offices, set_now):
    """Two days at chuanshan and one ticket at anju that must never count for chuanshan.

    2026-05-19, marriage: appointments completed, checked_in, no_show, cancelled, booked;
      T1 booked   09:00 -> 09:10 -> 09:30 registered        wait 10, service 20, rated 5
      T2 booked   09:05 -> 09:25 -> 09:40 refused under_age  wait 20, service 15, rated 1
      T3 walk-in  09:10 -> 09:40 -> 10:10 registered        wait 30, service 30, rated 4
      T4 walk-in  09:20 -> 10:00 no-show                    wait 40
      T5 walk-in  09:30 still waiting
    2026-05-19, divorce: one booked appointment;
      T6 walk-in  10:00 -> 10:05 -> 10:20 registered        wait 5, service 15, rated 3
    2026-05-20 (peak), marriage: two completed appointments;
      T7 walk-in  09:00 -> 09:30 -> 09:50 registered        wait 30, service 20, rated 5
      T8 walk-in  09:00 -> 10:30 -> 10:40 registered        wait 90, service 10
    """
    set_now("2026-05-25T10:00:00+08:00")
    office, other = offices["chuanshan"], offices["anju"]
    a1 = make_appointment(office, ORDINARY, status="completed")
    a2 = make_appointment(office, ORDINARY, status="checked_in")
    make_appointment(office, ORDINARY, status="no_show")
    make_appointment(office, ORDINARY, status="cancelled")
    make_appointment(office, ORDINARY, status="booked")
    make_appointment(office, ORDINARY, "divorce", status="booked")
    make_appointment(office, PEAK, status="completed")
    make_appointment(office, PEAK, status="completed", start="10:00")

    t1 = make_ticket(office, ORDINARY, issued="09:00", called="09:10", completed="09:30",
                     appointment=a1)
    t2 = make_ticket(office, ORDINARY, issued="09:05", called="09:25", completed="09:40",
                     appointment=a2, outcome="refused", reason="under_age")
    t3 = make_ticket(office, ORDINARY, issued="09:10", called="09:40", completed="10:10")
    make_ticket(office, ORDINARY, status="no_show", issued="09:20", called="10:00")
    make_ticket(office, ORDINARY, status="waiting", issued="09:30", called=None)
    t6 = make_ticket(office, ORDINARY, "divorce", issued="10:00", called="10:05",
                     completed="10:20")
    t7 = make_ticket(office, PEAK, issued="09:00", called="09:30", completed="09:50")
    make_ticket(office, PEAK, issued="09:00", called="10:30", completed="10:40")
    rate(t1, 5)
    rate(t2, 1)
    rate(t3, 4)
    rate(t6, 3)
    rate(t7, 5)
    elsewhere = make_ticket(other, ORDINARY, issued="09:00", called="10:00", completed="10:30")
    make_appointment(other, ORDINARY, status="completed")
    rate(elsewhere, 1)
    return office, other


def scope(office, start=ORDINARY, end=PEAK, service=None):
    return stats.Scope(start, end, (office.id,), service)


def test_a_seeded_day_equals_the_hand_computed_figures(seeded):
    office, _ = seeded
    by_day = stats.figures(scope(office))
    marriage = by_day[(office.id, "marriage", ORDINARY)]
    assert (marriage.booked, marriage.cancelled, marriage.no_shows) == (4, 1, 1)
    assert (marriage.tickets, marriage.checked_in, marriage.walk_ins, marriage.missed) == (5, 2, 3, 1)
    assert (marriage.registered, marriage.refused, marriage.unserved) == (2, 1, 1)
    assert marriage.refusals == {"under_age": 1}
    # waits 10, 20, 30, 40 minutes: mean 25; p90 at rank 0.9 * 3 = 2.7 -> 30 + 0.7 * 10
    assert marriage.wait.count == 4
    assert marriage.wait.mean_minutes == pytest.approx(25.0)
    assert marriage.wait.p90_minutes == pytest.approx(37.0)
    # services 20, 15, 30: mean 21.67; sorted 15, 20, 30, rank 1.8 -> 20 + 0.8 * 10
    assert marriage.service.count == 3
    assert marriage.service.mean_minutes == pytest.approx(65 / 3)
    assert marriage.service.p90_minutes == pytest.approx(28.0)
    assert marriage.ratings == {5: 1, 4: 1, 3: 0, 2: 0, 1: 1}
    assert marriage.satisfaction_rate == pytest.approx(2 / 3)

    divorce = by_day[(office.id, "divorce", ORDINARY)]
    assert (divorce.booked, divorce.tickets, divorce.walk_ins, divorce.registered) == (1, 1, 1, 1)
    assert divorce.wait.p90_minutes == pytest.approx(5.0)
    assert divorce.satisfaction_rate == 0

    peak = by_day[(office.id, "marriage", PEAK)]
    assert (peak.booked, peak.tickets, peak.registered) == (2, 2, 2)
    assert peak.wait.mean_minutes == pytest.approx(60.0)  # 30 and 90
    assert peak.wait.p90_minutes == pytest.approx(84.0)  # 30 + 0.9 * 60
    assert peak.service.p90_minutes == pytest.approx(19.0)  # 10 + 0.9 * 10
    assert set(by_day) == {(office.id, "marriage", ORDINARY), (office.id, "divorce", ORDINARY),
                           (office.id, "marriage", PEAK)}


def test_totals_take_the_percentile_over_all_tickets(seeded):
    office, other = seeded
    total = stats.total(scope(office))
    assert (total.booked, total.cancelled, total.no_shows, total.tickets) == (7, 1, 1, 8)
    assert (total.checked_in, total.walk_ins, total.registered, total.refused) == (2, 6, 5, 1)
    # waits 5, 10, 20, 30, 30, 40, 90: mean 225 / 7; rank 5.4 -> 40 + 0.4 * 50
    assert total.wait.mean_minutes == pytest.approx(225 / 7)
    assert total.wait.p90_minutes == pytest.approx(60.0)
    # services 10, 15, 15, 20, 20, 30: mean 110 / 6; rank 4.5 -> 20 + 0.5 * 10
    assert total.service.mean_minutes == pytest.approx(110 / 6)
    assert total.service.p90_minutes == pytest.approx(25.0)
    assert total.ratings == {5: 2, 4: 1, 3: 1, 2: 0, 1: 1}
    assert total.satisfaction_rate == pytest.approx(3 / 5)
    # one service only; and every office together includes anju
    assert stats.total(scope(office, service="divorce")).tickets == 1
    everywhere = stats.total(stats.Scope(ORDINARY, PEAK))
    assert everywhere.tickets == 9 and everywhere.ratings[1] == 2
    assert stats.total(stats.Scope(ORDINARY, ORDINARY, (other.id,))).wait.mean_minutes == 60
    assert stats.total(stats.Scope(date(2026, 1, 1), date(2026, 1, 31))).tickets == 0


def test_peak_days_against_ordinary_days(seeded):
    office, _ = seeded
    classes = stats.peak_comparison(scope(office))
    assert classes["peak"].days == 1 and classes["ordinary"].days == 1
    assert classes["peak"].per_day("registered") == 2
    assert classes["ordinary"].per_day("registered") == 3
    assert classes["peak"].figures.wait.mean_minutes == pytest.approx(60.0)
    assert classes["ordinary"].figures.wait.mean_minutes == pytest.approx(105 / 5)
    # a whole week: the 3 other open days count as ordinary days without activity
    week = stats.peak_comparison(stats.Scope(date(2026, 5, 18), date(2026, 5, 24), (office.id,)))
    assert (week["peak"].days, week["ordinary"].days) == (2, 3)  # 5·20 and 5·21 are peak days


def test_csv_export(client, seeded, login):
    office, _ = seeded
    login("admin")
    response = client.get("/staff/stats.csv?office=chuanshan&start=2026-05-19&end=2026-05-20")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    lines = list(csv.reader(io.StringIO(text[1:])))
    assert lines[0] == list(stats.CSV_COLUMNS)
    assert lines[1:] == [
        ["2026-05-19", "chuanshan", "marriage", "结婚登记", "", "4", "1", "2", "1", "3", "5", "1", "2", "1",
         "1", "0", "0", "0", "0", "0", "0", "25.0", "37.0", "21.7", "28.0", "1", "1", "0", "0",
         "1", "66.7", "0", "0"],
        ["2026-05-19", "chuanshan", "divorce", "离婚登记申请", "", "1", "0", "0", "0", "1", "1", "0", "1", "0",
         "0", "0", "0", "0", "0", "0", "0", "5.0", "5.0", "15.0", "15.0", "0", "0", "1", "0", "0",
         "0.0", "0", "0"],
        ["2026-05-20", "chuanshan", "marriage", "结婚登记", "5·20", "2", "0", "0", "0", "2", "2", "0", "2",
         "0", "0", "0", "0", "0", "0", "0", "0", "60.0", "84.0", "15.0", "19.0", "1", "0", "0",
         "0", "0", "100.0", "0", "0"],
    ]
    by_office = client.get("/staff/stats.csv?start=2026-05-19&end=2026-05-19&group=office")
    rows = list(csv.reader(io.StringIO(by_office.get_data(as_text=True)[1:])))
    assert [(r[1], r[10]) for r in rows[1:]] == [("anju", "1"), ("chuanshan", "6")]
    english = client.get("/staff/stats.csv?office=chuanshan&start=2026-05-19&end=2026-05-19"
                         "&group=service&lang=en")
    rows = list(csv.reader(io.StringIO(english.get_data(as_text=True)[1:])))
    assert [r[2:4] for r in rows[1:]] == [["marriage", "Marriage registration"],
                                          ["divorce", "Divorce application (step 1)"]]


def test_bad_statistics_input_is_a_clear_error(client, seeded, login):
    login("admin")
    for query, message in (("start=2026-13-01", "YYYY-MM-DD"),
                           ("start=2026-05-20&end=2026-05-19", "结束日期不能早于开始日期"),
                           ("start=2024-01-01&end=2026-05-19", "一次最多统计"),
                           ("service=nothing", "没有这个业务"), ("group=week", "未知的分组方式")):
        response = client.get(f"/staff/stats.csv?{query}")
        assert response.status_code == 422 and message in response.get_data(as_text=True)
        page = client.get(f"/staff/stats?{query}", follow_redirects=True)
        assert page.status_code == 200 and message in page.get_data(as_text=True)
    assert client.get("/staff/stats.csv?office=nowhere").status_code == 404


def test_office_admin_sees_only_its_office(client, seeded, login):
    login("admin", "anju")
    response = client.get("/staff/stats.csv?start=2026-05-19&end=2026-05-20&group=office")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True)[1:])))
    assert [r[1] for r in rows[1:]] == ["anju"]
    assert client.get("/staff/stats.csv?office=chuanshan").status_code == 403


def test_stats_page_charts_and_json(client, seeded, login, staff_headers):
    login("admin")
    page = client.get("/staff/stats?office=chuanshan&start=2026-05-19&end=2026-05-20")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert text.count("<svg") == 3 and "每日办理量" in text and "评价分布" in text
    from xml.etree import ElementTree

    for chunk in text.split("<svg")[1:]:
        svg = ElementTree.fromstring("<svg" + chunk.split("</svg>")[0] + "</svg>")
        assert svg.find("{http://www.w3.org/2000/svg}title") is not None
    # the daily chart has one bar per non-zero value: 5·19 and 5·20 registered 3 and 2
    volume = text.split("<svg")[1]
    assert "5/19: 3</title>" in volume and "5/20: 2</title>" in volume
    assert "60.0%" in text  # the satisfaction rate of the period
    assert client.get("/staff/stats?group=date&start=2026-01-01&end=2026-06-30").status_code == 200

    response = client.get("/api/v1/stats?from=2026-05-19&to=2026-05-20&office=chuanshan"
                          "&group=date", headers=staff_headers("admin"))
    body = response.get_json()
    assert response.status_code == 200
    assert body["total"]["tickets"] == 8 and body["total"]["wait"]["p90_minutes"] == 60.0
    assert body["total"]["satisfaction_rate"] == 0.6
    assert [(r["date"], r["peak"], r["registered"]) for r in body["rows"]] == [
        ("2026-05-19", None, 3), ("2026-05-20", "5·20", 2)]
    assert client.get("/api/v1/stats", headers=staff_headers("desk", "chuanshan")
                      ).status_code == 403
    bad = client.get("/api/v1/stats?from=yesterday", headers=staff_headers("admin"))
    assert bad.status_code == 422 and bad.get_json()["code"] == "invalid_request"
    assert "/stats" in client.get("/api/v1/openapi.json").get_json()["paths"]


def test_stats_detail_names_the_services(client, seeded, login):
    login("admin")
    for lang, names in (("zh", ["结婚登记", "离婚登记申请"]),
                        ("en", ["Marriage registration", "Divorce application (step 1)"])):
        page = client.get(f"/staff/stats?office=chuanshan&start=2026-05-19&end=2026-05-19"
                          f"&group=service&lang={lang}").get_data(as_text=True)
        table = page.split('id="stats-rows"')[1].split("</table>")[0]
        assert re.findall(r"<tr>\s*<td>([^<]*)</td>", table) == names
        assert ">marriage<" not in table and ">divorce<" not in table


def test_monthly_report(client, seeded, login):
    login("admin")
    page = client.get("/staff/stats/report?month=2026-05&office=chuanshan")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "2026 年 5 月婚姻登记服务报告" in text and "遂宁市船山区婚姻登记处" in text
    assert "当日未办完的排队号 1 个" in text  # T5 never served on 05-19 (零积压)
    assert "不予登记均注明法定理由：1 / 1 件" in text
    assert "print.js" in text
    by_service = text.split("分业务办理情况")[1].split("</table>")[0]
    cells = re.findall(r"<tr><td>([^<]*)</td>", by_service)
    assert cells == ["结婚登记", "离婚登记申请"]  # the services' names, not their codes
    english = client.get("/staff/stats/report?month=2026-05&office=chuanshan&lang=en")
    by_service = english.get_data(as_text=True).split("</table>")[0]
    assert re.findall(r"<tr><td>([^<]*)</td>", by_service) == [
        "Marriage registration", "Divorce application (step 1)"]
    response = client.get("/staff/stats/report?month=2026-5x", follow_redirects=True)
    assert "月份格式应为 YYYY-MM" in response.get_data(as_text=True)
