"""Distinct, valid people for load tests: Chinese resident ID numbers with the GB 11643
check character (ISO 7064 MOD 11-2), names and mainland mobile numbers.

Person `i` of a couple index is deterministic, so a run can be checked afterwards and two
phases never reuse a person (give each phase its own range of indexes)."""

from __future__ import annotations

from datetime import date, timedelta

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECKS = "10X98765432"
# Sichuan area codes: Suining's districts and counties, Chengdu's.
AREAS = ("510903", "510904", "510921", "510923", "510981", "510104", "510105", "510106",
         "510107", "510108")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂英华玉兰萍鹏辉建红晶琳雪梅丹宇浩然欣怡子涵"
SERIALS_PER_DAY = 450  # 3-digit sequences per (area, birth date, sex): 000..899 by parity


def check_character(first17: str) -> str:
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError("need 17 digits")
    return CHECKS[sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) % 11]


def id_number(area: str, birth: date, serial: int, sex: str) -> str:
    """`serial` 0..449 gives the 3-digit sequence; its last digit is odd for men (M) and
    even for women (F), as GB 11643 requires."""
    if not 0 <= serial < SERIALS_PER_DAY:
        raise ValueError("serial out of range")
    sequence = serial * 2 + (1 if sex == "M" else 0)
    first17 = f"{area}{birth:%Y%m%d}{sequence:03d}"
    return first17 + check_character(first17)


def _person(index: int, sex: str, first_birth: date) -> dict:
    area = AREAS[index % len(AREAS)]
    rest = index // len(AREAS)
    birth = first_birth + timedelta(days=rest // SERIALS_PER_DAY)
    serial = rest % SERIALS_PER_DAY
    name = (SURNAMES[index % len(SURNAMES)] + GIVEN[(index // 7) % len(GIVEN)]
            + GIVEN[(index // 3 + (1 if sex == "F" else 0)) % len(GIVEN)])
    phone = f"1{'38' if sex == 'M' else '39'}{index % 100_000_000:08d}"
    return {"name": name, "id_type": "resident_id",
            "id_number": id_number(area, birth, serial, sex), "phone": phone}


# Men born from 1980, women from 1984: every one is of age (22 and 20) for years, and the
# ranges hold 450 × 10 areas × 3000 days = 13.5 million distinct people of each sex.
MAN_FIRST_BIRTH = date(1980, 1, 1)
WOMAN_FIRST_BIRTH = date(1984, 1, 1)


def couple(index: int) -> list[dict]:
    """The applicants of couple `index` (a man and a woman, both of legal age)."""
    return [_person(index, "M", MAN_FIRST_BIRTH), _person(index, "F", WOMAN_FIRST_BIRTH)]
