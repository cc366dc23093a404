"""patients: entered-in-error marks, confirmed weight changes, no known allergies, daily-dose
maximum reason

Revision ID: 4e36e154ca38
Revises: a7c3e91f42d8
Create Date: 2026-12-02 01:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ketaflow.db

revision: str = '4e36e154ca38'
down_revision: str | None = 'a7c3e91f42d8'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MARKED = ('patient_measurements', 'patient_medications')


def upgrade() -> None:
    for table in _MARKED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('entered_in_error_at',
                                          ketaflow.db.UTCDateTime(timezone=True), nullable=True))
            batch_op.add_column(sa.Column('entered_in_error_by_user_id', sa.Integer(),
                                          nullable=True))
            batch_op.add_column(sa.Column('entered_in_error_reason', sa.Text(), nullable=True))
            batch_op.create_foreign_key(
                batch_op.f(f'fk_{table}_entered_in_error_by_user_id_staff_users'),
                'staff_users', ['entered_in_error_by_user_id'], ['id'])
    with op.batch_alter_table('patient_measurements', schema=None) as batch_op:
        batch_op.add_column(sa.Column('confirmed_weight_change_percent', sa.Float(),
                                      nullable=True))
    with op.batch_alter_table('patient_medications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('above_max_daily_dose_reason', sa.Text(), nullable=True))
    op.create_table(
        'patient_no_known_allergies',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('patient_id', sa.Integer(), nullable=False),
        sa.Column('superseded_at', ketaflow.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('recorded_at', ketaflow.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('recorded_by_user_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['patient_id'], ['patients.id'],
                                name=op.f('fk_patient_no_known_allergies_patient_id_patients')),
        sa.ForeignKeyConstraint(
            ['recorded_by_user_id'], ['staff_users.id'],
            name=op.f('fk_patient_no_known_allergies_recorded_by_user_id_staff_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_patient_no_known_allergies')),
    )
    with op.batch_alter_table('patient_no_known_allergies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_patient_no_known_allergies_patient_id'),
                              ['patient_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('patient_no_known_allergies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_patient_no_known_allergies_patient_id'))
    op.drop_table('patient_no_known_allergies')
    with op.batch_alter_table('patient_medications', schema=None) as batch_op:
        batch_op.drop_column('above_max_daily_dose_reason')
    with op.batch_alter_table('patient_measurements', schema=None) as batch_op:
        batch_op.drop_column('confirmed_weight_change_percent')
    for table in _MARKED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(
                batch_op.f(f'fk_{table}_entered_in_error_by_user_id_staff_users'),
                type_='foreignkey')
            batch_op.drop_column('entered_in_error_reason')
            batch_op.drop_column('entered_in_error_by_user_id')
            batch_op.drop_column('entered_in_error_at')
