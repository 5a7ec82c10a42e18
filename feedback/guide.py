"""The service guide (办事指南) of the disclosure pages, in Chinese and English.

Long legal text is kept here as reviewed pairs rather than as scattered message ids, so
that the two languages are checked together against the sources:
- 《婚姻登记条例》(国务院令第804号, in force 2025-05-10): 全国通办 for mainland residents;
  the resident identity card and a signed declaration for marriage, the identity card and
  the marriage certificate for divorce (the 户口簿 is no longer required); registration is
  free of charge (不得收取费用).
- 民法典 art. 1046-1049 (marriage), art. 1076-1078 (divorce by agreement, cooling-off).
- 婚姻登记工作规范: declarations signed before the registrar, reissue.
What to bring comes from offices.documents, the one source for every page, answer and SMS.
The interface headings around this text use `_()` like every other page.
"""

from __future__ import annotations

from flask import current_app

from core.i18n import current_language
from offices.documents import CROSS_BORDER_KINDS, MAINLAND, documents_by_kind

Text = tuple[str, str]  # (Chinese, English)

FREE_OF_CHARGE: Text = (
    "婚姻登记不收取任何费用：预约、取号、结婚登记、离婚登记和补领婚姻登记证均免费"
    "（《婚姻登记条例》规定婚姻登记机关办理婚姻登记不得收取费用）。如有人以任何名义收费，请拨打监督电话。",
    "Marriage registration is free of charge: booking, queue numbers, marriage and divorce "
    "registration and the reissue of certificates cost nothing (the Marriage Registration "
    "Regulations forbid registration offices to charge any fee). If anyone asks you for "
    "money, please call the supervision number.")

NATIONWIDE: Text = (
    "自2025年5月10日起婚姻登记“全国通办”：内地居民可以在全国任一婚姻登记机关办理结婚登记和离婚登记，"
    "不再需要户口簿。",
    "Since 10 May 2025 marriage registration is nationwide: mainland residents may register "
    "a marriage or a divorce at any registration office in the country, and the household "
    "register (hukou booklet) is no longer required.")

CROSS_BORDER_HERE: Text = (
    "本登记处受理涉外、涉港澳台居民及华侨的婚姻登记。",
    "This office registers marriages and divorces involving foreign nationals, residents of "
    "Hong Kong, Macao or Taiwan, and overseas Chinese.")

CROSS_BORDER_ELSEWHERE: Text = (
    "涉外、涉港澳台居民及华侨的婚姻登记由省民政厅指定的登记机关办理，本登记处不受理，请到：{offices}。",
    "Registrations involving foreign nationals, residents of Hong Kong, Macao or Taiwan, or "
    "overseas Chinese are handled only by offices designated by the province, not by this "
    "office. Please go to: {offices}.")

def _marriage() -> dict:
    ages = current_app.config.get("MARRIAGE_MIN_AGE", {"M": 22, "F": 20})
    return {
        "conditions": [
            ("男女双方完全自愿。", "Both the man and the woman marry of their own free will."),
            (f"男方年满{ages['M']}周岁，女方年满{ages['F']}周岁（按登记当日计算，生日当天即已满）。",
             f"The man is at least {ages['M']} and the woman at least {ages['F']} on the day "
             "of registration (the birthday itself counts)."),
            ("双方均无配偶（未婚、离婚或丧偶）。",
             "Neither has a spouse (never married, divorced or widowed)."),
            ("双方没有直系血亲和三代以内旁系血亲关系。",
             "You are not related by direct blood or by collateral blood within three "
             "generations."),
            ("双方须亲自到场共同申请，不能委托他人代办。",
             "Both of you come in person; nobody can apply for you."),
        ],
        "procedure": [
            ("网上预约办理时间（也可以现场取号，预约的优先办理）。",
             "Book a time online (or take a number on the day; booked couples go first)."),
            ("双方带齐材料到导办台签到，领取排队号。",
             "Both of you check in at the front desk with your documents and take a number."),
            ("叫号后到指定窗口，登记员查验证件、询问情况。",
             "When your number is called, go to the window: the registrar checks your "
             "documents and asks a few questions."),
            ("双方在登记员面前填写并亲自签署《申请结婚登记声明书》。",
             "Each of you fills in and signs the marriage application declaration in front "
             "of the registrar."),
            ("符合条件的当场登记，发给结婚证；不符合条件的，登记员当场说明不予登记的理由。",
             "If you meet the conditions you are registered on the spot and receive your "
             "marriage certificates; if not, the registrar tells you why."),
            ("可自愿参加免费的颁证仪式。", "You may take part in a free certificate ceremony."),
        ],
    }


