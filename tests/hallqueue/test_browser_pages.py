"""The desk, window, kiosk and ticket pages in Chromium: the live presence check, keyboard
shortcuts at the window, and screenshots for docs/screenshots."""

from pathlib import Path

import pytest

from staff.services import create_user
from tests.browser.conftest import DEMO_PASSWORD, login, screenshot, signed_in
from tests.hallqueue.factories import OPEN_NOW, make_appointment, walk_in
from tests.support.browser import CHROMIUM

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def hall_site(client, hall, desk, live_server_for):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    create_user("desk", "desk", DEMO_PASSWORD, "chuanshan", "导办台")
    create_user("registrar", "registrar", DEMO_PASSWORD, "chuanshan", "登记员")
    appointment, numbers = make_appointment(hall, "marriage", start="10:30")
    code = appointment.code
    walk_in(client, desk, serial=1)
    walk_in(client, desk, service="divorce", serial=2)
    from core.extensions import db

    db.session.remove()
    server = live_server_for(workers=2, threads=4, env={"XIYUE_FROZEN_NOW": OPEN_NOW})
    return server, code, numbers


def test_front_desk_marks_matches_in_english(hall_site, new_page):
    """The match marks are the page's words, not the script's (before the check-in below)."""
    server, code, numbers = hall_site
    page, watch = new_page()
    page.context.add_cookies([{"name": "lang", "value": "en", "url": server.url}])
    login(page, server.url, "desk")
    page.goto(f"{server.url}/desk/chuanshan")
    page.fill("#scan", code)
    page.press("#scan", "Enter")
    page.wait_for_selector("#appointment")
    page.fill("#present-1", numbers[0])
    assert page.inner_text("[data-match-for=present-1]") == "✓ matches"
    page.fill("#present-2", numbers[0][:-1] + ("0" if numbers[0][-1] != "0" else "1"))
    assert page.inner_text("[data-match-for=present-2]") == "✗ does not match"
    watch.assert_clean()


def test_front_desk_checks_presence_and_prints(hall_site, new_page):
    server, code, numbers = hall_site
    page, watch = signed_in(new_page, server.url, "desk", "/desk/chuanshan")
    page.fill("#scan", code)
    page.press("#scan", "Enter")  # what a USB QR scanner does
    page.wait_for_selector("#appointment")
    assert numbers[0] in page.inner_text("#appointment")  # full ID numbers at the desk
    # on the desk PC (1280 wide) the whole check-in table shows, the phone column included
    assert page.evaluate("() => { const t = document.querySelector('.hq-ids');"
                         " return t.scrollWidth <= t.clientWidth; }")
    assert page.locator(".hq-ids th").last.inner_text() == "手机"
    page.fill("#present-1", numbers[0])
    page.fill("#present-2", numbers[0][:-1] + ("0" if numbers[0][-1] != "0" else "1"))
    assert "不一致" in page.inner_text("[data-match-for=present-2]")
    page.fill("#present-2", numbers[1].lower())
    assert "一致" in page.inner_text("[data-match-for=present-2]")
    watch.assert_accessible_basics()
    # the code and ID numbers depend on which tests made appointments before this one
    screenshot(page, "hall-desk", volatile=("#scan", "#appointment .badge", ".hq-ids td.id",
                                            "#present-1", "#present-2"))
    page.press("#present-2", "Enter")  # the card reader's Enter on the last person submits
    page.wait_for_url("**/print")
    assert page.inner_text("#receipt .number") == "J002"  # J001 is the walk-in
    assert page.locator("#receipt img.qr").evaluate("img => img.naturalWidth > 0")
    screenshot(page, "hall-ticket-receipt", volatile=("#receipt img.qr",))  # a new token each run
    watch.assert_clean()


def test_walk_in_form_asks_for_one_or_two_people(hall_site, new_page):
    server, _, _ = hall_site
    page, watch = signed_in(new_page, server.url, "desk", "/desk/chuanshan")
    assert page.is_visible("#walk-present-2")
    page.select_option("#walk-service", "reissue")
    assert not page.is_visible("#walk-present-2")
    assert not page.is_visible("[data-camera-for]")  # no BarcodeDetector in this Chromium
    watch.assert_clean()


