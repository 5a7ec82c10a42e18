"""Identity documents (docs/domain.md): the GB 11643 check character, birth date and sex from
18-character numbers, residence permits and the 9-prefixed card, other documents, names,
phones and the legal age on the birthday."""

from datetime import date

import pytest

from booking.identity import (
    IdentityError,
    age_on,
    check_character,
    clean_name,
    has_valid_check_character,
    normalise_phone,
    parse_identity,
)
from tests.booking.ids import make_id, with_check, wrong_check

TODAY = date(2026, 6, 10)


def test_the_domain_examples_are_valid_including_x():
    assert has_valid_check_character("11010519491231002X")
    assert has_valid_check_character("440524188001010014")
    assert check_character("11010519491231002") == "X"
    assert check_character("44052418800101001") == "4"


def test_our_test_helper_and_the_rule_agree_on_many_numbers():
    for serial in range(200):
        number = make_id("19850615", "M" if serial % 2 else "F", serial=serial)
        assert has_valid_check_character(number)
        assert not has_valid_check_character(wrong_check(number))


def test_lower_case_x_and_spaces_are_accepted():
    who = parse_identity("resident_id", " 110105 19491231 002x ", None, None, TODAY)
    assert who.number == "11010519491231002X"
    assert who.birth_date == date(1949, 12, 31)
    assert who.sex == "F"  # 17th character 2: even
    assert who.origin == "mainland" and not who.cross_border


def test_birth_date_and_sex_come_from_the_number():
    who = parse_identity("resident_id", "440524188001010014", None, None, TODAY)
    assert who.birth_date == date(1880, 1, 1) and who.sex == "M"  # 17th character 1: odd


@pytest.mark.parametrize("number", [
    "11010519491231002",  # 17 characters
    "11010519491231002Y",  # not a digit or X
    "11010519491231002X1",
    "A1010519491231002X",
])
def test_malformed_numbers_are_refused(number):
    with pytest.raises(IdentityError) as caught:
        parse_identity("resident_id", number, None, None, TODAY)
    assert caught.value.code == "invalid_id_number" and caught.value.field == "id_number"


def test_a_wrong_check_character_is_refused():
    with pytest.raises(IdentityError) as caught:
        parse_identity("resident_id", "110105194912310021", None, None, TODAY)
    assert caught.value.code == "invalid_id_number"
    assert "校验位" in str(caught.value)


def test_an_impossible_or_future_birth_date_is_refused():
    for birth in ("19900230", "20270101"):
        number = with_check(f"510903{birth}123")
        with pytest.raises(IdentityError) as caught:
            parse_identity("resident_id", number, None, None, TODAY)
        assert "出生日期" in str(caught.value)


@pytest.mark.parametrize("area, origin", [("810000", "hong_kong"), ("820000", "macau"),
                                          ("830000", "taiwan")])
def test_hk_macau_taiwan_residence_permits(area, origin):
    number = with_check(f"{area}19900101002")
    who = parse_identity("resident_id", number, None, None, TODAY)
    assert who.origin == origin and who.cross_border
    assert who.birth_date == date(1990, 1, 1) and who.sex == "F"


def test_other_8x_area_codes_are_not_residence_permits():
    with pytest.raises(IdentityError):
        parse_identity("resident_id", with_check("810100199001010023"[:17]), None, None, TODAY)


def test_foreign_permanent_resident_card_starting_with_9():
    number = with_check("93384019850321001")  # 9, place 33, nationality 840, birth 1985-03-21
    for id_type in ("foreign_permanent_resident", "resident_id"):
        who = parse_identity(id_type, number, None, None, TODAY)
        assert who.origin == "foreign" and who.cross_border
        assert who.birth_date == date(1985, 3, 21) and who.sex == "M"
    with pytest.raises(IdentityError):  # a mainland number is no foreigner's card
        parse_identity("foreign_permanent_resident", make_id(), None, None, TODAY)
    with pytest.raises(IdentityError):
        parse_identity("foreign_permanent_resident", wrong_check(number), None, None, TODAY)


