"""Rate limits on booking, look-ups and login (429 rate_limited, per client address), no
account lockout after repeated wrong passwords (the failing client waits instead), and —
behind several workers — one shared count in Redis (RATELIMIT_STORAGE_URI,
docs/deploy.md)."""

import uuid
from datetime import datetime, timedelta

import pytest
import requests
from sqlalchemy import select

from core.auth import User
from core.extensions import db
from staff.services import create_user
from tests.robustness.helpers import booking

LIMITED = {"RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": "memory://",
           "RATELIMIT_BOOKING": "5 per minute", "RATELIMIT_LOOKUP": "8 per minute",
           "RATELIMIT_LOGIN": "4 per minute",
           # the request limit alone: failed logins' own growing wait (tests/staff) stays out
           "LOGIN_THROTTLE_FAILURES": 100, "LOGIN_THROTTLE_ADDRESS_FAILURES": 100}


def _from(address: str) -> dict:
    return {"REMOTE_ADDR": address}


def _until_limited(send, limit: int) -> list[int]:
    return [send().status_code for _ in range(limit + 2)]


def _assert_limited(statuses: list[int], limit: int, response) -> None:
    assert 429 not in statuses[:limit], statuses
    assert statuses[limit:] == [429, 429], statuses
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["code"] == "rate_limited"
    assert response.headers.get("Retry-After")


class TestLimits:
    @pytest.fixture
    def app_overrides(self):
        # a key prefix of its own: the limiter's storage outlives one app in this process
        return LIMITED | {"RATELIMIT_KEY_PREFIX": uuid.uuid4().hex}

    def test_booking(self, app, robust_office, client):
        client.environ_base.update(_from("10.0.0.1"))
        send = iter(range(100))
        starts = ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30", "13:30", "14:00"]

        def book():
            i = next(send)
            return client.post("/api/v1/appointments", json=booking(i, start=starts[i]))

        statuses = _until_limited(book, 5)
        last = client.post("/api/v1/appointments", json=booking(99))
        _assert_limited(statuses, 5, last)
        assert statuses[:5] == [201] * 5
        # another couple, from another address, is not held back by the first
        other = app.test_client()
        other.environ_base.update(_from("10.0.0.2"))
        assert other.post("/api/v1/appointments",
                          json=booking(50, start="16:00")).status_code == 201

    def test_lookup(self, app, robust_office, client):
        client.environ_base.update(_from("10.0.1.1"))
        token = client.post("/api/v1/appointments", json=booking(1)).get_json()["token"]
        statuses = _until_limited(lambda: client.get(f"/api/v1/appointments/{token}"), 8)
        _assert_limited(statuses, 8, client.get(f"/api/v1/appointments/{token}"))
        # guessing tokens is the same look-up: limited as well
        guess = client.get("/api/v1/appointments/" + "A" * 32)
        assert guess.status_code == 429

    def test_login_api_and_page(self, app, robust_office, client):
        create_user("limited", "desk", "password-123", "robust")
        db.session.commit()
        client.environ_base.update(_from("10.0.2.1"))
        statuses = _until_limited(lambda: client.post("/api/v1/auth/token", json={
            "username": "limited", "password": "wrong-password"}), 4)
        _assert_limited(statuses, 4, client.post("/api/v1/auth/token", json={
            "username": "limited", "password": "password-123"}))
        page = app.test_client()
        page.environ_base.update(_from("10.0.2.2"))
        statuses = [page.post("/staff/login", data={"username": "nobody", "password": "x"})
                    .status_code for _ in range(6)]
        assert 429 not in statuses[:4] and statuses[4:] == [429, 429], statuses


def test_wrong_passwords_slow_the_client_down_but_never_lock_the_account(app, robust_office,
                                                                          set_now):
    """No automatic lockout (docs/deploy.md "Staff sessions and logins"): twelve wrong
    passwords from one address, each tried once the wait before it is over, leave the owner
    able to sign in from another address at once; the guessing address waits longer each
    time."""
    create_user("careful", "registrar", "password-123", "robust")
    db.session.commit()
    guesser = app.test_client()
    guesser.environ_base.update(_from("10.0.3.1"))
    owner = app.test_client()
    owner.environ_base.update(_from("10.0.3.2"))
    clock = datetime.fromisoformat("2026-06-10T10:00:00+08:00")
    waits = []
    for n in range(12):
        wrong = guesser.post("/api/v1/auth/token", json={"username": "careful",
                                                        "password": f"guess-{n}"})
        assert wrong.status_code == 401 and wrong.get_json()["code"] == "invalid_credentials"
        waits.append(int(wrong.headers.get("Retry-After", "0")))
        clock += timedelta(seconds=waits[-1])  # tried again once the wait is over
        set_now(clock.isoformat())
    assert waits == [0, 0, 5, 10, 20, 40, 80, 160, 320, 640, 900, 900]
    right = {"username": "careful", "password": "password-123"}
    answer = owner.post("/api/v1/auth/token", json=right)
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["role"] == "registrar"
    assert owner.post("/staff/login", data=right).status_code == 302  # the page too
    assert db.session.scalar(select(User.locked_at).where(User.username == "careful")) is None


@pytest.mark.slow
def test_limits_are_shared_by_all_workers_through_redis(robust_office, live_server_for):
    import redis

    url = "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        from tests.support.databases import in_ci

        if in_ci():
            pytest.fail(f"Redis is not reachable at {url}: {error}")
        pytest.skip(f"Redis is not reachable at {url}: {error}")
    from tests.robustness.helpers import SERVER_ENV

    server = live_server_for(workers=3, env=SERVER_ENV | {
        "XIYUE_RATELIMIT_ENABLED": "true", "XIYUE_RATELIMIT_STORAGE_URI": url,
        "XIYUE_RATELIMIT_KEY_PREFIX": f"xiyue-test-{uuid.uuid4().hex}",
        "XIYUE_RATELIMIT_LOOKUP": "10 per minute"})
    statuses = [requests.get(f"{server.url}/api/v1/appointments/{'B' * 32}", timeout=30)
                .status_code for _ in range(16)]
    # three workers, one count: ten look-ups, then 429 — not ten per worker
    assert statuses[:10] == [404] * 10, statuses
    assert set(statuses[10:]) == {429}, statuses
