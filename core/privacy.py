"""Personal-data protection: encryption at rest, keyed hashes for look-ups, masking.

Every personal value at rest (ID numbers, birth dates, phone numbers, SMS texts, the
secrets of links) is encrypted (AES-256-GCM, `encrypt`) under the keys of
`ID_ENCRYPTION_KEYS` (Fernet keys, newest first; older keys still decrypt, which is how
rotation works: docs/deploy.md; values written in Fernet's own format by earlier versions
are still read) and, where a row is
looked up by it, found through an HMAC-SHA256 under `ID_HASH_KEY`: `keyed_hash` for ID
numbers (normalised: spaces out, upper case), `secret_hash` for everything else (the exact
text: link tokens are case-sensitive).

Columns hold their ciphertext in one of two ways: `id_number_enc` is written and read by
the code itself (`encrypt`, `decrypt`), the others have an `Encrypted` or `EncryptedDate`
type that encrypts on the way in and decrypts on the way out, so the model's attribute is
the clear value. Such a column cannot be compared with a value (the ciphertext differs
each time): only with "" or NULL; a look-up goes through the row's keyed hash.

Each model registers its encrypted columns (`register_encrypted`): `flask privacy
rotate-keys` and `check-keys` (booking/encryption.py) work on that list.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from datetime import date

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from sqlalchemy import Column, Text
from sqlalchemy.sql import operators
from sqlalchemy.types import TypeDecorator


def _derived_key(secret: str, purpose: str) -> bytes:
    return hashlib.sha256(f"{purpose}:{secret}".encode()).digest()


def _key_texts() -> tuple[str, ...]:
    """The configured keys, newest first."""
    keys = current_app.config.get("ID_ENCRYPTION_KEYS") or []
    if isinstance(keys, str):
        keys = [k.strip() for k in keys.split(",") if k.strip()]
    if not keys:  # development and tests: derive from SECRET_KEY
        keys = [base64.urlsafe_b64encode(_derived_key(current_app.config["SECRET_KEY"],
                                                      "id-enc")).decode()]
    return tuple(k.decode() if isinstance(k, bytes) else str(k) for k in keys)


# How a value is written: "v2:" and, in URL-safe base64, a random 96-bit nonce followed by
# the AES-256-GCM ciphertext and its tag, under a key derived (HKDF-SHA256) from the newest
# configured key. AES-GCM is authenticated encryption in one call: Fernet (AES-CBC, then an
# HMAC) built three objects per value and cost a booking's eleven values about a tenth of its
# worker CPU (bench/analysis.md). Values written before in Fernet's format are still read,
# and `flask privacy rotate-keys` rewrites them in this one. The keys stay Fernet keys (32
# bytes, URL-safe base64), so the settings, their check and the way keys are made are
# unchanged; each format gets its own key from them, never the same bytes.
AEAD_PREFIX = "v2:"
_NONCE_BYTES = 12
_AEAD_INFO = b"xiyue personal data at rest: AES-256-GCM v2"


@dataclass(frozen=True)
class _Keys:
    """The configured keys, newest first, in both formats."""

    fernets: list[Fernet]
    aeads: list[AESGCM]


# The keys of the settings last used: (ID_ENCRYPTION_KEYS, SECRET_KEY, _Keys). A booking
# encrypts eleven values; each finds its key here by comparing two settings, instead of
# parsing the keys and looking them up again.
_last_keys: list = [None]


def _current_keys() -> _Keys:
    config = current_app.config
    keys = config.get("ID_ENCRYPTION_KEYS")
    if isinstance(keys, list):  # a list could change in place: compare its items
        keys = tuple(keys)
    secret = config.get("SECRET_KEY")
    last = _last_keys[0]
    if last is not None and last[0] == keys and last[1] == secret:
        return last[2]
    parsed = _parsed_keys(_key_texts())
    _last_keys[0] = (keys, secret, parsed)
    return parsed


def _aead_key(fernet_key: str) -> AESGCM:
    material = base64.urlsafe_b64decode(fernet_key)
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                   info=_AEAD_INFO).derive(material)
    return AESGCM(derived)


@functools.lru_cache(maxsize=8)
def _parsed_keys(keys: tuple[str, ...]) -> _Keys:
    return _Keys([Fernet(k) for k in keys], [_aead_key(k) for k in keys])


def encrypt(text: str) -> str:
    nonce = os.urandom(_NONCE_BYTES)
    sealed = _current_keys().aeads[0].encrypt(nonce, text.encode(), None)
    return AEAD_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()


def _open_with(aead: AESGCM, token: str) -> str | None:
    """The clear text of a "v2:" token if `aead`'s key sealed it, else None."""
    try:
        raw = base64.urlsafe_b64decode(token[len(AEAD_PREFIX):])
        return aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], None).decode()
    except (InvalidTag, ValueError):  # another key, or not a token at all
        return None


