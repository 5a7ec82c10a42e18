"""divorce cases end: withdrawn, certified or lapsed

A divorce case (issue 13) now ends: `withdrawn` (one party, up to the end of cooling-off),
`certified` (step 2 registered) or `lapsed` (the step-2 window passed). New columns:
each party's ID hash (`party_a_hash`, `party_b_hash`, indexed: a case is looked up by
either party; filled here from `party_hashes`), `closed_at`, `closed_by_id` and
`withdrawn_by_party`. Check constraints hold the rules: a case is closed exactly when its
status is not `cooling_off`, and a withdrawal names the party. A partial unique index keeps
a couple to one open case; where a deployed database holds two open cases of one couple
(possible before, for a couple that applied again after a window passed), the older ones
are closed as `lapsed` first.

Revision ID: 5b07875f85ed
Revises: 6ad25bc97f7e
Create Date: 2026-12-02 10:40:42.322660

"""
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import core.types

# revision identifiers, used by Alembic.
revision = '5b07875f85ed'
down_revision = '6ad25bc97f7e'
branch_labels = None
depends_on = None

OPEN = "status = 'cooling_off'"


def _fill_party_hashes() -> None:
    conn = op.get_bind()
    cases = sa.table('divorce_cases', sa.column('id', sa.Integer()),
                     sa.column('couple_hash', sa.String()), sa.column('status', sa.String()),
                     sa.column('accepted_on', sa.Date()),
                     sa.column('party_hashes', sa.JSON()),
                     sa.column('party_a_hash', sa.String()),
                     sa.column('party_b_hash', sa.String()),
                     sa.column('closed_at', core.types.UTCDateTime()))
    seen_open: set[str] = set()
    rows = conn.execute(sa.select(cases.c.id, cases.c.couple_hash, cases.c.status,
                                  cases.c.party_hashes)
                        .order_by(cases.c.accepted_on.desc(), cases.c.id.desc())).all()
    for case_id, couple, status, hashes in rows:
        first, second = (sorted(hashes or []) + ["", ""])[:2]
        values = {"party_a_hash": first, "party_b_hash": second}
        if status == 'cooling_off':
            if couple in seen_open:  # an older open case of the same couple
                values |= {"status": "lapsed", "closed_at": datetime.now(UTC)}
            seen_open.add(couple)
        conn.execute(sa.update(cases).where(cases.c.id == case_id).values(**values))


def upgrade():
    with op.batch_alter_table('divorce_cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('party_a_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('party_b_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('closed_at', core.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('closed_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('withdrawn_by_party', sa.String(length=64), nullable=True))
    _fill_party_hashes()
    with op.batch_alter_table('divorce_cases', schema=None) as batch_op:
        batch_op.alter_column('party_a_hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column('party_b_hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.create_index(batch_op.f('ix_divorce_cases_party_a_hash'), ['party_a_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_divorce_cases_party_b_hash'), ['party_b_hash'], unique=False)
        batch_op.create_index('uq_divorce_cases_open_couple', ['couple_hash'], unique=True,
                              sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))
        batch_op.create_foreign_key(batch_op.f('fk_divorce_cases_closed_by_id_users'), 'users', ['closed_by_id'], ['id'])
        batch_op.create_check_constraint(
            op.f('ck_divorce_cases_closed_when_not_open'),
            "(status = 'cooling_off') = (closed_at IS NULL)")
        batch_op.create_check_constraint(
            op.f('ck_divorce_cases_withdrawal_names_party'),
            "(status = 'withdrawn') = (withdrawn_by_party IS NOT NULL)")


def downgrade():
    with op.batch_alter_table('divorce_cases', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_divorce_cases_withdrawal_names_party'), type_='check')
        batch_op.drop_constraint(op.f('ck_divorce_cases_closed_when_not_open'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_divorce_cases_closed_by_id_users'), type_='foreignkey')
        batch_op.drop_index('uq_divorce_cases_open_couple', sqlite_where=sa.text(OPEN),
                            postgresql_where=sa.text(OPEN))
        batch_op.drop_index(batch_op.f('ix_divorce_cases_party_b_hash'))
        batch_op.drop_index(batch_op.f('ix_divorce_cases_party_a_hash'))
        batch_op.drop_column('withdrawn_by_party')
        batch_op.drop_column('closed_by_id')
        batch_op.drop_column('closed_at')
        batch_op.drop_column('party_b_hash')
        batch_op.drop_column('party_a_hash')
