"""Twilio's webhooks (docs/api.md §6): delivery status callbacks and incoming SMS. Both check
X-Twilio-Signature against PUBLIC_BASE_URL + path (so it works behind a proxy) with
TWILIO_AUTH_TOKEN, and answer 403 when it does not match."""

import logging
import re

from flask import Blueprint, Response, abort, current_app, request
from twilio.request_validator import (
    SIGNATURE_HEADER,
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    get_signature_algorithm,
)
from twilio.twiml.messaging_response import MessagingResponse

from core.privacy import mask_phone
from notify.messages import EN, SYSTEM_SENDER, ZH, render
from notify.outbox import normalise_phone, opt_in, opt_out, record_status_callback
from notify.status import KNOWN_PROVIDER_STATUSES

log = logging.getLogger(__name__)

blueprint = Blueprint("sms_webhooks", __name__)

STOP_WORDS = frozenset({"退订", "TD", "取消订阅", "STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL",
                        "END", "QUIT", "OPTOUT", "REVOKE"})
START_WORDS = frozenset({"订阅", "恢复", "恢复订阅", "START", "UNSTOP", "YES"})
HELP_WORDS = frozenset({"帮助", "HELP", "INFO"})
_PUNCTUATION = re.compile(r"[\s。．.!！?？,，、\"'“”]+")


def signed_url() -> str:
    """The URL Twilio called, as the public sees it."""
    base = (current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    query = request.query_string.decode("utf-8", "replace")
    return f"{base}{request.path}" + (f"?{query}" if query else "")


def signature_is_valid() -> bool:
    token = current_app.config.get("TWILIO_AUTH_TOKEN")
    signature = request.headers.get(SIGNATURE_HEADER, "")
    if not token or not signature:
        return False
    algorithm = get_signature_algorithm(request.headers.get(SIGNATURE_SETTINGS_HEADER))
    return RequestValidator(token).validate(signed_url(), request.form, signature, algorithm)


def _require_signature() -> None:
    if not signature_is_valid():
        log.warning("Twilio webhook %s refused: bad or missing X-Twilio-Signature",
                    request.path)
        abort(403, description="X-Twilio-Signature does not match.")


@blueprint.post("/sms/status")
def delivery_status():
    _require_signature()
    sid = (request.form.get("MessageSid") or request.form.get("SmsSid") or "").strip()
    status = (request.form.get("MessageStatus") or request.form.get("SmsStatus") or "")
    status = status.strip().lower()
    if not sid or not status:
        abort(400, description="MessageSid and MessageStatus are required.")
    if status not in KNOWN_PROVIDER_STATUSES:
        log.info("status callback for %s with an unknown status %r: ignored", sid, status)
        return "", 204
    error_code = (request.form.get("ErrorCode") or "").strip() or None
    if not record_status_callback(sid, status, error_code, request.args.get("m")):
        log.info("status callback for an unknown message %s (%s)", sid, status)
    return "", 204


def keyword(body: str) -> str:
    return _PUNCTUATION.sub("", body or "").upper()


@blueprint.post("/sms/inbound")
def inbound():
    _require_signature()
    phone = normalise_phone(request.form.get("From"))
    if phone is None:
        abort(400, description="From must be a phone number.")
    word = keyword(request.form.get("Body", ""))
    language = EN if word.isascii() and word not in ("TD",) else ZH
    reply = None
    if word in STOP_WORDS:
        opt_out(phone)
        log.info("SMS opt-out from %s", mask_phone(phone))
        reply = "opted_out"
    elif word in START_WORDS:
        opt_in(phone)
        log.info("SMS opt-in from %s", mask_phone(phone))
        reply = "opted_in"
    elif word in HELP_WORDS:
        reply = "sms_help"
    twiml = MessagingResponse()
    if reply:
        twiml.message(render(reply, language, office=SYSTEM_SENDER[language]))
    return Response(str(twiml), mimetype="application/xml")
