"""staff sessions, login throttles and paired rating tablets

Issue 15 (sessions and logins):

- users: `session_version` (raised by logout, a password change, deactivation, a lock and
  an admin's "end all sessions": older session cookies are refused) and `locked_at` (an
  admin's lock). Failed logins no longer lock an account: `failed_logins` and
  `locked_until` are no longer used, but stay until the next release so that workers
  still running the older code keep working during the upgrade (docs/deploy.md §9).
- login_throttles: failed logins counted per client address and per user name + address
  (keyed hashes), for the growing wait between tries.
- rating_tablets: the browsers staff paired as a window's rating tablet (the keyed hash of
  each one's device token).

Revision ID: 462b4e1fd48c
Revises: 746139e9e82b
Create Date: 2026-12-02 10:00:00

"""
import sqlalchemy as sa
from alembic import op

import core.types

# revision identifiers, used by Alembic.
revision = '462b4e1fd48c'
down_revision = '746139e9e82b'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locked_at', core.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default='0',
                                      nullable=False))

    op.create_table('login_throttles',
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_failure_at', core.types.UTCDateTime(), nullable=False),
    sa.Column('blocked_until', core.types.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('key_hash', name=op.f('pk_login_throttles'))
    )
    with op.batch_alter_table('login_throttles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_throttles_last_failure_at'),
                              ['last_failure_at'], unique=False)

    op.create_table('rating_tablets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('office_id', sa.Integer(), nullable=False),
    sa.Column('window_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('paired_at', core.types.UTCDateTime(), nullable=False),
    sa.Column('paired_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['office_id'], ['offices.id'],
                            name=op.f('fk_rating_tablets_office_id_offices'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['paired_by_id'], ['users.id'],
                            name=op.f('fk_rating_tablets_paired_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['window_id'], ['windows.id'],
                            name=op.f('fk_rating_tablets_window_id_windows'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rating_tablets')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_rating_tablets_token_hash'))
    )
    with op.batch_alter_table('rating_tablets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rating_tablets_office_id'), ['office_id'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('rating_tablets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rating_tablets_office_id'))
    op.drop_table('rating_tablets')

    with op.batch_alter_table('login_throttles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_throttles_last_failure_at'))
    op.drop_table('login_throttles')

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_version')
        batch_op.drop_column('locked_at')
