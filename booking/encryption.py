"""Stored ID numbers and the encryption keys (docs/deploy.md, key rotation): re-encrypting
them under the newest key, and checking that none still needs an older one."""

from collections import Counter
from collections.abc import Callable

from sqlalchemy import select

from booking.models import Applicant
from core.database import is_postgres, write_transaction
from core.extensions import db
from core.privacy import key_needed, rotate


def _stored_after(last_id: int, batch: int):
    return (select(Applicant).where(Applicant.id > last_id, Applicant.id_number_enc != "")
            .order_by(Applicant.id).limit(batch))


def rotate_id_numbers(batch: int = 1000, progress: Callable[[int], None] | None = None) -> int:
    """Re-encrypt every stored ID number under the newest key, `batch` rows per transaction,
    while the site runs: each batch is read and written in one write transaction (rows
    locked on PostgreSQL), so a booking or the retention purge changing a row meanwhile is
    neither lost nor undone. Safe to run again. The number of rows re-encrypted."""
    last_id = done = 0
    while True:
        with write_transaction():
            query = _stored_after(last_id, batch)
            if is_postgres():
                query = query.with_for_update()
            rows = db.session.scalars(query).all()
            for row in rows:
                row.id_number_enc = rotate(row.id_number_enc)
            if not rows:
                return done
            last_id, done = rows[-1].id, done + len(rows)
        if progress is not None:
            progress(done)


def check_keys(batch: int = 1000) -> Counter:
    """How many stored ID numbers the newest key reads ("newest"), how many still need an
    older key ("older") and how many no configured key reads ("none")."""
    counts: Counter = Counter(newest=0, older=0, none=0)
    last_id = 0
    while rows := db.session.scalars(_stored_after(last_id, batch)).all():
        counts.update(key_needed(row.id_number_enc) for row in rows)
        last_id = rows[-1].id
        db.session.expunge_all()
    db.session.rollback()
    return counts
