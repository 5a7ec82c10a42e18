"""kill -9 of gunicorn workers in the middle of a booking burst: the requests they were
serving get no answer, but every booking that was answered 201 exists afterwards, no seat
is counted without its appointment (or the other way round), and the server goes on."""

import itertools
import os
import signal
import threading
import time

import pytest
import requests
from sqlalchemy import text

from bench.database import CHECKS
from core.extensions import db
from tests.robustness.helpers import MONDAY, SERVER_ENV, TUESDAY, booking
from tests.support.races import codes

pytestmark = pytest.mark.slow

STARTS = ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30", "13:30", "14:00", "14:30",
          "15:00", "15:30", "16:00", "16:30"]
BURST = 90
CLIENTS = 30


def _integrity() -> dict:
    db.session.rollback()  # see what the servers committed
    return {name: db.session.execute(text(sql)).scalar() for name, sql in CHECKS.items()}


def test_killing_workers_mid_burst_loses_no_booking(robust_office, live_server_for):
    server = live_server_for(workers=4, env=SERVER_ENV)
    url = f"{server.url}/api/v1/appointments"
    results: dict[int, object] = {}
    done = threading.Semaphore(0)
    killing_over = threading.Event()
    next_index = itertools.count()
    lock = threading.Lock()

    def client():
        # the burst goes on until the killer is through, however fast the server is
        while True:
            with lock:
                i = next(next_index)
            if i >= BURST and killing_over.is_set():
                return
            body = booking(1000 + i, day=(MONDAY, TUESDAY)[i % 2], start=STARTS[i % len(STARTS)])
            try:
                results[i] = requests.post(url, json=body, timeout=60)
            except requests.RequestException as error:
                results[i] = error
            done.release()

    killed = []  # every worker killed
    cut = []  # those killed inside a request: the request's busy mark outlived the worker

    def killer():
        # once a fifth of the burst is answered, the workers are all busy: kill a worker that
        # is serving a booking, a moment apart, until two kills have landed inside a request
        # (a kill can land just after its request ended: its mark is then gone, and it counts
        # as a kill but not as a cut)
        try:
            for _ in range(BURST // 5):
                done.acquire()
            deadline = time.monotonic() + 60
            while len(cut) < 2 and len(killed) < 6 and time.monotonic() < deadline:
                busy = [pid for pid in server.busy_worker_pids() if pid not in killed]
                if not busy:
                    time.sleep(0.005)
                    continue
                os.kill(busy[0], signal.SIGKILL)
                killed.append(busy[0])
                while busy[0] in server.worker_pids():  # dead: it can run no hook any more
                    time.sleep(0.001)
                if busy[0] in server.busy_pids_marked():
                    cut.append(busy[0])
                time.sleep(0.05)
        finally:
            killing_over.set()

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    watcher = threading.Thread(target=killer)
    watcher.start()
    for thread in threads:
        thread.start()
    for thread in threads + [watcher]:
        thread.join(120)

    assert not any(thread.is_alive() for thread in threads + [watcher])
    answers = list(results.values())
    outcome = codes(answers)
    assert len(cut) == 2, (killed, cut)
    assert outcome[201] > 0
    assert len(answers) >= BURST
    # only the dead workers' requests went unanswered; nothing was answered with a 5xx
    unanswered = sum(1 for r in answers if isinstance(r, Exception))
    assert all(r.status_code < 500 for r in answers if not isinstance(r, Exception)), outcome
    # a sync worker serves one request at a time: each kill cut off at most that one
    assert 1 <= unanswered <= len(killed), outcome

    # every 201 is in the database, with its seat
    booked = [r.json()["code"] for r in answers
              if not isinstance(r, Exception) and r.status_code == 201]
    db.session.rollback()
    found = {row[0] for row in db.session.execute(text("SELECT code FROM appointments"))}
    assert set(booked) <= found
    # a killed request either committed fully or not at all: appointments and seats agree
    assert _integrity() == dict.fromkeys(CHECKS, 0)
    assert len(found) - len(booked) <= unanswered  # committed, but the answer died with it

    # the master replaced the workers: the server goes on booking
    deadline = time.monotonic() + 30
    while len(server.worker_pids()) < 4 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(server.worker_pids()) == 4
    assert not set(killed) & set(server.worker_pids())
    after = requests.post(url, json=booking(5000, start="16:30", day=TUESDAY), timeout=60)
    assert after.status_code in (201, 409), after.text
    if after.status_code == 409:
        assert after.json()["code"] == "slot_full"
