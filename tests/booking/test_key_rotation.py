"""Key rotation for the ID numbers at rest (docs/deploy.md): a new key first in
ID_ENCRYPTION_KEYS, `flask privacy rotate-keys` re-encrypts what is stored, `flask privacy
check-keys` says when the old key can go — through the real command line."""

from cryptography.fernet import Fernet
from sqlalchemy import select

from booking.models import Applicant
from core.extensions import db
from core.privacy import decrypt
from tests.booking.helpers import couple, payload

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def _stored() -> dict[int, str]:
    db.session.rollback()
    return dict(db.session.execute(select(Applicant.id, Applicant.id_number_enc)).all())


def _book_three(client) -> list[str]:
    ids = []
    for start, births in (("09:00", ("19900101", "19920202")), ("09:30", ("19850505", "19870707")),
                          ("10:00", ("19800303", "19880808"))):
        applicants = couple(*births)
        answer = client.post("/api/v1/appointments", json=payload(start=start,
                                                                    applicants=applicants))
        assert answer.status_code == 201, answer.get_json()
        ids += [a["id_number"] for a in applicants]
    return ids


def test_rotate_then_check_then_drop_the_old_key(app, booking_env, client, runner):
    app.config["ID_ENCRYPTION_KEYS"] = [OLD]
    id_numbers = _book_three(client)
    under_old = _stored()
    assert len(under_old) == 6

    app.config["ID_ENCRYPTION_KEYS"] = [NEW, OLD]  # step 2: the new key first
    check = runner.invoke(args=["privacy", "check-keys"])
    assert check.exit_code == 1, check.output
    assert "6 of 6 ID numbers still need an older key" in check.output

    rotated = runner.invoke(args=["privacy", "rotate-keys", "--batch", "4"])
    assert rotated.exit_code == 0, rotated.output
    assert "re-encrypted 4 ID numbers …" in rotated.output
    assert "Done: 6 ID numbers are encrypted under the newest key." in rotated.output
    under_new = _stored()
    assert under_new.keys() == under_old.keys()
    assert all(under_new[key] != under_old[key] for key in under_old)

    check = runner.invoke(args=["privacy", "check-keys"])
    assert check.exit_code == 0, check.output
    assert "All 6 stored ID numbers are read with the newest key" in check.output

    app.config["ID_ENCRYPTION_KEYS"] = [NEW]  # step 5: the old key removed
    assert sorted(decrypt(token) for token in under_new.values()) == sorted(id_numbers)
    again = runner.invoke(args=["privacy", "rotate-keys"])  # safe to run again
    assert again.exit_code == 0 and "Done: 6 ID numbers" in again.output
    assert sorted(decrypt(token) for token in _stored().values()) == sorted(id_numbers)


def test_check_keys_names_a_missing_key(app, booking_env, client, runner):
    app.config["ID_ENCRYPTION_KEYS"] = [OLD]
    _book_three(client)
    app.config["ID_ENCRYPTION_KEYS"] = [NEW]  # the old key dropped too early
    check = runner.invoke(args=["privacy", "check-keys"])
    assert check.exit_code == 1
    assert "6 of 6 ID numbers cannot be read with any configured key" in check.output


def test_rotate_keys_refuses_a_batch_of_nothing(app, runner):
    answer = runner.invoke(args=["privacy", "rotate-keys", "--batch", "0"])
    assert answer.exit_code == 2
    assert "--batch" in answer.output
