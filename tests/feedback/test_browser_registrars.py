"""The registrars page in Chromium on a 1280-wide screen: the photo field has room."""

import pytest

from staff.services import create_user
from tests.browser.conftest import DEMO_PASSWORD, login

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_registrar_photo_field_is_not_clipped(app, offices, live_server_for, new_page):
    from core.extensions import db

    create_user("admin", "admin", DEMO_PASSWORD, None, "管理员")
    create_user("registrar", "registrar", DEMO_PASSWORD, "chuanshan", "登记员")
    db.session.commit()
    db.session.remove()
    server = live_server_for(workers=1)
    page, watch = new_page(viewport=(1280, 900))
    login(page, server.url, "admin")
    page.goto(f"{server.url}/staff/registrars")
    photo = page.locator("input[type=file][name=photo]")
    box = photo.bounding_box()
    # room for the button and "未选择任何文件" / "No file chosen" (it was 150 px: "No…en")
    assert box["width"] >= 260, box
    figure = page.locator("form figure.registrar").bounding_box()
    assert figure["x"] + figure["width"] <= box["x"]  # the photo beside the fields
    watch.assert_accessible_basics()
    watch.assert_clean()
