"""Local stand-ins for Alibaba Cloud SMS and Tencent Cloud SMS, driven by their real SDKs.

`AliyunDouble` speaks the RPC API of dysmsapi.aliyuncs.com that alibabacloud-dysmsapi20170525
calls: POST / with the action in the `x-acs-action` header, every parameter in the query
string and an ACS3-HMAC-SHA256 `Authorization` naming the AccessKeyId; JSON answers.
- `SendSms` (PhoneNumbers, SignName, TemplateCode, TemplateParam JSON, OutId) ->
  {"Code": "OK", "BizId", "RequestId", "Message"}; a business error is HTTP 200 with its
  `Code` (isv.MOBILE_NUMBER_ILLEGAL …), as Alibaba Cloud answers;
- `QuerySendDetails` (PhoneNumber, SendDate yyyyMMdd, PageSize, CurrentPage) ->
  {"Code": "OK", "TotalCount", "SmsSendDetailDTOs": {"SmsSendDetailDTO": [{"OutId",
  "SendStatus", "TemplateCode", "Content", …}]}} (no BizId, as the real answer).
Point the app at it with ALIYUN_SMS_ENDPOINT=double.url.

`TencentDouble` speaks sms.tencentcloudapi.com (API 2021-01-11) as tencentcloud-sdk-python-sms
calls it: POST / with the action in `X-TC-Action` and a JSON body, TC3 signature naming the
SecretId; answers {"Response": {…, "RequestId"}}.
- `SendSms` (PhoneNumberSet, SmsSdkAppId, SignName, TemplateId, TemplateParamSet,
  SessionContext) -> {"SendStatusSet": [{"SerialNo", "PhoneNumber", "Code": "Ok" or the
  error code, "SessionContext", …}]};
- `PullSmsSendStatusByPhoneNumber` (PhoneNumber, BeginTime, EndTime, Offset, Limit,
  SmsSdkAppId) -> {"PullSmsSendStatusSet": [{"SerialNo", "ReportStatus", "SessionContext",
  …}]}: only messages whose receipt has come (`receipt_lag` seconds after acceptance).
Point the app at it with TENCENT_SMS_ENDPOINT=double.url.

Both, like tests/notify/twilio_double.py:

    double = AliyunDouble(access_key_id="…").start()   # or TencentDouble(secret_id="…")
    double.url                   # "http://127.0.0.1:PORT"
    double.delay = 0.4           # seconds before each answer
    held = double.hold_next()    # the next send waits, recorded and unanswered, until
    held.reached.wait(10); held.release()
    double.fail_next(2, status=500)                 # the next 2 requests: HTTP 500
    double.fail_number("+8613800000000", "isv.MOBILE_NUMBER_ILLEGAL")  # a final refusal
    double.accept_then_drop(1)   # accepted, then the connection closed with no answer
    double.clock = lambda: …     # the double's "now" (epoch seconds)
    double.app_config()          # SMS_BACKEND and the settings that point the app at it
    double.sent_to               # the number of every send request
    double.messages              # accepted sends: {"id", "to", "sign", "template",
                                 #  "params", "ref" (OutId / SessionContext), …}
    double.requests, double.lookups, double.clear(), double.stop()
"""

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

BEIJING = timezone(timedelta(hours=8))
# the templates the tests register (XIYUE_SMS_TEMPLATES): a kind missing here is not sent
TEMPLATES = {"booking_confirmed": {"zh_CN": "SMS_1001", "en": "SMS_1002"},
             "called": "SMS_2001", "reminder": "SMS_3001"}
SIGN_NAMES = {"aliyun": "遂宁市民政局", "tencent": "遂宁民政"}


@dataclass
class RecordedRequest:
    action: str
    params: dict
    headers: dict
    received_at: float
    answered_status: int = 0
    answered_at: float = 0.0
    response: dict = field(default_factory=dict)
    dropped: bool = False
    accepted: dict | None = None  # the message a send stored


