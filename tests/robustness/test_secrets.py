"""Booking codes, manage-link tokens, ticket tokens and staff API tokens cannot be guessed:
random (not sequential), from a wide alphabet, long enough (tokens ≥ 128 bits), and a
near miss of a real token finds nothing."""

import math
import re

from booking.codes import CODE_ALPHABET
from core.extensions import db
from staff.services import create_user
from tests.robustness.helpers import MONDAY, TUESDAY, booking, ids_of

STARTS = ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30", "13:30", "14:00", "14:30",
          "15:00", "15:30", "16:00", "16:30"]
URLSAFE = re.compile(r"^[A-Za-z0-9_-]+$")
APPOINTMENTS = 60


def _bits(values: list[str], alphabet: str | None = None) -> float:
    """Entropy of one value if each character is drawn uniformly from `alphabet`, or from the
    characters seen. A declared alphabet must hold every character seen, and nearly all of it
    must be seen (a few hundred draws can miss a letter by chance, never a tenth of them)."""
    seen = set("".join(values))
    if alphabet is not None:
        assert seen <= set(alphabet), f"characters outside the alphabet: {seen - set(alphabet)}"
        assert len(seen) >= 0.9 * len(alphabet), f"only {len(seen)} of {len(alphabet)} seen"
    return min(len(v) for v in values) * math.log2(len(alphabet or seen))


def _not_sequential(codes: list[str], alphabet_size: int) -> None:
    numbers = [int(code, 36) for code in codes]
    steps = [b - a for a, b in zip(numbers, numbers[1:], strict=False)]
    assert len(set(steps)) > len(steps) * 0.9, "codes advance by a fixed step"
    small = sum(1 for step in steps if abs(step) < alphabet_size ** 3)
    assert small <= 1, f"{small} consecutive codes are close neighbours"
    # no position is fixed or nearly so
    for position in range(min(len(c) for c in codes)):
        assert len({c[position] for c in codes}) >= 10, f"position {position} barely changes"


def _near_misses(token: str) -> list[str]:
    """The token with one character changed (first, middle, last), one short, one long."""
    def changed(i: int) -> str:
        return token[:i] + ("B" if token[i] != "B" else "C") + token[i + 1:]

    return [changed(0), changed(len(token) // 2), changed(len(token) - 1), token[:-1],
            token + "A"]


def test_booking_codes_and_manage_tokens(app, robust_office, client):
    made = []
    for i in range(APPOINTMENTS):
        answer = client.post("/api/v1/appointments", json=booking(
            100 + i, day=(MONDAY, TUESDAY)[i % 2], start=STARTS[(i // 2) % len(STARTS)]))
        assert answer.status_code == 201, answer.get_json()
        made.append(answer.get_json())
    codes = [m["code"] for m in made]
    tokens = [m["token"] for m in made]
    assert all(re.fullmatch(r"[A-Z0-9]{6,12}", code) for code in codes)
    assert len(set(codes)) == len(codes)
    bits = _bits(codes, CODE_ALPHABET)
    assert bits >= 40, f"codes carry about {bits:.0f} bits"
    _not_sequential(codes, len(set("".join(codes))))

    assert len(set(tokens)) == len(tokens)
    assert all(URLSAFE.fullmatch(token) and len(token) >= 16 for token in tokens)
    assert _bits(tokens) >= 128, f"tokens carry about {_bits(tokens):.0f} bits"
    assert len({token[:4] for token in tokens}) > APPOINTMENTS * 0.9

    # knowing a token, its neighbours open nothing; the code is no manage link either
    for token in tokens[:3]:
        assert client.get(f"/api/v1/appointments/{token}").status_code == 200
        for guess in _near_misses(token):
            assert client.get(f"/api/v1/appointments/{guess}").status_code == 404, guess
    assert client.get(f"/api/v1/appointments/{codes[0]}").status_code == 404


def test_ticket_and_staff_tokens(app, robust_office, client, staff_headers):
    desk = staff_headers("desk", office="robust")
    tickets = [client.post("/api/v1/offices/robust/tickets", headers=desk, json={
        "service": "marriage", "present": ids_of(900 + i)}).get_json() for i in range(20)]
    tokens = [t["token"] for t in tickets]
    assert len(set(tokens)) == 20
    assert all(URLSAFE.fullmatch(token) for token in tokens)
    assert _bits(tokens) >= 128, f"ticket tokens carry about {_bits(tokens):.0f} bits"
    for guess in _near_misses(tokens[0]):
        assert client.get(f"/api/v1/tickets/{guess}").status_code == 404
    # the ticket number is public on the hall screen; it opens nothing
    assert client.get(f"/api/v1/tickets/{tickets[0]['number']}").status_code == 404

    create_user("token-user", "registrar", "password-123", "robust")
    db.session.commit()
    staff_tokens = [client.post("/api/v1/auth/token", json={
        "username": "token-user", "password": "password-123"}).get_json()["token"]
        for _ in range(8)]
    assert len(set(staff_tokens)) == 8
    assert _bits(staff_tokens) >= 128
    forged = staff_tokens[0][:-1] + ("A" if staff_tokens[0][-1] != "A" else "B")
    answer = client.post("/api/v1/offices/robust/windows/1/call-next",
                         headers={"Authorization": f"Bearer {forged}"})
    assert answer.status_code == 401