def test_declared_values_must_agree_with_the_number():
    number = make_id("19900101", "M")
    assert parse_identity("resident_id", number, "M", "1990-01-01", TODAY).sex == "M"
    with pytest.raises(IdentityError) as caught:
        parse_identity("resident_id", number, "F", None, TODAY)
    assert caught.value.field == "sex"
    with pytest.raises(IdentityError) as caught:
        parse_identity("resident_id", number, None, "1991-01-01", TODAY)
    assert caught.value.field == "birth_date"


@pytest.mark.parametrize("id_type, number, origin", [
    ("hk_macau_permit", "H12345678", "hong_kong"),
    ("hk_macau_permit", "m1234567801", "macau"),
    ("taiwan_permit", "12345678", "taiwan"),
    ("passport", "E12345678", "passport"),
    ("passport", "x1234567", "passport"),
])
def test_other_documents_need_declared_sex_and_birth_date(id_type, number, origin):
    who = parse_identity(id_type, number, "F", "1995-05-05", TODAY)
    assert who.origin == origin and who.cross_border
    assert who.sex == "F" and who.birth_date == date(1995, 5, 5)
    with pytest.raises(IdentityError) as caught:
        parse_identity(id_type, number, None, "1995-05-05", TODAY)
    assert caught.value.field == "sex"
    with pytest.raises(IdentityError) as caught:
        parse_identity(id_type, number, "F", None, TODAY)
    assert caught.value.field == "birth_date"
    with pytest.raises(IdentityError) as caught:
        parse_identity(id_type, number, "F", "05/05/1995", TODAY)
    assert caught.value.field == "birth_date"


@pytest.mark.parametrize("id_type, number", [
    ("hk_macau_permit", "X12345678"), ("hk_macau_permit", "H1234"),
    ("taiwan_permit", "1234"), ("passport", "E1"), ("passport", "E12-345678"),
])
def test_malformed_other_documents(id_type, number):
    with pytest.raises(IdentityError) as caught:
        parse_identity(id_type, number, "M", "1990-01-01", TODAY)
    assert caught.value.code == "invalid_id_number"


def test_unknown_document_type():
    with pytest.raises(IdentityError) as caught:
        parse_identity("driving_licence", "123", None, None, TODAY)
    assert caught.value.field == "id_type"


def test_names_one_to_thirty_characters():
    assert clean_name(" 张三 ") == "张三"
    assert clean_name("阿依古丽·买买提") == "阿依古丽·买买提"
    assert clean_name("John  Smith") == "John Smith"
    assert clean_name("李" * 30) == "李" * 30
    for bad in ("", "   ", "李" * 31, "张3", "<b>张三</b>", None):
        with pytest.raises(IdentityError) as caught:
            clean_name(bad)
        assert caught.value.field == "name"


@pytest.mark.parametrize("raw, e164", [
    ("13800138000", "+8613800138000"),
    ("138 0013 8000", "+8613800138000"),
    ("138-0013-8000", "+8613800138000"),
    ("+86 138 0013 8000", "+8613800138000"),
    ("8613800138000", "+8613800138000"),
    ("008613800138000", "+8613800138000"),
    ("+852 9123 4567", "+85291234567"),
    ("+1 (415) 555-0100", "+14155550100"),
])
def test_phones_are_normalised_to_e164(raw, e164):
    assert normalise_phone(raw) == e164


@pytest.mark.parametrize("raw", ["", "12345", "23800138000", "+86 12345", "phone", "+0123456"])
def test_bad_phones_are_refused(raw):
    with pytest.raises(IdentityError) as caught:
        normalise_phone(raw)
    assert caught.value.field == "phone"


def test_age_counts_the_birthday_itself():
    birth = date(2004, 6, 15)
    assert age_on(birth, date(2026, 6, 14)) == 21
    assert age_on(birth, date(2026, 6, 15)) == 22
    leap = date(2004, 2, 29)
    assert age_on(leap, date(2026, 2, 28)) == 21
    assert age_on(leap, date(2026, 3, 1)) == 22
