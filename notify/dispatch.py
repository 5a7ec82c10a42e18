"""Sending the outbox. Each worker claims one due message at a time in a short write
transaction (PostgreSQL: `FOR UPDATE SKIP LOCKED`; SQLite: BEGIN IMMEDIATE), then talks to
the provider with no transaction open, then records the outcome. A claim is a lease: a
message whose dispatcher died goes back to the pool when `claimed_until` passes. The lease
is longer than the HTTP timeout, so two dispatchers never send the same message.

At most once across crashes: a message whose last attempt has no known outcome (its
dispatcher died with the claim, or the request timed out or lost its connection, or Twilio
answered 5xx) may have been accepted by Twilio. Before it is sent again it is looked up at
Twilio (the recipient's messages from our number with the same body, created since that
attempt); when found it is recorded as sent with that SID and not sent again; when Twilio
cannot be asked it waits (backoff) rather than being sent blindly. A status callback that
arrived for the attempt meanwhile (`m=<id>.<attempt>`) gave it its SID: it is recorded as
sent with no look-up. Alibaba Cloud and Tencent Cloud are asked the same way through their
status queries (notify/cloud.py), and their delivery receipts play the status callback's
part. See docs/sms.md for what this leaves open."""

import logging
import random
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Flask, current_app
from sqlalchemy import and_, or_, select, update

from core.clock import utcnow
from core.database import is_postgres, write_transaction
from core.extensions import db
from core.privacy import mask_phone, mask_phones_in
from core.summaries import (
    NOTHING_DUE,
    SMS_DISPATCHED,
    SMS_DISPATCHED_SKIPPED,
    SMS_NOT_CONFIGURED,
    RunSummary,
)
from notify.cloud import is_definite_refusal
from notify.models import OutboxMessage
from notify.outbox import OPTED_OUT, TRANSACTIONAL_KINDS, is_opted_out, opt_out
from notify.sender import (
    UNSUBSCRIBED_CODE,
    ConfigurationError,
    PermanentError,
    RetryableError,
    SendError,
    SendResult,
    make_sender,
    pace,
)
from notify.settings import flag, number, setting
from notify.status import apply_provider_status, provider_rank

log = logging.getLogger(__name__)

SENT, RETRY, FAILED, SKIPPED = "sent", "retry", "failed", "skipped"

LOOKUP_FAILED = "lookup"  # error_code: Twilio could not be asked whether it has the message
# Retryable errors that prove Twilio did not take the message (it refused the request):
# the next attempt sends at once. Any other error of an earlier attempt (timeout, network,
# 5xx, an unexpected answer, a failed look-up) leaves the outcome unknown.
DEFINITE_REJECTIONS = frozenset({"401", "408", "429", "20003", "20429"})
AWAITING_RECEIPT = "awaiting_receipt"  # error_code: not found yet, but it may still show
# Twilio's clock and ours may differ: the look-up window starts this much earlier.
LOOKUP_CLOCK_SKEW = timedelta(minutes=2)


@dataclass(frozen=True)
class Claim:
    id: int
    to_phone: str
    body: str
    kind: str
    attempts: int
    token: str
    # the earlier attempt's outcome is unknown: ask the provider before sending again
    look_up: bool = False
    since: datetime | None = None  # when that unknown attempt (the first of them) began
    known_sid: str | None = None  # a status callback (a receipt) told us the provider took it
    provider_status: str | None = None
    params: str = ""  # the template's values (aliyun, tencent)


class _Run:
    """What one dispatch run may still do, and what it did; shared by its threads."""

    def __init__(self, max_messages: int, max_seconds: float):
        self._lock = threading.Lock()
        self._left = max_messages
        self.deadline = time.monotonic() + max_seconds
        self.counts = {SENT: 0, RETRY: 0, FAILED: 0, SKIPPED: 0}

    def take(self) -> bool:
        with self._lock:
            if self._left <= 0 or time.monotonic() >= self.deadline:
                return False
            self._left -= 1
            return True

    def give_back(self) -> None:
        with self._lock:
            self._left += 1

    def count(self, outcome: str) -> None:
        with self._lock:
            self.counts[outcome] += 1