def _open_fernet(fernet: Fernet, token: str) -> str | None:
    """The clear text of a token in Fernet's format if `fernet`'s key wrote it, else None."""
    try:
        return fernet.decrypt(token.encode()).decode()
    except InvalidToken:
        return None


def _read(token: str) -> tuple[int, str] | None:
    """The position (0: the newest) of the first configured key that reads `token`, in
    either format, and its clear text; None when no configured key reads it."""
    keys = _current_keys()
    sealed = token.startswith(AEAD_PREFIX)
    for position, (fernet, aead) in enumerate(zip(keys.fernets, keys.aeads, strict=True)):
        text = _open_with(aead, token) if sealed else _open_fernet(fernet, token)
        if text is not None:
            return position, text
    return None


def decrypt(token: str) -> str:
    """The clear text of a stored token (either format); InvalidToken when no configured key
    reads it."""
    found = _read(token)
    if found is None:
        raise InvalidToken
    return found[1]


def rotate(token: str) -> str:
    """Re-encrypt under the newest key (in the current format, whichever it was in)."""
    return encrypt(decrypt(token))


def key_needed(token: str) -> str:
    """Which key reads `token`: "newest", "older" (still needs a key rotation has not yet
    replaced) or "none" (no configured key reads it: a key is missing)."""
    found = _read(token)
    if found is None:
        return "none"
    return "newest" if found[0] == 0 else "older"


def normalise_id(id_number: str) -> str:
    return "".join(id_number.split()).upper()


def _hash_key() -> bytes:
    config = current_app.config
    return _parsed_hash_key(config.get("ID_HASH_KEY"), config["SECRET_KEY"])


@functools.lru_cache(maxsize=8)
def _parsed_hash_key(key: str | bytes | None, secret_key: str) -> bytes:
    key = key or _derived_key(secret_key, "id-hash").hex()
    return key.encode() if isinstance(key, str) else key


def keyed_hash(value: str) -> str:
    """The look-up hash of an ID number (normalised first: "510903 1990…x" finds
    "5109031990…X")."""
    return hmac.new(_hash_key(), normalise_id(value).encode(), hashlib.sha256).hexdigest()


def secret_hash(value: str) -> str:
    """The look-up hash of an exact text under the same key: link tokens (case-sensitive)
    and phone numbers (give them in E.164)."""
    return hmac.new(_hash_key(), value.encode(), hashlib.sha256).hexdigest()


# --- masking ----------------------------------------------------------------------------------

