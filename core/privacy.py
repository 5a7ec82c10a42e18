"""Personal-data protection: encryption at rest, keyed hashes for look-ups, masking.

ID numbers are encrypted with Fernet keys from `ID_ENCRYPTION_KEYS` (newest first; older
keys still decrypt, which is how rotation works: see docs/deploy.md) and found through an
HMAC-SHA256 of the normalised number under `ID_HASH_KEY`.
"""

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app


def _derived_key(secret: str, purpose: str) -> bytes:
    return hashlib.sha256(f"{purpose}:{secret}".encode()).digest()


def _keys() -> list[Fernet]:
    """The configured keys, newest first."""
    keys = current_app.config.get("ID_ENCRYPTION_KEYS") or []
    if isinstance(keys, str):
        keys = [k.strip() for k in keys.split(",") if k.strip()]
    if not keys:  # development and tests: derive from SECRET_KEY
        keys = [base64.urlsafe_b64encode(_derived_key(current_app.config["SECRET_KEY"], "id-enc"))]
    return [Fernet(k) for k in keys]


def _fernet() -> MultiFernet:
    return MultiFernet(_keys())


def encrypt(text: str) -> str:
    return _fernet().encrypt(text.encode()).decode()


def decrypt(token: str) -> str:
    return _fernet().decrypt(token.encode()).decode()


def rotate(token: str) -> str:
    """Re-encrypt under the newest key."""
    return _fernet().rotate(token.encode()).decode()


def key_needed(token: str) -> str:
    """Which key reads `token`: "newest", "older" (still needs a key rotation has not yet
    replaced) or "none" (no configured key reads it: a key is missing)."""
    for position, key in enumerate(_keys()):
        try:
            key.decrypt(token.encode())
        except InvalidToken:
            continue
        return "newest" if position == 0 else "older"
    return "none"


def normalise_id(id_number: str) -> str:
    return "".join(id_number.split()).upper()


def keyed_hash(value: str) -> str:
    key = current_app.config.get("ID_HASH_KEY") or _derived_key(
        current_app.config["SECRET_KEY"], "id-hash").hex()
    return hmac.new(key.encode(), normalise_id(value).encode(), hashlib.sha256).hexdigest()


def mask_id(id_number: str) -> str:
    """510903199001011234 -> 510903********1234; short documents keep 2 and 2."""
    value = normalise_id(id_number)
    if len(value) >= 14:
        return value[:6] + "*" * (len(value) - 10) + value[-4:]
    if len(value) > 4:
        return value[:2] + "*" * (len(value) - 4) + value[-2:]
    return "*" * len(value)


def mask_name(name: str) -> str:
    """张三 -> 张*, 张小三 -> 张*三, 欧阳小三 -> 欧**三; Latin names keep their first letters."""
    name = name.strip()
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_phone(phone: str) -> str:
    return phone[:-8] + "****" + phone[-4:] if len(phone) >= 8 else "****"
