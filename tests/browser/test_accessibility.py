"""Every screen, as a visitor would see it, checked by axe-core (npm, pinned in
package.json, installed by scripts/test-tools.sh): on a phone (390 px) and a desk PC
(1280 px) in Chinese and English, and the hall display at 1920×1080. A serious or critical
violation fails. SCREENS is the list to extend when a feature adds a page.

One browser for the module; one context per (who, size, language), reused for every screen
it sees."""

import json
import os
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from tests.browser.conftest import (
    DEMO_PASSWORD,
    login,
    prepare_database,
    resident_id,
    screenshot,
    serve,
)
from tests.conftest import PROJECT_ROOT

AXE = PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"
FAILING_IMPACTS = ("serious", "critical")


@dataclass(frozen=True)
class Screen:
    """A page to check: `path` may name a value the data made ({appointment},
    {appointment_id}, {ticket}, {ticket_id}, {rating}, {suggestion}, {case},
    {suggestion_id}, {divorce_case}, {divorce_party}); `who` is None (a visitor), a staff
    user name, or "tablet" (a browser paired as window 1's tablet). A page reached by a
    form (a POST's answer) gives `fill` ((selector, value), …) and the `submit` button.
    `shows` is a selector the page must contain (what the screen is there to check: not an
    error page in its place)."""

    name: str
    path: str
    who: str | None = None
    sizes: tuple[tuple[int, int], ...] = ((390, 844), (1280, 900))
    fill: tuple[tuple[str, str], ...] = ()
    submit: str | None = None
    shows: str | None = None


PUBLIC = [
    Screen("home", "/"),
    Screen("office", "/book/chuanshan"),
    Screen("booking-calendar", "/book/chuanshan/marriage?month=2026-05"),
    Screen("booking-day", "/book/chuanshan/marriage/2026-05-20"),
    Screen("booking-apply", "/book/chuanshan/marriage/2026-05-20/apply?start=08:30"),
    Screen("counseling-calendar", "/book/chuanshan/counseling?month=2026-05",
           shows=".bk-calendar td a"),
    Screen("counseling-apply", "/book/chuanshan/counseling/2026-05-14/apply?start=09:00",
           shows="fieldset.bk-applicant"),
    Screen("ceremony-day", "/book/suining/ceremony/2026-05-20", shows=".bk-slots li a"),
    Screen("ceremony-apply", "/book/suining/ceremony/2026-05-20/apply?start=10:00",
           shows="fieldset.bk-applicant"),
    Screen("manage", "/a/{appointment}"),
    Screen("cancel", "/a/{appointment}/cancel"),
    Screen("print", "/a/{appointment}/print"),
    Screen("reschedule", "/a/{appointment}/reschedule"),
    Screen("reschedule-day", "/a/{appointment}/reschedule/2026-05-21"),
    Screen("calendar", "/calendar/chuanshan?month=2026-05"),
    Screen("info", "/info/chuanshan"),
    Screen("suggestions", "/suggestions?office=chuanshan"),
    Screen("suggestion-status", "/suggestions/t/{suggestion}"),
    Screen("suggestion-counts", "/suggestions/counts"),
    Screen("ticket", "/t/{ticket}"),
    Screen("rate-link", "/rate/t/{rating}"),
    Screen("rate-unpaired", "/rate/chuanshan/1"),
    Screen("staff-login", "/staff/login"),
    Screen("not-found", "/book/nowhere"),
]
HALL = [
    Screen("kiosk", "/kiosk/chuanshan", "desk"),
    Screen("desk", "/desk/chuanshan", "desk"),
    Screen("desk-print", "/desk/chuanshan/tickets/{ticket_id}/print", "desk"),
    Screen("window-chooser", "/window/chuanshan", "registrar"),
    Screen("window", "/window/chuanshan/1", "registrar", shows="#missed [data-requeue]"),
    Screen("divorce-cases", "/staff/divorce-cases/chuanshan?back=/window/chuanshan/1",
           "registrar", fill=(("#divorce-id-number", "{divorce_party}"),),
           submit="#divorce-lookup button[type=submit]",
           shows="#divorce-cases tr[data-case] form"),
    Screen("divorce-receipt",
           "/staff/divorce-cases/chuanshan/{divorce_case}/receipt?back=/window/chuanshan/1",
           "registrar", shows="#withdrawal-receipt"),
    Screen("rating-tablet", "/rate/chuanshan/1", "tablet", ((390, 844), (1280, 900))),
    Screen("display", "/display/chuanshan", None, ((1920, 1080),)),
]
STAFF = [
    Screen("staff-home", "/staff/", "admin"),
    Screen("users", "/staff/users", "admin"),
    Screen("booking-admin", "/staff/booking/chuanshan?date=2026-05-13", "admin"),
    Screen("staff-book", "/staff/booking/chuanshan/new?service=marriage&date=2026-05-13",
           "desk", shows="#start-1000"),
    Screen("staff-appointment", "/staff/booking/chuanshan/{appointment_id}?date=2026-05-14",
           "desk", shows=".bk-slots li"),
    Screen("calendar-admin", "/staff/calendar/", "admin"),
    Screen("peak-days", "/staff/calendar/peak-days", "admin"),
    Screen("state-days", "/staff/calendar/state-days", "admin"),
    Screen("overrides", "/staff/calendar/chuanshan/overrides", "admin"),
    Screen("feedback", "/staff/feedback", "admin"),
    Screen("feedback-tablets", "/staff/feedback/chuanshan/tablets", "admin"),
    Screen("tablet-pairing", "/staff/tablets/chuanshan", "admin"),
    Screen("cases", "/staff/feedback/cases", "admin"),
    Screen("case", "/staff/feedback/cases/{case}", "admin"),
    Screen("registrars", "/staff/registrars", "admin"),
    Screen("stats", "/staff/stats", "admin"),
    Screen("report", "/staff/stats/report", "admin"),
    Screen("suggestion-list", "/staff/suggestions", "admin"),
    Screen("suggestion-detail", "/staff/suggestions/{suggestion_id}", "admin"),
    Screen("audit", "/staff/audit", "admin"),
    Screen("sms", "/staff/sms", "admin"),
    Screen("jobs", "/staff/jobs", "admin"),
]
SCREENS = PUBLIC + HALL + STAFF
# XIYUE_AXE_SCREENS=desk,stats checks only those (a quick loop while fixing a screen)
ONLY = {name for name in os.environ.get("XIYUE_AXE_SCREENS", "").split(",") if name}
LANGUAGES = ("zh_CN", "en")
# Pairing a tablet signs its desk account out everywhere: a desk account of its own, so
# that the "desk" contexts stay signed in for the screens after the tablet's.
TABLET_PAIRER = "pairing"


