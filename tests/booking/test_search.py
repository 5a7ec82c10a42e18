"""The staff's appointment search: by code or by an applicant's ID number, which reaches the
database only as its keyed hash (never as a bind parameter in a statement log)."""

from sqlalchemy import event

from booking.codes import CODE_ALPHABET, looks_like_code, new_code
from booking.queries import search_appointments
from core.extensions import db
from tests.booking.helpers import couple, payload


def _sent_parameters(action) -> list[str]:
    sent: list[str] = []

    def record(_conn, _cursor, _statement, parameters, _context, _many):
        sent.append(repr(parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        result = action()
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    return result, sent


def test_search_by_code_or_id_number_sends_no_id_number(client, booking_env):
    people = couple()
    made = client.post("/api/v1/appointments", json=payload(applicants=people))
    assert made.status_code == 201, made.get_json()
    code = made.get_json()["code"]
    office = booking_env["chuanshan"]

    spaced = " ".join([code[:4].lower(), code[4:]])
    found, _ = _sent_parameters(lambda: search_appointments(office, spaced))
    assert [a.code for a in found] == [code]

    for person in people:
        number = person["id_number"]
        found, sent = _sent_parameters(lambda n=number: search_appointments(office, n))
        assert [a.code for a in found] == [code]
        assert sent and not any(number in text or number[:17] in text for text in sent)

    assert search_appointments(office, "   ") == []
    assert search_appointments(office, "ZZZZZZZZ") == []


def test_what_looks_like_a_code():
    assert looks_like_code("ABCD2345")
    assert looks_like_code("HJKLMN")
    assert not looks_like_code("ABCDE")  # too short
    assert not looks_like_code("510903199001010011")  # an ID number: 18 characters
    assert not looks_like_code("E1234567")  # a 1 is never in a code
    assert not looks_like_code("ABCD-234")


def test_a_new_code_takes_5_bits_of_one_random_draw_per_character(monkeypatch):
    import booking.codes

    monkeypatch.setattr(booking.codes.os, "urandom", lambda n: bytes(n))
    assert new_code() == "AAAAAAAA"
    monkeypatch.setattr(booking.codes.os, "urandom", lambda n: b"\xff" * n)
    assert new_code() == "99999999"
    # 40 bits, the lowest 5 first: 1, 2, ..., 8 in each position in turn
    number = sum(value << (5 * position) for position, value in enumerate(range(1, 9)))
    monkeypatch.setattr(booking.codes.os, "urandom", lambda n: number.to_bytes(n, "big"))
    assert new_code() == CODE_ALPHABET[1:9]
    monkeypatch.undo()
    codes = {new_code() for _ in range(200)}
    assert len(codes) == 200 and all(looks_like_code(code) for code in codes)