@dataclass
class Hold:
    reached: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)
    request: RecordedRequest | None = None

    def release(self) -> None:
        self.released.set()


class _CloudDouble:
    name = "cloud"
    SEND, LOOKUP = "SendSms", ""

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.host, self.port = host, port
        self.delay = 0.0
        self.receipt_lag = 0.0
        self.clock = time.time
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._next_failures: list[int] = []
        self._number_failures: dict[str, str] = {}
        self._drops = 0
        self._holds: list[Hold] = []
        self._server = None

    # --- life -------------------------------------------------------------------------
    def start(self):
        double = self

        class Handler(_Handler):
            owner = double

        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, name=f"{self.name}-double",
                         daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # --- behaviour ----------------------------------------------------------------------
    def fail_next(self, count: int = 1, status: int = 500) -> None:
        """The next `count` requests (sends and look-ups alike) answer this HTTP status."""
        with self._lock:
            self._next_failures.extend([status] * count)

    def fail_number(self, to: str, code: str) -> None:
        """Every send to `to` (E.164) is refused with the provider's error `code`."""
        with self._lock:
            self._number_failures[to] = code

    def accept_then_drop(self, count: int = 1) -> None:
        with self._lock:
            self._drops += count

    def hold_next(self) -> Hold:
        hold = Hold()
        with self._lock:
            self._holds.append(hold)
        return hold

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()
            self._next_failures.clear()
            self._number_failures.clear()
            self._drops = 0
            for hold in self._holds:
                hold.release()
            self._holds.clear()
            self.delay = 0.0
            self.receipt_lag = 0.0
            self.clock = time.time

    # --- what happened --------------------------------------------------------------------
    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def sends(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.action == self.SEND]

    @property
    def messages(self) -> list[dict]:
        """The messages it accepted (answered, or accepted then dropped), oldest first."""
        return [r.accepted for r in self.requests if r.accepted is not None]

    @property
    def lookups(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.action == self.LOOKUP]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.messages

    # --- the answer ---------------------------------------------------------------------------
    def _take_failure(self) -> int | None:
        with self._lock:
            return self._next_failures.pop(0) if self._next_failures else None

    def _accept(self, record: RecordedRequest, message: dict) -> None:
        message.update(id=self._new_id(), at=self.clock())
        with self._lock:
            record.accepted = message
            if self._drops and record.action == self.SEND:
                self._drops -= 1
                record.dropped = True

    def _new_id(self) -> str:
        return secrets.token_hex(10)

    @property
    def sent_to(self) -> list[str]:
        """The number of every send request, accepted or not (E.164)."""
        return [self._to(r.params) for r in self.sends]

    def app_config(self) -> dict:
        """The settings that point SMS_BACKEND=<this provider> at this double."""
        raise NotImplementedError

    def _stored(self, to: str) -> list[dict]:
        return [m for m in self.messages if m["to"] == to]


