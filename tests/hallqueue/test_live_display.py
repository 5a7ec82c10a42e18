"""A call reaches every open display within one second, also when the web runs as several
gunicorn processes on several hosts: two gunicorn servers (2 workers each) share the test's
database; calls go through server A, the display client polls server B the way the hall
screen does (every 500 ms, If-None-Match). The measured latencies go to
bench/results/display-latency.json for the benchmark when recorded
(XIYUE_RECORD_MEASUREMENTS=1, tests/support/measurements.py)."""

import os
import platform
import statistics
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from tests.hallqueue.factories import OPEN_NOW, walk_in
from tests.support.measurements import record_measurement
from tests.support.processes import wait_for

pytestmark = pytest.mark.slow
ENV = {"XIYUE_FROZEN_NOW": OPEN_NOW}
RESULTS = "display-latency.json"
POLL_SECONDS = 0.5
CALLS = 8


class DisplayClient(threading.Thread):
    """Polls the display state like static/hallqueue/display.js; records when each called
    number was first seen, and what each poll showed and when it started."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.url = url
        self.seen: dict[int, float] = {}
        self.answers: list[tuple[float, frozenset]] = []  # (poll started, numbers shown)
        self.stopped = threading.Event()
        self.polls = self.not_modified = 0

    def run(self):
        session, etag, shown = requests.Session(), None, frozenset()
        while not self.stopped.is_set():
            started = time.monotonic()
            try:
                response = session.get(self.url, timeout=5,
                                       headers={"If-None-Match": etag} if etag else {})
                self.polls += 1
                if response.status_code == 304:
                    self.not_modified += 1
                elif response.status_code == 200:
                    etag = response.headers.get("ETag")
                    now = time.monotonic()
                    shown = frozenset(item["number"] for item in response.json()["history"])
                    for number in shown:
                        self.seen.setdefault(number, now)
                if response.status_code in (200, 304):
                    self.answers.append((started, shown))
            except requests.RequestException:
                pass
            # like the page: polls start every POLL_SECONDS, however long one took
            self.stopped.wait(max(0.05, POLL_SECONDS - (time.monotonic() - started)))


def summary(latencies_ms: list[float]) -> dict:
    ordered = sorted(latencies_ms)
    return {"samples": len(ordered), "min": round(ordered[0], 1),
            "median": round(statistics.median(ordered), 1),
            "p95": round(ordered[max(0, int(len(ordered) * 0.95) - 1)], 1),
            "max": round(ordered[-1], 1)}


def test_a_call_reaches_a_display_on_another_server_by_the_next_poll(
        client, hall, desk, registrar, live_server_for, db_backend):
    for serial in range(1, CALLS + 1):
        walk_in(client, desk, serial=serial)
    from core.extensions import db

    db.session.remove()
    server_a = live_server_for(workers=2, env=ENV)
    server_b = live_server_for(workers=2, env=ENV)
    display = DisplayClient(f"{server_b.url}/api/v1/offices/chuanshan/display?view=screen")
    display.start()
    deadline = time.monotonic() + 10
    while display.polls < 2 and time.monotonic() < deadline:  # it has its state and ETag
        time.sleep(0.05)
    latencies, round_trips, calls = [], [], []
    try:
        for i in range(CALLS):
            sent = time.monotonic()
            response = requests.post(
                f"{server_a.url}/api/v1/offices/chuanshan/windows/{1 + i % 2}/call-next",
                headers=registrar, timeout=10)
            assert response.status_code == 200, response.text
            answered = time.monotonic()  # the call is committed: the screen's clock starts
            number = response.json()["ticket"]["number"]
            seen = wait_for(lambda number=number: display.seen.get(number), 15,
                            f"call {i + 1} ({number}) to reach the display on server B",
                            interval=0.01)
            calls.append((answered, number))
            latencies.append(max(0.0, seen - answered) * 1000)
            round_trips.append((seen - sent) * 1000)
            time.sleep(0.3 + (i % 3) * 0.23)  # calls at varying phases of the poll
    finally:
        display.stopped.set()
        display.join(timeout=5)
    result = summary(latencies)
    record_measurement(RESULTS, f"http-{db_backend}", {
        "what": "from call-next's answer (server A, gunicorn, 2 workers) until a display client "
                "polling server B (2 workers) every 500 ms with If-None-Match has it",
        "database": db_backend, "servers": 2, "workers_per_server": 2,
        "poll_interval_ms": int(POLL_SECONDS * 1000), "latency_ms": result,
        "from_the_click_ms": summary(round_trips),
        "polls": display.polls, "not_modified_304": display.not_modified,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU"})
    # what makes "within a second" hold whatever the machine's load: the first poll that
    # began after a call was committed already shows it (one poll interval plus one answer).
    # The clock figures are the measurement (bench/RESULTS.md); no threshold on them here,
    # so a stall of a loaded CI machine cannot fail the test.
    for answered, number in calls:
        first_after = next(shown for started, shown in display.answers if started >= answered)
        assert number in first_after, f"{number}: the first poll after the call missed it"
    assert display.not_modified > 0  # idle polls cost a 304 without a body


def wait_for_attribute(page, selector: str, name: str, value: str, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if page.get_attribute(selector, name) == value:
            return
        time.sleep(0.01)
    raise AssertionError(f"{selector}[{name}] is {page.get_attribute(selector, name)!r}, "
                         f"not {value!r}")


@pytest.mark.browser
def test_the_display_page_announces_a_call_made_on_another_server(
        client, hall, desk, registrar, live_server_for, db_backend, request):
    from tests.support.browser import CHROMIUM, attribute_shown_at, record_attribute_values

    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    new_page = request.getfixturevalue("new_page")
    for serial in range(1, 5):
        walk_in(client, desk, serial=serial)
    from core.extensions import db

    db.session.remove()
    server_a = live_server_for(workers=2, env=ENV)
    server_b = live_server_for(workers=2, env=ENV)
    page, watch = new_page(viewport=(1920, 1080))
    page.goto(f"{server_b.url}/display/chuanshan?voice=clips")
    page.wait_for_selector("#hall[data-conn=online]")  # the page has polled at least once
    record_attribute_values(page, "#hall-latest", "data-spoken-text")
    latencies, round_trips = [], []
    for window, number in (("1", "J001"), ("2", "J002"), ("1", "J003")):
        sent = time.time()
        response = requests.post(
            f"{server_a.url}/api/v1/offices/chuanshan/windows/{window}/call-next",
            headers=registrar, timeout=10)
        assert response.status_code == 200
        answered = time.time()  # the call is committed: the screen's clock starts
        words = f"请 {number} 号到 {window} 号窗口办理"
        # (Playwright's wait_for_function evaluates strings, which the page's CSP forbids)
        wait_for_attribute(page, "#hall-latest", "data-spoken-text", words)
        shown = attribute_shown_at(page, words)  # the page's moment, not this loop's
        latencies.append((shown - answered) * 1000)
        round_trips.append((shown - sent) * 1000)
        time.sleep(0.4)
    # announcements follow one another (chime and clips, about 6 s each): the last is said
    wait_for_attribute(page, "#hall", "data-announced-text", words, timeout=30)
    wait_for_attribute(page, "#hall", "data-announcements", "3", timeout=30)
    assert page.get_attribute("#hall", "data-voice") == "clips"
    assert page.locator("#hall-calling li.newest .num").inner_text() == "J003"
    assert page.locator("#hall-calling li").count() == 2  # windows 1 and 2
    assert page.locator("#hall-waiting .count[data-service='marriage']").inner_text() == "1"
    assert page.locator("#hall-history li").count() == 3
    clips = page.evaluate("window.XiyueHall.clipsFor('J001', '12')")
    assert clips == ["qing", "letter-j", "digit-0", "digit-0", "digit-1", "hao-dao", "ten",
                     "digit-2", "window-banli"]
    assert page.evaluate("window.XiyueHall.speechTextFor('L012', '3')") == \
        "请 L零一二 号到 3 号窗口办理"
    record_measurement(RESULTS, f"browser-{db_backend}", {
        "what": "from call-next's answer (server A) until the display page served by server B "
                "shows and announces it (Chromium)",
        "database": db_backend, "latency_ms": summary(latencies),
        "from_the_click_ms": summary(round_trips),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds")})
    # the latencies are the measurement (bench/RESULTS.md), not a pass mark on a shared machine
    from tests.browser.conftest import screenshot

    page.evaluate("document.getElementById('hall-sound').hidden = true")
    clock = ("#hall-clock", "#hall-date")  # the machine's time: differs on every run
    screenshot(page, "hall-display", full_page=False, volatile=clock)
    page.set_viewport_size({"width": 1080, "height": 1920})
    screenshot(page, "hall-display-portrait", full_page=False, volatile=clock)
    assert page.locator("#hall-latest .num").inner_text() == "J003"
    watch.assert_clean()
