"""personal data encrypted at rest

Birth dates, phone numbers, SMS texts and the secrets of links are no longer stored in
clear (issue 15): each gets an encrypted column (Fernet, ID_ENCRYPTION_KEYS) and, where a
row is looked up by it, a keyed hash (HMAC under ID_HASH_KEY); the clear columns go. The
masked ID numbers lose the birth-date digits (5109**********1234). Existing rows are
converted with the app's keys: the migration runs inside the app (flask db upgrade), and
current_app.config has them.

| table | before | after |
|---|---|---|
| appointments | token | token_enc, token_hash (unique) |
| applicants | birth_date, phone; id_masked 6+4 | birth_date_enc (NULL once purged), phone_enc; id_masked 4+4 |
| tickets | token, phone | token_enc, token_hash (unique), phone_enc |
| rating_invites | token | token_hash (unique) |
| suggestions | token, phone | token_hash (unique), phone_enc |
| outbox_messages | to_phone (indexed), body; dedupe keys with the phone | to_phone_enc, to_phone_hash (indexed), body_enc; dedupe keys with the phone's hash; error texts with numbers masked |
| sms_opt_outs | phone (primary key) | phone_hash (primary key), phone_enc |

The downgrade decrypts them back; the links kept only as hashes (rating invites,
suggestions' status pages) get new random tokens there, so their old links stop working.

Revision ID: 746139e9e82b
Revises: aae89f8b52c4
Create Date: 2026-12-02 08:00:00

"""
import re
import secrets
from datetime import date

import sqlalchemy as sa
from alembic import op

import core.types
from core.privacy import decrypt, encrypt, mask_id, mask_phones_in, secret_hash

# revision identifiers, used by Alembic.
revision = '746139e9e82b'
down_revision = 'aae89f8b52c4'
branch_labels = None
depends_on = None

CHUNK = 1000
PHONE_IN_KEY = re.compile(r"\+\d{6,15}")
NO_BIRTH_DATE = date(1900, 1, 1)  # downgrade only: the old column had no NULL


# --- converting rows --------------------------------------------------------------------------

def _table(name: str, *columns: sa.Column) -> sa.TableClause:
    return sa.table(name, sa.column('id', sa.Integer()), *columns)


def _convert(table: sa.TableClause, reads: list[str], convert) -> None:
    """Every row of `table`, CHUNK at a time in id order: `convert(row)` gives the values to
    write (column name -> value), or None to leave the row."""
    conn = op.get_bind()
    key = table.c.id
    last = None
    while True:
        query = sa.select(key, *(table.c[name] for name in reads)).order_by(key).limit(CHUNK)
        if last is not None:
            query = query.where(key > last)
        rows = conn.execute(query).all()
        if not rows:
            return
        last = rows[-1][0]
        changes = [(row[0], values) for row in rows if (values := convert(row._mapping))]
        for names in {tuple(sorted(values)) for _, values in changes}:
            statement = table.update().where(key == sa.bindparam('row_id')).values(
                {name: sa.bindparam(f'new_{name}') for name in names})
            conn.execute(statement, [
                {'row_id': row_id, **{f'new_{name}': values[name] for name in names}}
                for row_id, values in changes if tuple(sorted(values)) == names])


def _enc(text: str | None) -> str:
    return encrypt(text) if text else ''


def _dec(token: str | None) -> str:
    return decrypt(token) if token else ''


def _hash(text: str | None) -> str:
    return secret_hash(text) if text else ''


def _dedupe_key(key: str | None) -> str | None:
    return PHONE_IN_KEY.sub(lambda match: secret_hash(match.group()), key) if key else key


# --- upgrade ----------------------------------------------------------------------------------

def upgrade():
    _upgrade_appointments()
    _upgrade_applicants()
    _upgrade_tickets()
    _upgrade_rating_invites()
    _upgrade_suggestions()
    _upgrade_outbox()
    _upgrade_opt_outs()


def _add(table: str, *columns: sa.Column) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        for column in columns:
            batch_op.add_column(column)


def _upgrade_appointments():
    _add('appointments', sa.Column('token_enc', sa.Text(), nullable=True),
         sa.Column('token_hash', sa.String(length=64), nullable=True))
    table = _table('appointments', sa.column('token', sa.String()),
                   sa.column('token_enc', sa.Text()), sa.column('token_hash', sa.String()))
    _convert(table, ['token'], lambda row: {'token_enc': encrypt(row['token']),
                                            'token_hash': secret_hash(row['token'])})
    with op.batch_alter_table('appointments', schema=None) as batch_op:
        batch_op.alter_column('token_enc', existing_type=sa.Text(), nullable=False)
        batch_op.alter_column('token_hash', existing_type=sa.String(length=64),
                              nullable=False)
        batch_op.drop_constraint('uq_appointments_token', type_='unique')
        batch_op.drop_column('token')
        batch_op.create_unique_constraint(batch_op.f('uq_appointments_token_hash'),
                                          ['token_hash'])


