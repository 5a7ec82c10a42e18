"""The encryption keys and what they encrypt (docs/deploy.md, the keys): re-encrypting every
encrypted column under the newest key of ID_ENCRYPTION_KEYS, and checking that none still
needs an older one. The columns are those the models registered with
core.privacy.register_encrypted (ID numbers, birth dates, phone numbers, SMS texts, the
secrets of links, in every feature); the values are read and written as stored, never
decrypted here."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from sqlalchemy import Column, Text, bindparam, select, type_coerce, update

from core.database import is_postgres, write_transaction
from core.extensions import db
from core.privacy import encrypted_columns, key_needed, rotate


def column_name(column: Column) -> str:
    return f"{column.table.name}.{column.name}"


def _stored_after(column: Column, last, batch: int):
    """The next `batch` rows holding a value in `column`: (primary key, the stored token)."""
    table = column.table
    key = next(iter(table.primary_key.columns))
    query = select(key, type_coerce(column, Text())).where(column != "")
    if last is not None:
        query = query.where(key > last)
    return query.order_by(key).limit(batch)


def _rewrite(column: Column):
    """UPDATE one row's stored token as it is given (no encryption on the way in); columns
    that change by themselves on an update (updated_at) keep their value, so a rotation
    moves no retention clock."""
    table = column.table
    key = next(iter(table.primary_key.columns))
    values = {column.key: bindparam("stored_value", type_=Text())}
    for other in table.columns:
        if other.onupdate is not None and other is not column:
            values[other.key] = other
    return update(table).where(key == bindparam("row_key")).values(values)


def rotate_encrypted(batch: int = 1000,
                     progress: Callable[[int], None] | None = None) -> Counter:
    """Re-encrypt every stored value of every encrypted column under the newest key,
    `batch` rows per transaction, while the site runs: each batch is read and written in
    one write transaction (rows locked on PostgreSQL), so a booking or the retention purge
    changing a row meanwhile is neither lost nor undone. Safe to run again. How many values
    were re-encrypted, by column ("applicants.phone_enc")."""
    done: Counter = Counter()
    for column in encrypted_columns():
        last = None
        while True:
            with write_transaction():
                query = _stored_after(column, last, batch)
                if is_postgres():
                    query = query.with_for_update()
                rows = db.session.execute(query).all()
                if not rows:
                    break
                db.session.execute(_rewrite(column), [
                    {"row_key": row_key, "stored_value": rotate(stored)}
                    for row_key, stored in rows])
                last = rows[-1][0]
            done[column_name(column)] += len(rows)
            if progress is not None:
                progress(sum(done.values()))
    return done


def check_keys(batch: int = 1000) -> dict[str, Counter]:
    """By column: how many stored values the newest key reads ("newest"), how many still
    need an older key ("older") and how many no configured key reads ("none")."""
    counts: dict[str, Counter] = {}
    for column in encrypted_columns():
        found: Counter = Counter(newest=0, older=0, none=0)
        last = None
        while rows := db.session.execute(_stored_after(column, last, batch)).all():
            found.update(key_needed(stored) for _, stored in rows)
            last = rows[-1][0]
        counts[column_name(column)] = found
    db.session.rollback()
    return counts
