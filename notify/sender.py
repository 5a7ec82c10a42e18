"""The SMS backends: `console` (records and logs; the default) and `twilio` (the real
twilio client, pointed at TWILIO_API_BASE_URL) here; `aliyun` and `tencent` (templates at
Alibaba Cloud and Tencent Cloud) in notify/cloud.py. A backend sends one message and
answers with a SendResult, or raises RetryableError / PermanentError. `find_sent` asks the
provider whether a message was accepted already (the dispatcher's check before it sends
again a message whose earlier attempt has no known outcome)."""

import json
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime

import requests
from twilio.base import values
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from core.privacy import mask_phone, mask_phones_in
from notify.settings import number, setting

log = logging.getLogger(__name__)
# twilio's http client logs every request's URL and headers at INFO: keep logs lean.
_http_log = logging.getLogger("notify.twilio_http")
_http_log.setLevel(logging.WARNING)


class _MaskedNumbers(logging.Filter):
    """Masks phone numbers in urllib3's request lines: a look-up at Twilio
    (`find_sent`) asks for the recipient's messages with the number in the query string
    (`?To=%2B86…`), which urllib3 logs at DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(mask_phones_in(arg) if isinstance(arg, str) else arg
                                for arg in record.args)
        if isinstance(record.msg, str):
            record.msg = mask_phones_in(record.msg)
        return True


logging.getLogger("urllib3.connectionpool").addFilter(_MaskedNumbers())

TWILIO_DEFAULT_BASE_URL = "https://api.twilio.com"
# 4xx answers that say nothing about the message: the account or the pace is the problem.
RETRYABLE_CLIENT_STATUSES = frozenset({401, 408, 429})
RETRYABLE_TWILIO_CODES = frozenset({20003, 20429})  # authenticate; too many requests
UNSUBSCRIBED_CODE = "21610"  # the recipient answered STOP to our sender number
# how many of the recipient's messages from our number a look-up reads, newest first
LOOKUP_LIMIT = 100


@dataclass(frozen=True)
class SendResult:
    sid: str | None
    provider_status: str
    created_at: datetime | None = None  # the provider's date_created (look-ups only)


class SendError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class RetryableError(SendError):
    """A network error, a timeout, a 5xx, or the provider's flow control: try again later
    (`retry_after`: not before this much time, when the provider says so)."""

    retry_after = None


class PermanentError(SendError):
    """A Twilio 4xx such as 21211 (invalid number): final, recorded with Twilio's code."""


class ConfigurationError(Exception):
    """The backend cannot send at all (missing credentials): nothing is claimed."""


class ConsoleSender:
    name = "console"

    def __init__(self, config):
        self.key = "console"

    def send(self, message_id: int, to_phone: str, body: str, kind: str,
             status_callback: str | None = None, params: str = "") -> SendResult:
        # the number masked, the text never shown (it may hold a manage link's secret)
        log.info("SMS (console) #%s to %s, %s", message_id, mask_phone(to_phone), kind)
        return SendResult(sid=None, provider_status="sent")

    def find_sent(self, to_phone: str, body: str, since: datetime,
                  message_id: int | None = None) -> list[SendResult]:
        return []  # the console keeps no record to ask: sending again only logs again


