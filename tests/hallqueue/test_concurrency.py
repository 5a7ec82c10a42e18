"""Races over real HTTP (gunicorn, 4 worker processes) on SQLite and PostgreSQL: two windows
pressing "next" together never get the same ticket, and concurrent issuing gives distinct,
gapless numbers."""

from collections import Counter

import pytest
import requests
from sqlalchemy import func, select

from core.extensions import db
from hallqueue.models import CallEvent, Ticket
from notify.models import OutboxMessage
from tests.hallqueue.factories import OPEN_NOW, id_number, walk_in
from tests.support.races import codes, fire, post

pytestmark = pytest.mark.slow
ENV = {"XIYUE_FROZEN_NOW": OPEN_NOW}


def race(requests_to_send: list) -> list:
    """Send every (method, url, kwargs) at once (tests.support.races.fire)."""
    return fire([lambda item=item: requests.request(item[0], item[1], timeout=60, **item[2])
                 for item in requests_to_send])


def test_two_windows_calling_at_once_never_share_a_ticket(client, hall, desk, registrar,
                                                           live_server_for):
    for serial in range(1, 31):  # with phones: each call also marks "near turn" SMS
        response = walk_in(client, desk, serial=serial, phone=f"138001{serial:05d}",
                           green_channel=serial % 7 == 0)
        assert response.status_code == 201
    db.session.remove()
    server = live_server_for(workers=4, env=ENV)
    calls = [("POST", f"{server.url}/api/v1/offices/chuanshan/windows/{window}/call-next",
              {"headers": registrar}) for window in ("1", "2") for _ in range(20)]
    responses = race(calls)
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {200: 30, 204: 10}, [(r.status_code, r.text[:200]) for r in responses]
    called = [r.json()["ticket"] for r in responses if r.status_code == 200]
    assert len({t["id"] for t in called}) == 30  # none twice
    assert {t["window"] for t in called} == {"1", "2"}
    rows = db.session.scalars(select(Ticket)).all()
    assert len(rows) == 30 and all(t.status == "called" and t.call_count == 1 for t in rows)
    assert db.session.scalar(select(func.count()).select_from(CallEvent)) == 30  # none lost
    # the order held under the race: the green channel (J007, J014, J021, J028) went first
    first_four = sorted(rows, key=lambda t: (t.called_at, t.id))[:4]
    events = db.session.scalars(select(CallEvent.number).order_by(CallEvent.id)).all()
    assert events[:4] == ["J007", "J014", "J021", "J028"], (events, first_four)
    sms = Counter(db.session.scalars(select(OutboxMessage.kind)).all())
    # each ticket "called" once; "near turn" once for every ticket but the very first
    assert sms == {"called": 30, "near_turn": 29}


def test_concurrent_issuing_gives_distinct_gapless_numbers(client, hall, desk, live_server_for):
    db.session.remove()
    server = live_server_for(workers=4, env=ENV)
    url = f"{server.url}/api/v1/offices/chuanshan/tickets"
    issues = [("POST", url, {"headers": desk, "json": {
        "service": "marriage", "present": [id_number(n * 10), id_number(n * 10 + 1, "F")]}})
        for n in range(1, 31)]
    issues += [("POST", url, {"headers": desk, "json": {
        "service": "reissue", "present": [id_number(500 + n)]}}) for n in range(1, 11)]
    responses = race(issues)
    assert [r.status_code for r in responses] == [201] * 40, [r.text[:200] for r in responses]
    numbers = [r.json()["number"] for r in responses]
    assert sorted(n for n in numbers if n[0] == "J") == [f"J{i:03d}" for i in range(1, 31)]
    assert sorted(n for n in numbers if n[0] == "B") == [f"B{i:03d}" for i in range(1, 11)]


def test_two_desks_issuing_to_the_same_couple_at_once_give_one_ticket(client, hall, desk,
                                                                       live_server_for):
    """The couple walked up to two desks (or one desk pressed twice): one ticket, the other
    answers 409 already_has_ticket, on both databases."""
    db.session.remove()
    server = live_server_for(workers=4, env=ENV)
    couple = [id_number(7000), id_number(7001, "F")]
    url = f"{server.url}/api/v1/offices/chuanshan/tickets"
    answers = fire([post(url, {"service": "marriage", "present": couple}, desk)
                    for _ in range(12)])
    assert codes(answers) == {201: 1, "already_has_ticket": 11}, codes(answers)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 1
