"""Booking fixtures: a pinned clock with bookable days ahead."""

import pytest

from tests.booking.helpers import NOW


@pytest.fixture
def booking_env(app, offices, set_now):
    set_now(NOW)
    return offices