def _couple(serial: int) -> list[dict]:
    return [{"name": "陈一鸣", "id_type": "resident_id", "phone": f"138001{serial:05d}",
             "id_number": resident_id(date(1993, 2, 14), "M", serial)},
            {"name": "林思雨", "id_type": "resident_id", "phone": f"138001{serial + 1:05d}",
             "id_number": resident_id(date(1995, 5, 20), "F", serial + 1)}]


def _populate(values: dict):
    """Through the app itself on Monday 2026-05-11 10:00: an appointment for Wednesday; at
    chuanshan today four walk-ins, two served (window 2, then window 1, whose tablet offers
    the last), one missed (a no-show: the window offers 过号重排), one still waiting; a bad
    rating by SMS link (a follow-up case); a suggestion; a couple's divorce application
    withdrawn (its 撤回确认单) and accepted again (in cooling-off)."""

    def populate(app):
        from sqlalchemy import select

        from booking import divorce
        from booking.models import Appointment
        from core.auth import User, issue_token
        from core.extensions import db
        from feedback.models import FollowUpCase
        from feedback.ratings import rate_by_token
        from feedback.suggestions import submit
        from notify.models import OutboxMessage
        from offices.models import Office
        from staff.services import create_user

        create_user(TABLET_PAIRER, "desk", DEMO_PASSWORD, "chuanshan", "平板配对")
        client = app.test_client()
        answer = client.post("/api/v1/appointments", json={
            "office": "chuanshan", "service": "marriage", "date": "2026-05-13",
            "start": "09:30", "applicants": _couple(201)})
        assert answer.status_code == 201, answer.get_json()
        values["appointment"] = answer.get_json()["token"]
        values["appointment_id"] = db.session.scalar(select(Appointment.id))  # the only one

        def bearer(name):
            token, _row = issue_token(db.session.scalar(select(User).where(User.username == name)))
            db.session.commit()
            return {"Authorization": f"Bearer {token}"}

        desk, registrar = bearer("desk"), bearer("registrar")

        def walk_in(serial):
            answer = client.post("/api/v1/offices/chuanshan/tickets", headers=desk, json={
                "service": "marriage", "phone": f"138002{serial:05d}",
                "present": [p["id_number"] for p in _couple(serial)]})
            assert answer.status_code == 201, answer.get_json()
            return answer.get_json()

        def serve_at(window):
            called = client.post(f"/api/v1/offices/chuanshan/windows/{window}/call-next",
                                 headers=registrar)
            assert called.status_code == 200, called.get_data(as_text=True)
            ticket_id = called.get_json()["ticket"]["id"]
            done = client.post(f"/api/v1/tickets/{ticket_id}/complete", headers=registrar,
                               json={"outcome": "registered"})
            assert done.status_code == 200, done.get_json()

        walk_in(301), walk_in(303)
        serve_at(2)
        serve_at(1)
        walk_in(307)
        called = client.post("/api/v1/offices/chuanshan/windows/2/call-next", headers=registrar)
        missed = client.post(f"/api/v1/tickets/{called.get_json()['ticket']['id']}/no-show",
                             headers=registrar)
        assert missed.status_code == 200, missed.get_json()
        waiting = walk_in(305)
        values["ticket"], values["ticket_id"] = waiting["token"], waiting["id"]
        links = []
        for message in db.session.scalars(select(OutboxMessage).where(
                OutboxMessage.kind == "rate_service").order_by(OutboxMessage.id)):
            links.append(re.search(r"/rate/t/([A-Za-z0-9_-]+)", message.body)[1])
        rate_by_token(links[0], 1, "等候太久。")
        values["rating"] = links[1]
        values["case"] = db.session.scalar(select(FollowUpCase.id))
        suggestion = submit(None, "advice", "建议在候登大厅增加饮水机。")
        db.session.commit()
        values["suggestion"], values["suggestion_id"] = suggestion.token, suggestion.id

        parties = [p["id_number"] for p in _couple(401)]
        office = db.session.scalar(select(Office).where(Office.code == "chuanshan"))
        hashes = [divorce.party_hash(p) for p in parties]
        first = divorce.record_divorce_application(office, hashes, date(2026, 5, 4))
        db.session.commit()
        divorce.withdraw_now(first, parties[1], db.session.scalar(
            select(User).where(User.username == "registrar")))
        divorce.record_divorce_application(office, hashes, date(2026, 5, 8))
        db.session.commit()
        values["divorce_case"], values["divorce_party"] = first.id, parties[0]

    return populate


