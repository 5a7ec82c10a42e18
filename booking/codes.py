"""Appointment codes and manage-link tokens: how a new one is made, and what could be one.

The code is what a couple gives at the front desk (8 characters of an alphabet without
look-alikes); the token is the secret of the manage link (/a/<token>)."""

import os
import secrets

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no I, O, 0, 1
CODE_LENGTH = 8
TOKEN_BYTES = 24  # secrets.token_urlsafe(24): 32 characters
_CODE_BITS = CODE_LENGTH * 5  # 32 characters: 5 random bits each


def new_code() -> str:
    """8 characters drawn uniformly from the alphabet: its 32 characters are exactly 5 bits,
    so the 40 bits of one read of the OS's random source make a code, with no bias
    (secrets.choice reads the source twice per character)."""
    number = int.from_bytes(os.urandom(_CODE_BITS // 8))
    return "".join(CODE_ALPHABET[(number >> shift) & 31]
                   for shift in range(0, _CODE_BITS, 5))


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def looks_like_code(text: str) -> bool:
    """True when `text` (spaces removed, upper case) could be an appointment code: 6 to 12
    characters of the code alphabet. An ID number never is (18 characters, or a 0 or 1 in
    it), so it is never sent to the database as a code to compare with."""
    return 6 <= len(text) <= 12 and all(c in CODE_ALPHABET for c in text)