class AliyunDouble(_CloudDouble):
    name = "aliyun"
    SEND, LOOKUP = "SendSms", "QuerySendDetails"

    def __init__(self, access_key_id: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.access_key_id = access_key_id

    def app_config(self) -> dict:
        return {"SMS_BACKEND": "aliyun", "ALIYUN_ACCESS_KEY_ID": self.access_key_id or "LTAI",
                "ALIYUN_ACCESS_KEY_SECRET": "test-secret",
                "ALIYUN_SMS_SIGN_NAME": SIGN_NAMES["aliyun"], "ALIYUN_SMS_ENDPOINT": self.url,
                "SMS_TEMPLATES": TEMPLATES}

    @staticmethod
    def _to(params: dict) -> str:
        number = params.get("PhoneNumbers", "")
        return "+86" + number if len(number) == 11 else "+" + number

    def answer(self, record: RecordedRequest) -> tuple[int, dict]:
        failure = self._take_failure()
        if failure:
            return failure, {"Code": "ServiceUnavailable" if failure >= 500 else "Forbidden",
                             "Message": "scripted failure", "RequestId": "req"}
        authorization = record.headers.get("Authorization", "")
        if self.access_key_id and f"Credential={self.access_key_id}," not in authorization:
            return 404, {"Code": "InvalidAccessKeyId.NotFound",
                         "Message": "Specified access key is not found.", "RequestId": "req"}
        if record.action == "SendSms":
            return self._send(record)
        if record.action == "QuerySendDetails":
            return self._query(record)
        return 400, {"Code": "InvalidAction.NotFound", "Message": record.action}

    def _send(self, record: RecordedRequest) -> tuple[int, dict]:
        to = self._to(record.params)
        with self._lock:
            refused = self._number_failures.get(to)
        if refused:
            return 200, {"Code": refused, "Message": "refused", "RequestId": "req"}
        try:
            params = json.loads(record.params.get("TemplateParam") or "{}")
        except ValueError:
            return 200, {"Code": "isv.INVALID_JSON_PARAM", "Message": "bad JSON"}
        message = {"to": to, "sign": record.params.get("SignName"),
                   "template": record.params.get("TemplateCode"), "params": params,
                   "ref": record.params.get("OutId")}
        self._accept(record, message)
        return 200, {"Code": "OK", "Message": "OK", "BizId": message["id"],
                     "RequestId": "req"}

    def _new_id(self) -> str:
        return f"{secrets.randbelow(10**15):015d}^0"

    def _query(self, record: RecordedRequest) -> tuple[int, dict]:
        number = record.params.get("PhoneNumber", "")
        to = "+86" + number if len(number) == 11 else "+" + number
        day = record.params.get("SendDate", "")
        matching = [m for m in self._stored(to)
                    if datetime.fromtimestamp(m["at"], BEIJING).strftime("%Y%m%d") == day]
        size = int(record.params.get("PageSize") or 10)
        page = int(record.params.get("CurrentPage") or 1)
        shown = matching[(page - 1) * size: page * size]
        details = [{"PhoneNum": number, "SendStatus": 3, "ErrCode": "DELIVERED",
                    "TemplateCode": m["template"], "OutId": m["ref"],
                    "Content": json.dumps(m["params"], ensure_ascii=False),
                    "SendDate": datetime.fromtimestamp(m["at"], BEIJING).strftime(
                        "%Y-%m-%d %H:%M:%S")} for m in shown]
        return 200, {"Code": "OK", "Message": "OK", "RequestId": "req",
                     "TotalCount": len(matching),
                     "SmsSendDetailDTOs": {"SmsSendDetailDTO": details}}


class TencentDouble(_CloudDouble):
    name = "tencent"
    SEND, LOOKUP = "SendSms", "PullSmsSendStatusByPhoneNumber"

    def __init__(self, secret_id: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.secret_id = secret_id

    def app_config(self) -> dict:
        return {"SMS_BACKEND": "tencent", "TENCENTCLOUD_SECRET_ID": self.secret_id or "AKID",
                "TENCENTCLOUD_SECRET_KEY": "test-secret", "TENCENT_SMS_SDK_APP_ID": "1400000001",
                "TENCENT_SMS_SIGN_NAME": SIGN_NAMES["tencent"], "TENCENT_SMS_ENDPOINT": self.url,
                "SMS_TEMPLATES": TEMPLATES}

    @staticmethod
    def _to(params: dict) -> str:
        return (params.get("PhoneNumberSet") or [""])[0]

    def answer(self, record: RecordedRequest) -> tuple[int, dict]:
        failure = self._take_failure()
        if failure:
            return failure, {"message": "scripted failure"}
        authorization = record.headers.get("Authorization", "")
        if self.secret_id and f"Credential={self.secret_id}/" not in authorization:
            return 200, _tc_error("AuthFailure.SecretIdNotFound", "The SecretId is not found.")
        if record.action == "SendSms":
            return self._send(record)
        if record.action == "PullSmsSendStatusByPhoneNumber":
            return self._pull(record)
        return 200, _tc_error("InvalidAction", record.action)

    def _send(self, record: RecordedRequest) -> tuple[int, dict]:
        to = self._to(record.params)
        context = record.params.get("SessionContext", "")
        with self._lock:
            refused = self._number_failures.get(to)
        if refused:
            status = {"SerialNo": "", "PhoneNumber": to, "Fee": 0, "SessionContext": context,
                      "Code": refused, "Message": "refused", "IsoCode": "CN"}
        else:
            message = {"to": to, "sign": record.params.get("SignName"),
                       "template": record.params.get("TemplateId"),
                       "params": record.params.get("TemplateParamSet") or [],
                       "app": record.params.get("SmsSdkAppId"), "ref": context}
            self._accept(record, message)
            status = {"SerialNo": message["id"], "PhoneNumber": to, "Fee": 1,
                      "SessionContext": context, "Code": "Ok", "Message": "send success",
                      "IsoCode": "CN"}
        return 200, {"Response": {"SendStatusSet": [status], "RequestId": "req"}}

    def _new_id(self) -> str:
        return f"2028:{secrets.randbelow(10**18):018d}"

    def _pull(self, record: RecordedRequest) -> tuple[int, dict]:
        to = record.params.get("PhoneNumber", "")
        begin = int(record.params.get("BeginTime") or 0)
        end = int(record.params.get("EndTime") or 2**40)
        now = self.clock()
        shown = [m for m in self._stored(to)
                 if begin <= m["at"] <= end and m["at"] + self.receipt_lag <= now]
        offset, limit = int(record.params.get("Offset") or 0), int(record.params.get("Limit")
                                                                   or 100)
        statuses = [{"UserReceiveTime": datetime.fromtimestamp(m["at"], BEIJING).strftime(
                        "%Y-%m-%d %H:%M:%S"), "CountryCode": "86",
                     "SubscriberNumber": to[3:], "PhoneNumber": to, "SerialNo": m["id"],
                     "ReportStatus": "SUCCESS", "Description": "DELIVRD",
                     "SessionContext": m["ref"]} for m in shown[offset: offset + limit]]
        return 200, {"Response": {"PullSmsSendStatusSet": statuses, "RequestId": "req"}}


def _tc_error(code: str, message: str) -> dict:
    return {"Response": {"Error": {"Code": code, "Message": message}, "RequestId": "req"}}


class _Handler(BaseHTTPRequestHandler):
    owner: _CloudDouble
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # noqa: N802 (the base class's name)
        owner = self.owner
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode("utf-8") if length else ""
        url = urlsplit(self.path)
        if isinstance(owner, TencentDouble):
            action = self.headers.get("X-TC-Action", "")
            try:
                params = json.loads(raw) if raw else {}
            except ValueError:
                params = {}
        else:
            action = self.headers.get("x-acs-action", "")
            params = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
            params.update({k: v[-1] for k, v in parse_qs(raw).items()})
        record = RecordedRequest(action, params, dict(self.headers), time.time())
        with owner._lock:
            owner._requests.append(record)
            hold = owner._holds.pop(0) if owner._holds and action == owner.SEND else None
        if hold is not None:
            hold.request = record
            hold.reached.set()
            hold.released.wait(60)
        if owner.delay:
            time.sleep(owner.delay)
        status, body = owner.answer(record)
        record.response, record.answered_status, record.answered_at = body, status, time.time()
        if record.dropped:
            self.close_connection = True
            return
        payload = json.dumps(body, ensure_ascii=False).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def log_message(self, format, *args):  # noqa: A002  (the base class's name)
        pass


def start_double(backend: str) -> _CloudDouble:
    """A started stand-in for `backend` ("aliyun" or "tencent") that checks the keys its
    app_config() gives."""
    if backend == "aliyun":
        return AliyunDouble(access_key_id="LTAI-test").start()
    return TencentDouble(secret_id="AKID-test").start()
