"""Browser tests: Playwright for Python driving Debian's Chromium against a real gunicorn
serving a prepared SQLite database. Screenshots go to docs/screenshots/ only under
`make screenshots` (XIYUE_WRITE_SCREENSHOTS=1); a normal run takes them into a scratch
folder, so the tests never rewrite the committed pictures.
The `chromium` and `new_page` fixtures come from tests/support/browser.py (a plugin of
tests/conftest.py, shared with the other folders' browser tests)."""

import base64
import os
import tempfile
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest

from tests.conftest import DEFAULT_OFFICES, PROJECT_ROOT, make_app
from tests.support.live import live_server

WRITE_SCREENSHOTS = os.environ.get("XIYUE_WRITE_SCREENSHOTS") == "1"
SCREENSHOTS = (PROJECT_ROOT / "docs" / "screenshots" if WRITE_SCREENSHOTS
               else Path(tempfile.mkdtemp(prefix="xiyue-screenshots-")))
# A Monday in May 2026: the booking calendar shows 5·20 and 5·21 as peak days.
BROWSER_NOW = os.environ.get("XIYUE_BROWSER_NOW", "2026-05-11T10:00:00+08:00")
DEMO_PASSWORD = "browser-pass-1"


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


def prepare_database(directory: Path, now: str = BROWSER_NOW, setup=None) -> str:
    """An SQLite database with the default offices and one account per role (admin;
    desk and registrar at chuanshan). `setup(app)` runs afterwards, in an app context whose
    clock is `now`, to add data through the app itself (its test client, its services)."""
    from core.extensions import db
    from offices.loader import load_offices_file
    from staff.services import create_user

    url = f"sqlite:///{directory / 'browser.sqlite3'}"
    app = make_app(url, FROZEN_NOW=now)
    with app.app_context():
        db.create_all()
        load_offices_file(DEFAULT_OFFICES)
        create_user("admin", "admin", DEMO_PASSWORD, None, "管理员")
        create_user("desk", "desk", DEMO_PASSWORD, "chuanshan", "导办台")
        create_user("registrar", "registrar", DEMO_PASSWORD, "chuanshan", "登记员")
        if setup is not None:
            setup(app)
        db.session.remove()
        db.engine.dispose()
    return url


@contextmanager
def serve(url: str, directory: Path, now: str = BROWSER_NOW):
    """gunicorn on the database at `url`, every worker's clock pinned to `now`."""
    with live_server(url, directory, workers=2, threads=4,
                     env={"XIYUE_FROZEN_NOW": now}) as server:
        yield server


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A running Xiyue with the default offices and one account per role, clock pinned."""
    tmp = tmp_path_factory.mktemp("site")
    with serve(prepare_database(tmp), tmp) as server:
        yield server


# Pixels that differ between two screenshots, outside the given rows (top, height): a
# volatile element's whole rows, since a code of another width moves what stands beside it,
# and the old screenshot's element may have been wider than the new one's.
_DIFF_SCRIPT = """async ([before, after, rows, tolerance]) => {
  const load = async b64 => createImageBitmap(
      new Blob([Uint8Array.from(atob(b64), c => c.charCodeAt(0))], {type: 'image/png'}));
  const [a, b] = [await load(before), await load(after)];
  if (a.width !== b.width || a.height !== b.height) { return -1; }
  const pixels = image => {
    const canvas = new OffscreenCanvas(image.width, image.height);
    const context = canvas.getContext('2d');
    context.drawImage(image, 0, 0);
    return context.getImageData(0, 0, image.width, image.height).data;
  };
  const [p, q] = [pixels(a), pixels(b)];
  const skipped = new Uint8Array(a.height);
  rows.forEach(([top, height]) => skipped.fill(1, Math.max(0, top), top + height));
  let differing = 0;
  for (let y = 0; y < a.height; y++) {
    if (skipped[y]) { continue; }
    for (let x = 0; x < a.width; x++) {
      const i = (y * a.width + x) * 4;
      if (Math.abs(p[i] - q[i]) > tolerance || Math.abs(p[i + 1] - q[i + 1]) > tolerance ||
          Math.abs(p[i + 2] - q[i + 2]) > tolerance) { differing++; }
    }
  }
  return differing;
}"""

_ROWS_SCRIPT = """selectors => selectors.flatMap(s => [...document.querySelectorAll(s)]).map(e => {
  const r = e.getBoundingClientRect();
  return [Math.floor(r.top + scrollY) - 2, Math.ceil(r.height) + 4];
})"""


# Chromium's anti-aliasing of an edge may differ by a shade or two between runs (seen at a
# card's right edge in print layout: ±1 per channel); a changed screen differs by far more.
PIXEL_TOLERANCE = 8


def screenshot(page, name: str, full_page: bool = True, volatile=()) -> Path:
    """Save SCREENSHOTS/<name>.png when the screen changed. `volatile` lists CSS
    selectors of what differs on every run by design (random codes, QR codes, the hall
    clock): a difference in their rows alone does not rewrite the file, nor does a pixel a
    shade or two off (PIXEL_TOLERANCE), so the committed screenshots change only when a
    screen does."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    rows = page.evaluate(_ROWS_SCRIPT, list(volatile)) if volatile else []
    image = page.screenshot(full_page=full_page, animations="disabled")
    if path.exists():
        old = path.read_bytes()
        if old == image:
            return path
        differing = page.evaluate(_DIFF_SCRIPT, [base64.b64encode(old).decode(),
                                                 base64.b64encode(image).decode(), rows,
                                                 PIXEL_TOLERANCE])
        if differing == 0:
            return path
    path.write_bytes(image)
    return path