def _due(now):
    return or_(
        and_(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now),
        and_(OutboxMessage.status == "sending", OutboxMessage.claimed_until < now))


def outcome_unknown(status: str, attempts: int, error_code: str | None,
                    twilio_sid: str | None) -> bool:
    """Whether a due message's last attempt may have reached the provider unrecorded: its
    claim expired with no outcome, or it failed in a way that does not prove a refusal."""
    if twilio_sid:
        return False  # we know what Twilio did with it
    if status == "sending":
        return True  # the dispatcher died (or hung) after claiming it
    code = error_code or ""
    return attempts > 0 and code not in DEFINITE_REJECTIONS and not is_definite_refusal(code)


def claim_next() -> Claim | None:
    """Take the next due message (or one whose lease has expired) for this worker.
    `last_attempt_at` is when a send was last tried: a claim that has to ask the provider
    first keeps it, so that the look-up window covers every attempt of unknown outcome."""
    now = utcnow()
    lease = timedelta(seconds=number("SMS_CLAIM_LEASE_SECONDS"))
    token = secrets.token_hex(8)
    with write_transaction():
        query = (select(OutboxMessage.id, OutboxMessage.status, OutboxMessage.attempts,
                        OutboxMessage.error_code, OutboxMessage.twilio_sid,
                        OutboxMessage.last_attempt_at, OutboxMessage.created_at)
                 .where(_due(now))
                 .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(1))
        if is_postgres():
            query = query.with_for_update(skip_locked=True)
        due = db.session.execute(query).first()
        if due is None:
            return None
        look_up = outcome_unknown(due.status, due.attempts, due.error_code, due.twilio_sid)
        values = {"status": "sending", "claim_token": token, "claimed_until": now + lease,
                  "attempts": OutboxMessage.attempts + 1, "updated_at": now}
        if not look_up:
            values["last_attempt_at"] = now
        claimed = db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == due.id, _due(now))
            .values(**values)
            .execution_options(synchronize_session=False)).rowcount
        if claimed != 1:  # taken by another dispatcher between the two statements
            return None
        row = db.session.execute(
            select(OutboxMessage.to_phone, OutboxMessage.body, OutboxMessage.kind,
                   OutboxMessage.attempts, OutboxMessage.twilio_sid,
                   OutboxMessage.provider_status, OutboxMessage.params)
            .where(OutboxMessage.id == due.id)).one()
    return Claim(due.id, row.to_phone, row.body, row.kind, row.attempts, token,
                 look_up=look_up,
                 since=(due.last_attempt_at or due.created_at) if look_up else None,
                 known_sid=row.twilio_sid, provider_status=row.provider_status,
                 params=row.params or "")


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff with jitter: 30 s, 1 min, 2 min … never above
    SMS_RETRY_MAX_SECONDS (15 min), so a failed message is tried again within the hour."""
    base = number("SMS_RETRY_BASE_SECONDS")
    ceiling = number("SMS_RETRY_MAX_SECONDS")
    delay = min(base * 2 ** max(attempts - 1, 0), ceiling)
    return timedelta(seconds=delay * random.uniform(0.8, 1.0))


def _locked(message_id: int) -> OutboxMessage:
    query = select(OutboxMessage).where(OutboxMessage.id == message_id)
    if is_postgres():
        query = query.with_for_update()
    return db.session.scalars(query.execution_options(populate_existing=True)).one()


def _release(message: OutboxMessage) -> None:
    message.claim_token = None
    message.claimed_until = None
    message.updated_at = utcnow()


def _mark_sent(message: OutboxMessage, backend: str, result: SendResult) -> None:
    if message.twilio_sid is None:
        message.twilio_sid = result.sid
    message.backend = backend
    message.sent_at = utcnow()
    message.error_code = None
    message.error_message = ""
    if message.status in ("pending", "sending"):
        message.status = "sent"
    _release(message)
    # a status callback may already have told us more than the create answer did
    best = max(result.provider_status, message.provider_status or "", key=provider_rank)
    message.provider_status = None
    apply_provider_status(message, best)


def record_sent(claim: Claim, backend: str, result: SendResult) -> None:
    with write_transaction():
        message = _locked(claim.id)
        if message.claim_token != claim.token:
            log.warning("SMS #%s was sent after its lease expired", claim.id)
        _mark_sent(message, backend, result)


def record_found(claim: Claim, backend: str, candidates: list[SendResult]) -> bool:
    """The provider already holds this message: record the first candidate whose SID no
    other outbox message has as this one's send. False when every candidate belongs to
    another message (two identical texts to one number), so this one was not sent."""
    with write_transaction():
        message = _locked(claim.id)
        if message.twilio_sid is None:
            sids = [c.sid for c in candidates]
            taken = set(db.session.scalars(
                select(OutboxMessage.twilio_sid)
                .where(OutboxMessage.twilio_sid.in_(sids), OutboxMessage.id != claim.id)))
            candidates = [c for c in candidates if c.sid not in taken]
            if not candidates:
                return False
        if message.claim_token != claim.token:
            log.warning("SMS #%s was found at the provider after its lease expired", claim.id)
        _mark_sent(message, backend, candidates[0])
    return True


def _before_resend(claim: Claim, backend: str) -> str | None:
    """Renew the claim before sending a message the provider did not have, so the lease
    covers the send as it covered the look-up. An outcome when it must not be sent: another
    dispatcher holds it now, or a status callback gave it its SID meanwhile."""
    lease = timedelta(seconds=number("SMS_CLAIM_LEASE_SECONDS"))
    with write_transaction():
        message = _locked(claim.id)
        if message.claim_token != claim.token or message.status != "sending":
            return SKIPPED
        if message.twilio_sid is not None:
            _mark_sent(message, backend,
                       SendResult(message.twilio_sid, message.provider_status or "queued"))
            return SENT
        now = utcnow()
        message.claimed_until = now + lease
        message.updated_at = now
    return None


def record_failure(claim: Claim, backend: str, error: SendError, final: bool) -> str:
    with write_transaction():
        message = _locked(claim.id)
        if message.claim_token != claim.token:
            return SKIPPED
        message.backend = backend
        message.error_code = error.code[:64]
        # a provider's text may quote the number ("The 'To' number +86… is not valid")
        message.error_message = mask_phones_in(error.message)
        _release(message)
        if final or message.attempts >= int(number("SMS_MAX_ATTEMPTS")):
            message.status = "failed"
            outcome = FAILED
        else:
            message.status = "pending"
            delay = retry_delay(message.attempts)
            if getattr(error, "retry_after", None):  # the provider's daily limit
                delay = max(delay, error.retry_after)
            message.next_attempt_at = utcnow() + delay
            outcome = RETRY
    return outcome


def status_callback_url(claim: Claim) -> str | None:
    if not flag("SMS_STATUS_CALLBACK"):
        return None
    base = (setting("PUBLIC_BASE_URL") or "").rstrip("/")
    if not base.startswith(("http://", "https://")):
        return None
    return f"{base}/sms/status?m={claim.id}.{claim.attempts}"


def settle_unknown(claim: Claim, sender) -> str | None:
    """For a message whose earlier attempt has no known outcome: ask the provider whether
    it has it. An outcome when the matter is settled (found: recorded as sent; the
    provider could not be asked: back to the queue with backoff), None to send it now."""
    db.session.rollback()  # no transaction stays open while we wait on the provider
    since = claim.since - LOOKUP_CLOCK_SKEW
    try:
        found = sender.find_sent(claim.to_phone, claim.body, since, message_id=claim.id)
    except SendError as error:
        log.warning("SMS #%s to %s: could not ask %s whether it was sent (%s), will retry",
                    claim.id, mask_phone(claim.to_phone), sender.name, error.code)
        return record_failure(claim, sender.name, SendError(
            LOOKUP_FAILED, f"look-up failed, {error.code}: {error.message}"[:500]),
            final=False)
    except Exception as error:  # a bug or an unexpected answer: never send blindly
        log.exception("SMS #%s: unexpected error while looking it up", claim.id)
        return record_failure(claim, sender.name, SendError(
            LOOKUP_FAILED, f"look-up failed, {type(error).__name__}: {error}"[:500]),
            final=False)
    if found and record_found(claim, sender.name, found):
        log.info("SMS #%s to %s, %s: already accepted by %s, not sent again", claim.id,
                 mask_phone(claim.to_phone), claim.kind, sender.name)
        return SENT
    wait = getattr(sender, "absence_conclusive_after", None)
    if wait and utcnow() - claim.since < wait:
        # Tencent Cloud's status query shows a message only once its receipt has come
        return record_failure(claim, sender.name, SendError(
            AWAITING_RECEIPT, f"not in {sender.name}'s status query yet; asked again "
            "before it is sent again"), final=False)
    return _before_resend(claim, sender.name)


def deliver(claim: Claim, sender) -> str:
    """Send one claimed message and record what happened."""
    if claim.known_sid:  # a status callback (receipt) for an earlier attempt: it was taken
        log.info("SMS #%s: accepted before (status callback), not sent again", claim.id)
        record_sent(claim, sender.name, SendResult(claim.known_sid,
                                                   claim.provider_status or "queued"))
        return SENT
    if claim.look_up:
        outcome = settle_unknown(claim, sender)
        if outcome is not None:
            return outcome
    if claim.kind not in TRANSACTIONAL_KINDS and is_opted_out(claim.to_phone):
        db.session.rollback()
        return record_failure(claim, sender.name,
                              SendError(OPTED_OUT, "the number opted out of reminders"),
                              final=True)
    db.session.rollback()  # no transaction stays open while we wait on the provider
    if sender.name != "console":
        pace.wait(sender.key, number("SMS_RATE_PER_SECOND"))
    callback = status_callback_url(claim) if sender.name == "twilio" else None
    try:
        result = sender.send(claim.id, claim.to_phone, claim.body, claim.kind, callback,
                             params=claim.params)
    except PermanentError as error:
        log.warning("SMS #%s to %s, %s failed for good: %s", claim.id,
                    mask_phone(claim.to_phone), claim.kind, error.code)
        outcome = record_failure(claim, sender.name, error, final=True)
        if error.code == UNSUBSCRIBED_CODE:
            opt_out(claim.to_phone, source="twilio_21610")
        return outcome
    except RetryableError as error:
        log.warning("SMS #%s to %s, %s: %s, will retry", claim.id,
                    mask_phone(claim.to_phone), claim.kind, error.code)
        return record_failure(claim, sender.name, error, final=False)
    except Exception as error:  # a bug or an unexpected answer: retry, never lose it
        log.exception("SMS #%s: unexpected error while sending", claim.id)
        return record_failure(claim, sender.name,
                              SendError("error", f"{type(error).__name__}: {error}"[:500]),
                              final=False)
    record_sent(claim, sender.name, result)
    return SENT


def _work(app: Flask, run: _Run) -> None:
    with app.app_context():
        sender = make_sender(app.config)
        while run.take():
            claim = claim_next()
            if claim is None:
                run.give_back()
                return
            run.count(deliver(claim, sender))


def dispatch_outbox() -> RunSummary:
    """Send what the outbox holds (the `sms-dispatch` job); a one-line summary."""
    app = current_app._get_current_object()
    try:
        make_sender(app.config)
    except ConfigurationError as error:
        log.error("sms-dispatch cannot send: %s", error)
        return SMS_NOT_CONFIGURED(error=error)
    run = _Run(int(number("SMS_DISPATCH_MAX_MESSAGES")), number("SMS_DISPATCH_MAX_SECONDS"))
    threads = max(1, int(number("SMS_DISPATCH_THREADS")))
    if threads == 1:
        _work(app, run)
    else:
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="sms") as pool:
            for future in [pool.submit(_work, app, run) for _ in range(threads)]:
                future.result()
    counts = run.counts
    if not any(counts.values()):
        return NOTHING_DUE()
    if counts[SKIPPED]:
        return SMS_DISPATCHED_SKIPPED(sent=counts[SENT], retry=counts[RETRY],
                                      failed=counts[FAILED], skipped=counts[SKIPPED])
    return SMS_DISPATCHED(sent=counts[SENT], retry=counts[RETRY], failed=counts[FAILED])
