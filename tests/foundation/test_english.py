"""The English interface: every message id in the code has its English, the compiled
catalogue is current, and the public pages asked for in English show no Chinese except the
offices' own data that has no English (phone numbers marked 示例) and the "中文" switch.
"""

import importlib.util
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from tests.booking.helpers import NOW, person
from tests.booking.ids import make_id
from tests.feedback.conftest import pair_tablet

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "translations/en/LC_MESSAGES/messages.po"
MO = ROOT / "translations/en/LC_MESSAGES/messages.mo"
NOT_SCANNED = {".venv", "tests", "bench", "migrations", "node_modules"}  # as scripts/i18n.sh
HAN = re.compile(r"[\u3400-\u9fff]+")
SWITCH_LABELS = ("中文",)  # the link back to Chinese names itself in Chinese

# NOW is Wednesday 10 June 2026 in Suining: 19 June is the Dragon Boat Festival (端午) and
# 6 June one of the "special dates" peak days, so June's calendars show both.
DAY = "2026-06-15"
TOKEN = "{token}"

PUBLIC_PAGES = [
    "/", "/calendar/chuanshan", "/info/chuanshan", "/info/suining",
    "/book/chuanshan", "/book/chuanshan/marriage", f"/book/chuanshan/marriage/{DAY}",
    f"/book/chuanshan/marriage/{DAY}/apply?start=09:00",
    f"/a/{TOKEN}", f"/a/{TOKEN}/print", f"/a/{TOKEN}/cancel", f"/a/{TOKEN}/reschedule",
    "/t/{ticket}", "/rate/chuanshan/1",
    "/suggestions", "/suggestions/counts", "/staff/login",
]


def _po_fill():
    spec = importlib.util.spec_from_file_location("po_fill", ROOT / "scripts" / "po_fill.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _catalogue():
    with PO.open("rb") as f:
        return read_po(f, locale="en")


# --- the catalogue ------------------------------------------------------------------------

def test_every_message_has_its_english():
    catalogue = _catalogue()
    translated = _po_fill().translated  # a plural needs every form
    missing = [m.id for m in catalogue if m.id and (not translated(m) or m.fuzzy)]
    assert missing == [], "translate these (scripts/po_fill.py todo / apply)"
    assert _po_fill().problems(catalogue) == []


def test_catalogue_has_every_message_id_in_the_code():
    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)

    def scanned(path: str) -> bool:
        relative = Path(path).relative_to(ROOT)
        return not any(part in NOT_SCANNED or part.startswith((".", "_"))
                       for part in relative.parts)

    in_code = {message for _file, _line, message, _comments, _context in extract_from_dir(
        ROOT, method_map, options_map, directory_filter=scanned)}
    in_code = {m[0] if isinstance(m, tuple) else m for m in in_code}
    translated = _po_fill().translated
    english = {(m.id[0] if isinstance(m.id, tuple) else m.id): translated(m)
               for m in _catalogue() if m.id}
    assert sorted(m for m in in_code if not english.get(m)) == [], (
        "run scripts/i18n.sh, then translate the new ids")


def test_compiled_catalogue_is_current():
    with MO.open("rb") as f:
        compiled = read_mo(f)

    def forms(string):  # a plural's forms: a tuple in the .po, a list in the .mo
        return tuple(string) if isinstance(string, tuple | list) else string

    stale = [m.id for m in _catalogue()
             if m.id and m.string and (m.id not in compiled
                                       or forms(compiled[m.id].string) != forms(m.string))]
    assert stale == [], "run scripts/i18n.sh to compile"


def test_interface_terms_are_the_agreed_ones():
    english = {m.id: m.string for m in _catalogue() if m.id}
    assert english["导办台"] == "Front desk"
    assert english["候登大厅"] == "Waiting hall"
    assert english["延时服务"] == "Extended hours"
    assert english["预约码"] == "Booking code"
    assert english["意见箱"] == "Suggestion box"
    assert english["%(number)s 号窗口"] == "Window %(number)s"


# --- the pages ----------------------------------------------------------------------------

@pytest.fixture(autouse=True)
def fresh_translations():
    # flask_babel keeps loaded catalogues in one process-wide cache (other tests swap theirs)
    from flask_babel import get_domain

    get_domain().cache.clear()
    yield
    get_domain().cache.clear()


@pytest.fixture
def site(app, client, offices, set_now, staff_headers):
    """A booked appointment and a hall ticket at 遂宁市船山区, then get(path, lang) -> HTML."""
    set_now(NOW)
    booked = client.post("/api/v1/appointments", json={
        "office": "chuanshan", "service": "marriage", "date": DAY, "start": "09:00",
        "applicants": [person("Zhang San", "M", "19900101", "13800138000"),
                       person("Li Hong", "F", "19920202", "13900139000")]})
    assert booked.status_code == 201, booked.get_json()
    ticket = client.post("/api/v1/offices/chuanshan/tickets", headers=staff_headers("desk"),
                         json={"service": "marriage",
                               "present": [make_id("19880303", "M"), make_id("19890404", "F")]})
    assert ticket.status_code == 201, ticket.get_json()
    values = {"token": booked.get_json()["token"], "ticket": ticket.get_json()["token"]}
    pair_tablet(offices["chuanshan"], "1", client)  # /rate/chuanshan/1 opens on a paired tablet

    def get(path: str, lang: str | None = "en", status: int = 200) -> str:
        # No g.pop("_flask_babel"): each request chooses its language afresh even inside
        # the `app` fixture's one app context (core.i18n forgets the cached locale).
        client.delete_cookie("lang")
        if lang:
            client.set_cookie("lang", lang)
        response = client.get(path.format(**values))
        assert response.status_code == status, path
        return response.get_data(as_text=True)

    get.offices = offices
    return get


