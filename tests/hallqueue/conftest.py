"""Hall fixtures: the default offices with the clock pinned to an open Monday morning."""

import pytest

from tests.hallqueue.factories import OPEN_NOW


@pytest.fixture
def hall(app, offices, set_now):
    """chuanshan (windows 1: marriage+reissue, 2: marriage, 3: divorce+certificate+reissue,
    5: marriage backup), clock at 2026-06-15 10:00 (Mon)."""
    set_now(OPEN_NOW)
    return offices["chuanshan"]


@pytest.fixture
def desk(staff_headers):
    return staff_headers("desk", office="chuanshan")


@pytest.fixture
def registrar(staff_headers):
    return staff_headers("registrar", office="chuanshan")


@pytest.fixture
def fresh_headers(app, hall):
    """fresh_headers("desk") -> a token issued now (for tests that move the clock by days:
    tokens last API_TOKEN_HOURS)."""
    from core.auth import User, issue_token
    from core.extensions import db
    from staff.services import create_user

    def make(role: str) -> dict:
        username = f"fresh-{role}"
        user = db.session.query(User).filter_by(username=username).one_or_none()
        if user is None:
            user = create_user(username, role, "password-123", "chuanshan")
        token, _ = issue_token(user)
        db.session.commit()
        return {"Authorization": f"Bearer {token}"}

    return make
