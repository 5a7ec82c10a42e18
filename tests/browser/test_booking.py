"""A couple books on a phone, then changes and cancels from the manage link; another couple
books with the keyboard alone. The clock is 2026-05-11 10:00 (a Monday) at every office."""

import re
from datetime import date

import requests

from tests.browser.conftest import resident_id, screenshot, tab_to, type_date

# What differs on every run by design: the appointment code and its QR code.
VOLATILE = (".bk-code", ".bk-qr img", "title")

GROOM = {"name": "王小明", "id": resident_id(date(1994, 3, 8), "M", 11), "phone": "13800138001"}
BRIDE = {"name": "李小红", "id": resident_id(date(1996, 7, 21), "F", 12), "phone": "13900139002"}


def remaining(site, office: str, day: str, start: str) -> int:
    answer = requests.get(f"{site.url}/api/v1/offices/{office}/availability",
                          params={"service": "marriage", "from": day, "days": 1}, timeout=10)
    answer.raise_for_status()
    slot = next(s for s in answer.json()["days"][0]["slots"] if s["start"] == start)
    return slot["remaining"]


def day_cell(page, day: int):
    """The calendar's cell for a day of the month shown."""
    return page.locator("td", has=page.locator(".d", has_text=re.compile(rf"^{day}$")))


def test_couple_books_changes_and_cancels_on_a_phone(site, new_page):
    page, watch = new_page(viewport=(390, 844), mobile=True)
    page.goto(site.url + "/")
    page.locator("#office-chuanshan").get_by_role("link", name="预约办理").tap()

    # the office: address, the week's hours, the services
    page.wait_for_url("**/book/chuanshan")
    assert "遂宁市船山区婚姻登记处" in page.inner_text("h1")
    assert "05-11 周一" in page.inner_text(".bk-hours")
    watch.assert_accessible_basics()
    screenshot(page, "booking-office-phone")
    page.locator("article", has_text="结婚登记").get_by_role("link", name="选择日期").tap()

    # the month: 5·20 marked as a peak day, days with seats say how many are left
    page.wait_for_url("**/book/chuanshan/marriage")
    assert day_cell(page, 20).get_attribute("class") == "open peak"
    assert "5·20" in day_cell(page, 20).inner_text()
    assert "余240" in day_cell(page, 20).inner_text()  # 2 × 6 seats in 20 slots
    assert "余78" in day_cell(page, 13).inner_text()  # 6 seats in 13 slots
    assert day_cell(page, 16).get_attribute("class") == "closed"  # a Saturday
    watch.assert_accessible_basics()
    screenshot(page, "booking-calendar-phone")
    page.locator("td.open a[href$='/2026-05-13']").tap()

    # the day's slots
    page.wait_for_url("**/book/chuanshan/marriage/2026-05-13")
    ten = page.locator(".bk-slots li", has_text="10:00–10:30")
    assert "剩余 6 / 6" in ten.inner_text()
    watch.assert_accessible_basics()
    screenshot(page, "booking-day-phone")
    ten.get_by_role("link", name="选择").tap()

    # both applicants, then confirm
    page.wait_for_url("**/apply?start=10:00")
    assert page.locator("fieldset.bk-applicant").count() == 2
    for index, person in enumerate((GROOM, BRIDE)):
        page.fill(f"#applicants-{index}-name", person["name"])
        page.fill(f"#applicants-{index}-id_number", person["id"])
        page.fill(f"#applicants-{index}-phone", person["phone"])
    watch.assert_accessible_basics()
    screenshot(page, "booking-form-phone")
    page.get_by_role("button", name="确认预约").tap()

    # confirmed: the code, the QR code that carries it, masked names and ID numbers
    page.wait_for_url("**/a/*")
    manage_url = page.url
    assert "预约成功" in page.inner_text(".flash-success")
    code = page.inner_text(".bk-code")
    assert 6 <= len(code) <= 12 and code.isalnum()
    summary = page.inner_text(".bk-summary")
    assert "已预约" in summary and "2026-05-13 10:00–10:30" in summary
    assert "王*明" in summary and GROOM["id"] not in summary and GROOM["id"][-4:] in summary
    qr = page.locator(".bk-qr img")
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0")
    assert code in qr.get_attribute("alt")
    qr_svg = requests.get(site.url + qr.get_attribute("src"), timeout=10)
    assert qr_svg.headers["Content-Type"].startswith("image/svg+xml")
    assert remaining(site, "chuanshan", "2026-05-13", "10:00") == 5
    watch.assert_accessible_basics()
    screenshot(page, "booking-confirmed-phone", volatile=VOLATILE)

    # reschedule to the 5·20 peak day, which opens at 08:30 and has twice the seats
    page.get_by_role("link", name="改约").tap()
    page.wait_for_url("**/reschedule")
    assert "改约" in page.inner_text("h1")
    watch.assert_accessible_basics()
    screenshot(page, "reschedule-calendar-phone")
    page.locator("td.open a[href$='/reschedule/2026-05-20']").tap()
    page.wait_for_url("**/reschedule/2026-05-20")
    early = page.locator(".bk-slots li", has_text="08:30–09:00")
    assert "剩余 12 / 12" in early.inner_text()
    watch.assert_accessible_basics()
    screenshot(page, "reschedule-day-phone")
    early.get_by_role("button", name="改到此时段").tap()
    page.wait_for_url(manage_url)
    assert "改约成功" in page.inner_text(".flash-success")
    assert "2026-05-20 08:30–09:00" in page.inner_text(".bk-summary")
    assert page.inner_text(".bk-code") == code
    assert remaining(site, "chuanshan", "2026-05-13", "10:00") == 6  # the old seat is free
    assert remaining(site, "chuanshan", "2026-05-20", "08:30") == 11
    screenshot(page, "manage-phone", volatile=VOLATILE)

    # cancel: a confirmation page, then the seat goes back
    page.get_by_role("link", name="取消预约").tap()
    page.wait_for_url("**/cancel")
    watch.assert_accessible_basics()
    screenshot(page, "cancel-phone", volatile=VOLATILE)
    page.get_by_role("button", name="确定取消").tap()
    page.wait_for_url(manage_url)
    assert "预约已取消" in page.inner_text(".flash-success")
    assert "已取消" in page.inner_text(".bk-status")
    assert page.locator(".bk-qr").count() == 0
    assert page.get_by_role("link", name="改约").count() == 0
    assert remaining(site, "chuanshan", "2026-05-20", "08:30") == 12
    screenshot(page, "cancelled-phone", volatile=VOLATILE)
    watch.assert_clean()


