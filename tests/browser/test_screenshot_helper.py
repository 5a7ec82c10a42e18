"""The screenshot helper rewrites docs/screenshots only when a screen changed: not for a
shade of anti-aliasing, nor in a volatile element's rows (a code of another width moves what
stands beside it); a changed word elsewhere is a change."""

import pytest

from tests.browser import conftest as browser

SCREEN = """<!doctype html><html><body style="margin:0;background:#fff">
<div style="margin:20px;padding:12px;border:1px solid rgb({edge});font:20px sans-serif">
<span id="word">{word}</span> <span id="code">{code}</span> <span>办理中</span></div>
<p id="note" style="margin:20px;font:20px sans-serif">{note}</p></body></html>"""


@pytest.fixture
def shots(tmp_path, monkeypatch):
    monkeypatch.setattr(browser, "SCREENSHOTS", tmp_path)
    return tmp_path / "card.png"


def _show(page, word="办结", code="A1B2C3", edge="200, 190, 180", note="请按号等候"):
    page.set_content(SCREEN.format(word=word, code=code, edge=edge, note=note))


def test_a_screen_is_rewritten_only_when_it_changed(new_page, shots):
    page, _watch = new_page(viewport=(400, 160))
    _show(page)
    browser.screenshot(page, "card", full_page=False)
    first = shots.read_bytes()

    _show(page, edge="201, 191, 181")  # a shade lighter: anti-aliasing noise, not a change
    browser.screenshot(page, "card", full_page=False)
    assert shots.read_bytes() == first

    _show(page, code="Z9Y8X7")  # a random code inside a volatile box
    browser.screenshot(page, "card", full_page=False, volatile=("#code",))
    assert shots.read_bytes() == first

    _show(page, code="W1W1W1")  # wider: what follows it on its line moves, nothing else
    browser.screenshot(page, "card", full_page=False, volatile=("#code",))
    assert shots.read_bytes() == first

    _show(page, note="请到3号窗口")  # another line changed: a change, volatile or not
    browser.screenshot(page, "card", full_page=False, volatile=("#code",))
    assert shots.read_bytes() != first
    _show(page)
    browser.screenshot(page, "card", full_page=False)
    first = shots.read_bytes()

    _show(page, word="撤回")  # the screen says something else
    browser.screenshot(page, "card", full_page=False)
    assert shots.read_bytes() != first
