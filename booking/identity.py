"""Identity documents, names and phone numbers (docs/domain.md, "ID documents").

18-character numbers (居民身份证 GB 11643-1999, 港澳台居民居住证 with area codes
810000/820000/830000, 外国人永久居留身份证 starting with 9) carry the birth date and sex and
end with an ISO 7064 MOD 11-2 check character. python-stdnum rejects the last two kinds,
so the rule is written out here. Other documents (permits, passports) carry neither: the
person declares sex and birth date.

Nothing here ever logs or returns an ID number in an error message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from core.i18n import N_
from core.privacy import normalise_id
from notify.phones import e164

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"

ID_TYPES = ("resident_id", "foreign_permanent_resident", "hk_macau_permit", "taiwan_permit",
            "passport")
# Message ids: translated where they are shown.
ID_TYPE_NAMES = {
    "resident_id": N_("居民身份证 / 港澳台居民居住证"),
    "foreign_permanent_resident": N_("外国人永久居留身份证"),
    "hk_macau_permit": N_("港澳居民来往内地通行证"),
    "taiwan_permit": N_("台湾居民来往大陆通行证"),
    "passport": N_("护照"),
}
# Where a person comes from, as far as the document tells: only "mainland" is not cross-border.
ORIGIN_MAINLAND, ORIGIN_HK, ORIGIN_MACAU, ORIGIN_TAIWAN, ORIGIN_FOREIGN, ORIGIN_PASSPORT = (
    "mainland", "hong_kong", "macau", "taiwan", "foreign", "passport")
RESIDENCE_PERMIT_AREAS = {"810000": ORIGIN_HK, "820000": ORIGIN_MACAU, "830000": ORIGIN_TAIWAN}

NAME_MAX = 30
# Han characters, Latin letters, the middle dots of minority and foreign names, spaces,
# hyphens, apostrophes and periods.
NAME_RE = re.compile(r"^[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
                     r"A-Za-z\u00c0-\u024f·•・.'\- ]+$")
HK_MACAU_RE = re.compile(r"^[HM]\d{8}(\d{2})?$")
TAIWAN_RE = re.compile(r"^\d{8}(\d{2}[A-Z]?)?$")
PASSPORT_RE = re.compile(r"^[A-Z0-9]{5,20}$")


class IdentityError(ValueError):
    """Bad identity input. `code` is the API's machine code, `field` the offending field;
    the message says what to fix (Chinese message id)."""

    def __init__(self, message: str, code: str = "invalid_request", field: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.field = field


@dataclass(frozen=True)
class Identity:
    id_type: str
    number: str  # normalised; never logged or shown unmasked
    sex: str  # "M" | "F"
    birth_date: date
    origin: str  # ORIGIN_*

    @property
    def cross_border(self) -> bool:
        return self.origin != ORIGIN_MAINLAND


def stored_origin(id_type: str, id_masked: str) -> str:
    """Where a stored applicant comes from, from the document type and the masked number
    (the mask keeps an 18-character number's first 4 characters: the area code's first 2)."""
    if id_type == "resident_id":
        if id_masked[:1] == "9":
            return ORIGIN_FOREIGN
        return {"81": ORIGIN_HK, "82": ORIGIN_MACAU, "83": ORIGIN_TAIWAN}.get(
            id_masked[:2], ORIGIN_MAINLAND)
    return {"foreign_permanent_resident": ORIGIN_FOREIGN, "hk_macau_permit": ORIGIN_HK,
            "taiwan_permit": ORIGIN_TAIWAN}.get(id_type, ORIGIN_PASSPORT)


def check_character(first17: str) -> str:
    """The GB 11643 / ISO 7064 MOD 11-2 check character of the first 17 digits."""
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError("need exactly 17 digits")
    total = sum(int(digit) * weight for digit, weight in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def has_valid_check_character(number: str) -> bool:
    return (len(number) == 18 and number[:17].isdigit()
            and check_character(number[:17]) == number[17])


def _birth_date_in(number: str) -> date | None:
    try:
        return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None


def parse_18(number: str, today: date) -> tuple[date, str, str]:
    """(birth_date, sex, origin) of a valid 18-character number; IdentityError otherwise."""
    if len(number) != 18 or not number[:17].isdigit() or number[17] not in "0123456789X":
        raise IdentityError(N_("证件号码应为18位：前17位是数字，最后一位是数字或X。"),
                            "invalid_id_number", "id_number")
    if not has_valid_check_character(number):
        raise IdentityError(N_("证件号码校验位不正确，请逐位核对。"), "invalid_id_number", "id_number")
    if number[0] == "9":
        origin = ORIGIN_FOREIGN
    elif number[:6] in RESIDENCE_PERMIT_AREAS:
        origin = RESIDENCE_PERMIT_AREAS[number[:6]]
    elif number[0] in "123456" and number[1] != "0":
        origin = ORIGIN_MAINLAND
    else:
        raise IdentityError(N_("证件号码的地区码不正确，请核对前6位。"), "invalid_id_number",
                            "id_number")
    birth = _birth_date_in(number)
    if birth is None or birth > today or birth.year < 1850:
        raise IdentityError(N_("证件号码中的出生日期（第7至14位）不正确。"), "invalid_id_number",
                            "id_number")
    sex = "M" if int(number[16]) % 2 == 1 else "F"
    return birth, sex, origin


def _declared_sex(value: object) -> str:
    if value in ("M", "F"):
        return value  # type: ignore[return-value]
    if value in (None, ""):
        raise IdentityError(N_("请选择性别（此证件不含性别信息）。"), field="sex")
    raise IdentityError(N_("性别应为 M（男）或 F（女）。"), field="sex")


def _declared_birth_date(value: object, today: date) -> date:
    if value in (None, ""):
        raise IdentityError(N_("请填写出生日期（此证件不含出生日期）。"), field="birth_date")
    if isinstance(value, date):
        birth = value
    else:
        try:
            birth = date.fromisoformat(str(value))
        except ValueError:
            raise IdentityError(N_("出生日期格式应为 YYYY-MM-DD。"), field="birth_date") from None
    if birth > today or birth.year < 1850:
        raise IdentityError(N_("出生日期不正确。"), field="birth_date")
    return birth


def parse_identity(id_type: object, id_number: object, sex: object, birth_date: object,
                   today: date) -> Identity:
    """Check one person's document. Declared sex and birth date are needed only where the
    document does not carry them; where it does, a declared value must agree."""
    if id_type not in ID_TYPES:
        raise IdentityError(N_("请选择证件类型。"), field="id_type")
    if not isinstance(id_number, str) or not id_number.strip():
        raise IdentityError(N_("请填写证件号码。"), "invalid_id_number", "id_number")
    number = normalise_id(id_number).replace("(", "").replace(")", "").replace("（", "").replace(
        "）", "")
    if len(number) > 32:
        raise IdentityError(N_("证件号码过长。"), "invalid_id_number", "id_number")

    if id_type in ("resident_id", "foreign_permanent_resident"):
        birth, encoded_sex, origin = parse_18(number, today)
        if id_type == "foreign_permanent_resident" and origin != ORIGIN_FOREIGN:
            raise IdentityError(N_("外国人永久居留身份证号码以9开头，请核对证件类型。"),
                                "invalid_id_number", "id_number")
        if sex not in (None, "") and sex != encoded_sex:
            raise IdentityError(N_("所选性别与证件号码不符。"), field="sex")
        if birth_date not in (None, "") and _declared_birth_date(birth_date, today) != birth:
            raise IdentityError(N_("所填出生日期与证件号码不符。"), field="birth_date")
        return Identity(id_type, number, encoded_sex, birth, origin)

    patterns = {"hk_macau_permit": (HK_MACAU_RE, N_("港澳居民来往内地通行证号码应为H或M加8位数字。")),
                "taiwan_permit": (TAIWAN_RE, N_("台湾居民来往大陆通行证号码应为8位数字。")),
                "passport": (PASSPORT_RE, N_("护照号码应为5至20位字母或数字。"))}
    pattern, message = patterns[id_type]
    if not pattern.match(number):
        raise IdentityError(message, "invalid_id_number", "id_number")
    if id_type == "hk_macau_permit":
        origin = ORIGIN_HK if number[0] == "H" else ORIGIN_MACAU
    elif id_type == "taiwan_permit":
        origin = ORIGIN_TAIWAN
    else:
        origin = ORIGIN_PASSPORT
    return Identity(id_type, number, _declared_sex(sex), _declared_birth_date(birth_date, today),
                    origin)


def clean_name(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise IdentityError(N_("请填写姓名。"), field="name")
    name = " ".join(value.split())
    if len(name) > NAME_MAX:
        raise IdentityError(N_("姓名最多30个字。"), field="name")
    if not NAME_RE.match(name):
        raise IdentityError(N_("姓名只能包含汉字、字母、空格和间隔号“·”。"), field="name")
    return name


def normalise_phone(value: object, default_region: str = "+86") -> str:
    """E.164 (notify.phones.e164, the one rule for phone numbers), or an IdentityError that
    says what to fix: '138 0013 8000' -> '+8613800138000'; '+852 9123 4567' stays."""
    if not isinstance(value, str) or not value.strip():
        raise IdentityError(N_("请填写手机号码。"), field="phone")
    phone = e164(value, default_region)
    if phone is not None:
        return phone
    raw = re.sub(r"[\s\-().]", "", value.strip())
    if raw.startswith(("+86", "0086")):
        raise IdentityError(N_("内地手机号码应为1开头的11位数字。"), field="phone")
    if raw.startswith(("+", "00")):
        raise IdentityError(N_("国际号码格式应为“+国家代码 号码”。"), field="phone")
    raise IdentityError(N_("手机号码应为1开头的11位数字；境外号码请以“+国家代码”开头。"),
                        field="phone")


def age_on(birth: date, day: date) -> int:
    """Completed years on `day`; the birthday itself counts (a 29 February birthday is
    reached on 1 March in a common year)."""
    years = day.year - birth.year
    if (day.month, day.day) < (birth.month, birth.day):
        years -= 1
    return years
