"""Message texts, Chinese by default and English where the person chose English. Each
function takes plain values (notify knows no feature) and returns the text; keep them short
and always name the office (core.i18n.localized(office, "name", language) names it in the
person's language).

TEXTS is the one definition of each message kind: its Chinese and English text, and with it
the kind's named parameters (the `{name}` fields, in the order of the text) that a
template provider (Alibaba Cloud, Tencent Cloud) fills into the template registered for the
kind. `provider_template` gives the text to register with a provider, `flask sms templates`
prints them all (docs/sms.md)."""

import string
from dataclasses import dataclass
from datetime import date

from flask import current_app, has_app_context

from core.i18n import is_english

ZH, EN = "zh_CN", "en"

TEXTS = {
    "booking_confirmed": {
        ZH: "【{office}】您已预约{date} {start}办理{service}，预约码{code}。"
            "请携带身份证件按时到场，免费办理。管理预约：{link}",
        EN: "[{office}] Booked: {service} on {date} at {start}, code {code}. Bring your ID "
            "documents; the service is free. Manage: {link}",
    },
    "booking_rescheduled": {
        ZH: "【{office}】您的预约已改至{date} {start}（{service}），预约码{code}。管理预约：{link}",
        EN: "[{office}] Your appointment moved to {date} at {start} ({service}), code {code}. "
            "Manage: {link}",
    },
    "booking_cancelled": {
        ZH: "【{office}】您{date} {start}的{service}预约已取消。如需办理请重新预约：{link}",
        EN: "[{office}] Your {service} appointment on {date} at {start} is cancelled. "
            "Book again: {link}",
    },
    "cancelled_by_office": {
        ZH: "【{office}】因{reason}，您{date} {start}的{service}预约已取消，"
            "给您带来不便深表歉意。请重新预约：{link}",
        EN: "[{office}] Sorry: your {service} appointment on {date} at {start} is cancelled "
            "({reason}). Please book again: {link}",
    },
    "reminder": {
        ZH: "【{office}】提醒：您明天{date} {start}预约办理{service}，地址：{address}。"
            "请携带：{documents}。预约码{code}。",
        EN: "[{office}] Reminder: {service} tomorrow {date} at {start}, {address}. "
            "Bring: {documents}. Code {code}.",
    },
    "near_turn": {
        ZH: "【{office}】您的号码{number}前面还有{ahead}人，请到候登大厅等候叫号。",
        EN: "[{office}] {ahead} people are ahead of your number {number}; please wait in "
            "the hall.",
    },
    "called": {
        ZH: "【{office}】请{number}号到{window}号窗口办理。",
        EN: "[{office}] Number {number}, please go to window {window}.",
    },
    "hours_extended": {
        ZH: "【{office}】今天延时服务至{until}，请您安心等候，我们会为您办完再下班。",
        EN: "[{office}] We are open today until {until}; everyone waiting will be served.",
    },
    "step2_opens": {
        ZH: "【{office}】您的离婚冷静期已届满，可于{from_date}至{until}期间双方共同到场申请发给离婚证，"
            "逾期视为撤回离婚登记申请。",
        EN: "[{office}] The cooling-off period has ended: both parties may apply for the "
            "divorce certificate from {from_date} to {until}; after that the application "
            "is deemed withdrawn.",
    },
    "counseling_offer": {
        ZH: "【{office}】离婚冷静期内，本登记处免费提供婚姻家庭辅导（一方或双方均可），"
            "如有需要请预约：{link}",
        EN: "[{office}] During the cooling-off period we offer free marriage and family "
            "counselling, for one or both of you. Book: {link}",
    },
    "step2_closing": {
        ZH: "【{office}】提醒：申请发给离婚证的期限将于{until}届满，逾期视为撤回离婚登记申请。",
        EN: "[{office}] Reminder: the period to apply for the divorce certificate ends "
            "{until}; after that the application is deemed withdrawn.",
    },
    "rate_service": {
        ZH: "【{office}】感谢您的办理，欢迎对本次服务进行评价：{link}",
        EN: "[{office}] Thank you. Please rate our service: {link}",
    },
    "opted_out": {
        ZH: "【{office}】您已退订提醒类短信。与您本人操作相关的预约确认、改约、取消短信仍会发送。"
            "回复“订阅”可恢复。",
        EN: "[{office}] You will get no more reminders. Confirmations of your own bookings, "
            "changes and cancellations still come. Reply START to resume.",
    },
    "opted_in": {
        ZH: "【{office}】您已恢复接收提醒短信。回复“退订”或TD可退订。",
        EN: "[{office}] Reminders are on again. Reply STOP to stop them.",
    },
    "sms_help": {
        ZH: "【{office}】回复“退订”或TD退订提醒短信，回复“订阅”恢复。预约及咨询请联系办理的婚姻登记处。",
        EN: "[{office}] Reply STOP to stop reminders, START to resume. For your appointment, "
            "please call the registration office.",
    },
    "suggestion_reply": {
        ZH: "【{office}】您提交的意见已答复：{reply}",
        EN: "[{office}] Reply to your suggestion: {reply}",
    },
}


# Answers to an incoming SMS (Twilio's TwiML reply), never queued: no provider template
REPLY_KINDS = frozenset({"opted_out", "opted_in", "sms_help"})


