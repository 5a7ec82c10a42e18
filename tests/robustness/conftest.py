"""Robustness fixtures: the small office "robust" loaded and the clock pinned."""

import pytest

from tests.robustness.helpers import NOW, OFFICE_TOML


@pytest.fixture
def robust_office(app, set_now):
    from core.extensions import db
    from offices.loader import load_offices

    set_now(NOW)
    load_offices(OFFICE_TOML)
    db.session.commit()
    return "robust"
