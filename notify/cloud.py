"""The mainland SMS backends: `aliyun` (Alibaba Cloud SMS, its official SDK
alibabacloud-dysmsapi20170525) and `tencent` (Tencent Cloud SMS, tencentcloud-sdk-python-sms).

Both send a registered signature (签名) and a pre-approved template (模板) whose
parameters we fill; free text is refused. The template of a message kind comes from
SMS_TEMPLATES (`XIYUE_SMS_TEMPLATES`, JSON: kind -> template id, or kind -> {"zh_CN": id,
"en": id}); the parameter values come from the message (`OutboxMessage.params`, written by
`notify.outbox.queue_sms` from `notify.messages.render`). A kind without a template, or a
message without parameters, is not sent: it fails at once with error_code `no_template`
or `no_params`, and the outbox page says so.

Each provider's codes are mapped as the dispatcher needs them (docs/sms.md "Alibaba Cloud
and Tencent Cloud"): a final error (invalid number, template or signature not approved …)
is a PermanentError; flow control, daily limits, balance and account problems are a
RetryableError that proves the provider refused the message (a definite refusal: the next
attempt sends without a look-up); network errors, timeouts and 5xx answers leave the
outcome unknown, and before the next attempt `find_sent` asks the provider's status query
(Alibaba Cloud QuerySendDetails, Tencent Cloud PullSmsSendStatusByPhoneNumber) whether it
has the message. Our message id goes with each send (Alibaba Cloud `OutId`, Tencent Cloud
`SessionContext`) and comes back in the status query and the delivery receipts, so the
look-up finds exactly that message."""

import json
import logging
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from core.clock import utcnow, zone
from notify.messages import ZH, provider_values
from notify.sender import (
    ConfigurationError,
    PermanentError,
    RetryableError,
    SendError,
    SendResult,
    _one_line,
)
from notify.settings import number, setting

log = logging.getLogger(__name__)

ALIYUN_DEFAULT_ENDPOINT = "https://dysmsapi.aliyuncs.com"
TENCENT_DEFAULT_ENDPOINT = "https://sms.tencentcloudapi.com"
NO_TEMPLATE, NO_PARAMS = "no_template", "no_params"
SESSION_PREFIX = "xiyue:"  # Tencent Cloud SessionContext: "xiyue:<outbox id>"
DAILY_LIMIT_RETRY = timedelta(hours=1)  # a daily limit: try again in an hour, not in 30 s

# Alibaba Cloud: refusals that say nothing against the message (the provider did not take it)
ALIYUN_REFUSALS = frozenset({
    "isv.BUSINESS_LIMIT_CONTROL",  # flow control per number (per minute / hour / day)
    "isv.DAY_LIMIT_CONTROL",  # the account's daily limit
    "isv.AMOUNT_NOT_ENOUGH", "isv.OUT_OF_SERVICE", "isv.ACCOUNT_ABNORMAL",
    "isv.DENY_IP_RANGE", "isp.RAM_PERMISSION_DENY", "Throttling", "Throttling.User",
    "Throttling.Api", "InvalidAccessKeyId.NotFound", "InvalidAccessKeyId.Inactive",
    "SignatureDoesNotMatch", "Forbidden.RAM", "Forbidden",
})
ALIYUN_DAILY = frozenset({"isv.DAY_LIMIT_CONTROL"})
# Alibaba Cloud: its own failures, after which the message may or may not have been taken
ALIYUN_UNKNOWN = frozenset({"isp.SYSTEM_ERROR", "isv.SYSTEM_ERROR", "ServiceUnavailable",
                            "InternalError", "isp.GATEWAY_ERROR"})

# Tencent Cloud: refusals by prefix or by code; the rest of InternalError is unknown outcome
TENCENT_REFUSAL_PREFIXES = ("LimitExceeded.", "AuthFailure.", "RequestLimitExceeded")
TENCENT_REFUSALS = frozenset({
    "FailedOperation.InsufficientBalanceInSmsPackage",
    "UnauthorizedOperation.ServiceSuspendDueToArrears",
    "UnauthorizedOperation.RequestIpNotInWhitelist",
    "UnauthorizedOperation.RequestPermissionDeny",
    "UnauthorizedOperation.SmsSdkAppIdVerifyFail",
})
TENCENT_DAILY = frozenset({"LimitExceeded.DailyLimit", "LimitExceeded.PhoneNumberDailyLimit",
                           "LimitExceeded.AppDailyLimit", "LimitExceeded.AppGlobalDailyLimit",
                           "LimitExceeded.AppMainlandChinaDailyLimit",
                           "LimitExceeded.AppCountryOrRegionDailyLimit",
                           "LimitExceeded.PhoneNumberSameContentDailyLimit"})
