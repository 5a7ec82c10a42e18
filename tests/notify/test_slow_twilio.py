"""A request never waits on Twilio: with the stand-in answering after 5 seconds and a
dispatcher busy sending, booking requests over real HTTP (gunicorn) answer at normal speed.
The figures go to bench/results/sms-slow-twilio.json when recorded
(tests/support/measurements.py)."""

import statistics
import threading
import time
from datetime import UTC, datetime

import requests

from notify.jobs import dispatch_outbox
from tests.notify.conftest import ACCOUNT_SID, AUTH_TOKEN, SENDER
from tests.notify.helpers import couple, outbox
from tests.support.measurements import record_measurement

MONDAY_MORNING = "2026-06-01T10:00:00+08:00"
TWILIO_DELAY = 5.0
BOOKINGS = 8
# A booking that waited on Twilio would take the stand-in's 5 s; one that does not takes tens
# of milliseconds, more for a worker's first request on a loaded machine.
BOUND_SECONDS = TWILIO_DELAY - 1
MEDIAN_BOUND_SECONDS = 0.5
RESULTS = "sms-slow-twilio.json"


def _book(url: str, start: str, n: int) -> tuple[float, int]:
    phones = (f"1380013{n:04d}", f"1390013{n:04d}")
    body = {"office": "suining", "service": "marriage", "date": "2026-06-02", "start": start,
            "applicants": couple(phones)}
    began = time.perf_counter()
    response = requests.post(f"{url}/api/v1/appointments", json=body, timeout=30)
    return time.perf_counter() - began, response.status_code


def test_bookings_answer_at_normal_speed_while_twilio_takes_5_seconds(
        app, offices, set_now, twilio, live_server_for, db_backend):
    set_now(MONDAY_MORNING)
    app.config["SMS_DISPATCH_MAX_MESSAGES"] = 4
    twilio.delay = TWILIO_DELAY
    server = live_server_for(workers=2, env={
        "XIYUE_FROZEN_NOW": MONDAY_MORNING, "SMS_BACKEND": "twilio",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM": SENDER, "TWILIO_API_BASE_URL": twilio.url})

    warm_seconds, status = _book(server.url, "09:00", 0)  # queues 2 confirmations
    assert status == 201, "the warm-up booking failed"

    summary = {}

    def dispatcher():
        with app.app_context():
            summary["dispatch"] = dispatch_outbox()

    thread = threading.Thread(target=dispatcher)
    thread.start()
    deadline = time.monotonic() + 5
    while not twilio.requests and time.monotonic() < deadline:
        time.sleep(0.01)
    assert twilio.requests, "the dispatcher did not reach Twilio"

    timings = []
    for n in range(1, BOOKINGS + 1):
        seconds, status = _book(server.url, "09:30" if n % 2 else "10:00", n)
        assert status == 201
        timings.append(seconds)
    in_flight = thread.is_alive() and any(r.answered_at == 0 for r in twilio.requests)
    thread.join(60)

    assert in_flight, "the bookings did not overlap a Twilio call"
    assert max(timings) < BOUND_SECONDS, timings
    assert statistics.median(timings) < MEDIAN_BOUND_SECONDS, timings
    assert summary["dispatch"].endswith("0 to retry, 0 failed"), summary
    assert len(outbox(kind="booking_confirmed")) == 2 * (BOOKINGS + 1)

    record_measurement(RESULTS, db_backend, {
        "what": "POST /api/v1/appointments over HTTP (gunicorn, 2 workers) while "
                "sms-dispatch waits on a Twilio stand-in that answers after 5 s",
        "twilio_delay_seconds": TWILIO_DELAY,
        "bookings": BOOKINGS,
        "booking_seconds": {"min": round(min(timings), 4),
                            "median": round(statistics.median(timings), 4),
                            "max": round(max(timings), 4)},
        "bound_seconds": BOUND_SECONDS,
        "median_bound_seconds": MEDIAN_BOUND_SECONDS,
        "dispatcher_in_flight_during_bookings": in_flight,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    })
