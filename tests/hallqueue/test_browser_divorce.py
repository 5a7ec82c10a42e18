"""At the window, in Chromium: a registrar looks a divorce case up by a party's ID number,
withdraws it with the other party's ID presented, prints the 撤回确认单, and refuses two
marriages with the two refusal reasons added in issue 13 (已有配偶, 禁止结婚的亲属关系).
Screenshots of the case look-up and the withdrawal confirmation for docs/screenshots."""

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from core.extensions import db
from core.privacy import keyed_hash
from staff.services import create_user
from tests.browser.conftest import DEMO_PASSWORD, screenshot, signed_in
from tests.hallqueue.factories import OPEN_NOW, id_number, walk_in
from tests.support.browser import CHROMIUM

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def divorce_site(client, hall, desk, live_server_for):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    from booking.divorce import record_divorce_application

    create_user("registrar", "registrar", DEMO_PASSWORD, "chuanshan", "登记员")
    parties = [id_number(9001, "M"), id_number(9002, "F")]
    record_divorce_application(hall, [keyed_hash(n) for n in parties], date(2026, 6, 10))
    db.session.commit()
    walk_in(client, desk, serial=1)  # two marriages for the window to refuse
    walk_in(client, desk, serial=2)
    db.session.remove()
    server = live_server_for(workers=1, threads=4, env={"XIYUE_FROZEN_NOW": OPEN_NOW})
    return server, parties


def test_the_window_withdraws_a_case_and_records_the_new_refusal_reasons(divorce_site,
                                                                          new_page):
    from booking.models import DivorceCase
    from hallqueue.models import Ticket

    server, parties = divorce_site
    page, watch = signed_in(new_page, server.url, "registrar", "/window/chuanshan/1")
    page.on("dialog", lambda dialog: dialog.accept())  # the window's "are you sure?"

    # look the case up from the window page
    page.fill("#divorce-lookup-id", parties[0])
    page.click("text=查询离婚登记申请")
    page.wait_for_selector("#divorce-cases")
    row = page.locator("#divorce-cases tr[data-case]")
    assert row.count() == 1
    assert "2026-06-10" in row.inner_text() and "冷静期中" in row.inner_text()
    assert parties[0] not in page.content()  # an ID number is never sent back
    watch.assert_accessible_basics()
    screenshot(page, "divorce-case-lookup")

    # the other party, present with their ID, withdraws
    page.fill("#divorce-cases input[name=id_number]", parties[1])
    page.click("text=撤回申请")
    page.wait_for_selector("#withdrawal-receipt")
    assert "撤回离婚登记申请确认单" in page.inner_text("#withdrawal-receipt")
    assert "2026-06-15 10:00" in page.inner_text("#withdrawal-receipt")
    screenshot(page, "divorce-withdrawal-receipt")
    db.session.remove()
    assert db.session.scalar(select(DivorceCase.status)) == "withdrawn"

    # back to the window: refuse two marriages with the new reasons
    page.click("#withdrawal-receipt >> text=返回")
    page.wait_for_url("**/window/chuanshan/1")
    for number, reason in (("J001", "already_married"), ("J002", "prohibited_kinship")):
        page.click("button[value=call]")
        page.wait_for_selector(f"[data-number={number}]")
        card = page.locator(f"[data-number={number}]")
        card.locator("select[name=reason]").select_option(reason)
        card.locator("button[value=refuse]").click()
        page.wait_for_selector(f"text={number} 不予办理")
    assert "直系血亲或三代以内旁系血亲" in page.inner_text("main")
    db.session.remove()
    reasons = dict(db.session.execute(select(Ticket.number, Ticket.refusal_reason)).all())
    assert reasons == {"J001": "already_married", "J002": "prohibited_kinship"}
    watch.assert_clean()