TENCENT_UNKNOWN_PREFIXES = ("InternalError", "ServerNetworkError", "ClientNetworkError",
                            "FailedOperation.FailResolvePacket", "ResourceUnavailable")


def is_definite_refusal(code: str) -> bool:
    """A retryable error code of either provider that proves it did not take the message."""
    return (code in ALIYUN_REFUSALS or code in TENCENT_REFUSALS
            or code.startswith(TENCENT_REFUSAL_PREFIXES))


def _retry_later(code: str, message: str, daily: bool) -> RetryableError:
    error = RetryableError(code, message)
    error.retry_after = DAILY_LIMIT_RETRY if daily else None
    return error


def template_id(kind: str, language: str, config) -> str | None:
    """The provider's template for `kind` in `language` from SMS_TEMPLATES; a kind given one
    template uses it in both languages, a kind with only a Chinese one uses that."""
    templates = templates_setting(config)
    chosen = templates.get(kind)
    if isinstance(chosen, dict):
        english = language.startswith("en")
        chosen = (chosen.get("en") if english else None) or chosen.get(ZH) or chosen.get("zh")
    return str(chosen).strip() if chosen else None


def templates_setting(config) -> dict:
    """SMS_TEMPLATES as a dict (the environment gives JSON text). Raises ConfigurationError
    when it is no JSON object."""
    raw = setting("SMS_TEMPLATES", config)
    if raw in (None, ""):
        return {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise ConfigurationError("XIYUE_SMS_TEMPLATES is no JSON object") from None
    if not isinstance(raw, dict):
        raise ConfigurationError("XIYUE_SMS_TEMPLATES must be a JSON object: kind -> template")
    return raw


def _template(kind: str, params: str, config) -> tuple[str, dict]:
    """The template id and the parameter values of a message, or the PermanentError that
    says why it cannot be sent."""
    try:
        stored = json.loads(params) if params else None
    except ValueError:
        stored = None
    if not isinstance(stored, dict) or not isinstance(stored.get("values"), dict):
        raise PermanentError(NO_PARAMS, f"SMS {kind!r} was queued without template parameters")
    language = str(stored.get("language") or ZH)
    chosen = template_id(kind, language, config)
    if not chosen:
        raise PermanentError(NO_TEMPLATE, f"no template for {kind!r} in XIYUE_SMS_TEMPLATES")
    return chosen, provider_values(kind, language, stored["values"],
                                   setting("PUBLIC_BASE_URL", config))


def _endpoint(url: str) -> tuple[str, str]:
    """'https://host[:port]' -> ('host[:port]', 'https')."""
    parts = urlsplit(url if "://" in url else f"https://{url}")
    return parts.netloc, parts.scheme or "https"


def _missing(config, keys) -> list[str]:
    return [key for key in keys if not setting(key, config)]


def _local_day(moment: datetime):
    return moment.astimezone(zone()).date()


class AliyunSender:
    name = "aliyun"
    KEYS = ("ALIYUN_ACCESS_KEY_ID", "ALIYUN_ACCESS_KEY_SECRET", "ALIYUN_SMS_SIGN_NAME")

    def __init__(self, config):
        from alibabacloud_dysmsapi20170525.client import Client
        from alibabacloud_tea_openapi.utils_models import Config

        missing = _missing(config, self.KEYS)
        if missing:
            raise ConfigurationError("SMS_BACKEND=aliyun needs " + ", ".join(missing))
        templates_setting(config)  # a broken XIYUE_SMS_TEMPLATES stops the job, loudly
        host, protocol = _endpoint(setting("ALIYUN_SMS_ENDPOINT", config)
                                   or ALIYUN_DEFAULT_ENDPOINT)
        self.timeout_ms = int(number("SMS_HTTP_TIMEOUT_SECONDS", config) * 1000)
        self.client = Client(Config(
            access_key_id=setting("ALIYUN_ACCESS_KEY_ID", config),
            access_key_secret=setting("ALIYUN_ACCESS_KEY_SECRET", config),
            endpoint=host, protocol=protocol, read_timeout=self.timeout_ms,
            connect_timeout=self.timeout_ms))
        self.sign_name = setting("ALIYUN_SMS_SIGN_NAME", config)
        self.config = config
        self.key = f"aliyun:{self.sign_name}"

    def _runtime(self):
        from darabonba.runtime import RuntimeOptions

        return RuntimeOptions(read_timeout=self.timeout_ms, connect_timeout=self.timeout_ms)

    def send(self, message_id: int, to_phone: str, body: str, kind: str,
             status_callback: str | None = None, params: str = "") -> SendResult:
        from alibabacloud_dysmsapi20170525 import models

        template, values = _template(kind, params, self.config)
        request = models.SendSmsRequest(
            phone_numbers=aliyun_number(to_phone), sign_name=self.sign_name,
            template_code=template, template_param=json.dumps(values, ensure_ascii=False),
            out_id=str(message_id))
        answer = self._call(self.client.send_sms_with_options, request)
        if answer.code != "OK":
            raise classify_aliyun(answer.code, answer.message)
        log.info("SMS (aliyun) #%s, %s: %s", message_id, kind, answer.biz_id)
        return SendResult(sid=answer.biz_id or None, provider_status="sent")

    def find_sent(self, to_phone: str, body: str, since: datetime,
                  message_id: int | None = None) -> list[SendResult]:
        """QuerySendDetails for the number on each (Beijing) day since `since`: the records
        whose OutId is this message's id. Its answer has no BizId: a found message is
        recorded with none, and its receipt finds it by OutId."""
        from alibabacloud_dysmsapi20170525 import models

        found = []
        day, today = _local_day(since), _local_day(utcnow())
        while day <= today:
            page = 1
            while True:
                request = models.QuerySendDetailsRequest(
                    phone_number=aliyun_number(to_phone), send_date=day.strftime("%Y%m%d"),
                    page_size=50, current_page=page)
                answer = self._call(self.client.query_send_details_with_options, request)
                if answer.code != "OK":
                    raise classify_aliyun(answer.code, answer.message, looking_up=True)
                holder = answer.sms_send_detail_dtos
                details = (holder.sms_send_detail_dto if holder else None) or []
                for detail in details:
                    if str(detail.out_id or "") == str(message_id):
                        found.append(SendResult(None, _aliyun_status(detail.send_status)))
                if len(details) < 50 or page * 50 >= int(answer.total_count or 0):
                    break
                page += 1
            day += timedelta(days=1)
        return found

    def _call(self, method, request):
        from alibabacloud_tea_openapi.exceptions import AlibabaCloudException
        from darabonba.exceptions import UnretryableException

        try:
            return method(request, self._runtime()).body
        except AlibabaCloudException as error:
            status = error.status_code
            code = str(error.code or status or "aliyun")
            if isinstance(status, int) and status >= 500:
                raise RetryableError(code, _one_line(error.message)) from None
            raise classify_aliyun(code, error.message) from None
        except UnretryableException as error:
            text = _one_line(error)
            code = "timeout" if "timed out" in text.lower() or "timeout" in text.lower() \
                else "network"
            raise RetryableError(code, text) from None


def aliyun_number(phone: str) -> str:
    """Alibaba Cloud takes a mainland number as its 11 digits, any other with its country
    code and no '+'."""
    return phone[3:] if phone.startswith("+86") else phone.lstrip("+")


def _aliyun_status(send_status) -> str:
    # QuerySendDetails SendStatus: 1 waiting for the receipt, 2 failed, 3 delivered
    return {3: "delivered", 2: "undelivered"}.get(int(send_status or 1), "sent")


def classify_aliyun(code: str | None, message: str | None,
                    looking_up: bool = False) -> SendError:
    code = str(code or "aliyun")
    text = _one_line(message or code)
    if code in ALIYUN_REFUSALS:
        return _retry_later(code, text, code in ALIYUN_DAILY)
    if code in ALIYUN_UNKNOWN or looking_up:
        return RetryableError(code, text)
    return PermanentError(code, text)


class TencentSender:
    name = "tencent"
    KEYS = ("TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY", "TENCENT_SMS_SDK_APP_ID",
            "TENCENT_SMS_SIGN_NAME")

    def __init__(self, config):
        from tencentcloud.common import credential
        from tencentcloud.common.profile.client_profile import ClientProfile
        from tencentcloud.common.profile.http_profile import HttpProfile
        from tencentcloud.sms.v20210111 import sms_client

        missing = _missing(config, self.KEYS)
        if missing:
            raise ConfigurationError("SMS_BACKEND=tencent needs " + ", ".join(missing))
        templates_setting(config)
        host, protocol = _endpoint(setting("TENCENT_SMS_ENDPOINT", config)
                                   or TENCENT_DEFAULT_ENDPOINT)
        timeout = number("SMS_HTTP_TIMEOUT_SECONDS", config)
        profile = ClientProfile(httpProfile=HttpProfile(endpoint=host, protocol=protocol,
                                                        reqTimeout=timeout))
        self.client = sms_client.SmsClient(
            credential.Credential(setting("TENCENTCLOUD_SECRET_ID", config),
                                  setting("TENCENTCLOUD_SECRET_KEY", config)),
            setting("TENCENT_SMS_REGION", config) or "ap-guangzhou", profile)
        self.app_id = str(setting("TENCENT_SMS_SDK_APP_ID", config))
        self.sign_name = setting("TENCENT_SMS_SIGN_NAME", config)
        self.config = config
        self.key = f"tencent:{self.app_id}"
        # The status query only shows messages whose receipt has come: until then, not
        # finding a message says nothing (docs/sms.md).
        self.absence_conclusive_after = timedelta(
            seconds=number("TENCENT_SMS_RECEIPT_WAIT_SECONDS", config))

    def send(self, message_id: int, to_phone: str, body: str, kind: str,
             status_callback: str | None = None, params: str = "") -> SendResult:
        from tencentcloud.sms.v20210111 import models

        template, values = _template(kind, params, self.config)
        request = models.SendSmsRequest()
        request.PhoneNumberSet = [to_phone]
        request.SmsSdkAppId = self.app_id
        request.SignName = self.sign_name
        request.TemplateId = template
        request.TemplateParamSet = list(values.values())  # {1}, {2} … in the text's order
        request.SessionContext = f"{SESSION_PREFIX}{message_id}"
        answer = self._call(self.client.SendSms, request)
        statuses = answer.SendStatusSet or []
        if not statuses:
            raise RetryableError("InternalError", "SendSms answered no SendStatusSet")
        status = statuses[0]
        if str(status.Code) != "Ok":
            raise classify_tencent(status.Code, status.Message)
        log.info("SMS (tencent) #%s, %s: %s", message_id, kind, status.SerialNo)
        return SendResult(sid=status.SerialNo or None, provider_status="sent")

    def find_sent(self, to_phone: str, body: str, since: datetime,
                  message_id: int | None = None) -> list[SendResult]:
        """PullSmsSendStatusByPhoneNumber since `since`: the receipts whose SessionContext
        names this message."""
        from tencentcloud.sms.v20210111 import models

        found, offset = [], 0
        while True:
            request = models.PullSmsSendStatusByPhoneNumberRequest()
            request.BeginTime = int(since.timestamp())
            request.EndTime = int(utcnow().timestamp()) + 60
            request.Offset = offset
            request.Limit = 100
            request.PhoneNumber = to_phone
            request.SmsSdkAppId = self.app_id
            answer = self._call(self.client.PullSmsSendStatusByPhoneNumber, request,
                                looking_up=True)
            statuses = answer.PullSmsSendStatusSet or []
            for status in statuses:
                if status.SessionContext == f"{SESSION_PREFIX}{message_id}":
                    found.append(SendResult(
                        status.SerialNo or None,
                        "delivered" if status.ReportStatus == "SUCCESS" else "undelivered"))
            if len(statuses) < 100:
                return found
            offset += 100

    def _call(self, method, request, looking_up: bool = False):
        from tencentcloud.common.exception.tencent_cloud_sdk_exception import (
            TencentCloudSDKException,
        )

        try:
            return method(request)
        except TencentCloudSDKException as error:
            raise classify_tencent(error.get_code(), error.get_message(),
                                   looking_up=looking_up) from None


def classify_tencent(code: str | None, message, looking_up: bool = False) -> SendError:
    code = str(code or "tencent")
    if isinstance(message, bytes):
        message = message.decode("utf-8", "replace")
    text = _one_line(message or code)
    if code == "ClientNetworkError" and "timed out" in text.lower():
        return RetryableError("timeout", text)
    if code in TENCENT_REFUSALS or code.startswith(TENCENT_REFUSAL_PREFIXES):
        return _retry_later(code, text, code in TENCENT_DAILY)
    if code.startswith(TENCENT_UNKNOWN_PREFIXES) or looking_up:
        return RetryableError(code, text)
    return PermanentError(code, text)