def login(page, base_url: str, username: str) -> None:
    page.goto(base_url + "/staff/login")
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    # past the login page (its own URL would match "**/staff/**" at once)
    page.wait_for_url(lambda url: "/staff/" in url and "/staff/login" not in url)


def signed_in(new_page, base_url: str, username: str, path: str | None = None, **page_options):
    """A new page (new_page's options) logged in as `username`, at `path` when given:
    (page, watch)."""
    page, watch = new_page(**page_options)
    login(page, base_url, username)
    if path is not None:
        page.goto(base_url + path)
    return page, watch


def tab_to(page, selector: str, limit: int = 250, key: str = "Tab") -> None:
    """Press Tab (or `key`) until the focused element matches `selector`: how a keyboard
    user reaches a control. Fails when it is not reachable within `limit` presses."""
    for _ in range(limit):
        page.keyboard.press(key)
        if page.evaluate("s => !!document.activeElement && document.activeElement.matches(s)",
                         selector):
            return
    focused = page.evaluate("document.activeElement && document.activeElement.outerHTML")
    raise AssertionError(f"{selector} not reached by {key} in {limit} presses; at {focused}")


def resident_id(birth: date, sex: str, serial: int, area: str = "510903") -> str:
    """A valid 18-character 居民身份证 number: the 17th digit odd for men, even for women."""
    from booking.identity import check_character

    sequence = serial * 2 % 1000 + (1 if sex == "M" else 0)
    first17 = f"{area}{birth:%Y%m%d}{sequence:03d}"
    return first17 + check_character(first17)


_DATE_ORDERS = ("MDY", "DMY", "YMD")


def _type_date_parts(keyboard, value: date, order: str) -> None:
    parts = {"Y": f"{value:%Y}", "M": f"{value:%m}", "D": f"{value:%d}"}
    for position, part in enumerate(order):
        keyboard.type(parts[part])
        if part == "Y" and position < 2:  # a year field takes up to 6 digits: move on
            keyboard.press("ArrowRight")


def type_date(page, value: date) -> None:
    """Type a date into the focused <input type=date> with the keyboard, in the order of
    its fields: Chromium orders them by the operating system's locale (yyyy/mm/dd on a
    Chinese desktop, mm/dd/yyyy on an English one), so a blank page is asked first."""
    probe = page.context.new_page()
    try:
        probe.set_content("<input id=d type=date aria-label=d>")
        for order in _DATE_ORDERS:
            probe.evaluate("document.getElementById('d').value = ''")
            probe.focus("#d")
            _type_date_parts(probe.keyboard, value, order)
            if probe.input_value("#d") == value.isoformat():
                break
        else:
            raise AssertionError("no field order of the date input takes a typed date")
    finally:
        probe.close()
    _type_date_parts(page.keyboard, value, order)
