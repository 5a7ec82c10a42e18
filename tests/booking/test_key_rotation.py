"""Key rotation for everything encrypted at rest (docs/deploy.md): a new key first in
ID_ENCRYPTION_KEYS, `flask privacy rotate-keys` re-encrypts every registered column (ID
numbers, birth dates, phones, SMS texts, link secrets, in every feature), `flask privacy
check-keys` says when the old key can go — through the real command line."""

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Text, select, type_coerce

from booking.encryption import _rewrite, column_name
from core.extensions import db
from core.privacy import decrypt, encrypted_columns
from feedback.suggestions import submit
from notify.outbox import opt_out
from tests.booking.helpers import couple, payload

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()
# every feature's encrypted columns: booking, hallqueue, feedback, notify
EXPECTED_COLUMNS = {
    "applicants.id_number_enc", "applicants.birth_date_enc", "applicants.phone_enc",
    "appointments.token_enc", "tickets.token_enc", "tickets.phone_enc",
    "suggestions.phone_enc", "outbox_messages.to_phone_enc", "outbox_messages.body_enc",
    "sms_opt_outs.phone_enc"}


def _stored() -> dict[tuple[str, object], str]:
    """Every stored ciphertext, as stored: (table.column, row key) -> token."""
    db.session.rollback()
    out = {}
    for column in encrypted_columns():
        key = next(iter(column.table.primary_key.columns))
        for row_key, stored in db.session.execute(
                select(key, type_coerce(column, Text())).where(column != "")):
            if stored:
                out[(column_name(column), row_key)] = stored
    db.session.rollback()
    return out


def _make_data(client) -> tuple[list[str], str]:
    """Three bookings (with their SMS), a suggestion with a phone and an opt-out; the ID
    numbers booked and the first booking's manage token."""
    ids, tokens = [], []
    for start, births in (("09:00", ("19900101", "19920202")), ("09:30", ("19850505", "19870707")),
                          ("10:00", ("19800303", "19880808"))):
        applicants = couple(*births)
        answer = client.post("/api/v1/appointments", json=payload(start=start,
                                                                    applicants=applicants))
        assert answer.status_code == 201, answer.get_json()
        ids += [a["id_number"] for a in applicants]
        tokens.append(answer.get_json()["token"])
    submit(None, "advice", "这是一条足够长的意见。", "李四", "13600136000")
    db.session.commit()
    opt_out("+8613500135000")
    return ids, tokens[0]


def test_every_encrypted_column_is_registered_once(app):
    """The registry is the list rotation works on: each encrypted column of each feature."""
    names = [column_name(column) for column in encrypted_columns()]
    assert len(names) == len(set(names))
    assert EXPECTED_COLUMNS <= set(names)


def test_rotate_then_check_then_drop_the_old_key(app, booking_env, client, runner):
    app.config["ID_ENCRYPTION_KEYS"] = [OLD]
    id_numbers, token = _make_data(client)
    under_old = _stored()
    columns = {name for name, _ in under_old}
    assert columns >= EXPECTED_COLUMNS - {"tickets.token_enc", "tickets.phone_enc"}
    total = len(under_old)
    clear = {key: _decrypted(value) for key, value in under_old.items()}

    app.config["ID_ENCRYPTION_KEYS"] = [NEW, OLD]  # step 2: the new key first
    check = runner.invoke(args=["privacy", "check-keys"])
    assert check.exit_code == 1, check.output
    assert f"{total} of {total} encrypted values still need an older key" in check.output
    assert "applicants.birth_date_enc 6" in check.output
    assert "sms_opt_outs.phone_enc 1" in check.output

    rotated = runner.invoke(args=["privacy", "rotate-keys", "--batch", "4"])
    assert rotated.exit_code == 0, rotated.output
    assert "re-encrypted 4 values …" in rotated.output
    assert f"Done: {total} encrypted values are encrypted under the newest key" in rotated.output
    under_new = _stored()
    assert under_new.keys() == under_old.keys()
    assert all(under_new[key] != under_old[key] for key in under_old)

    check = runner.invoke(args=["privacy", "check-keys"])
    assert check.exit_code == 0, check.output
    assert f"All {total} encrypted values are read with the newest key" in check.output

    app.config["ID_ENCRYPTION_KEYS"] = [NEW]  # step 5: the old key removed
    assert {key: _decrypted(value) for key, value in under_new.items()} == clear
    assert sorted(value for (name, _), value in clear.items()
                  if name == "applicants.id_number_enc") == sorted(id_numbers)
    again = runner.invoke(args=["privacy", "rotate-keys"])  # safe to run again
    assert again.exit_code == 0 and f"Done: {total} encrypted values" in again.output
    assert {key: _decrypted(value) for key, value in _stored().items()} == clear
    # and the application still finds and reads them: the manage link
    assert client.get(f"/api/v1/appointments/{token}").status_code == 200


