"""kill -9 of the scheduler in the middle of `sms-dispatch`, while Twilio (the local
stand-in) is answering a message: after a restart every queued message is sent, and none
is sent twice. Twilio is told which outbox message each request is for by the status
callback URL (`/sms/status?m=<id>.<attempt>`), so the stand-in's log says how often each
message reached it. The stand-in accepts a message whose sender was killed mid-request, as
Twilio would: the restarted dispatcher has to find it in Twilio's Messages list (its claim
expired with no outcome) instead of sending it again.

The same runs for SMS_BACKEND=aliyun and tencent against their stand-ins
(tests/notify/cloud_doubles.py), which learn the outbox id of each send from its OutId /
SessionContext, and are asked through QuerySendDetails / PullSmsSendStatusByPhoneNumber."""

import json
import signal
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from core.extensions import db
from notify.models import OutboxMessage
from tests.notify.cloud_doubles import start_double
from tests.notify.twilio_double import TwilioDouble
from tests.robustness.helpers import MONDAY, TUESDAY, booking
from tests.support.processes import SchedulerProcess, wait_for

pytestmark = pytest.mark.slow

ACCOUNT_SID = "AC" + "7" * 32
AUTH_TOKEN = "robust-twilio-token"
COUPLES = 12  # 24 confirmation messages
STARTS = ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30"]


def backend_env(backend: str, double) -> dict:
    """The environment that points the scheduler's SMS_BACKEND at the stand-in."""
    if backend == "twilio":
        return {"SMS_BACKEND": "twilio", "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
                "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "TWILIO_FROM": "+15005550006",
                "TWILIO_API_BASE_URL": double.url}
    env = {key: value for key, value in double.app_config().items() if key != "SMS_TEMPLATES"}
    # not finding a message at Tencent Cloud is conclusive after 2 s here (300 s by default)
    return env | {"XIYUE_SMS_TEMPLATES": json.dumps(double.app_config()["SMS_TEMPLATES"]),
                  "XIYUE_TENCENT_SMS_RECEIPT_WAIT_SECONDS": "2"}


def start_scheduler(name: str, database_url: str, backend_env: dict,
                    tmp_path: Path) -> SchedulerProcess:
    return SchedulerProcess(name, database_url, tmp_path, env={
        **backend_env,
        "PUBLIC_BASE_URL": "https://xiyue.example.gov.cn",
        "XIYUE_SCHEDULER_LEASE_SECONDS": "2",
        "XIYUE_SCHEDULER_JOBS": '["sms-dispatch"]',
        "XIYUE_SCHEDULER_TRIGGERS": '{"sms-dispatch": {"every": 1}}',
        "XIYUE_SMS_RATE_PER_SECOND": "0",
        "XIYUE_SMS_DISPATCH_THREADS": "2",
        # a claim whose dispatcher died comes back after 4 s (above the HTTP timeout)
        "XIYUE_SMS_CLAIM_LEASE_SECONDS": "4",
        "XIYUE_SMS_HTTP_TIMEOUT_SECONDS": "3"})


def _outbox() -> list[OutboxMessage]:
    db.session.rollback()
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def _message_id(backend: str, message: dict) -> int:
    """The outbox id a send was for: from Twilio's status callback URL (m=<id>.<attempt>),
    Alibaba Cloud's OutId, Tencent Cloud's SessionContext (xiyue:<id>)."""
    if backend == "twilio":
        return int(message["status_callback"].split("m=")[1].split(".")[0])
    return int(str(message["ref"]).removeprefix("xiyue:"))


@pytest.mark.parametrize("backend", ["twilio", "aliyun", "tencent"])
def test_killing_the_scheduler_mid_dispatch_loses_and_repeats_nothing(
        backend, robust_office, client, database_url, tmp_path):
    for i in range(COUPLES):
        answer = client.post("/api/v1/appointments", json=booking(
            3000 + i, day=(MONDAY, TUESDAY)[i % 2], start=STARTS[i % len(STARTS)]))
        assert answer.status_code == 201, answer.get_json()
    db.session.commit()
    queued = _outbox()
    assert len(queued) == 2 * COUPLES and {m.status for m in queued} == {"pending"}

    double = (TwilioDouble(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN).start()
              if backend == "twilio" else start_double(backend))
    env = backend_env(backend, double)
    double.delay = 0.4  # a slow provider: a send is nearly always in flight
    first = second = None
    try:
        first = start_scheduler("first", database_url, env, tmp_path)
        # kill it once a few messages went out and another one is in Twilio's hands: the
        # double holds that send unanswered until the scheduler is dead
        wait_for(lambda: len(double.messages) >= 4, 60, "the first sends", [first],
                 interval=0.01)
        held = double.hold_next()
        wait_for(held.reached.is_set, 30, "a send in Twilio's hands", [first], interval=0.01)
        first.kill()
        kill_time = time.time()  # the double's clock: what was in Twilio's hands then
        held.release()
        in_flight = [r for r in double.requests if r.received_at <= kill_time
                     and (r.answered_status == 0 or r.answered_at > kill_time)]
        assert held.request in in_flight, "the kill was meant to land while a send was in flight"
        killed_at = time.monotonic()

        second = start_scheduler("second", database_url, env, tmp_path)
        wait_for(lambda: all(m.status in ("sent", "delivered") for m in _outbox()), 90,
              "every message sent after the restart", [first, second])
        took = time.monotonic() - killed_at
        time.sleep(1.5)  # a late duplicate would show up now
        second.kill(signal.SIGTERM)
    finally:
        for scheduler in (first, second):
            if scheduler is not None:
                scheduler.kill()
        double.stop()

    messages = _outbox()
    assert {m.status for m in messages} <= {"sent", "delivered"}  # nothing lost
    accepted = Counter(_message_id(backend, m) for m in double.messages)
    assert set(accepted) == {m.id for m in messages}
    twice = {mid: n for mid, n in accepted.items() if n > 1}
    assert not twice, (f"sent more than once (outbox id: times): {twice}; the kill left "
                       f"{len(in_flight)} send(s) in flight; all sent {took:.1f} s after it")
    assert len(double.messages) == len(messages)
    # the dead claims were settled by asking Twilio, not by sending blindly
    assert double.lookups, "the restarted dispatcher never looked a dead claim up"
    if backend == "twilio":
        assert all(r.query.get("From") == "+15005550006" for r in double.lookups)
    # each message's recorded provider id is the one the provider gave for it (Alibaba
    # Cloud's status query gives none: a message found there is recorded without one)
    ids = {m["sid"] if backend == "twilio" else m["id"] for m in double.messages}
    assert {m.twilio_sid for m in messages} - {None} <= ids
