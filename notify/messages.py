"""Message texts, Chinese by default and English where the person chose English. Each
function takes plain values (notify knows no feature) and returns the text; keep them short
and always name the office (core.i18n.localized(office, "name", language) names it in the
person's language)."""

from datetime import date

from core.i18n import is_english

ZH, EN = "zh_CN", "en"

TEXTS = {
    "booking_confirmed": {
        ZH: "【{office}】您已预约{date} {start}办理{service}，预约码{code}。"
            "请双方携带身份证件按时到场，免费办理。管理预约：{link}",
        EN: "[{office}] Booked: {service} on {date} at {start}, code {code}. Both bring ID "
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


# What to bring, per service (the day-before reminder names them).
DOCUMENTS = {
    "marriage": {ZH: "双方本人有效身份证件、3张2寸近期半身免冠双人合影照片",
                 EN: "both partners' valid ID documents and 3 recent 2-inch photos of "
                     "the two of you"},
    "divorce": {ZH: "双方本人有效身份证件、结婚证、双方签名的离婚协议书",
                EN: "both parties' valid ID documents, the marriage certificate and the "
                    "divorce agreement signed by both"},
    "divorce-certificate": {ZH: "双方本人有效身份证件、结婚证、离婚登记申请受理回执单",
                            EN: "both parties' valid ID documents, the marriage certificate "
                                "and the receipt of the divorce application"},
    "reissue": {ZH: "本人有效身份证件、2寸近期半身免冠照片",
                EN: "your valid ID document and recent 2-inch photos"},
    "counseling": {ZH: "本人有效身份证件；离婚冷静期内的可带离婚登记申请受理回执单",
                   EN: "your valid ID document; during the cooling-off period, the receipt "
                       "of the divorce application"},
    "ceremony": {ZH: "双方本人有效身份证件、当天领取的结婚证",
                 EN: "both partners' valid ID documents and the marriage certificates "
                     "received that day"},
}
DEFAULT_DOCUMENTS = {ZH: "本人有效身份证件", EN: "your valid ID documents"}

SYSTEM_SENDER = {ZH: "喜约", EN: "Xiyue"}  # replies that belong to no single office


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def documents(service_code: str, language: str = ZH) -> str:
    texts = DOCUMENTS.get(service_code, DEFAULT_DOCUMENTS)
    return texts[EN] if is_english(language) else texts[ZH]


def format_date(day: date, language: str = ZH) -> str:
    """5月20日 / 20 May: short, and SMS never names a date more than a few weeks away."""
    if is_english(language):
        return f"{day.day} {_MONTHS[day.month - 1]}"
    return f"{day.month}月{day.day}日"


def render(kind: str, language: str = ZH, **values) -> str:
    """The text of `kind` in `language` (English for 'en…', Chinese otherwise), filled
    with `values`. Unknown kinds and missing values raise KeyError naming them."""
    try:
        texts = TEXTS[kind]
    except KeyError:
        raise KeyError(f"no SMS text for kind {kind!r}") from None
    template = texts[EN] if is_english(language) else texts[ZH]
    try:
        return template.format(**values)
    except KeyError as missing:
        raise KeyError(f"SMS {kind!r} needs the value {missing.args[0]!r}") from None