@pytest.fixture(scope="module")
def axe_site(tmp_path_factory):
    if not AXE.exists():
        pytest.fail(f"{AXE} missing: run scripts/test-tools.sh (npm ci)")
    values: dict = {}
    tmp = tmp_path_factory.mktemp("accessibility")
    with serve(prepare_database(tmp, setup=_populate(values)), tmp) as server:
        yield server, values


def _pair_tablet(page, base_url: str) -> None:
    login(page, base_url, TABLET_PAIRER)
    page.goto(f"{base_url}/staff/tablets/chuanshan")
    with page.expect_navigation():
        page.locator("main form button.primary").first.click()


def _violations(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ': '
                                                 + n.failureSummary.split('\\n').slice(1, 2).join(''))}));
    }""")
    return [v for v in result if v["impact"] in FAILING_IMPACTS]


# What sticks out of a phone's width: the outermost elements whose right edge passes the
# page's (inside a scrolling region is fine: that region scrolls, not the page).
_OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth <= width) { return []; }
  const name = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
    + [...e.classList].map(c => '.' + c).join('');
  return [...document.body.querySelectorAll('*')]
    .filter(e => e.getBoundingClientRect().right > width + 1)
    .filter(e => { for (let a = e.parentElement; a; a = a.parentElement) {
        if (['auto', 'scroll', 'hidden'].includes(getComputedStyle(a).overflowX)) { return false; }
      } return true; })
    .filter(e => !e.parentElement || e.parentElement.getBoundingClientRect().right <= width + 1)
    .slice(0, 5)
    .map(e => name(e.parentElement) + ' > ' + name(e) + ': '
              + Math.round(e.getBoundingClientRect().right - width) + 'px');
}"""


def _contexts(chromium, base_url):
    made = {}

    def get(who, size, language):
        key = (who, size, language)
        if key not in made:
            phone = size[0] < 600
            context = chromium.new_context(
                viewport={"width": size[0], "height": size[1]}, is_mobile=phone,
                has_touch=phone, device_scale_factor=1, bypass_csp=True,
                locale="en-US" if language == "en" else "zh-CN")
            context.add_cookies([{"name": "lang", "value": language, "url": base_url}])
            page = context.new_page()
            page.set_default_timeout(15000)
            if who == "tablet":
                _pair_tablet(page, base_url)
                context.add_cookies([{"name": "lang", "value": language, "url": base_url}])
            elif who is not None:
                login(page, base_url, who)
            made[key] = (context, page)
        return made[key][1]

    return made, get