def _upgrade_applicants():
    _add('applicants', sa.Column('birth_date_enc', sa.Text(), nullable=True),
         sa.Column('phone_enc', sa.Text(), nullable=True))
    table = _table('applicants', sa.column('appointment_id', sa.Integer()),
                   sa.column('birth_date', sa.Date()), sa.column('phone', sa.String()),
                   sa.column('id_number_enc', sa.Text()), sa.column('id_masked', sa.String()),
                   sa.column('birth_date_enc', sa.Text()), sa.column('phone_enc', sa.Text()))
    purged = {row[0] for row in op.get_bind().execute(sa.text(
        'SELECT id FROM appointments WHERE purged_at IS NOT NULL'))}

    def convert(row):
        kept = row['appointment_id'] not in purged  # a purged one keeps no birth date
        return {'birth_date_enc': encrypt(row['birth_date'].isoformat())
                if kept and row['birth_date'] else None,
                'phone_enc': _enc(row['phone']),
                # from the number while it is stored, else from the old mask (the new mask
                # shows a part of what the old one showed)
                'id_masked': mask_id(decrypt(row['id_number_enc']) if row['id_number_enc']
                                     else row['id_masked'])}

    _convert(table, ['appointment_id', 'birth_date', 'phone', 'id_number_enc', 'id_masked'],
             convert)
    with op.batch_alter_table('applicants', schema=None) as batch_op:
        batch_op.alter_column('phone_enc', existing_type=sa.Text(), nullable=False)
        batch_op.drop_column('birth_date')
        batch_op.drop_column('phone')


def _upgrade_tickets():
    _add('tickets', sa.Column('token_enc', sa.Text(), nullable=True),
         sa.Column('token_hash', sa.String(length=64), nullable=True),
         sa.Column('phone_enc', sa.Text(), nullable=True))
    table = _table('tickets', sa.column('token', sa.String()), sa.column('phone', sa.String()),
                   sa.column('token_enc', sa.Text()), sa.column('token_hash', sa.String()),
                   sa.column('phone_enc', sa.Text()))
    _convert(table, ['token', 'phone'], lambda row: {
        'token_enc': encrypt(row['token']), 'token_hash': secret_hash(row['token']),
        'phone_enc': _enc(row['phone'])})
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.alter_column('token_enc', existing_type=sa.Text(), nullable=False)
        batch_op.alter_column('token_hash', existing_type=sa.String(length=64),
                              nullable=False)
        batch_op.alter_column('phone_enc', existing_type=sa.Text(), nullable=False)
        batch_op.drop_constraint('uq_tickets_token', type_='unique')
        batch_op.drop_column('token')
        batch_op.drop_column('phone')
        batch_op.create_unique_constraint(batch_op.f('uq_tickets_token_hash'), ['token_hash'])


def _upgrade_rating_invites():
    _add('rating_invites', sa.Column('token_hash', sa.String(length=64), nullable=True))
    table = _table('rating_invites', sa.column('token', sa.String()),
                   sa.column('token_hash', sa.String()))
    _convert(table, ['token'], lambda row: {'token_hash': secret_hash(row['token'])})
    with op.batch_alter_table('rating_invites', schema=None) as batch_op:
        batch_op.alter_column('token_hash', existing_type=sa.String(length=64),
                              nullable=False)
        batch_op.drop_constraint('uq_rating_invites_token', type_='unique')
        batch_op.drop_column('token')
        batch_op.create_unique_constraint(batch_op.f('uq_rating_invites_token_hash'),
                                          ['token_hash'])


def _upgrade_suggestions():
    _add('suggestions', sa.Column('token_hash', sa.String(length=64), nullable=True),
         sa.Column('phone_enc', sa.Text(), nullable=True))
    table = _table('suggestions', sa.column('token', sa.String()),
                   sa.column('phone', sa.String()), sa.column('token_hash', sa.String()),
                   sa.column('phone_enc', sa.Text()))
    _convert(table, ['token', 'phone'], lambda row: {
        'token_hash': secret_hash(row['token']), 'phone_enc': _enc(row['phone'])})
    with op.batch_alter_table('suggestions', schema=None) as batch_op:
        batch_op.alter_column('token_hash', existing_type=sa.String(length=64),
                              nullable=False)
        batch_op.alter_column('phone_enc', existing_type=sa.Text(), nullable=False)
        batch_op.drop_constraint('uq_suggestions_token', type_='unique')
        batch_op.drop_column('token')
        batch_op.drop_column('phone')
        batch_op.create_unique_constraint(batch_op.f('uq_suggestions_token_hash'),
                                          ['token_hash'])


