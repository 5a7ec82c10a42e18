"""Queueing an SMS: add an outbox row to the caller's transaction. The caller commits; the
`sms-dispatch` job sends it. A request never waits on Twilio."""

import functools
import json
import logging

from flask import current_app
from sqlalchemy import bindparam, delete, exists, or_, select, update
from sqlalchemy.exc import IntegrityError

from core.clock import utcnow
from core.database import write_transaction
from core.extensions import db
from core.privacy import mask_phone, secret_hash
from notify.models import OutboxMessage, SmsOptOut
from notify.phones import e164

log = logging.getLogger(__name__)

# Kinds that confirm a person's own action: they go even to numbers that opted out.
TRANSACTIONAL_KINDS = frozenset({"booking_confirmed", "booking_rescheduled", "booking_cancelled"})

RESENDABLE_STATUSES = ("failed", "undelivered")
OPTED_OUT = "opted_out"  # error_code of a message not sent because its number opted out


def normalise_phone(phone: str | None) -> str | None:
    region = current_app.config.get("DEFAULT_PHONE_REGION") or "+86"
    return e164(phone, region)


def phone_hash(phone: str) -> str:
    """The keyed hash of a number in E.164 (core.privacy.secret_hash): how the outbox and
    the opt-outs find a number, and what a dedupe key says of its recipient (the number
    itself is never in one)."""
    return secret_hash(normalise_phone(phone) or phone)


def queue_sms(to_phone: str, body: str, kind: str,
              dedupe_key: str | None = None) -> OutboxMessage | None:
    """Queue one message; None when the number opted out of this kind, when a message with
    the same dedupe_key was queued before (in this transaction or an earlier one), or when
    `to_phone` is no mobile number (an 11-digit mainland mobile gets +86)."""
    row = sms_row(to_phone, body, kind, dedupe_key)
    return None if row is None else queue_sms_row(row)


def queue_sms_row(row: dict) -> OutboxMessage:
    """Add a row `sms_row` made to the caller's transaction."""
    message = OutboxMessage(**row)
    db.session.add(message)
    return message


def sms_row(to_phone: str, body: str, kind: str, dedupe_key: str | None = None) -> dict | None:
    """The outbox row `queue_sms` would add, for a caller that inserts it itself (a call at
    a window: bench/analysis.md); None where `queue_sms` queues nothing. A row not yet
    inserted is not seen by the dedupe check: the caller gives each its own key."""
    phone = _mobile(to_phone, kind)
    if phone is None:
        return None
    if dedupe_key is not None:
        with db.session.no_autoflush:
            pending = any(isinstance(obj, OutboxMessage) and obj.dedupe_key == dedupe_key
                          for obj in db.session.new)
        if pending:
            return None
    # whether the number opted out of this kind, and whether the message was queued
    # before: one question to the database (a call at a window asks it inside its turn)
    checks_opt_out = kind not in TRANSACTIONAL_KINDS
    if (checks_opt_out or dedupe_key is not None) and db.session.scalar(
            _already_statement(checks_opt_out, dedupe_key is not None),
            {"phone_hash": phone_hash(phone) if checks_opt_out else None,
             "dedupe_key": dedupe_key}):
        return None
    return message_row(phone, body, kind, dedupe_key)


@functools.cache
def _already_statement(opted_out: bool, queued: bool):
    """SELECT whether the number opted out (`opted_out`) or a message with the dedupe key
    was queued (`queued`): built once per combination, over the tables themselves, so that
    SQLAlchemy does not derive it anew on every message (0.2 ms each, two per call at a
    window)."""
    opt_outs, outbox = SmsOptOut.__table__, OutboxMessage.__table__
    asked = []
    if opted_out:
        asked.append(exists().where(opt_outs.c.phone_hash == bindparam("phone_hash")))
    if queued:
        asked.append(exists().where(outbox.c.dedupe_key == bindparam("dedupe_key")))
    return select(or_(*asked))