def test_no_serious_violation_on_any_screen(axe_site, chromium):
    server, values = axe_site
    made, page_for = _contexts(chromium, server.url)
    found = {}
    try:
        for screen in [s for s in SCREENS if not ONLY or s.name in ONLY]:
            for size in screen.sizes:
                for language in LANGUAGES:
                    page = page_for(screen.who, size, language)
                    page.goto(server.url + screen.path.format(**values))
                    if screen.submit:
                        for selector, value in screen.fill:
                            page.fill(selector, value.format(**values))
                        with page.expect_navigation():
                            page.click(screen.submit)
                    page.wait_for_load_state("load")
                    if screen.who not in (None, "tablet"):  # still signed in
                        assert "/staff/login" not in page.url, (screen.name, page.url)
                    if screen.shows:
                        assert page.locator(screen.shows).count(), (screen.name, page.url)
                    problems = _violations(page)
                    overflow = page.evaluate(_OVERFLOW)
                    if overflow:
                        problems.append({"id": "page-overflows-sideways", "nodes": overflow})
                    if problems:
                        found[f"{screen.name} {size[0]} {language}"] = problems
    finally:
        for context, _page in made.values():
            context.close()
    report = Path(PROJECT_ROOT / "test-results" / "axe.json")
    report.parent.mkdir(exist_ok=True)
    report.write_text(json.dumps(found, ensure_ascii=False, indent=1))
    assert found == {}, json.dumps(found, ensure_ascii=False, indent=1)


def test_a_failed_booking_form_puts_focus_on_its_error_summary(axe_site, new_page):
    server, _values = axe_site
    for language, prefix in (("zh_CN", "错误"), ("en", "Error")):
        page, watch = new_page(viewport=(390, 844), mobile=True)
        page.context.add_cookies([{"name": "lang", "value": language, "url": server.url}])
        page.goto(server.url + "/book/chuanshan/marriage/2026-05-20/apply?start=08:30")
        page.fill("#applicants-0-name", "陈一鸣")
        page.fill("#applicants-0-id_number", "510903199302140011")  # wrong check digit
        page.fill("#applicants-0-phone", "13800138000")
        page.fill("#applicants-1-name", "林思雨")
        page.fill("#applicants-1-id_number", resident_id(date(1995, 5, 20), "F", 9))
        page.fill("#applicants-1-phone", "12")  # not a phone number
        with page.expect_navigation():
            page.locator("form button[type=submit].primary").click()
        summary = page.locator("#error-summary")
        assert summary.get_attribute("role") == "alert"
        page.wait_for_function("document.activeElement && document.activeElement.id"
                               " === 'error-summary'")
        assert page.title().startswith(prefix), page.title()
        if language == "zh_CN":
            screenshot(page, "booking-form-errors-phone", full_page=False)
        links = summary.locator("a")
        assert sorted(links.evaluate_all("links => links.map(a => a.hash)")) == [
            "#applicants-0-id_number", "#applicants-1-phone"]
        links.first.click()  # the link takes the keyboard to the field
        assert page.evaluate("document.activeElement.id") == "applicants-0-id_number"
        # both ID numbers were cleared, and each says so beside it
        for index in (0, 1):
            field = page.locator(f"#applicants-{index}-id_number")
            assert field.input_value() == ""
            note = page.locator(f"#applicants-{index}-id_number-cleared")
            assert note.is_visible()
            assert f"applicants-{index}-id_number-cleared" in field.get_attribute(
                "aria-describedby")
        watch.assert_accessible_basics()
        watch.assert_clean()


def test_what_a_finger_taps_is_at_least_44_pixels(axe_site, new_page):
    server, values = axe_site
    page, _watch = new_page(viewport=(390, 844), mobile=True)
    checks = (
        ("/book/chuanshan/marriage?month=2026-05",
         (".lang-switch a", ".bk-month-nav a", ".bk-calendar td a")),
        ("/book/chuanshan", (".back-link", "main p a.tap")),
        ("/book/chuanshan/marriage/2026-05-20", (".back-link",)),
        ("/calendar/chuanshan?month=2026-05", (".cal-nav a",)),
        ("/a/{appointment}/reschedule", (".back-link",)),
    )
    small = []
    for path, selectors in checks:
        page.goto(server.url + path.format(**values))
        for selector in selectors:
            sizes = page.locator(selector).evaluate_all(
                "els => els.map(e => { const r = e.getBoundingClientRect();"
                " return [Math.round(r.width), Math.round(r.height)]; })")
            assert sizes, f"{selector} not on {path}"
            small += sorted({(path, selector, min(size)) for size in sizes if min(size) < 44})
    kiosk, _ = new_page(viewport=(1080, 1920), mobile=True)
    login(kiosk, server.url, "desk")
    kiosk.goto(server.url + "/kiosk/chuanshan")
    box = kiosk.locator("#kiosk-green").bounding_box()
    if min(box["width"], box["height"]) < 44:
        small.append(("/kiosk/chuanshan", "#kiosk-green", box))
    assert small == [], small
