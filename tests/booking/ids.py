"""Valid test ID numbers: the check character computed (GB 11643, ISO 7064 MOD 11-2)."""

import itertools

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECKS = "10X98765432"
_sequence = itertools.count(1)


def with_check(first17: str) -> str:
    """Append the check character to 17 digits (written independently of booking.identity)."""
    assert len(first17) == 17 and first17.isdigit()
    return first17 + CHECKS[sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) % 11]


def make_id(birth: str = "19900101", sex: str = "M", area: str = "510903",
            serial: int | None = None) -> str:
    """An 18-character number for a person born on `birth` (YYYYMMDD) of `sex`; each call
    gives a different number unless `serial` is given."""
    n = next(_sequence) if serial is None else serial
    first_two = f"{(n // 5) % 100:02d}"
    last = (n % 5) * 2 + (1 if sex == "M" else 0)
    return with_check(f"{area}{birth}{first_two}{last}")


def wrong_check(number: str) -> str:
    """The same number with a wrong check character."""
    right = number[17]
    wrong = next(c for c in "0123456789X" if c != right)
    return number[:17] + wrong
