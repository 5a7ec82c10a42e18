"""Booking and look-up endpoints are rate limited (RATELIMIT_BOOKING, RATELIMIT_LOOKUP)."""

import pytest

from tests.booking.helpers import couple, payload, problem_code


@pytest.fixture
def app_overrides() -> dict:
    return {"RATELIMIT_ENABLED": True, "RATELIMIT_BOOKING": "2 per minute",
            "RATELIMIT_LOOKUP": "3 per minute"}


def test_booking_is_rate_limited(client, booking_env):
    answers = [client.post("/api/v1/appointments",
                           json=payload(applicants=couple(f"19{70 + i}0101", f"19{80 + i}0101")))
               for i in range(3)]
    assert [r.status_code for r in answers] == [201, 201, 429]
    assert problem_code(answers[2]) == "rate_limited"


def test_lookups_are_rate_limited(client, booking_env):
    url = "/api/v1/appointments/aaaaaaaaaaaaaaaaaaaaaaaa"
    answers = [client.get(url) for _ in range(4)]
    assert [r.status_code for r in answers] == [404, 404, 404, 429]
    assert problem_code(answers[3]) == "rate_limited"


def test_booking_page_posts_are_rate_limited(client, booking_env):
    url = "/book/chuanshan/marriage/2026-06-15/apply?start=09:00"
    codes = [client.post(url, data={"applicants-0-name": ""}).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