def _divorce() -> dict:
    return {
        "conditions": [
            ("双方自愿离婚，并已对子女抚养、财产及债务处理等事项协商一致，签订书面离婚协议。",
             "Both of you want the divorce and have agreed in writing on the care of "
             "children, property and debts (a divorce agreement)."),
            ("双方均具有完全民事行为能力。", "Both of you have full civil capacity."),
            ("持有内地婚姻登记机关或者中华人民共和国驻外使（领）馆颁发的结婚证。",
             "You hold a marriage certificate issued by a mainland registration office or by "
             "a Chinese embassy or consulate."),
            ("双方须亲自到场共同申请。", "Both of you come in person and apply together."),
        ],
        "procedure": [
            ("预约后双方到场签到取号，登记员查验证件和离婚协议书。",
             "After booking, both of you check in and take a number; the registrar checks "
             "your documents and the divorce agreement."),
            ("双方填写《离婚登记申请书》，符合条件的当场受理，发给《离婚登记申请受理回执单》。",
             "You fill in the divorce application; if it can be accepted you receive the "
             "acceptance receipt on the spot."),
            ("自受理之日的次日起30日为离婚冷静期；其间任何一方不愿离婚的，可以持本人身份证件和回执单向受理的登记处撤回申请。",
             "A 30-day cooling-off period starts the day after acceptance; during it either "
             "of you may withdraw the application at the accepting office with your ID "
             "document and the receipt."),
            ("冷静期届满后30日内（期限末日为法定节假日的顺延至节后第一个工作日），双方共同到受理的登记处申请发给离婚证；逾期未申请的，视为撤回离婚登记申请。",
             "Within 30 days after the cooling-off period (a last day that falls on a public "
             "holiday moves to the next working day) both of you come back to the accepting "
             "office for the divorce certificate; otherwise the application is deemed "
             "withdrawn."),
        ],
    }


def _divorce_certificate() -> dict:
    return {
        "conditions": [
            ("离婚冷静期已届满，且在届满后的30日内（末日为法定节假日的顺延）。",
             "The 30-day cooling-off period has ended and you come within the following 30 "
             "days (a last day on a public holiday moves to the next working day)."),
            ("在受理离婚登记申请的登记处办理，双方均未撤回申请。",
             "At the office that accepted the application, which neither of you withdrew."),
            ("双方须亲自到场共同申请，并仍自愿离婚、对离婚协议无异议。",
             "Both of you come in person, still want the divorce and still agree to the "
             "divorce agreement."),
        ],
        "procedure": [
            ("预约后双方到场签到取号。", "After booking, both of you check in and take a number."),
            ("登记员查验证件、回执单和离婚协议书，询问双方意愿。",
             "The registrar checks your documents, the receipt and the agreement, and asks "
             "both of you whether you still want the divorce."),
            ("符合条件的予以登记，当场发给离婚证；不符合条件的说明理由。",
             "If all is in order the divorce is registered and you receive your divorce "
             "certificates on the spot; if not, the registrar tells you why."),
        ],
    }


