"""What to bring (所需材料): the one source, per service and per kind of party, used by
GET /services, the booking answer, the booking, manage and print pages, the reminder SMS
and the service guide (docs/domain.md §6).

Sources: 《婚姻登记条例》(国务院令第804号, in force 2025-05-10: no 户口簿 any more);
婚姻登记工作规范 (photos: 2-inch, bareheaded; three joint photos for marriage, two single
photos of each party for the divorce certificate; reissue: joint photos for a marriage
certificate, single ones for a divorce certificate). Cross-border parties (Hong Kong,
Macao, Taiwan, foreigners, overseas Chinese) bring a notarised declaration of no spouse
(无配偶声明) instead of signing one at the office.

Each text is a reviewed (Chinese, English) pair, picked by the reader's language.
"""

from __future__ import annotations

from core.i18n import current_language

Text = tuple[str, str]  # (Chinese, English)

MAINLAND, HK_MACAU, TAIWAN, OVERSEAS_CHINESE, FOREIGNER = (
    "mainland", "hk_macau", "taiwan", "overseas_chinese", "foreigner")
PARTY_KINDS: dict[str, Text] = {
    MAINLAND: ("内地居民", "Mainland residents"),
    HK_MACAU: ("香港、澳门居民", "Hong Kong and Macao residents"),
    TAIWAN: ("台湾居民", "Taiwan residents"),
    OVERSEAS_CHINESE: ("华侨", "Overseas Chinese"),
    FOREIGNER: ("外国人", "Foreign nationals"),
}
CROSS_BORDER_KINDS = (HK_MACAU, TAIWAN, OVERSEAS_CHINESE, FOREIGNER)
# booking.identity's origins (what a document tells) to kinds of party; a passport is read
# as a foreigner's (an overseas Chinese brings the same kinds of papers)
KIND_OF_ORIGIN = {"mainland": MAINLAND, "hong_kong": HK_MACAU, "macau": HK_MACAU,
                  "taiwan": TAIWAN, "foreign": FOREIGNER, "passport": FOREIGNER}

# --- the papers ---------------------------------------------------------------------------------

ID_MAINLAND: Text = ("本人有效的居民身份证", "your valid resident identity card")
ID_HK_MACAU: Text = ("本人有效的港澳居民来往内地通行证和香港或澳门居民身份证",
                     "your valid Mainland Travel Permit for Hong Kong and Macao Residents and "
                     "your Hong Kong or Macao identity card")
ID_TAIWAN: Text = ("本人有效的台湾居民来往大陆通行证和台湾地区居民身份证件",
                   "your valid Mainland Travel Permit for Taiwan Residents and your Taiwan "
                   "identity document")
ID_OVERSEAS_CHINESE: Text = ("本人有效的中华人民共和国护照",
                             "your valid passport of the People's Republic of China")
ID_FOREIGNER: Text = ("本人有效护照或其他有效的国际旅行证件（持外国人永久居留身份证的一并携带）",
                      "your valid passport or other international travel document (and your "
                      "foreign permanent resident ID card if you have one)")
NO_SPOUSE_HK_MACAU_TAIWAN: Text = (
    "经居住地公证机构公证的无配偶声明（本人无配偶以及与对方没有直系血亲和三代以内旁系血亲关系的声明，"
    "出具之日起6个月内有效）",
    "a notarised declaration of no spouse (that you have no spouse and are not related to "
    "your partner by direct blood or collateral blood within three generations), notarised "
    "where you live, issued within the last 6 months")
NO_SPOUSE_ABROAD: Text = (
    "经公证并经中国驻外使（领）馆认证或附加证明书（Apostille）的无配偶声明或证明，也可以是所在国驻华"
    "使（领）馆出具的无配偶证明",
    "a notarised declaration or certificate of no spouse, authenticated by the Chinese "
    "embassy or consulate (or with an apostille), or a certificate of no spouse from your "
    "country's embassy or consulate in China")
DECLARATION_SIGNED: Text = (
    "本人无配偶以及与对方没有直系血亲和三代以内旁系血亲关系的签字声明（在登记处现场填写签署，无需事先准备）",
    "a signed declaration that you have no spouse and are not related to your partner by "
    "direct blood or collateral blood within three generations (filled in and signed at "
    "the office: nothing to prepare)")
MARRIAGE_CERTIFICATE: Text = ("本人的结婚证", "your marriage certificate")
DIVORCE_AGREEMENT: Text = ("双方共同签署的书面离婚协议书（离婚协议书一式三份）",
                           "the written divorce agreement signed by both of you (three copies)")
ACCEPTANCE_RECEIPT: Text = ("《离婚登记申请受理回执单》",
                            "the acceptance receipt of your divorce application")
PHOTOS_JOINT: Text = ("3张近期2寸半身免冠双人合影照片",
                      "3 recent 2-inch bareheaded half-length photos of the two of you together")
