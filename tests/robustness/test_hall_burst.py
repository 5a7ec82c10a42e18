"""Every window calling as fast as it can, over real HTTP (gunicorn, 4 workers), while the
queue sends "your turn is near" SMS: each ticket is called exactly once and no call is
answered with a 5xx (a lost race must never reach the registrar as an error)."""

import threading
from collections import Counter

import pytest
import requests
from sqlalchemy import select

from core.extensions import db
from hallqueue.models import Ticket
from notify.models import OutboxMessage
from tests.robustness.helpers import SERVER_ENV, ids_of

pytestmark = pytest.mark.slow

TICKETS = 40
WINDOWS = ("1", "2", "3")


def test_windows_calling_flat_out_call_each_ticket_once(robust_office, client, staff_headers,
                                                        live_server_for):
    desk = staff_headers("desk", office="robust")
    registrar = staff_headers("registrar", office="robust")
    for i in range(TICKETS):
        answer = client.post("/api/v1/offices/robust/tickets", headers=desk, json={
            "service": "marriage", "present": ids_of(700 + i),
            "phone": f"138{i:08d}"})
        assert answer.status_code == 201, answer.get_json()
    db.session.commit()
    server = live_server_for(workers=4, env=SERVER_ENV)

    answers: list = []
    lock = threading.Lock()

    def window(number: str) -> None:
        url = f"{server.url}/api/v1/offices/robust/windows/{number}/call-next"
        while True:
            try:
                answer = requests.post(url, headers=registrar, timeout=60)
            except requests.RequestException as error:
                with lock:
                    answers.append(error)
                return
            with lock:
                answers.append(answer)
            if answer.status_code != 200:
                return

    threads = [threading.Thread(target=window, args=(n,)) for n in WINDOWS * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)

    outcome = Counter(a.status_code if not isinstance(a, Exception) else type(a).__name__
                      for a in answers)
    errors = [f"{a.status_code} {a.text[:200]}" for a in answers
              if not isinstance(a, Exception) and a.status_code >= 500]
    assert not errors, (outcome, errors[:3], server.log()[-4000:])
    assert outcome[200] == TICKETS
    called = [a.json()["ticket"]["id"] for a in answers if a.status_code == 200]
    assert len(set(called)) == TICKETS
    db.session.rollback()
    assert Counter(db.session.scalars(select(Ticket.status))) == {"called": TICKETS}
    # "your turn is near" went to each ticket at most once
    keys = list(db.session.scalars(select(OutboxMessage.dedupe_key)
                                   .where(OutboxMessage.kind == "near_turn")))
    assert len(keys) == len(set(keys))
