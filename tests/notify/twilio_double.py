"""A local stand-in for Twilio's Messages API, for tests and benchmarks.

It speaks the part of https://api.twilio.com that the app's twilio client uses, with HTTP
basic auth (AccountSid, AuthToken):

- `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` (`client.messages.create`), a form
  body, answering `201` with the JSON of a Message resource (`sid`, `status` "queued", …);
- `GET /2010-04-01/Accounts/{AccountSid}/Messages.json` (`client.messages.list`), the
  accepted messages newest first, filtered by `To`, `From` and `DateSent` / `DateSent<` /
  `DateSent>` (Twilio's query parameters; like Twilio, only the date part of a DateSent
  value counts, and `DateSent>=D` means "sent on or after midnight GMT of D"; a message
  still queued has no `date_sent`, so a DateSent filter leaves it out), in Twilio's page
  shape `{"messages": [...], "next_page_uri": null or "...&Page=1", "page", "page_size",
  …}` (`PageSize` default 50, at most 1000; `Page`);
- `GET /2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json` (`client.messages(sid).fetch()`).

Errors are Twilio's error JSON (`code`, `message`, `more_info`, `status`). Point the app at
it with TWILIO_API_BASE_URL=double.url.

Usage (tests and the SMS benchmark):

    from tests.notify.twilio_double import TwilioDouble

    double = TwilioDouble(account_sid="AC…", auth_token="…").start()
    double.url                 # "http://127.0.0.1:PORT": TWILIO_API_BASE_URL
    double.delay = 5           # seconds before each answer
    held = double.hold_next()  # the next message send waits, recorded and unanswered:
    held.reached.wait(10)      # ... until it has arrived (held.request is its record)
    held.release()             # ... and until this (a kill can land while it is held)
    double.fail_next(2, status=500)             # the next 2 answers: 500, code 20500
    double.fail_number("+8613800000000", status=400, code=21211)   # always, for that To
    double.accept_then_drop(1) # the next message is accepted, then the connection is closed
                               # with no answer (the sender never learns the SID)
    double.queue_seconds = 30  # messages accepted from now on stay "queued", with no
                               # date_sent, this long
    double.list_lag = 5        # an accepted message shows in the list only after 5 s
    double.clock = lambda: …   # the double's "now" (epoch seconds; default time.time)
    double.messages            # the accepted messages: [{"sid", "to", "from", "body", …}]
    double.requests            # every request: RecordedRequest(method, path, form, query, …)
    double.lookups             # the GET list requests among them
    double.clear()             # forget requests, scripted failures and delay
    double.stop()

or `with TwilioDouble() as double: …`; module-level `start(**kwargs)` / `stop()` keep one
default double. From a shell: `python -m tests.notify.twilio_double --port 8765
--delay 0.2` serves until Ctrl-C and prints the count of messages every few seconds.
"""

import argparse
import base64
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

API_VERSION = "2010-04-01"
ERROR_TEXTS = {
    20001: "Invalid date value",
    20003: "Authenticate",
    20404: "The requested resource was not found",
    20429: "Too Many Requests",
    20500: "Internal Server Error",
    21211: "The 'To' number is not a valid phone number.",
    21602: "Message body is required.",
    21604: "A 'To' phone number is required.",
    21610: "Attempt to send to unsubscribed recipient",
    21614: "'To' number is not a valid mobile number",
}


@dataclass
class RecordedRequest:
    method: str
    path: str
    form: dict
    headers: dict
    received_at: float  # time.time()
    answered_status: int = 0
    answered_at: float = 0.0
    response: dict = field(default_factory=dict)
    query: dict = field(default_factory=dict)
    dropped: bool = False  # accepted, then the connection was closed without an answer


@dataclass
class Hold:
    """One message send held unanswered (TwilioDouble.hold_next)."""
    reached: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)
    request: RecordedRequest | None = None

    def release(self) -> None:
        self.released.set()


@dataclass
class _Failure:
    status: int
    code: int
    message: str


