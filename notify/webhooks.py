"""The providers' webhooks (docs/api.md §6). Twilio's delivery status callbacks and incoming
SMS check X-Twilio-Signature against PUBLIC_BASE_URL + path (so it works behind a proxy)
with TWILIO_AUTH_TOKEN, and answer 403 when it does not match.

Alibaba Cloud's and Tencent Cloud's delivery receipts (HTTP batch push, JSON arrays) come
unsigned: neither provider signs them. Each provider calls the one URL set in its console,
so that URL carries a secret, `/sms/receipts/<provider>/<SMS_RECEIPT_TOKEN>` (compared in
constant time; 404 without a match), and `SMS_RECEIPT_ALLOWED_IPS` may list the provider's
published source addresses (403 from any other). A receipt changes a message only when its
number is the message's."""

import hmac
import ipaddress
import logging
import re

from flask import Blueprint, Response, abort, current_app, jsonify, request
from twilio.request_validator import (
    SIGNATURE_HEADER,
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    get_signature_algorithm,
)
from twilio.twiml.messaging_response import MessagingResponse

from core.privacy import mask_phone
from notify.messages import EN, SYSTEM_SENDER, ZH, render
from notify.outbox import (
    normalise_phone,
    opt_in,
    opt_out,
    record_receipt,
    record_status_callback,
)
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


# --- Alibaba Cloud and Tencent Cloud delivery receipts ----------------------------------------

def _require_receipt_token(token: str) -> None:
    expected = current_app.config.get("SMS_RECEIPT_TOKEN") or ""
    if not expected or not hmac.compare_digest(token.encode(), str(expected).encode()):
        abort(404)
    allowed = current_app.config.get("SMS_RECEIPT_ALLOWED_IPS") or []
    if isinstance(allowed, str):
        allowed = [item for item in allowed.split(",") if item.strip()]
    if allowed and not _address_in(request.remote_addr, allowed):
        log.warning("SMS receipt from %s refused: not in SMS_RECEIPT_ALLOWED_IPS",
                    request.remote_addr)
        abort(403, description="This address may not post receipts.")


def _address_in(address: str | None, networks: list) -> bool:
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    for network in networks:
        try:
            if ip in ipaddress.ip_network(str(network).strip(), strict=False):
                return True
        except ValueError:
            continue
    return False


def _receipts() -> list[dict]:
    payload = request.get_json(silent=True)
    if isinstance(payload, dict):
        payload = [payload]
    if not isinstance(payload, list):
        abort(400, description="A JSON array of receipts is required.")
    return [item for item in payload if isinstance(item, dict)]


@blueprint.post("/sms/receipts/aliyun/<token:token>")
def aliyun_receipts(token: str):
    """Alibaba Cloud SmsReport (HTTP batch push): [{"phone_number", "success", "err_code",
    "biz_id", "out_id", …}]; answered {"code": 0} as it requires."""
    _require_receipt_token(token)
    for item in _receipts():
        out_id = str(item.get("out_id") or "")
        delivered = item.get("success") in (True, "true", "True")
        code = str(item.get("err_code") or "").strip() or None
        if not record_receipt("aliyun", "delivered" if delivered else "undelivered",
                              str(item.get("phone_number") or ""),
                              sid=str(item.get("biz_id") or "") or None,
                              message_id=int(out_id) if out_id.isdigit() else None,
                              error_code=None if delivered else code):
            log.info("Alibaba Cloud receipt for an unknown message (%s)", out_id or "-")
    return jsonify({"code": 0, "msg": "接收成功"})


@blueprint.post("/sms/receipts/tencent/<token:token>")
def tencent_receipts(token: str):
    """Tencent Cloud 短信下发状态通知: [{"mobile", "nationcode", "report_status", "errmsg",
    "sid", "ext"?, …}]; answered {"result": 0, "errmsg": "OK"} as it requires."""
    from notify.cloud import SESSION_PREFIX

    _require_receipt_token(token)
    for item in _receipts():
        nation = str(item.get("nationcode") or "86").lstrip("+")
        phone = f"+{nation}{item.get('mobile') or ''}"
        context = str(item.get("ext") or "")
        message_id = context.removeprefix(SESSION_PREFIX)
        delivered = str(item.get("report_status") or "").upper() == "SUCCESS"
        code = str(item.get("errmsg") or "").strip() or None
        if not record_receipt("tencent", "delivered" if delivered else "undelivered", phone,
                              sid=str(item.get("sid") or "") or None,
                              message_id=int(message_id) if context.startswith(SESSION_PREFIX)
                              and message_id.isdigit() else None,
                              error_code=None if delivered else code):
            log.info("Tencent Cloud receipt for an unknown message (%s)", item.get("sid"))
    return jsonify({"result": 0, "errmsg": "OK"})
