"""Public information pages (calendar, disclosure, suggestion box) and the administrator's
calendar and job pages, on Monday 2026-05-11."""

import re

from tests.browser.conftest import screenshot, signed_in


def calendar_day(page, iso_date: str):
    return page.locator(f"[role=listitem][aria-label='{iso_date}'] .cal-day")


def test_public_calendar_marks_the_520_peak_day_with_longer_hours(site, new_page):
    page, watch = new_page()
    page.goto(f"{site.url}/calendar/chuanshan")
    assert "2026 年 5 月" in page.inner_text("#month-title")
    peak = calendar_day(page, "2026-05-20")
    assert "peak" in peak.get_attribute("class")
    text = peak.inner_text()
    assert "5·20" in text and "08:30–18:30" in text and "延时" in text
    ordinary = calendar_day(page, "2026-05-13")
    assert "09:00–17:00" in ordinary.inner_text() and "延时" not in ordinary.inner_text()
    assert "不办公" in calendar_day(page, "2026-05-16").inner_text()  # a Saturday
    assert "today" in calendar_day(page, "2026-05-11").get_attribute("class")
    coming = page.locator("#upcoming-title + ul li", has_text="2026-05-20")
    assert re.search(r"08:30–12:00, 12:00–18:30\s*延时服务", coming.inner_text())
    watch.assert_accessible_basics()
    screenshot(page, "calendar-public")

    phone, phone_watch = new_page(viewport=(390, 844), mobile=True)
    phone.goto(f"{site.url}/calendar/chuanshan?month=2026-05")
    assert "5·20" in calendar_day(phone, "2026-05-20").inner_text()
    overflow = phone.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    assert not overflow, "the month does not fit a phone's width"
    screenshot(phone, "calendar-public-phone")
    watch.assert_clean()
    phone_watch.assert_clean()


def test_admin_calendar_pages(site, new_page):
    page, watch = signed_in(new_page, site.url, "admin", "/staff/calendar/")
    preview = page.locator(".plan-table tr", has_text="2026-05-20")
    assert "5·20 ×2.0" in preview.inner_text()
    watch.assert_accessible_basics()
    screenshot(page, "admin-calendar")
    for path, name, heading in (
            ("/staff/calendar/peak-days", "admin-peak-days", "高峰日"),
            ("/staff/calendar/state-days", "admin-state-days", "节假日"),
            ("/staff/calendar/chuanshan/overrides", "admin-overrides", "特殊安排")):
        page.goto(site.url + path)
        assert heading in page.inner_text("main"), path
        watch.assert_accessible_basics()
        screenshot(page, name)
    watch.assert_clean()


def test_jobs_page_lists_the_scheduled_jobs(site, new_page):
    page, watch = signed_in(new_page, site.url, "admin", "/staff/jobs")
    jobs = page.locator("main table tbody code").all_inner_texts()
    for job in ("sms-dispatch", "sms-reminders", "extend-hours", "no-show-sweep",
                "daily-reset", "holiday-data-check", "retention-purge"):
        assert job in jobs
    watch.assert_accessible_basics()
    # the next runs follow the machine's clock (APScheduler's), not the pinned app clock
    screenshot(page, "jobs", volatile=("main table td:nth-child(3)",))
    watch.assert_clean()


def test_jobs_page_speaks_chinese(site, new_page):
    page, watch = signed_in(new_page, site.url, "admin", "/staff/jobs")
    text = page.inner_text("main")
    for code in page.locator("main code").all_inner_texts():  # job ids and shell commands
        text = text.replace(code, "")                         # are names, not language
    assert "调度进程" in text and "每 5 秒" in text and "每天 00:05" in text
    english = re.findall(r"[A-Za-z]{4,}(?: [A-Za-z`]{2,})+", text)  # runs of English words
    assert english == [], english


def test_disclosure_page_in_chinese_and_english(site, new_page):
    page, watch = new_page(viewport=(390, 844), mobile=True)
    page.goto(f"{site.url}/info/chuanshan")
    assert "办事指南" in page.inner_text("h1")
    assert "免费" in page.inner_text(".free-banner") or "不收取" in page.inner_text(".free-banner")
    assert "监督电话" in page.inner_text("#contact")
    assert "5·20" in page.inner_text("#hours")  # the coming peak day
    watch.assert_accessible_basics()
    screenshot(page, "disclosure-phone")

    with page.expect_navigation(url="**/info/chuanshan"):
        page.get_by_role("link", name="English").tap()
    assert page.evaluate("document.documentElement.lang") == "en"
    assert "Chuanshan District Marriage Registration Office" in page.inner_text("h1")
    assert "free" in page.inner_text(".free-banner").lower()
    assert "Supervision" in page.inner_text("#contact") or "supervision" in page.inner_text(
        "#contact")
    watch.assert_accessible_basics()
    screenshot(page, "disclosure-en")
    with page.expect_navigation(url="**/info/chuanshan"):
        page.get_by_role("link", name="中文").tap()
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    watch.assert_clean()


def test_suggestion_box(site, new_page):
    page, watch = new_page(viewport=(390, 844), mobile=True)
    page.goto(f"{site.url}/suggestions?office=chuanshan")
    assert page.input_value("#office") == "chuanshan"
    watch.assert_accessible_basics()
    page.select_option("#category", "advice")
    page.fill("#text", "建议在候登大厅增加饮水机。")
    page.fill("#phone", "13800138999")
    screenshot(page, "suggestion")
    page.get_by_role("button", name="提交").tap()
    page.wait_for_url("**/suggestions/t/*")
    assert "已收到您的意见" in page.inner_text(".flash-success")
    card = page.inner_text(".card")
    assert "建议在候登大厅增加饮水机。" in card and "遂宁市船山区婚姻登记处" in card
    watch.assert_accessible_basics()
    screenshot(page, "suggestion-status", volatile=(".flash", ".card p:first-child"))

    staff, staff_watch = signed_in(new_page, site.url, "admin", "/staff/suggestions")
    assert "建议在候登大厅增加饮水机" in staff.inner_text("main")
    assert "13800138999" not in staff.inner_text("main")
    staff_watch.assert_accessible_basics()
    screenshot(staff, "suggestion-list")

    # the office answers; the citizen reads the answer on the status page
    staff.locator("main a[href*='/staff/suggestions/']").first.click()
    staff.wait_for_url("**/staff/suggestions/*")
    assert "建议在候登大厅增加饮水机。" in staff.inner_text("blockquote")
    staff_watch.assert_accessible_basics()
    screenshot(staff, "suggestion-detail", volatile=("h1",))
    staff.fill("#reply", "感谢建议，饮水机已于本周安装。")
    staff.get_by_role("button", name="答复", exact=True).click()
    staff.wait_for_load_state()
    assert "感谢建议，饮水机已于本周安装。" in staff.inner_text("main")
    page.reload()
    assert "感谢建议，饮水机已于本周安装。" in page.inner_text(".card")
    screenshot(page, "suggestion-answered", volatile=(".card p:first-child",))

    page.goto(f"{site.url}/suggestions/counts")
    assert "2026" in page.inner_text("main")
    watch.assert_accessible_basics()
    screenshot(page, "suggestion-counts")
    watch.assert_clean()
    staff_watch.assert_clean()