def _decrypted(stored: str) -> str:
    return decrypt(stored)


def test_rotation_keeps_the_retention_clocks(app, booking_env, client, runner):
    """updated_at drives the purge of suggestions: re-encrypting moves no row's clock."""
    from feedback.models import Suggestion

    app.config["ID_ENCRYPTION_KEYS"] = [OLD]
    _make_data(client)
    before = {s.id: s.updated_at for s in db.session.scalars(select(Suggestion))}
    app.config["ID_ENCRYPTION_KEYS"] = [NEW, OLD]
    assert runner.invoke(args=["privacy", "rotate-keys"]).exit_code == 0
    db.session.expire_all()
    assert {s.id: s.updated_at for s in db.session.scalars(select(Suggestion))} == before


def test_check_keys_names_a_missing_key(app, booking_env, client, runner):
    app.config["ID_ENCRYPTION_KEYS"] = [OLD]
    _make_data(client)
    total = len(_stored())
    app.config["ID_ENCRYPTION_KEYS"] = [NEW]  # the old key dropped too early
    check = runner.invoke(args=["privacy", "check-keys"])
    assert check.exit_code == 1
    assert f"{total} of {total} encrypted values cannot be read with any configured key" in (
        check.output)
    assert "applicants.id_number_enc 6" in check.output


def test_rotate_keys_refuses_a_batch_of_nothing(app, runner):
    answer = runner.invoke(args=["privacy", "rotate-keys", "--batch", "0"])
    assert answer.exit_code == 2
    assert "--batch" in answer.output


def test_values_are_sealed_with_aes_gcm_and_tampering_is_refused(app):
    """New values are written as "v2:" tokens (AES-256-GCM under a key derived from the
    newest Fernet key), each with its own nonce; a changed byte or another key reads
    nothing."""
    from cryptography.fernet import InvalidToken

    from core.privacy import AEAD_PREFIX, encrypt, key_needed

    with app.app_context():
        app.config["ID_ENCRYPTION_KEYS"] = [NEW, OLD]
        first, second = encrypt("510903199001011234"), encrypt("510903199001011234")
        assert first.startswith(AEAD_PREFIX) and first != second
        assert decrypt(first) == decrypt(second) == "510903199001011234"
        assert key_needed(first) == "newest"
        body = first[len(AEAD_PREFIX):]
        flipped = body[:10] + ("A" if body[10] != "A" else "B") + body[11:]
        for broken in (AEAD_PREFIX + flipped, AEAD_PREFIX + body[:-4], AEAD_PREFIX + "!!"):
            assert key_needed(broken) == "none"
            with pytest.raises(InvalidToken):
                decrypt(broken)
        app.config["ID_ENCRYPTION_KEYS"] = [OLD]
        assert key_needed(first) == "none"


def test_values_written_in_fernets_format_are_read_and_rotated_into_the_new_one(
        app, booking_env, client, runner):
    """Before AES-GCM, values were Fernet tokens: they are still read (under the newest key
    or an older one), and rotate-keys rewrites them as "v2:" tokens."""
    from core.privacy import AEAD_PREFIX, key_needed

    app.config["ID_ENCRYPTION_KEYS"] = [OLD]
    _make_data(client)
    clear = {key: decrypt(value) for key, value in _stored().items()}
    fernet = Fernet(OLD)
    with app.app_context():  # the rows as an earlier version wrote them
        for column in encrypted_columns():
            rows = [{"row_key": row_key, "stored_value": fernet.encrypt(text.encode()).decode()}
                    for (name, row_key), text in clear.items() if name == column_name(column)]
            if rows:
                db.session.execute(_rewrite(column), rows)
        db.session.commit()
    legacy = _stored()
    assert all(not value.startswith(AEAD_PREFIX) for value in legacy.values())
    assert {key: decrypt(value) for key, value in legacy.items()} == clear
    assert {key_needed(value) for value in legacy.values()} == {"newest"}

    app.config["ID_ENCRYPTION_KEYS"] = [NEW, OLD]
    assert {key_needed(value) for value in legacy.values()} == {"older"}
    assert runner.invoke(args=["privacy", "rotate-keys"]).exit_code == 0
    rotated = _stored()
    assert all(value.startswith(AEAD_PREFIX) for value in rotated.values())
    app.config["ID_ENCRYPTION_KEYS"] = [NEW]
    assert {key: decrypt(value) for key, value in rotated.items()} == clear