def sendable_phone(to_phone: str | None, kind: str) -> str | None:
    """`to_phone` in E.164 when a `kind` message may go to it; None when it is empty, no
    mobile number, or opted out of this kind (confirmations of a person's own action go
    even then)."""
    phone = _mobile(to_phone, kind)
    if phone is None or (kind not in TRANSACTIONAL_KINDS and is_opted_out(phone)):
        return None
    return phone


def _mobile(to_phone: str | None, kind: str) -> str | None:
    """`to_phone` in E.164; None (logged) when it is no mobile number."""
    if not to_phone:
        return None
    phone = normalise_phone(to_phone)
    if phone is None:
        log.warning("SMS %s not queued: %s is no mobile number", kind, mask_phone(to_phone))
    return phone


def message_row(phone: str, body: str, kind: str, dedupe_key: str | None) -> dict:
    """The outbox row of a new pending message to `phone` (E.164), as column values:
    `queue_sms` makes its OutboxMessage of them, and a booking inserts them directly
    (booking.hotpath) when no dedupe look-up is needed."""
    return {"to_phone": phone, "to_phone_hash": secret_hash(phone), "body": body,
            "kind": kind, "dedupe_key": dedupe_key, "params": template_params(body),
            "status": "pending", "attempts": 0, "next_attempt_at": utcnow()}


def template_params(body: str) -> str:
    """What a template provider needs of a text `notify.messages.render` made (its language
    and parameter values), as JSON; "" for any other text, which such a provider cannot
    send."""
    values = getattr(body, "values", None)
    if not isinstance(values, dict):
        return ""
    return json.dumps({"language": body.language, "values": values}, ensure_ascii=False)


def is_opted_out(phone: str) -> bool:
    return db.session.get(SmsOptOut, phone_hash(phone)) is not None


def opt_out(phone: str, source: str = "inbound") -> bool:
    """Record that `phone` wants no reminders or notices (commits). Messages of those kinds
    still waiting for it are dropped (failed, error_code 'opted_out'). True when it is new.
    One write transaction (BEGIN IMMEDIATE on SQLite: the look-up and the insert cannot
    be overtaken by another writer between them)."""
    phone = normalise_phone(phone) or phone
    try:
        with write_transaction():
            created = db.session.get(SmsOptOut, phone_hash(phone)) is None
            if created:
                db.session.add(SmsOptOut(phone=phone, source=source))
                db.session.flush()
            _drop_pending_notices(phone)
    except IntegrityError:  # a second STOP at the same moment (PostgreSQL) got there first
        created = False
        with write_transaction():
            _drop_pending_notices(phone)
    return created


def _drop_pending_notices(phone: str) -> None:
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.to_phone_hash == phone_hash(phone),
               OutboxMessage.status == "pending",
               OutboxMessage.kind.not_in(TRANSACTIONAL_KINDS))
        .values(status="failed", error_code=OPTED_OUT,
                error_message="the number opted out of reminders", updated_at=utcnow())
        .execution_options(synchronize_session=False))


def opt_in(phone: str) -> bool:
    """Undo an opt-out (commits). True when there was one."""
    with write_transaction():
        removed = db.session.execute(
            delete(SmsOptOut).where(SmsOptOut.phone_hash == phone_hash(phone))).rowcount
    return bool(removed)


def mark_for_resend(message_id: int) -> OutboxMessage | None:
    """Put a failed or undelivered message back in the queue, as new, in the caller's
    transaction; None when it is not in a state that can be sent again."""
    result = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id,
               OutboxMessage.status.in_(RESENDABLE_STATUSES))
        .values(status="pending", attempts=0, next_attempt_at=utcnow(), claimed_until=None,
                claim_token=None, twilio_sid=None, provider_status=None, error_code=None,
                error_message="", sent_at=None, updated_at=utcnow())
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        return None
    message = db.session.get(OutboxMessage, message_id)
    db.session.refresh(message)
    return message