def test_window_keyboard_shortcuts(hall_site, new_page):
    server, _, _ = hall_site
    page, watch = signed_in(new_page, server.url, "registrar", "/window/chuanshan")
    page.click("text=3 号窗口")
    page.wait_for_url("**/window/chuanshan/3")
    page.keyboard.press("n")
    page.wait_for_selector("[data-number=L001]")
    assert "已呼叫 L001" in page.inner_text("main")
    watch.assert_accessible_basics()
    screenshot(page, "hall-window")
    page.keyboard.press("f")  # refuse needs a reason first: the reason list gets the focus
    assert page.evaluate("document.activeElement.name") == "reason"
    page.keyboard.press("Escape")
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("c")
    page.wait_for_selector("#no-current")
    assert "L001 已办结" in page.inner_text("main")
    page.keyboard.press("p")
    page.wait_for_selector("[data-paused=true]")
    watch.assert_clean()


def test_kiosk_and_ticket_status_page(hall_site, new_page):
    server, _, _ = hall_site
    page, watch = signed_in(new_page, server.url, "desk", "/kiosk/chuanshan", viewport=(1080, 1920))
    watch.assert_accessible_basics()
    screenshot(page, "hall-kiosk", full_page=False)
    phone, phone_watch = new_page(viewport=(390, 844), mobile=True)
    phone.goto(f"{server.url}/display/chuanshan?voice=off")
    phone.goto(server.url + "/")
    from core.extensions import db
    from hallqueue.models import Ticket

    token = db.session.query(Ticket.token).filter_by(number="J001").scalar()
    phone.goto(f"{server.url}/t/{token}")
    assert phone.inner_text("#ticket-number") == "J001"
    assert "等候中" in phone.inner_text("#ticket-status")
    screenshot(phone, "hall-ticket-status-phone")
    phone_watch.assert_clean()
    watch.assert_clean()


def test_display_reconnects_by_itself_after_a_network_outage(hall_site, new_page, registrar):
    import requests

    from tests.hallqueue.test_live_display import wait_for_attribute

    server, _, _ = hall_site
    page, watch = new_page(viewport=(1920, 1080))
    page.goto(f"{server.url}/display/chuanshan?voice=off")
    wait_for_attribute(page, "#hall", "data-conn", "online")
    page.context.set_offline(True)
    wait_for_attribute(page, "#hall", "data-conn", "offline", timeout=5)
    assert page.is_visible("#hall-conn")  # the screen says it is reconnecting
    response = requests.post(f"{server.url}/api/v1/offices/chuanshan/windows/3/call-next",
                             headers=registrar, timeout=10)
    assert response.json()["ticket"]["number"] == "L001"
    page.context.set_offline(False)
    wait_for_attribute(page, "#hall-latest", "data-spoken-text", "请 L001 号到 3 号窗口办理",
                       timeout=8)
    assert page.get_attribute("#hall", "data-conn") == "online"
    assert not page.is_visible("#hall-conn")


def test_display_in_english_shows_english_labels_and_keeps_the_mandarin_words(
        hall_site, new_page, registrar):
    """?lang=en: the labels display.js redraws ("Window 3") follow the page; the words the
    hall hears, and data-spoken-text, stay Mandarin."""
    import requests

    from tests.hallqueue.test_live_display import wait_for_attribute

    server, _, _ = hall_site
    page, watch = new_page(viewport=(1920, 1080))
    page.goto(f"{server.url}/display/chuanshan?voice=off&lang=en")
    wait_for_attribute(page, "#hall", "data-conn", "online")
    response = requests.post(f"{server.url}/api/v1/offices/chuanshan/windows/3/call-next",
                             headers=registrar, timeout=10)
    assert response.json()["ticket"]["number"] == "L001"
    wait_for_attribute(page, "#hall-latest", "data-spoken-text", "请 L001 号到 3 号窗口办理",
                       timeout=8)
    assert page.get_attribute("#hall-calling li", "data-spoken-text") == (
        "请 L001 号到 3 号窗口办理")
    latest = page.inner_text("#hall-latest .call")
    assert "L001" in latest and "window 3" in latest.lower() and "号" not in latest
    assert page.inner_text("#hall-calling .win") == "Window 3"
    assert page.inner_text("#hall-history .win") == "Window 3"
    assert "号窗口" not in page.inner_text("#hall")
    assert "年" not in page.inner_text("#hall-date")  # the date in English too
    watch.assert_clean()