class TwilioSender:
    name = "twilio"

    def __init__(self, config):
        missing = [key for key in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM")
                   if not config.get(key)]
        if missing:
            raise ConfigurationError("SMS_BACKEND=twilio needs " + ", ".join(missing))
        timeout = number("SMS_HTTP_TIMEOUT_SECONDS", config)
        self.client = Client(config["TWILIO_ACCOUNT_SID"], config["TWILIO_AUTH_TOKEN"],
                             http_client=TwilioHttpClient(timeout=timeout,
                                                             logger=_http_log))
        base_url = (config.get("TWILIO_API_BASE_URL") or TWILIO_DEFAULT_BASE_URL).rstrip("/")
        if base_url != TWILIO_DEFAULT_BASE_URL:
            # The generated Api domain has api.twilio.com built in; its base_url is the one
            # switch for an egress gateway or a test double. Edge and region settings would
            # rewrite the host again, so they do not apply to a custom base URL.
            self.client.api.base_url = base_url
            self.client.edge = None
            self.client.region = None
        self.from_number = config["TWILIO_FROM"]
        self.key = f"twilio:{self.from_number}"

    def send(self, message_id: int, to_phone: str, body: str, kind: str,
             status_callback: str | None = None, params: str = "") -> SendResult:
        try:
            created = self.client.messages.create(
                to=to_phone, from_=self.from_number, body=body,
                status_callback=status_callback or values.unset)
        except requests.Timeout as error:
            raise RetryableError("timeout", _one_line(error)) from None
        except requests.RequestException as error:
            raise RetryableError("network", _one_line(error)) from None
        except TwilioException as error:
            raise classify(error) from None
        log.info("SMS (twilio) #%s to %s, %s: %s %s", message_id, mask_phone(to_phone), kind,
                 created.sid, created.status)
        return SendResult(sid=created.sid, provider_status=str(created.status or "queued"))

    def find_sent(self, to_phone: str, body: str, since: datetime,
                  message_id: int | None = None) -> list[SendResult]:
        """The outbound messages Twilio holds from our number to `to_phone` with exactly
        this body, created at or after `since` (aware), oldest first. Reads Twilio's
        Messages list filtered by To and From (newest first, at most LOOKUP_LIMIT). No
        DateSent filter: Twilio reads only its date part, and a message still queued at
        Twilio has no date_sent yet, so the filter would hide exactly the message looked
        for; the time window is applied here, on date_created. Raises RetryableError or
        PermanentError when Twilio cannot be asked."""
        try:
            listed = self.client.messages.list(to=to_phone, from_=self.from_number,
                                               limit=LOOKUP_LIMIT)
        except requests.Timeout as error:
            raise RetryableError("timeout", _one_line(error)) from None
        except requests.RequestException as error:
            raise RetryableError("network", _one_line(error)) from None
        except TwilioException as error:
            raise classify(_page_error(error)) from None
        found = []
        for message in listed:
            created = message.date_created
            if (message.sid and message.body == body and message.to == to_phone
                    and str(message.direction or "").startswith("outbound")
                    and isinstance(created, datetime) and created >= since):
                found.append(SendResult(sid=message.sid,
                                        provider_status=str(message.status or "queued"),
                                        created_at=created))
        return sorted(found, key=lambda result: result.created_at)


def classify(error: TwilioException) -> SendError:
    """TwilioRestException (and the RFC 9457 TwilioServiceException) carry the HTTP
    `status` and Twilio's `code`: 5xx and a few account-level 4xx are retryable, any
    other 4xx is final."""
    status = getattr(error, "status", None)
    code = getattr(error, "code", None)
    text = getattr(error, "msg", None) or getattr(error, "detail", None) \
        or getattr(error, "title", None) or type(error).__name__
    code_text = str(code if code is not None else status or "twilio")[:16]
    if not isinstance(status, int) or status >= 500:
        return RetryableError(code_text, _one_line(text))
    if status in RETRYABLE_CLIENT_STATUSES or code in RETRYABLE_TWILIO_CODES:
        return RetryableError(code_text, _one_line(text))
    return PermanentError(code_text, _one_line(text))


def _page_error(error: TwilioException) -> TwilioException:
    """A list page that is no 200 raises a bare TwilioException("Unable to fetch page",
    response): give it the answer's HTTP status and Twilio's code, as a create error has."""
    response = error.args[1] if len(error.args) > 1 else None
    status = getattr(response, "status_code", None)
    if isinstance(error, TwilioRestException) or not isinstance(status, int):
        return error
    try:
        payload = json.loads(response.text)
    except (TypeError, ValueError):
        payload = {}
    payload = payload if isinstance(payload, dict) else {}
    return TwilioRestException(status, "", msg=str(payload.get("message") or error.args[0]),
                               code=payload.get("code"))


def _one_line(value) -> str:
    return " ".join(str(value).split())[:500]


BACKENDS = ("console", "twilio", "aliyun", "tencent")


def make_sender(config):
    backend = (setting("SMS_BACKEND", config) or "console").strip().lower()
    if backend == "twilio":
        return TwilioSender(config)
    if backend == "console":
        return ConsoleSender(config)
    if backend in ("aliyun", "tencent"):
        from notify.cloud import AliyunSender, TencentSender

        return (AliyunSender if backend == "aliyun" else TencentSender)(config)
    raise ConfigurationError(f"SMS_BACKEND must be one of {', '.join(BACKENDS)}, "
                             f"not {backend!r}")


class PerSenderPace:
    """At most `rate` sends per second per sender key, across the threads of a process
    (the scheduler's lease keeps one dispatcher process running)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._next: dict[str, float] = {}

    def wait(self, key: str, rate: float) -> None:
        if rate <= 0:
            return
        with self._lock:
            now = time.monotonic()
            at = max(now, self._next.get(key, now))
            self._next[key] = at + 1.0 / rate
        if at > now:
            time.sleep(at - now)


pace = PerSenderPace()
