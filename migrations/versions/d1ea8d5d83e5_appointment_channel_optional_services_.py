"""appointment channel; optional services: min applicants, peak capacity

Revision ID: d1ea8d5d83e5
Revises: a974a4e58438
Create Date: 2026-12-02 10:38:59.844899

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'd1ea8d5d83e5'
down_revision = 'a974a4e58438'
branch_labels = None
depends_on = None


def upgrade():
    # Every appointment so far was booked online; every service so far takes exactly its
    # number of applicants (`flask offices load` sets the catalogue's values again).
    with op.batch_alter_table('appointments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sa.String(length=8), nullable=False,
                                      server_default='online'))
        batch_op.create_check_constraint(op.f('ck_appointments_channel'),
                                         "channel IN ('online', 'staff')")

    with op.batch_alter_table('office_services', schema=None) as batch_op:
        batch_op.add_column(sa.Column('peak_capacity', sa.Integer(), nullable=True))
        batch_op.create_check_constraint(op.f('ck_office_services_peak_capacity'),
                                         'peak_capacity >= 0')

    with op.batch_alter_table('services', schema=None) as batch_op:
        batch_op.add_column(sa.Column('min_applicants', sa.Integer(), nullable=True))
    op.execute('UPDATE services SET min_applicants = applicants')
    with op.batch_alter_table('services', schema=None) as batch_op:
        batch_op.alter_column('min_applicants', existing_type=sa.Integer(), nullable=False)
        batch_op.create_check_constraint(op.f('ck_services_min_applicants'),
                                         'min_applicants >= 1 AND min_applicants <= applicants')

    # the server default only filled the existing rows; the model sets the value
    with op.batch_alter_table('appointments', schema=None) as batch_op:
        batch_op.alter_column('channel', existing_type=sa.String(length=8),
                              server_default=None)


def downgrade():
    with op.batch_alter_table('services', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_services_min_applicants'), type_='check')
        batch_op.drop_column('min_applicants')

    with op.batch_alter_table('office_services', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_office_services_peak_capacity'), type_='check')
        batch_op.drop_column('peak_capacity')

    with op.batch_alter_table('appointments', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_appointments_channel'), type_='check')
        batch_op.drop_column('channel')