def _upgrade_outbox():
    _add('outbox_messages', sa.Column('to_phone_enc', sa.Text(), nullable=True),
         sa.Column('to_phone_hash', sa.String(length=64), nullable=True),
         sa.Column('body_enc', sa.Text(), nullable=True))
    table = _table('outbox_messages', sa.column('to_phone', sa.String()),
                   sa.column('body', sa.Text()), sa.column('dedupe_key', sa.String()),
                   sa.column('error_message', sa.Text()), sa.column('to_phone_enc', sa.Text()),
                   sa.column('to_phone_hash', sa.String()), sa.column('body_enc', sa.Text()))
    _convert(table, ['to_phone', 'body', 'dedupe_key', 'error_message'], lambda row: {
        'to_phone_enc': _enc(row['to_phone']), 'to_phone_hash': _hash(row['to_phone']),
        'body_enc': _enc(row['body']), 'dedupe_key': _dedupe_key(row['dedupe_key']),
        'error_message': mask_phones_in(row['error_message'] or '')})
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.alter_column('to_phone_enc', existing_type=sa.Text(), nullable=False)
        batch_op.alter_column('to_phone_hash', existing_type=sa.String(length=64),
                              nullable=False)
        batch_op.alter_column('body_enc', existing_type=sa.Text(), nullable=False)
        batch_op.drop_index('ix_outbox_messages_to_phone')
        batch_op.drop_column('to_phone')
        batch_op.drop_column('body')
        batch_op.create_index('ix_outbox_messages_to_phone_hash', ['to_phone_hash'],
                              unique=False)


def _opt_outs_table(*columns: sa.Column, key: str):
    op.create_table('sms_opt_outs', *columns,
                    sa.Column('created_at', core.types.UTCDateTime(), nullable=False),
                    sa.Column('source', sa.String(length=16), nullable=False),
                    sa.PrimaryKeyConstraint(key, name=op.f('pk_sms_opt_outs')))


def _upgrade_opt_outs():
    """A small table whose primary key changes: read, made again, written."""
    conn = op.get_bind()
    old = sa.table('sms_opt_outs', sa.column('phone', sa.String()),
                   sa.column('created_at', core.types.UTCDateTime()),
                   sa.column('source', sa.String()))
    rows = conn.execute(sa.select(old.c.phone, old.c.created_at, old.c.source)).all()
    op.drop_table('sms_opt_outs')
    _opt_outs_table(sa.Column('phone_hash', sa.String(length=64), nullable=False),
                    sa.Column('phone_enc', sa.Text(), nullable=False), key='phone_hash')
    new = sa.table('sms_opt_outs', sa.column('phone_hash', sa.String()),
                   sa.column('phone_enc', sa.Text()),
                   sa.column('created_at', core.types.UTCDateTime()),
                   sa.column('source', sa.String()))
    if rows:
        conn.execute(new.insert(), [
            {'phone_hash': secret_hash(phone), 'phone_enc': encrypt(phone),
             'created_at': created_at, 'source': source}
            for phone, created_at, source in rows])


# --- downgrade --------------------------------------------------------------------------------

def downgrade():
    _downgrade_opt_outs()
    _downgrade_outbox()
    _downgrade_suggestions()
    _downgrade_rating_invites()
    _downgrade_tickets()
    _downgrade_applicants()
    _downgrade_appointments()


def _downgrade_opt_outs():
    conn = op.get_bind()
    new = sa.table('sms_opt_outs', sa.column('phone_enc', sa.Text()),
                   sa.column('created_at', core.types.UTCDateTime()),
                   sa.column('source', sa.String()))
    rows = conn.execute(sa.select(new.c.phone_enc, new.c.created_at, new.c.source)).all()
    op.drop_table('sms_opt_outs')
    _opt_outs_table(sa.Column('phone', sa.String(length=20), nullable=False), key='phone')
    old = sa.table('sms_opt_outs', sa.column('phone', sa.String()),
                   sa.column('created_at', core.types.UTCDateTime()),
                   sa.column('source', sa.String()))
    if rows:
        conn.execute(old.insert(), [{'phone': decrypt(phone), 'created_at': created_at,
                                     'source': source} for phone, created_at, source in rows])