def _reissue() -> dict:
    return {
        "conditions": [
            ("结婚证或者离婚证遗失、损毁。", "Your marriage or divorce certificate was lost or damaged."),
            ("当事人依法登记结婚或者离婚，现在仍维持该婚姻状况；状况已改变（如已离婚、复婚或丧偶）的，不补发证件，可以申请出具婚姻登记记录证明。",
             "You registered the marriage or divorce and your status has not changed since; "
             "if it has (divorced, remarried or widowed), no certificate is reissued but you "
             "may ask for a certificate of the registration record."),
            ("登记处能够查证婚姻登记档案；档案遗失的，需提交能够证明婚姻状况的证明材料。",
             "The office can verify the registration record; if the record is lost, bring "
             "papers that prove your marital status."),
            ("补领结婚证的，双方一般应共同到场；补领离婚证的，本人到场即可。因故不能到场的，可以委托他人办理，需提交经公证的委托书和当事人身份证件复印件，受托人带本人身份证件。",
             "For a marriage certificate both spouses normally come together; for a divorce "
             "certificate you come yourself. If you cannot come, someone may apply for you "
             "with a notarised power of attorney and a copy of your ID document, bringing "
             "their own ID document."),
        ],
        "procedure": [
            ("预约后到场签到取号，在窗口填写《申请补领婚姻登记证声明书》。",
             "After booking, check in, take a number and fill in the reissue declaration at "
             "the window."),
            ("登记员查证婚姻登记档案，确认属实的当场补发证件。",
             "The registrar verifies the registration record and, if it is confirmed, "
             "reissues the certificate on the spot."),
        ],
    }


def _counseling() -> dict:
    """婚姻家庭辅导: a duty of the office under the 2025 婚姻登记条例; free of charge."""
    return {
        "conditions": [
            ("婚前、婚后或离婚冷静期内，一方或双方均可预约，免费。",
             "Before or after marriage, or during the divorce cooling-off period; one of you "
             "or both may book. Free of charge."),
        ],
        "procedure": [
            ("预约后按时到场签到取号，由婚姻家庭辅导员在辅导室提供咨询，谈话内容保密。",
             "After booking, check in and take a number; a counsellor sees you in the "
             "counselling room. What you say stays confidential."),
        ],
    }


def _ceremony() -> dict:
    """颁证仪式: offered to couples who register here that day."""
    return {
        "conditions": [
            ("仅为当天在本登记处预约结婚登记的新人安排：先预约结婚登记，再预约同一天的颁证仪式。",
             "Only for couples with a marriage registration booked here on the same day: "
             "book the registration first, then the ceremony on that day."),
            ("5·20、七夕等高峰日举办集体颁证仪式。",
             "On peak days such as 20 May and Qixi the office holds group ceremonies."),
        ],
        "procedure": [
            ("办完结婚登记后到颁证厅签到，由颁证员为双方颁发结婚证。",
             "After the registration, check in at the ceremony hall, where a registrar "
             "presents your marriage certificates."),
        ],
    }


_BUILDERS = {"marriage": _marriage, "divorce": _divorce,
             "divorce-certificate": _divorce_certificate, "reissue": _reissue,
             "counseling": _counseling, "ceremony": _ceremony}


def pick(text: Text, language: str | None = None) -> str:
    """The Chinese or the English of a pair, by the request's language."""
    language = language or current_language()
    return text[1] if language.startswith("en") else text[0]


def has_guide(service_code: str) -> bool:
    return service_code in _BUILDERS


def service_guide(service_code: str, cross_border: bool, language: str | None = None) -> dict:
    """{"conditions": [str], "procedure": [str], "documents": [(kind label, [str])]} in the
    request's language; cross-border applicant kinds only where the office takes them."""
    data = _BUILDERS[service_code]()
    kinds = [MAINLAND, *(CROSS_BORDER_KINDS if cross_border else ())]
    return {
        "conditions": [pick(item, language) for item in data["conditions"]],
        "procedure": [pick(item, language) for item in data["procedure"]],
        "documents": documents_by_kind(service_code, kinds, language),  # the one source
    }
