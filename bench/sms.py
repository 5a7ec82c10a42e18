"""SMS dispatch rate: `flask jobs run sms-dispatch` (the scheduler's job, in the foreground)
sends what the rush queued to a local Twilio stand-in (tests/notify/twilio_double.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from bench.database import server_env
from bench.servers import PROJECT_ROOT

ACCOUNT_SID = "AC" + "b" * 32
AUTH_TOKEN = "bench-twilio-token"


def dispatch(database_url: str, frozen_now: str | None, messages: int, threads: int,
             rate_per_second: float, twilio_delay: float) -> dict:
    """Run one dispatch of at most `messages`; figures from what the stand-in received."""
    from tests.notify.twilio_double import TwilioDouble

    double = TwilioDouble(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN).start()
    double.delay = twilio_delay
    env = {**os.environ, **server_env(database_url, frozen_now, {
        "SMS_BACKEND": "twilio", "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "TWILIO_FROM": "+8610690000",
        "TWILIO_API_BASE_URL": double.url, "PUBLIC_BASE_URL": "https://xiyue.example",
        "XIYUE_SMS_RATE_PER_SECOND": str(rate_per_second),
        "XIYUE_SMS_DISPATCH_THREADS": str(threads),
        "XIYUE_SMS_DISPATCH_MAX_MESSAGES": str(messages),
        "XIYUE_SMS_DISPATCH_MAX_SECONDS": "600",
    })}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "jobs", "run",
                           "sms-dispatch"], cwd=PROJECT_ROOT, env=env, capture_output=True,
                          text=True, timeout=900)
    wall = time.perf_counter() - started
    accepted = [r for r in double.requests if r.answered_status == 201]
    double.stop()
    if done.returncode != 0:
        raise RuntimeError(f"sms-dispatch failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    span = (max(r.answered_at for r in accepted) - min(r.received_at for r in accepted)
            if accepted else 0.0)
    callbacks = [r.form.get("StatusCallback", "") for r in accepted]
    return {
        "messages_accepted": len(accepted),
        "threads": threads, "rate_limit_per_second": rate_per_second,
        "twilio_delay_seconds": twilio_delay,
        "sending_seconds": round(span, 2),
        "per_second": round(len(accepted) / span, 1) if span else 0.0,
        "command_seconds": round(wall, 2),
        "distinct_outbox_messages": len({c.split("m=")[-1].split(".")[0] for c in callbacks}),
        "summary": (done.stdout.strip().splitlines() or [""])[-1],
    }