def _downgrade_outbox():
    _add('outbox_messages', sa.Column('to_phone', sa.String(length=20), nullable=True),
         sa.Column('body', sa.Text(), nullable=True))
    table = _table('outbox_messages', sa.column('to_phone', sa.String()),
                   sa.column('body', sa.Text()), sa.column('to_phone_enc', sa.Text()),
                   sa.column('body_enc', sa.Text()))
    _convert(table, ['to_phone_enc', 'body_enc'], lambda row: {
        'to_phone': _dec(row['to_phone_enc']), 'body': _dec(row['body_enc'])})
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.alter_column('to_phone', existing_type=sa.String(length=20), nullable=False)
        batch_op.alter_column('body', existing_type=sa.Text(), nullable=False)
        batch_op.drop_index('ix_outbox_messages_to_phone_hash')
        batch_op.drop_column('to_phone_enc')
        batch_op.drop_column('to_phone_hash')
        batch_op.drop_column('body_enc')
        batch_op.create_index('ix_outbox_messages_to_phone', ['to_phone'], unique=False)


def _new_token(_row) -> dict:
    return {'token': secrets.token_urlsafe(24)}


def _downgrade_suggestions():
    _add('suggestions', sa.Column('token', sa.String(length=64), nullable=True),
         sa.Column('phone', sa.String(length=20), nullable=True))
    table = _table('suggestions', sa.column('token', sa.String()),
                   sa.column('phone', sa.String()), sa.column('phone_enc', sa.Text()))
    _convert(table, ['phone_enc'], lambda row: _new_token(row) | {
        'phone': _dec(row['phone_enc'])})
    with op.batch_alter_table('suggestions', schema=None) as batch_op:
        batch_op.alter_column('token', existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column('phone', existing_type=sa.String(length=20), nullable=False)
        batch_op.drop_constraint('uq_suggestions_token_hash', type_='unique')
        batch_op.drop_column('token_hash')
        batch_op.drop_column('phone_enc')
        batch_op.create_unique_constraint(batch_op.f('uq_suggestions_token'), ['token'])


def _downgrade_rating_invites():
    _add('rating_invites', sa.Column('token', sa.String(length=64), nullable=True))
    _convert(_table('rating_invites', sa.column('token', sa.String())), [], _new_token)
    with op.batch_alter_table('rating_invites', schema=None) as batch_op:
        batch_op.alter_column('token', existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_constraint('uq_rating_invites_token_hash', type_='unique')
        batch_op.drop_column('token_hash')
        batch_op.create_unique_constraint(batch_op.f('uq_rating_invites_token'), ['token'])


def _downgrade_tickets():
    _add('tickets', sa.Column('token', sa.String(length=64), nullable=True),
         sa.Column('phone', sa.String(length=20), nullable=True))
    table = _table('tickets', sa.column('token', sa.String()), sa.column('phone', sa.String()),
                   sa.column('token_enc', sa.Text()), sa.column('phone_enc', sa.Text()))
    _convert(table, ['token_enc', 'phone_enc'], lambda row: {
        'token': decrypt(row['token_enc']), 'phone': _dec(row['phone_enc'])})
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.alter_column('token', existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column('phone', existing_type=sa.String(length=20), nullable=False)
        batch_op.drop_constraint('uq_tickets_token_hash', type_='unique')
        batch_op.drop_column('token_enc')
        batch_op.drop_column('token_hash')
        batch_op.drop_column('phone_enc')
        batch_op.create_unique_constraint(batch_op.f('uq_tickets_token'), ['token'])


def _downgrade_applicants():
    _add('applicants', sa.Column('birth_date', sa.Date(), nullable=True),
         sa.Column('phone', sa.String(length=20), nullable=True))
    table = _table('applicants', sa.column('birth_date', sa.Date()),
                   sa.column('phone', sa.String()), sa.column('birth_date_enc', sa.Text()),
                   sa.column('phone_enc', sa.Text()))
    _convert(table, ['birth_date_enc', 'phone_enc'], lambda row: {
        'birth_date': date.fromisoformat(decrypt(row['birth_date_enc']))
        if row['birth_date_enc'] else NO_BIRTH_DATE,
        'phone': _dec(row['phone_enc'])})
    with op.batch_alter_table('applicants', schema=None) as batch_op:
        batch_op.alter_column('birth_date', existing_type=sa.Date(), nullable=False)
        batch_op.alter_column('phone', existing_type=sa.String(length=20), nullable=False)
        batch_op.drop_column('birth_date_enc')
        batch_op.drop_column('phone_enc')


def _downgrade_appointments():
    _add('appointments', sa.Column('token', sa.String(length=64), nullable=True))
    table = _table('appointments', sa.column('token', sa.String()),
                   sa.column('token_enc', sa.Text()))
    _convert(table, ['token_enc'], lambda row: {'token': decrypt(row['token_enc'])})
    with op.batch_alter_table('appointments', schema=None) as batch_op:
        batch_op.alter_column('token', existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_constraint('uq_appointments_token_hash', type_='unique')
        batch_op.drop_column('token_enc')
        batch_op.drop_column('token_hash')
        batch_op.create_unique_constraint(batch_op.f('uq_appointments_token'), ['token'])
