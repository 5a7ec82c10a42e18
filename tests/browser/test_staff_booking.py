"""A couple books a 颁证仪式 on a phone after booking their marriage (on 5·20: a group
ceremony, 10 couples a slot); the front desk books for an elderly couple without a phone and
prints their confirmation (电话预约 / 现场代约). The clock is 2026-05-11 10:00."""

from datetime import date

import requests

from tests.browser.conftest import resident_id, screenshot, signed_in

VOLATILE = (".bk-code", ".bk-qr img", "title", "h1", ".flash")

GROOM = {"name": "周大伟", "id": resident_id(date(1993, 4, 2), "M", 31), "phone": "13800138031"}
BRIDE = {"name": "吴小丽", "id": resident_id(date(1995, 9, 9), "F", 32), "phone": "13900139032"}
ELDER = {"name": "王大爷", "id": resident_id(date(1950, 1, 5), "M", 41)}
PARTNER = {"name": "赵奶奶", "id": resident_id(date(1952, 3, 3), "F", 42)}


def _book_marriage(site, day: str) -> dict:
    answer = requests.post(f"{site.url}/api/v1/appointments", timeout=10, json={
        "office": "suining", "service": "marriage", "date": day, "start": "09:00",
        "applicants": [{"name": p["name"], "id_type": "resident_id", "id_number": p["id"],
                        "phone": p["phone"]} for p in (GROOM, BRIDE)]})
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_a_couple_books_a_ceremony_after_their_marriage_on_a_phone(site, new_page):
    marriage = _book_marriage(site, "2026-05-20")
    page, watch = new_page(viewport=(390, 844), mobile=True)
    page.goto(f"{site.url}/a/{marriage['token']}")
    page.get_by_role("link", name="预约当天的颁证仪式").tap()

    # 5·20: group ceremonies, 10 couples a slot
    page.wait_for_url("**/book/suining/ceremony/2026-05-20")
    slot = page.locator(".bk-slots li", has_text="10:00–10:30")
    assert "剩余 10 / 10" in slot.inner_text()
    slot.get_by_role("link", name="选择").tap()

    page.wait_for_url("**/apply?start=10:00")
    assert page.locator("fieldset.bk-applicant").count() == 2
    for index, person in enumerate((GROOM, BRIDE)):
        page.fill(f"#applicants-{index}-name", person["name"])
        page.fill(f"#applicants-{index}-id_number", person["id"])
        page.fill(f"#applicants-{index}-phone", person["phone"])
    assert "当天领取的结婚证" in page.inner_text(".bk-bring")
    watch.assert_accessible_basics()
    screenshot(page, "ceremony-booking-phone")
    page.get_by_role("button", name="确认预约").tap()

    page.wait_for_url("**/a/*")
    assert "预约成功" in page.inner_text(".flash-success")
    summary = page.inner_text(".bk-summary")
    assert "颁证仪式" in summary and "2026-05-20 10:00–10:30" in summary
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390  # nothing wider than the phone
    screenshot(page, "ceremony-booked-phone", volatile=VOLATILE)
    watch.assert_clean()


def test_without_a_marriage_the_ceremony_is_refused_on_the_page(site, new_page):
    page, watch = new_page(viewport=(390, 844), mobile=True)
    page.goto(f"{site.url}/book/suining/ceremony/2026-05-21")
    page.locator(".bk-slots li", has_text="10:00–10:30").get_by_role("link", name="选择").tap()
    page.wait_for_url("**/apply?start=10:00")
    strangers = ({"name": "孙悟", "id": resident_id(date(1990, 1, 1), "M", 51),
                  "phone": "13700137051"},
                 {"name": "钱七", "id": resident_id(date(1991, 1, 1), "F", 52),
                  "phone": "13700137052"})
    for index, person in enumerate(strangers):
        page.fill(f"#applicants-{index}-name", person["name"])
        page.fill(f"#applicants-{index}-id_number", person["id"])
        page.fill(f"#applicants-{index}-phone", person["phone"])
    page.get_by_role("button", name="确认预约").tap()
    refusal = page.locator("#error-summary", has_text="请先预约同一天的结婚登记")
    refusal.wait_for()
    assert "/apply" in page.url
    watch.assert_clean()


def test_the_desk_books_for_a_couple_without_a_phone(site, new_page):
    page, watch = signed_in(new_page, site.url, "desk", "/staff/booking/chuanshan/new")
    page.select_option("#service", "marriage")
    page.fill("#date", "2026-05-13")
    page.get_by_role("button", name="查看时段").click()
    page.wait_for_url("**/new?service=marriage&date=2026-05-13")
    page.check("#start-1000")
    for index, person in enumerate((ELDER, PARTNER)):
        page.fill(f"#applicants-{index}-name", person["name"])
        page.fill(f"#applicants-{index}-id_number", person["id"])
    watch.assert_accessible_basics()
    screenshot(page, "staff-booking")
    page.get_by_role("button", name="代为预约").click()

    page.wait_for_url("**/staff/booking/chuanshan/*")
    assert "已代为预约" in page.inner_text(".flash-success")
    assert "请打印确认单" in page.inner_text("body")
    assert "由工作人员代约" in page.inner_text("body")
    assert ELDER["id"] not in page.content()
    watch.assert_accessible_basics()
    screenshot(page, "staff-booking-confirmation", volatile=VOLATILE)
    with page.expect_popup() as popup:
        page.get_by_role("link", name="打印确认单").click()
    printed = popup.value
    printed.wait_for_load_state()
    assert "2026-05-13 10:00" in printed.inner_text("body")
    watch.assert_clean()
