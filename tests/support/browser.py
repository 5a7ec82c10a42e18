"""Browser fixtures shared by every test folder (one Playwright per test session: two
sync Playwright instances in one thread do not mix): Debian's Chromium, pages with a
watch on console errors."""

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("XIYUE_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def chromium():
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        message = f"Chromium not found at {CHROMIUM}: apt-get install chromium"
        if os.environ.get("CI", "").lower() in ("1", "true"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run",
                  "--disable-quic", "--autoplay-policy=no-user-gesture-required"])
        yield browser
        browser.close()


class PageWatch:
    """Collects console errors and failed requests of one page."""

    def __init__(self, page):
        self.page = page
        self.errors: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def assert_clean(self):
        assert self.errors == [], f"console errors: {self.errors}"

    def assert_accessible_basics(self):
        """lang set; every visible input, select and textarea has a label."""
        lang = self.page.evaluate("document.documentElement.lang")
        assert lang in ("zh-CN", "en"), lang
        unlabeled = self.page.evaluate("""() => [...document.querySelectorAll(
            'input:not([type=hidden]):not([type=submit]):not([type=button]), select, textarea')]
            .filter(e => e.offsetParent !== null)
            .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
                         && !e.getAttribute('aria-labelledby'))
            .map(e => e.name || e.id || e.outerHTML.slice(0, 60))""")
        assert unlabeled == [], f"inputs without labels: {unlabeled}"


@pytest.fixture
def new_page(chromium):
    contexts = []

    def make(viewport=(1280, 900), mobile=False, locale="zh-CN"):
        context = chromium.new_context(
            viewport={"width": viewport[0], "height": viewport[1]}, locale=locale,
            is_mobile=mobile, has_touch=mobile, device_scale_factor=1)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10000)
        return page, PageWatch(page)

    yield make
    for context in contexts:
        context.close()


# Records, in the page, the moment each value of an attribute first appears on an element
# matching a selector (a MutationObserver runs right after the script that made the change),
# so that a test's latency is the page's own, not the page's plus the test's polling.
_RECORD_ATTRIBUTE = """([selector, name]) => {
  const seen = window.__xiyueSeenAt = window.__xiyueSeenAt || {};
  const note = element => {
    const value = element.getAttribute(name);
    if (value !== null && !(value in seen)) {
      seen[value] = performance.timeOrigin + performance.now();
    }
  };
  document.querySelectorAll(selector).forEach(note);
  new MutationObserver(changes => changes.forEach(change => {
    if (change.target.matches && change.target.matches(selector)) { note(change.target); }
  })).observe(document.documentElement, {attributes: true, subtree: true,
                                          attributeFilter: [name]});
}"""


def record_attribute_values(page, selector: str, name: str) -> None:
    """From now on, note when each value of `name` first shows on `selector` (see
    attribute_shown_at)."""
    page.evaluate(_RECORD_ATTRIBUTE, [selector, name])


def attribute_shown_at(page, value: str) -> float | None:
    """When (time.time() seconds) the recorded attribute first had `value`, or None."""
    shown = page.evaluate("value => (window.__xiyueSeenAt || {})[value]", value)
    return None if shown is None else shown / 1000