def focused(page) -> str:
    return page.evaluate("document.activeElement.id || document.activeElement.tagName")


def test_booking_by_keyboard_alone(site, new_page):
    """From the home page to the confirmation with Tab, Enter, Space, arrows and typing: a
    mainland groom and a bride with a foreign passport, at the office that registers
    cross-border couples (so the bride's sex and birth date are typed too)."""
    page, watch = new_page()
    page.goto(site.url + "/")
    tab_to(page, "#office-suining a[href$='/book/suining']")
    page.keyboard.press("Enter")
    page.wait_for_url("**/book/suining")
    tab_to(page, "a[href$='/book/suining/marriage']")
    page.keyboard.press("Enter")
    page.wait_for_url("**/book/suining/marriage")
    tab_to(page, "a[href$='/book/suining/marriage/2026-05-14']")
    page.keyboard.press("Enter")
    page.wait_for_url("**/2026-05-14")
    tab_to(page, "a[href$='start=14:00']")
    page.keyboard.press("Enter")
    page.wait_for_url("**/apply?start=14:00")

    groom = {"name": "赵大伟", "id": resident_id(date(1990, 11, 2), "M", 21).lower(),
             "phone": "138 0013 8021"}
    tab_to(page, "#applicants-0-name")
    page.keyboard.type(groom["name"])
    page.keyboard.press("Tab")
    assert focused(page) == "applicants-0-id_type"  # 居民身份证 is already chosen
    page.keyboard.press("Tab")
    page.keyboard.type(groom["id"])  # a lower-case x would be fine too
    page.keyboard.press("Tab")
    page.keyboard.type(groom["phone"])

    tab_to(page, "#applicants-1-name")
    page.keyboard.type("Anna Smith")
    page.keyboard.press("Tab")
    assert focused(page) == "applicants-1-id_type"
    for _ in range(4):  # down the list to 护照
        page.keyboard.press("ArrowDown")
    assert page.input_value("#applicants-1-id_type") == "passport"
    page.keyboard.press("Tab")
    page.keyboard.type("E12345678")
    page.keyboard.press("Tab")
    page.keyboard.type("+44 7700 900123")
    page.keyboard.press("Tab")
    assert focused(page) == "applicants-1-sex"
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")  # （不必填） → 男 → 女
    assert page.input_value("#applicants-1-sex") == "F"
    page.keyboard.press("Tab")
    assert focused(page) == "applicants-1-birth_date"
    type_date(page, date(1997, 4, 12))  # digits and arrow keys, field by field
    assert page.input_value("#applicants-1-birth_date") == "1997-04-12"
    watch.assert_accessible_basics()
    screenshot(page, "booking-form-keyboard")

    tab_to(page, "button[type=submit]")
    page.keyboard.press("Space")
    page.wait_for_url("**/a/*")
    assert "预约成功" in page.inner_text(".flash-success")
    summary = page.inner_text(".bk-summary")
    assert "2026-05-14 14:00–14:30" in summary and "遂宁市婚姻登记中心" in summary
    assert "赵*伟" in summary and "护照" in summary
    # the QR code's picture has a text alternative a screen reader reads out
    code = page.inner_text(".bk-code")
    assert code in page.get_attribute(".bk-qr img", "alt")

    tab_to(page, "a[href$='/print']")  # the printable confirmation, still by keyboard
    page.keyboard.press("Enter")
    page.wait_for_url("**/print")
    printed = page.inner_text("main")
    assert code in printed and "2026-05-14 14:00–14:30" in printed
    screenshot(page, "booking-print", volatile=(".bk-code", ".bk-qr img", "img"))
    watch.assert_clean()