def chinese_left(html: str, offices: dict, allowed=()) -> list[str]:
    """The Chinese in `html` once the offices' data without English, the language switch and
    `allowed` are taken out."""
    for office in offices.values():
        for own in (office.phone, office.supervision_phone):
            if own:
                html = html.replace(own, "")
    for text in (*SWITCH_LABELS, *allowed):
        html = html.replace(text, "")
    return HAN.findall(html)


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_public_page_in_english(site, path):
    html = site(path)
    assert '<html lang="en">' in html
    assert chinese_left(html, site.offices) == []


def test_office_names_and_addresses_are_the_english_ones(site):
    chuanshan = site.offices["chuanshan"]
    for path in ("/", "/book/chuanshan", "/info/chuanshan", "/calendar/chuanshan"):
        html = site(path)
        assert chuanshan.name_en in html, path
        assert chuanshan.name not in html, path
    assert chuanshan.address_en in site("/book/chuanshan")


def test_pages_say_the_agreed_words(site):
    assert "Book a marriage registration appointment" in site("/")
    assert "Choose a service" in site("/book/chuanshan")
    assert "Confirm booking" in site(f"/book/chuanshan/marriage/{DAY}/apply?start=09:00")
    manage = site(f"/a/{TOKEN}")
    assert "Booking code" in manage and "My appointment" in manage
    assert "Suggestion box" in site("/suggestions")
    assert "Staff login" in site("/staff/login")
    assert "Page not found" in site("/no-such-page", status=404)


def test_chinese_stays_the_default(site):
    html = site("/", lang=None)
    assert '<html lang="zh-CN">' in html and "婚姻登记网上预约" in html
    assert "选择办理的业务" in site("/book/chuanshan", lang="zh_CN")
    missing = site("/no-such-page", lang=None, status=404)
    assert "页面不存在" in missing and "requested URL" not in missing  # werkzeug's English


def test_error_pages_speak_the_language(app, client):
    @app.get("/__boom")
    def boom():
        raise RuntimeError("boom")

    client.set_cookie("lang", "en")
    html = client.get("/__boom").get_data(as_text=True)
    assert "The system is busy; please try again later." in html
    client.delete_cookie("lang")
    assert "系统繁忙，请稍后再试。" in client.get("/__boom").get_data(as_text=True)


def test_form_errors_come_back_in_english(site, client):
    groom = make_id("19900101", "M")
    wrong_check = groom[:-1] + ("0" if groom[-1] != "0" else "1")
    form = {"applicants-0-name": "Zhang San", "applicants-0-id_type": "resident_id",
            "applicants-0-id_number": wrong_check, "applicants-0-phone": "13800138000",
            "applicants-0-sex": "", "applicants-0-birth_date": "",
            "applicants-1-name": "Li Hong", "applicants-1-id_type": "resident_id",
            "applicants-1-id_number": make_id("19920202", "F"),
            "applicants-1-phone": "13900139000",
            "applicants-1-sex": "", "applicants-1-birth_date": "", "start": "09:00"}
    client.set_cookie("lang", "en")
    page = client.post(f"/book/chuanshan/marriage/{DAY}/apply", data=form)
    html = page.get_data(as_text=True)
    assert "check digit is wrong" in html
    assert chinese_left(html, site.offices) == []

    html = client.post("/suggestions", data={"body": ""}).get_data(as_text=True)
    assert chinese_left(html, site.offices) == []

    html = client.post("/staff/login", data={"username": "nobody", "password": "wrong"}
                       ).get_data(as_text=True)
    assert "Wrong user name or password" in html
    assert chinese_left(html, site.offices) == []


def test_api_errors_follow_the_language(site, client):
    client.set_cookie("lang", "en")
    response = client.post("/api/v1/appointments?lang=en", json={
        "office": "chuanshan", "service": "marriage", "date": DAY, "start": "09:00",
        "applicants": [person("Zhang San", "M", "19900101"), person("Wang Wu", "M", "19910101")]})
    body = response.get_json()
    assert response.status_code == 422, body
    assert HAN.findall(body["detail"]) == [], body


# --- what the English pages name: holidays, peak days, documents, the hall ----------------