PHOTOS_SINGLE: Text = ("每人2张近期2寸半身免冠单人照片",
                       "2 recent 2-inch bareheaded half-length photos of each of you")
PHOTOS_REISSUE: Text = ("补领结婚证：3张近期2寸半身免冠双人合影照片；补领离婚证：2张近期2寸半身免冠单人照片",
                        "for a marriage certificate: 3 recent 2-inch bareheaded photos of the "
                        "two of you together; for a divorce certificate: 2 recent 2-inch "
                        "bareheaded photos of yourself")
RECORD_PROOF: Text = ("婚姻登记档案遗失的，能够证明婚姻状况的材料",
                      "if the registration record is lost, papers that prove your marital "
                      "status")
COUNSELING_RECEIPT: Text = ("离婚冷静期内的，可带《离婚登记申请受理回执单》",
                            "during the divorce cooling-off period, the acceptance receipt of "
                            "your divorce application if you have it")
CEREMONY_CERTIFICATES: Text = ("当天领取的结婚证", "the marriage certificates you received that day")

_IDS = {MAINLAND: ID_MAINLAND, HK_MACAU: ID_HK_MACAU, TAIWAN: ID_TAIWAN,
        OVERSEAS_CHINESE: ID_OVERSEAS_CHINESE, FOREIGNER: ID_FOREIGNER}
_NO_SPOUSE = {HK_MACAU: NO_SPOUSE_HK_MACAU_TAIWAN, TAIWAN: NO_SPOUSE_HK_MACAU_TAIWAN,
              OVERSEAS_CHINESE: NO_SPOUSE_ABROAD, FOREIGNER: NO_SPOUSE_ABROAD}


def _personal(service_code: str, kind: str) -> list[Text]:
    """What each party of `kind` brings for themself."""
    papers = [_IDS[kind]]
    if service_code == "marriage":
        papers.append(_NO_SPOUSE.get(kind, DECLARATION_SIGNED))
    if service_code in ("divorce", "divorce-certificate"):
        papers.append(MARRIAGE_CERTIFICATE)
    return papers


def _shared(service_code: str) -> list[Text]:
    """What the couple (or the one applicant) brings once."""
    return {"marriage": [PHOTOS_JOINT],
            "divorce": [DIVORCE_AGREEMENT],
            "divorce-certificate": [ACCEPTANCE_RECEIPT, DIVORCE_AGREEMENT, PHOTOS_SINGLE],
            "reissue": [PHOTOS_REISSUE, RECORD_PROOF],
            "counseling": [COUNSELING_RECEIPT],
            "ceremony": [CEREMONY_CERTIFICATES]}.get(service_code, [])


def pick(text: Text, language: str | None = None) -> str:
    """The Chinese or the English of a pair, by the reader's language."""
    language = language or current_language()
    return text[1] if language.startswith("en") else text[0]


def kinds_of(origins: list[str]) -> list[str]:
    """The kinds of party of these people (booking.identity origins), in order, once each."""
    return list(dict.fromkeys(KIND_OF_ORIGIN.get(origin, FOREIGNER) for origin in origins))


SIGNED_AT_THE_OFFICE = (DECLARATION_SIGNED,)  # listed, but nothing to carry (not in SMS)


def documents_for(service_code: str, kinds: list[str], language: str | None = None,
                  carried_only: bool = False) -> list[str]:
    """What to bring for `service_code` when the parties are of `kinds` (each kind once).
    One kind: the plain list; mixed kinds: each party's own papers named by their kind,
    then what the couple brings once. `carried_only` leaves out what is signed at the
    office (the SMS)."""
    kinds = list(dict.fromkeys(kinds)) or [MAINLAND]
    language = language or current_language()  # once, not for each paper
    out: list[str] = []
    for kind in kinds:
        for paper in _personal(service_code, kind):
            if carried_only and paper in SIGNED_AT_THE_OFFICE:
                continue
            text = pick(paper, language)
            if len(kinds) > 1:
                label = pick(PARTY_KINDS[kind], language)
                text = (f"{label}: {text}" if language.startswith("en")
                        else f"{label}一方：{text}")
            out.append(text)
    out.extend(pick(paper, language) for paper in _shared(service_code))
    return out


def documents_by_kind(service_code: str, kinds: tuple[str, ...] | list[str] = (MAINLAND,),
                      language: str | None = None) -> list[tuple[str, list[str]]]:
    """[(kind's name, what a couple of that kind brings)] for the service guide and
    GET /services: each kind's list as for a couple with a mainland party where the kind is
    cross-border (a marriage needs one mainland resident)."""
    return [(pick(PARTY_KINDS[kind], language), documents_for(service_code, [kind], language))
            for kind in kinds]


def documents_text(service_code: str, kinds: list[str], language: str | None = None) -> str:
    """The list as one line (SMS, the calendar entry)."""
    english = (language or current_language()).startswith("en")
    return ("; " if english else "；").join(
        documents_for(service_code, kinds, language, carried_only=True))
