"""Staff sessions and logins: one office loaded, the clock pinned, accounts made directly."""

import pytest

from core.extensions import db
from staff.services import create_user

NOW = "2026-06-10T10:00:00+08:00"  # a Wednesday
PASSWORD = "password-123"


@pytest.fixture
def accounts(app, offices, set_now):
    """An admin for every office, an admin of 安居区, and the desk and a registrar of
    船山区, by user name."""
    set_now(NOW)
    made = {
        "boss": create_user("boss", "admin", PASSWORD, None, "局管理员"),
        "anju-admin": create_user("anju-admin", "admin", PASSWORD, "anju"),
        "desk": create_user("desk", "desk", PASSWORD, "chuanshan", "导办台"),
        "clerk": create_user("clerk", "registrar", PASSWORD, "chuanshan", "登记员"),
    }
    db.session.commit()
    return made


def client_from(app, address: str):
    """A browser at the client address `address`."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def sign_in(client, username: str, password: str = PASSWORD):
    return client.post("/staff/login", data={"username": username, "password": password})


def token_for(client, username: str, password: str = PASSWORD):
    return client.post("/api/v1/auth/token", json={"username": username, "password": password})
