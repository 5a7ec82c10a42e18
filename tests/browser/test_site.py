"""The public home page, the staff login and the language switch, in a real browser."""

from tests.browser.conftest import login, screenshot


def test_home_page_lists_the_offices_and_says_free(site, new_page):
    page, watch = new_page(viewport=(390, 844), mobile=True)
    page.goto(site.url + "/")
    assert page.locator(".office").count() == 6
    assert "遂宁市船山区婚姻登记处" in page.inner_text("main")
    assert "不收取任何费用" in page.inner_text("footer")
    watch.assert_accessible_basics()
    screenshot(page, "home-phone")
    watch.assert_clean()


def test_staff_login_and_home(site, new_page):
    page, watch = new_page()
    page.goto(site.url + "/staff/login")
    watch.assert_accessible_basics()
    screenshot(page, "staff-login")
    login(page, site.url, "admin")
    assert "工作台" in page.inner_text("h1")
    screenshot(page, "staff-home")
    watch.assert_clean()


def test_english_switch(site, new_page):
    """The switch keeps the page and the choice: the booking pages follow in English."""
    page, watch = new_page(viewport=(390, 844), mobile=True)
    page.goto(site.url + "/")
    with page.expect_navigation(url=site.url + "/"):
        page.get_by_role("link", name="English").tap()
    assert page.evaluate("document.documentElement.lang") == "en"
    assert "free of charge" in page.inner_text("footer")
    assert "Book a marriage registration appointment" in page.inner_text("h1")
    screenshot(page, "home-en-phone")

    page.goto(site.url + "/book/chuanshan/marriage")
    assert page.evaluate("document.documentElement.lang") == "en"
    assert "Choose date" in page.inner_text("h1")
    assert "Marriage registration" in page.inner_text("main")
    assert "left" in page.inner_text("table")
    watch.assert_accessible_basics()
    screenshot(page, "booking-calendar-en-phone")

    with page.expect_navigation(url="**/book/chuanshan/marriage"):
        page.get_by_role("link", name="中文").tap()
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    assert "选择日期" in page.inner_text("h1")
    watch.assert_clean()


def test_unknown_page_says_so_in_chinese(site, new_page):
    page, watch = new_page(viewport=(390, 844), mobile=True)
    answer = page.goto(site.url + "/book/nowhere")
    assert answer.status == 404
    assert "页面不存在" in page.inner_text("h1")
    assert page.get_by_role("link", name="返回首页").is_visible()
    watch.assert_accessible_basics()
    screenshot(page, "error-404-phone")
    # the only console line is Chromium's note of the 404 itself
    assert all("404" in error for error in watch.errors), watch.errors
