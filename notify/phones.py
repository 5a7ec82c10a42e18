"""Phone numbers in E.164, the only form the outbox stores and Twilio accepts."""

import re

_SEPARATORS = re.compile(r"[\s\-().]")


def e164(raw: str | None, default_region: str = "+86") -> str | None:
    """'138 0013 8000' -> '+8613800138000'. A number with a country code (+852…, 0086…)
    keeps it; an 11-digit mainland mobile (1xxxxxxxxxx) gets `default_region` (+86).
    None when the text is no usable mobile number."""
    value = _SEPARATORS.sub("", raw or "")
    if value.startswith("00"):
        value = "+" + value[2:]
    if value.startswith("+"):
        digits = value[1:]
        if digits.isdigit() and 8 <= len(digits) <= 15 and not digits.startswith("0"):
            if digits.startswith("86") and not _is_mainland_mobile(digits[2:]):
                return None
            return "+" + digits
        return None
    if value.isdigit():
        if _is_mainland_mobile(value) and default_region == "+86":
            return "+86" + value
        if value.startswith("86") and _is_mainland_mobile(value[2:]):
            return "+" + value
        if default_region != "+86" and 6 <= len(value) <= 12:
            return default_region + value.lstrip("0")
    return None


def _is_mainland_mobile(digits: str) -> bool:
    return len(digits) == 11 and digits.isdigit() and digits[0] == "1" and digits[1] in "3456789"