FULL_WIDTH = re.compile(r"[：（）、，]")


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_public_page_in_english_has_no_full_width_punctuation(site, path):
    """"Address：…" reads wrong in English: the punctuation between separately translated
    pieces follows the language (core.i18n colon/comma/list_sep/paren)."""
    html = site(path)
    for office in site.offices.values():
        for own in (office.phone, office.supervision_phone, office.jurisdiction,
                    office.address):
            if own:
                html = html.replace(own, "")
    assert FULL_WIDTH.findall(html) == [], path


def test_holiday_names_follow_the_language(site):
    assert "Dragon Boat Festival" in site("/calendar/chuanshan")  # 19 June 2026
    chinese = site("/calendar/chuanshan", lang=None)
    assert "端午" in chinese and "Dragon Boat Festival" not in chinese


def test_make_up_days_estimates_and_admins_names_in_english(app):
    from datetime import date

    from core.extensions import db
    from hours.calendar import day_names
    from hours.models import StateDay

    makeup = date(2026, 5, 9)  # a Saturday worked for Labour Day (bundled official data)
    estimated = date(2033, 10, 1)  # no official data yet: the holidays package's estimate
    entered = date(2033, 1, 1)
    db.session.add(StateDay(date=entered, kind="holiday", name="元旦"))
    db.session.flush()
    with app.test_request_context("/?lang=en"):
        assert day_names(makeup, 1) == {makeup: "Labour Day (make-up working day)"}
        assert day_names(estimated, 1) == {estimated: "National Day"}
        assert day_names(entered, 1) == {entered: "New Year's Day"}
    with app.test_request_context("/"):
        assert day_names(makeup, 1) == {makeup: "劳动节调休"}
        assert day_names(estimated, 1) == {estimated: "国庆节"}
        assert day_names(entered, 1) == {entered: "元旦"}


def test_peak_day_names_follow_the_language(site):
    assert "Special dates" in site("/book/chuanshan/marriage")  # 6 June 2026
    assert "特别日期" in site("/book/chuanshan/marriage", lang=None)


def test_documents_and_the_hall_ticket_in_english(site):
    assert "Resident identity card" in site(f"/a/{TOKEN}")
    ticket = site("/t/{ticket}")
    assert "Waiting" in ticket and "Marriage registration" in ticket
    assert "People ahead of you:" in ticket and 'id="ticket-ahead"' in ticket
    chinese = site("/t/{ticket}", lang=None)
    assert "等候中" in chinese and "结婚登记" in chinese and "前面还有" in chinese


def test_office_page_names_weekdays_and_applicants_in_english(site):
    html = site("/book/chuanshan")
    assert "Address: " in html and "2 applicants" in html
    assert re.search(r"06-1\d (Mon|Tue|Wed|Thu|Fri|Sat|Sun)<", html)
    chinese = site("/book/chuanshan", lang=None)
    assert "地址：" in chinese and "申请人：2 人" in chinese and "周一" in chinese


def test_calendar_file_in_the_language_of_the_booking(client, offices, set_now):
    set_now(NOW)
    booked = client.post("/api/v1/appointments", json={
        "office": "chuanshan", "service": "marriage", "date": DAY, "start": "09:30",
        "language": "en",
        "applicants": [person("Zhang San", "M", "19900101", "13800138000"),
                       person("Li Hong", "F", "19920202", "13900139000")]})
    assert booked.status_code == 201, booked.get_json()
    body = booked.get_json()
    # asked for from a Chinese page, the file still follows the booking's language
    ics = client.get(f"/a/{body['token']}/calendar.ics").get_data(as_text=True)
    assert f"Booking code {body['code']}" in ics
    assert "Marriage registration" in ics and "Chuanshan District" in ics
    assert HAN.findall(ics.replace("\r\n ", "")) == []


def test_each_request_chooses_its_language(client):
    """One app context (the `app` fixture) for every request: the locale flask_babel caches
    on `g` must not carry from one request to the next, nor out of the request."""
    from flask_babel import gettext

    client.set_cookie("lang", "en")
    assert '<html lang="en">' in client.get("/").get_data(as_text=True)
    client.delete_cookie("lang")
    assert '<html lang="zh-CN">' in client.get("/").get_data(as_text=True)
    assert '<html lang="en">' in client.get("/?lang=en").get_data(as_text=True)
    assert gettext("预约码") == "预约码"  # outside a request: Chinese


def test_staff_pages_name_roles_links_and_export_in_english(site, client):
    from core.extensions import db
    from staff.services import create_user

    create_user("en-desk", "desk", "password-123", "chuanshan")
    db.session.commit()
    client.post("/staff/login", data={"username": "en-desk", "password": "password-123"})
    home = site("/staff/")
    assert "(Front desk)" in home
    assert "Front desk (check-in and numbers)" in home and "Self-service kiosk" in home
    client.set_cookie("lang", "en")
    export = client.get(f"/staff/booking/chuanshan/export.csv?date={DAY}")
    header = export.get_data(as_text=True).lstrip("\ufeff").splitlines()[0]
    assert header.startswith("Booking code,Date,Start,End,")
    row = export.get_data(as_text=True).splitlines()[1]
    assert "Marriage registration" in row and "Resident identity card" in row
