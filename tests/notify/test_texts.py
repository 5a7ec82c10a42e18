"""Phone numbers in E.164 and the message texts."""

from datetime import date

import pytest

from notify.messages import TEXTS, format_date, render
from notify.outbox import queue_sms
from notify.phones import e164


@pytest.mark.parametrize("raw, expected", [
    ("13800138000", "+8613800138000"),
    ("138 0013 8000", "+8613800138000"),
    ("138-0013-8000", "+8613800138000"),
    ("+8613800138000", "+8613800138000"),
    ("008613800138000", "+8613800138000"),
    ("8613800138000", "+8613800138000"),
    ("+85291234567", "+85291234567"),
    ("+1 415 555 0100", "+14155550100"),
    ("12345", None),
    ("", None),
    (None, None),
    ("02812345678", None),  # a landline gets no SMS
    ("+860825123456", None),
    ("not a phone", None),
])
def test_phone_numbers_become_e164(raw, expected):
    assert e164(raw) == expected


def test_every_text_has_chinese_and_english_and_names_the_office():
    for kind, texts in TEXTS.items():
        assert set(texts) == {"zh_CN", "en"}, kind
        assert all("{office}" in text for text in texts.values()), kind


def test_render_picks_the_language_and_says_what_is_missing():
    values = {"office": "遂宁市婚姻登记中心", "number": "J007", "window": "3"}
    assert render("called", "zh_CN", **values) == "【遂宁市婚姻登记中心】请J007号到3号窗口办理。"
    assert render("called", "en", **values).endswith("Number J007, please go to window 3.")
    assert render("called", **values).startswith("【")
    with pytest.raises(KeyError, match="needs the value 'window'"):
        render("called", office="x", number="J001")
    with pytest.raises(KeyError, match="no SMS text"):
        render("nonsense", office="x")


def test_short_dates():
    assert format_date(date(2026, 5, 20)) == "5月20日"
    assert format_date(date(2026, 5, 20), "en") == "20 May"


def test_queue_sms_stores_e164_and_skips_what_is_no_mobile(app):
    assert queue_sms("13800138000", "x", "booking_confirmed").to_phone == "+8613800138000"
    assert queue_sms("0825-1234567", "x", "booking_confirmed") is None
    assert queue_sms("", "x", "booking_confirmed") is None


def test_a_dedupe_key_queues_once(app):
    from core.extensions import db

    assert queue_sms("13800138000", "x", "reminder", dedupe_key="k1") is not None
    assert queue_sms("13800138000", "x", "reminder", dedupe_key="k1") is None
    db.session.commit()
    assert queue_sms("13800138000", "x", "reminder", dedupe_key="k1") is None