class ResendRefused(Exception):
    """Why a message cannot be sent again: `reason` is one of not_found, not_failed,
    opted_out, changed."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def resend(message_id: int, user) -> OutboxMessage:
    """An admin sends a failed or undelivered message again: it goes back to the queue as
    new, audited. Raises ResendRefused with the reason otherwise."""
    from core.audit import record_audit

    with write_transaction():
        message = db.session.get(OutboxMessage, message_id)
        if message is None:
            raise ResendRefused("not_found")
        if message.status not in RESENDABLE_STATUSES:
            raise ResendRefused("not_failed")
        if message.kind not in TRANSACTIONAL_KINDS and is_opted_out(message.to_phone):
            raise ResendRefused("opted_out")
        previous = {"status": message.status, "error_code": message.error_code or "",
                    "twilio_sid": message.twilio_sid or "", "attempts": message.attempts}
        message = mark_for_resend(message_id)
        if message is None:  # changed under us
            raise ResendRefused("changed")
        record_audit(user, "sms.resend", target=f"sms:{message_id}", kind=message.kind,
                     phone=mask_phone(message.to_phone), **previous)
    return message


def record_status_callback(sid: str, provider_status: str, error_code: str | None = None,
                           ref: str | None = None) -> bool:
    """Twilio's delivery report for `sid`; `ref` ("<id>.<attempt>", from our callback URL)
    finds a message whose send has not been recorded yet (its dispatcher is still waiting
    for the answer, died, or got no answer): it gets the SID, and the dispatcher records
    it as sent without sending it again. False when no message matches."""
    from core.database import is_postgres
    from notify.status import apply_provider_status

    with write_transaction():
        query = select(OutboxMessage).where(OutboxMessage.twilio_sid == sid)
        if is_postgres():
            query = query.with_for_update()
        message = db.session.scalar(query)
        if message is None and ref:
            message = _by_ref(ref, is_postgres())
            if message is not None:
                message.twilio_sid = sid
        if message is None:
            return False
        apply_provider_status(message, provider_status, error_code)
    return True


def _by_ref(ref: str, lock: bool) -> OutboxMessage | None:
    message_id, _, attempt = ref.partition(".")
    if not (message_id.isdigit() and attempt.isdigit()):
        return None
    # still claimed by that attempt, or put back for a retry after it timed out or lost
    # its connection (Twilio took it all the same): the next claim records it as sent
    query = select(OutboxMessage).where(
        OutboxMessage.id == int(message_id), OutboxMessage.attempts == int(attempt),
        OutboxMessage.status.in_(("sending", "pending")), OutboxMessage.twilio_sid.is_(None))
    if lock:
        query = query.with_for_update()
    return db.session.scalar(query)


def record_receipt(backend: str, provider_status: str, phone: str | None,
                   sid: str | None = None, message_id: int | None = None,
                   error_code: str | None = None) -> bool:
    """A delivery receipt from Alibaba Cloud or Tencent Cloud: the message of `backend`
    with the provider's id `sid`, or (before a send was recorded) our id `message_id` that
    went with it (OutId, SessionContext). The receipt's number must be the message's: a
    receipt naming another number changes nothing. A message whose send is not recorded
    yet gets the provider's id, so the dispatcher records it as sent and never sends it
    again. False when no message matches."""
    from core.database import is_postgres
    from notify.status import apply_provider_status

    phone_key = phone_hash(phone) if phone else None
    with write_transaction():
        message = None
        if sid:
            query = select(OutboxMessage).where(OutboxMessage.twilio_sid == sid)
            message = db.session.scalar(query.with_for_update() if is_postgres() else query)
        if message is None and message_id is not None:
            query = select(OutboxMessage).where(OutboxMessage.id == message_id)
            message = db.session.scalar(query.with_for_update() if is_postgres() else query)
        if message is None or message.to_phone_hash != phone_key:
            return False
        if message.backend not in (None, backend):
            return False
        if message.twilio_sid is None and sid:
            taken = db.session.scalar(
                select(OutboxMessage.id).where(OutboxMessage.twilio_sid == sid))
            if taken is None:
                message.twilio_sid = sid
        apply_provider_status(message, provider_status, error_code)
    return True
