"""The jobs page in Chromium on a 1280-wide screen: the column headers stay on one line."""

import pytest

from staff.services import create_user
from tests.browser.conftest import DEMO_PASSWORD, login

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# How many line boxes an element's text takes.
LINES = """e => { const r = document.createRange(); r.selectNodeContents(e);
  return new Set([...r.getClientRects()].map(b => Math.round(b.top))).size; }"""


def test_jobs_page_headers_do_not_wrap(app, offices, live_server_for, new_page):
    from core.extensions import db

    create_user("admin", "admin", DEMO_PASSWORD, None, "管理员")
    db.session.commit()
    db.session.remove()
    server = live_server_for(workers=1)
    for lang in ("zh", "en"):
        page, watch = new_page(viewport=(1280, 900))
        login(page, server.url, "admin")
        page.goto(f"{server.url}/staff/jobs?lang={lang}")
        headers = page.locator("main table thead th")
        assert headers.count() == 5
        for index in range(headers.count()):
            header = headers.nth(index)
            assert header.evaluate(LINES) == 1, (lang, header.inner_text())
        schedules = page.locator("main table tbody td:nth-child(2)")
        for index in range(schedules.count()):  # "每天 00:05" / "daily at 00:05" in one line
            assert schedules.nth(index).evaluate(LINES) == 1
        watch.assert_clean()