class TwilioDouble:
    def __init__(self, account_sid: str | None = None, auth_token: str | None = None,
                 host: str = "127.0.0.1", port: int = 0):
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.host = host
        self.port = port
        self.delay = 0.0
        self.queue_seconds = 0.0
        self.list_lag = 0.0
        self.clock = time.time
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._stored: list[_Stored] = []
        self._next_failures: list[_Failure] = []
        self._number_failures: dict[str, _Failure] = {}
        self._drops = 0
        self._holds: list[Hold] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- life ---------------------------------------------------------------------------
    def start(self) -> "TwilioDouble":
        double = self

        class Handler(_Handler):
            owner = double

        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="twilio-double", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "TwilioDouble":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # --- behaviour ------------------------------------------------------------------------
    def fail_next(self, count: int = 1, status: int = 500, code: int | None = None,
                  message: str | None = None) -> None:
        """The next `count` API requests (sends and look-ups alike) fail this way."""
        code = code or (20500 if status >= 500 else status)
        with self._lock:
            self._next_failures.extend(
                _Failure(status, code, message or ERROR_TEXTS.get(code, "Error"))
                for _ in range(count))

    def fail_number(self, to: str, status: int = 400, code: int = 21211,
                    message: str | None = None) -> None:
        with self._lock:
            self._number_failures[to] = _Failure(status, code,
                                                 message or ERROR_TEXTS.get(code, "Error"))

    def accept_then_drop(self, count: int = 1) -> None:
        """The next `count` messages are accepted (they are in `messages` and in the list)
        but the connection is closed before the answer: a crash or a network cut after
        Twilio took the message and before the sender learnt its SID."""
        with self._lock:
            self._drops += count

    def hold_next(self) -> Hold:
        """The next message send (POST) is recorded, then waits unanswered until
        `release()` (or 60 s): a send certainly in Twilio's hands at a chosen moment."""
        hold = Hold()
        with self._lock:
            self._holds.append(hold)
        return hold

    def clear(self) -> None:
        """Forget requests, accepted messages, scripted behaviour (holds released), delay
        and clock."""
        with self._lock:
            self._requests.clear()
            self._stored.clear()
            self._next_failures.clear()
            self._number_failures.clear()
            self._drops = 0
            for hold in self._holds:
                hold.release()
            self._holds.clear()
            self.delay = 0.0
            self.queue_seconds = 0.0
            self.list_lag = 0.0
            self.clock = time.time

    # --- what happened ------------------------------------------------------------------
    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def messages(self) -> list[dict]:
        """The messages it accepted (answered 201, or accepted then dropped), oldest first,
        as the create request was answered."""
        return [r.response for r in self.requests if r.answered_status == 201]

    @property
    def lookups(self) -> list[RecordedRequest]:
        """The list requests (GET …/Messages.json), oldest first."""
        return [r for r in self.requests
                if r.method == "GET" and r.path.endswith("/Messages.json")]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.messages

    # --- the answer -----------------------------------------------------------------------
    def _answer(self, record: RecordedRequest, authorization: str) -> tuple[int, dict]:
        parts = record.path.strip("/").split("/")
        if (len(parts) not in (4, 5) or parts[0] != API_VERSION or parts[1] != "Accounts"
                or not parts[-1].endswith(".json")):
            return self._error(404, 20404)
        account = parts[2]
        if self.account_sid and account != self.account_sid:
            return self._error(404, 20404)
        if self.auth_token is not None:
            expected = "Basic " + base64.b64encode(
                f"{account}:{self.auth_token}".encode()).decode()
            if authorization != expected:
                return self._error(401, 20003)
        if len(parts) == 4 and parts[3] == "Messages.json":
            if record.method == "POST":
                return self._create(record, account)
            if record.method == "GET":
                return self._list(record, account)
        if len(parts) == 5 and parts[3] == "Messages" and record.method == "GET":
            return self._fetch(parts[4].removesuffix(".json"))
        return self._error(404, 20404)

    def _scripted_failure(self, to: str | None = None) -> tuple[int, dict] | None:
        with self._lock:
            failure = self._next_failures.pop(0) if self._next_failures else None
            failure = failure or (self._number_failures.get(to) if to else None)
        if failure is None:
            return None
        return failure.status, _error_body(failure.status, failure.code, failure.message)

    def _create(self, record: RecordedRequest, account: str) -> tuple[int, dict]:
        form = record.form
        to = form.get("To", "")
        if not to:
            return self._error(400, 21604)
        if not form.get("Body"):
            return self._error(400, 21602)
        failed = self._scripted_failure(to)
        if failed is not None:
            return failed
        sid = "SM" + secrets.token_hex(16)
        created = self.clock()
        body = form["Body"]
        resource = {
            "account_sid": account, "api_version": API_VERSION, "body": body,
            "date_created": _rfc2822(created), "date_updated": _rfc2822(created),
            "date_sent": None,
            "direction": "outbound-api", "error_code": None, "error_message": None,
            "from": form.get("From"), "messaging_service_sid": None, "num_media": "0",
            "num_segments": str(max(1, -(-len(body) // 70))), "price": None,
            "price_unit": "USD", "sid": sid, "status": "queued", "to": to,
            "status_callback": form.get("StatusCallback"),
            "uri": f"/{API_VERSION}/Accounts/{account}/Messages/{sid}.json",
            "subresource_uris": {
                "media": f"/{API_VERSION}/Accounts/{account}/Messages/{sid}/Media.json"},
        }
        with self._lock:
            self._stored.append(_Stored(resource, created, created + self.queue_seconds))
            if self._drops > 0:
                self._drops -= 1
                record.dropped = True
        return 201, resource

    def _view(self, stored: "_Stored", now: float) -> dict:
        """The resource as a later GET sees it: sent once its time in the queue is over."""
        resource = dict(stored.resource)
        resource.pop("status_callback", None)  # Twilio's Message resource has no such field
        if now >= stored.sent_at:
            resource.update(status="sent", date_sent=_rfc2822(stored.sent_at),
                            date_updated=_rfc2822(stored.sent_at))
        return resource

    def _fetch(self, sid: str) -> tuple[int, dict]:
        failed = self._scripted_failure()
        if failed is not None:
            return failed
        now = self.clock()
        with self._lock:
            stored = next((m for m in self._stored if m.resource["sid"] == sid), None)
        if stored is None or now < stored.created + self.list_lag:
            return self._error(404, 20404)
        return 200, self._view(stored, now)

    def _list(self, record: RecordedRequest, account: str) -> tuple[int, dict]:
        query = record.query
        try:
            page_size = min(max(int(query.get("PageSize", 50)), 1), 1000)
            page = max(int(query.get("Page", 0)), 0)
            filters = [(op, _filter_date(query[key]))
                       for key, op in (("DateSent", "="), ("DateSent<", "<"), ("DateSent>", ">"))
                       if key in query]
        except ValueError:
            return self._error(400, 20001)
        failed = self._scripted_failure()
        if failed is not None:
            return failed
        now = self.clock()
        with self._lock:
            stored = [m for m in self._stored if now >= m.created + self.list_lag]
        views = [(self._view(m, now), m.sent_at) for m in stored
                 if m.resource["account_sid"] == account]
        selected = []
        for view, sent_at in views:
            if "To" in query and view["to"] != query["To"]:
                continue
            if "From" in query and view["from"] != query["From"]:
                continue
            if filters:
                if view["date_sent"] is None:
                    continue
                sent_on = _day(view["date_sent"])
                if not all(_date_matches(sent_on, op, day) for op, day in filters):
                    continue
            selected.append((view, sent_at))
        # newest first by DateSent; messages still queued (no date_sent) before them all
        selected.sort(key=lambda pair: (pair[0]["date_sent"] is None, pair[1]), reverse=True)
        chunk = [view for view, _ in selected[page * page_size:(page + 1) * page_size]]
        base = f"/{API_VERSION}/Accounts/{account}/Messages.json"
        kept = {k: v for k, v in query.items() if k not in ("Page", "PageToken", "PageSize")}

        def uri(number: int) -> str:
            return base + "?" + urlencode({**kept, "PageSize": page_size, "Page": number})

        more = (page + 1) * page_size < len(selected)
        return 200, {
            "messages": chunk, "page": page, "page_size": page_size,
            "start": page * page_size, "end": page * page_size + max(len(chunk) - 1, 0),
            "uri": uri(page), "first_page_uri": uri(0),
            "next_page_uri": uri(page + 1) if more else None,
            "previous_page_uri": uri(page - 1) if page > 0 else None,
        }

    def _error(self, status: int, code: int) -> tuple[int, dict]:
        return status, _error_body(status, code, ERROR_TEXTS.get(code, "Error"))


@dataclass
class _Stored:
    resource: dict  # as the create request was answered
    created: float  # the double's clock when it was accepted
    sent_at: float  # … and when it leaves the queue (`queue_seconds` later)


def _rfc2822(epoch: float) -> str:
    return formatdate(epoch, usegmt=True)


def _day(rfc2822: str) -> date:
    return parsedate_to_datetime(rfc2822).astimezone(UTC).date()


def _filter_date(value: str) -> date:
    """Twilio reads the date part of a DateSent value (YYYY-MM-DD, GMT)."""
    value = value.strip().lstrip("<>=")
    return datetime.strptime(value[:10], "%Y-%m-%d").date()


def _date_matches(sent_on: date, op: str, day: date) -> bool:
    if op == "<":
        return sent_on <= day
    if op == ">":
        return sent_on >= day
    return sent_on == day


def _error_body(status: int, code: int, message: str) -> dict:
    return {"code": code, "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status}


class _Handler(BaseHTTPRequestHandler):
    owner: TwilioDouble
    protocol_version = "HTTP/1.1"

    def _handle(self) -> None:
        owner = self.owner
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode("utf-8") if length else ""
        form = {key: values[-1] for key, values in parse_qs(raw, keep_blank_values=True).items()}
        url = urlsplit(self.path)
        query = {key: values[-1]
                 for key, values in parse_qs(url.query, keep_blank_values=True).items()}
        record = RecordedRequest(self.command, url.path, form, dict(self.headers), time.time(),
                                 query=query)
        with owner._lock:
            owner._requests.append(record)
            hold = owner._holds.pop(0) if owner._holds and self.command == "POST" else None
        if hold is not None:
            hold.request = record
            hold.reached.set()
            hold.released.wait(60)
        if owner.delay:
            time.sleep(owner.delay)
        status, body = owner._answer(record, self.headers.get("Authorization", ""))
        record.response = body
        record.answered_status = status
        record.answered_at = time.time()
        if record.dropped:
            self.close_connection = True  # no answer at all: the client sees the line drop
            return
        payload = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (or was killed)
            self.close_connection = True

    do_POST = _handle
    do_GET = _handle

    def log_message(self, format, *args):  # noqa: A002  (the base class's name)
        pass


_default: TwilioDouble | None = None


def start(**kwargs) -> TwilioDouble:
    """Start the default double (stopping an earlier one) and return it."""
    global _default
    stop()
    _default = TwilioDouble(**kwargs).start()
    return _default


def stop() -> None:
    global _default
    if _default is not None:
        _default.stop()
        _default = None


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve a stand-in for Twilio's Messages API.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each answer")
    parser.add_argument("--account-sid", default=None)
    parser.add_argument("--auth-token", default=None)
    args = parser.parse_args()
    double = TwilioDouble(args.account_sid, args.auth_token, args.host, args.port).start()
    double.delay = args.delay
    print(f"Twilio double on {double.url} (TWILIO_API_BASE_URL)", flush=True)
    try:
        while True:
            time.sleep(5)
            print(f"{len(double.messages)} messages accepted", flush=True)
    except KeyboardInterrupt:
        double.stop()


if __name__ == "__main__":
    main()