def mask_id(id_number: str) -> str:
    """What may be shown of an ID number, and stored beside it.

    An 18-character number (居民身份证, 港澳台居民居住证, 外国人永久居留身份证) keeps its first
    4 and last 4 characters, 5109**********1234: the birth date (characters 7 to 14) and the
    county are hidden, so the mask and the sex and dates stored beside it leave millions of
    numbers possible. Other documents (permits, passports) keep at most 2 and 2, and at
    least 5 characters (and at least half of them) stay hidden."""
    value = normalise_id(id_number)
    if len(value) == 18:
        return value[:4] + "*" * 10 + value[-4:]
    hidden = max(5, (len(value) + 1) // 2)
    keep = max(0, min(2, (len(value) - hidden) // 2))
    if keep == 0:
        return "*" * len(value)
    return value[:keep] + "*" * (len(value) - 2 * keep) + value[-keep:]


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


_DIGIT_RUN = re.compile(r"\+?\d{7,}")


def mask_phones_in(text: str) -> str:
    """`text` (a provider's error message, say) with every run of 7 or more digits masked
    like a phone number: "The 'To' number +8613800138000 is …" -> "… +86138****8000 is …"."""
    return _DIGIT_RUN.sub(lambda match: mask_phone(match.group()), text or "")


# --- encrypted columns ------------------------------------------------------------------------

# Comparisons that would compare ciphertexts: refused, except = and != with "" or NULL.
_COMPARISONS = frozenset({
    operators.eq, operators.ne, operators.lt, operators.le, operators.gt, operators.ge,
    operators.in_op, operators.not_in_op, operators.like_op, operators.not_like_op,
    operators.ilike_op, operators.not_ilike_op, operators.contains_op,
    operators.startswith_op, operators.endswith_op, operators.between_op,
    operators.desc_op, operators.asc_op})


class EncryptedComparisonError(TypeError):
    """An encrypted column compared with a value: compare its keyed hash instead."""


class Encrypted(TypeDecorator):
    """Text encrypted at rest: the attribute holds the clear text, the column its token
    (`encrypt`). "" stays "" (and NULL NULL), so `column != ""` still means "has a value"."""

    impl = Text
    cache_ok = True

    class comparator_factory(TypeDecorator.Comparator):  # noqa: N801 (SQLAlchemy's name)
        def operate(self, op, *other, **kwargs):
            empty = bool(other) and (other[0] is None or (isinstance(other[0], str)
                                                          and other[0] == ""))
            if op in _COMPARISONS and not (op in (operators.eq, operators.ne) and empty):
                raise EncryptedComparisonError(
                    f"{self.expr} is encrypted: look rows up by its keyed hash")
            return super().operate(op, *other, **kwargs)

    def process_bind_param(self, value, dialect):
        if value is None or value == "":
            return value
        return encrypt(self.to_text(value))

    def process_result_value(self, value, dialect):
        if value is None or value == "":
            return self.empty(value)
        return self.from_text(decrypt(value))

    def to_text(self, value) -> str:
        return str(value)

    def from_text(self, text: str):
        return text

    def empty(self, value):
        return value


class EncryptedDate(Encrypted):
    """A date encrypted at rest (as YYYY-MM-DD); NULL when there is none."""

    cache_ok = True

    def to_text(self, value) -> str:
        if not isinstance(value, date):
            raise TypeError(f"a date is needed, not {type(value).__name__}")
        return value.isoformat()

    def from_text(self, text: str):
        return date.fromisoformat(text)

    def empty(self, value):
        return None


class HashedSecret:
    """A secret kept only as its keyed hash (`secret_hash`), for a link that is never shown
    again after it was made: assigning it (`Model(token=…)`) sets the hash column named
    `hash_attribute`; reading it gives the clear value only on the object it was given to
    (a row just made), and None on a row loaded from the database."""

    def __init__(self, hash_attribute: str) -> None:
        self.hash_attribute = hash_attribute

    def __set_name__(self, owner, name: str) -> None:
        self.slot = f"_{name}_clear"

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        return obj.__dict__.get(self.slot)

    def __set__(self, obj, value: str) -> None:
        obj.__dict__[self.slot] = value
        setattr(obj, self.hash_attribute, secret_hash(value))


_ENCRYPTED: dict[tuple[str, str], Column] = {}


def register_encrypted(model, *attributes: str) -> None:
    """Declare columns of `model` (by attribute name) that hold encrypted tokens: key rotation
    re-encrypts them. Each feature's models module calls it for its own tables."""
    table = model.__table__
    for attribute in attributes:
        column = table.c[attribute]
        _ENCRYPTED[(table.name, column.name)] = column


def encrypted_columns() -> list[Column]:
    """Every registered encrypted column, by table and column name."""
    return [_ENCRYPTED[key] for key in sorted(_ENCRYPTED)]