def test_display_shows_offline_when_its_poll_stalls_and_the_call_after_recovery(
        hall_site, new_page, registrar):
    """A poll that never answers (held by route interception) is given up after a few
    seconds: the offline banner shows and the calls dim; once polls answer again the new
    call shows and the banner goes."""
    import requests
    from playwright.sync_api import expect

    server, _, _ = hall_site
    page, watch = new_page(viewport=(1920, 1080))
    page.goto(f"{server.url}/display/chuanshan?voice=off")
    expect(page.locator("#hall")).to_have_attribute("data-conn", "online")
    requests.post(f"{server.url}/api/v1/offices/chuanshan/windows/2/call-next",
                  headers=registrar, timeout=10).raise_for_status()
    expect(page.locator("#hall-latest")).to_have_attribute(
        "data-spoken-text", "请 J001 号到 2 号窗口办理")
    held = []
    page.route("**/api/v1/offices/chuanshan/display**", lambda route: held.append(route))
    expect(page.locator("#hall-conn")).to_be_visible(timeout=5000)
    expect(page.locator("#hall")).to_have_attribute("data-conn", "offline")
    # the old call is dimmed (a 0.3 s transition: wait for it, do not read its first frame)
    expect(page.locator(".hall-now")).to_have_css("opacity", "0.35")
    screenshot(page, "hall-display-offline", full_page=False,
               volatile=("#hall-clock", "#hall-date", "#hall-history"))
    response = requests.post(f"{server.url}/api/v1/offices/chuanshan/windows/3/call-next",
                             headers=registrar, timeout=10)
    assert response.json()["ticket"]["number"] == "L001"
    page.unroute("**/api/v1/offices/chuanshan/display**")
    expect(page.locator("#hall-latest")).to_have_attribute(
        "data-spoken-text", "请 L001 号到 3 号窗口办理", timeout=10000)
    expect(page.locator("#hall-conn")).to_be_hidden()
    assert held  # the poll really was held, not answered


def test_display_portrait_title_on_one_line_and_english_calls_fit(hall_site, new_page,
                                                                   registrar):
    import requests

    server, _, _ = hall_site
    for window in ("3", "2"):
        requests.post(f"{server.url}/api/v1/offices/chuanshan/windows/{window}/call-next",
                      headers=registrar, timeout=10).raise_for_status()
    for viewport in ((1080, 1920), (1920, 1080)):
        for lang in ("zh_CN", "en"):
            page, watch = new_page(viewport=viewport)
            page.goto(f"{server.url}/display/chuanshan?voice=off&lang={lang}")
            assert page.locator("#hall-calling li").count() == 2
            lines = page.locator(".hall-top h1").evaluate(
                "h => h.getBoundingClientRect().height / parseFloat(getComputedStyle(h).fontSize)")
            assert lines < 1.9, (viewport, lang)  # one line (line-height about 1.2 to 1.5)
            # each call and its window fit their tile: nothing cut at the edge
            assert page.evaluate(
                "() => [...document.querySelectorAll('.hall-calling li, .hall-latest')]"
                ".every(box => box.scrollWidth <= box.clientWidth + 1)"), (viewport, lang)
            assert page.evaluate(
                "() => [...document.querySelectorAll('.hall-calling li .win')].every(w => {"
                " const tile = w.closest('li').getBoundingClientRect(),"
                " r = w.getBoundingClientRect(); return r.right <= tile.right + 1; })")
            watch.assert_clean()


def test_requeue_and_green_channel_controls(hall_site, new_page, registrar):
    """过号重排 at the window and the desk; the green-channel switch on the desk form."""
    import requests
    from playwright.sync_api import expect

    server, _, _ = hall_site
    called = requests.post(f"{server.url}/api/v1/offices/chuanshan/windows/2/call-next",
                           headers=registrar, timeout=10).json()["ticket"]
    requests.post(f"{server.url}/api/v1/tickets/{called['id']}/no-show", headers=registrar,
                  timeout=10)
    page, watch = signed_in(new_page, server.url, "registrar", "/window/chuanshan/2")
    expect(page.locator("#missed [data-requeue]")).to_have_text("过号重排")
    watch.assert_accessible_basics()
    screenshot(page, "hall-window-requeue")
    page.click(f"#missed [data-requeue='{called['number']}']")
    expect(page.locator("main")).to_contain_text(f"{called['number']} 已重新排队")
    desk, desk_watch = signed_in(new_page, server.url, "desk", "/desk/chuanshan")
    switch = desk.locator("#walk-green")
    expect(desk.locator("label[for=walk-green]")).to_contain_text("绿色通道")
    box = desk.locator("label[for=walk-green]").bounding_box()
    assert box["height"] >= 48  # a large control
    switch.check()
    desk_watch.assert_accessible_basics()
    screenshot(desk, "hall-desk-green-channel", volatile=("#recent",))
    desk_watch.assert_clean()
    watch.assert_clean()