SYSTEM_SENDER = {ZH: "喜约", EN: "Xiyue"}  # replies that belong to no single office


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def format_date(day: date, language: str = ZH) -> str:
    """5月20日 / 20 May: short, and SMS never names a date more than a few weeks away."""
    if is_english(language):
        return f"{day.day} {_MONTHS[day.month - 1]}"
    return f"{day.month}月{day.day}日"


class SmsText(str):
    """A rendered message: the text itself (what the console and Twilio send), and what a
    template provider needs instead: the kind, the language and the parameter values.
    `notify.outbox.queue_sms` keeps them with the message."""

    kind: str
    language: str
    values: dict

    def __new__(cls, text: str, kind: str, language: str, values: dict):
        self = super().__new__(cls, text)
        self.kind, self.language, self.values = kind, language, values
        return self


def render(kind: str, language: str = ZH, **values) -> SmsText:
    """The text of `kind` in `language` (English for 'en…', Chinese otherwise), filled
    with `values`. Unknown kinds and missing values raise KeyError naming them."""
    language = EN if is_english(language) else ZH
    template = _texts(kind)[language]
    try:
        text = template.format(**values)
    except KeyError as missing:
        raise KeyError(f"SMS {kind!r} needs the value {missing.args[0]!r}") from None
    return SmsText(text, kind, language,
                   {name: str(values[name]) for name in parameters(kind, language)})


def _texts(kind: str) -> dict:
    try:
        return TEXTS[kind]
    except KeyError:
        raise KeyError(f"no SMS text for kind {kind!r}") from None


# --- templates at Alibaba Cloud and Tencent Cloud -------------------------------------------

ALIYUN, TENCENT = "aliyun", "tencent"
LINK = "link"  # the one parameter that is the end of a link: the template holds the rest


@dataclass(frozen=True)
class Parameter:
    """What a provider is told about a template variable when the template is registered:
    the variable's type in its console (变量属性), and the longest value we send. Alibaba
    Cloud allows 1-35 characters per variable of a notification template; Tencent Cloud
    does not limit a variable's length for enterprise accounts (the only ones that may
    send to mainland numbers), but never takes a link in a variable."""

    aliyun_type: str
    tencent_type: str
    max_length: int = 35


PARAMETERS = {
    "office": Parameter("其他（名称）", "其他"),
    "service": Parameter("其他（名称）", "其他"),
    "date": Parameter("时间", "时间", 20),
    "start": Parameter("时间", "时间", 5),
    "from_date": Parameter("时间", "时间", 20),
    "until": Parameter("时间", "时间", 20),
    "code": Parameter("其他号码", "其他号码", 12),
    "number": Parameter("其他号码", "其他号码", 12),
    "window": Parameter("其他号码", "其他号码", 8),
    "ahead": Parameter("数字", "数字", 6),
    "address": Parameter("地址", "地址"),
    "documents": Parameter("其他", "其他"),
    "reason": Parameter("其他", "其他"),
    "reply": Parameter("其他", "其他"),
    LINK: Parameter("链接参数", "其他", 64),
}


def parameters(kind: str, language: str = ZH) -> list[str]:
    """The named parameters of `kind` in `language`, in the order of its text (Tencent
    Cloud's templates number them {1}, {2} … in this order)."""
    text = _texts(kind)[EN if is_english(language) else ZH]
    names = []
    for _literal, name, _spec, _conversion in string.Formatter().parse(text):
        if name and name not in names:
            names.append(name)
    return names


def provider_values(kind: str, language: str, values: dict, base_url: str | None = None,
                    ) -> dict[str, str]:
    """The values a provider fills into the template of `kind`: each at most its
    parameter's length (a longer one is cut, ending in "…"), and the link without the
    public origin, which the registered template holds as fixed text."""
    base = _base_url(base_url)
    result = {}
    for name in parameters(kind, language):
        value = str(values.get(name, ""))
        if name == LINK and base and value.startswith(base + "/"):
            value = value[len(base) + 1:]
        limit = PARAMETERS[name].max_length if name in PARAMETERS else 35
        result[name] = value if len(value) <= limit else value[:limit - 1] + "…"
    return result


def provider_template(kind: str, language: str, provider: str,
                      base_url: str | None = None) -> str:
    """The text to register for `kind` with `provider`: our text without the leading
    【office】 ([office] in English) (the provider puts the registered signature there, and a template may hold
    no 【】), the office named as its first words, the link's origin fixed, and each
    parameter as the provider writes it: ${name} at Alibaba Cloud, {1}, {2} … at Tencent
    Cloud."""
    language = EN if is_english(language) else ZH
    text = _texts(kind)[language]
    for prefix in ("【{office}】", "[{office}] "):
        if text.startswith(prefix):
            text = "{office}" + ("：" if language == ZH else ": ") + text[len(prefix):]
    text = text.replace("{" + LINK + "}", _base_url(base_url) + "/{" + LINK + "}")
    names = parameters(kind, language)
    if provider == TENCENT:
        fields = {name: "{" + str(position) + "}" for position, name in enumerate(names, 1)}
    else:
        fields = {name: "${" + name + "}" for name in names}
    return text.format(**fields)


def _base_url(base_url: str | None) -> str:
    if base_url is None and has_app_context():
        base_url = current_app.config.get("PUBLIC_BASE_URL")
    return (base_url or "").rstrip("/")
