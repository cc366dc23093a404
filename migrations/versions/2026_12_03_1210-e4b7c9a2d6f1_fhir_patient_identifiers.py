"""fhir: identifiers other systems gave our patients (referral import)

Revision ID: e4b7c9a2d6f1
Revises: a9d4c2e7f1b3
Create Date: 2026-12-03 12:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ketaflow.db

revision: str = 'e4b7c9a2d6f1'
down_revision: str | None = 'a9d4c2e7f1b3'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('patient_identifiers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('system', sa.String(length=255), nullable=False),
    sa.Column('value', sa.String(length=255), nullable=False),
    sa.Column('recorded_at', ketaflow.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recorded_by_user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_patient_identifiers_patient_id_patients')),
    sa.ForeignKeyConstraint(['recorded_by_user_id'], ['staff_users.id'], name=op.f('fk_patient_identifiers_recorded_by_user_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patient_identifiers')),
    sa.UniqueConstraint('system', 'value', name='uq_patient_identifiers_system_value')
    )
    with op.batch_alter_table('patient_identifiers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_patient_identifiers_patient_id'), ['patient_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('patient_identifiers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_patient_identifiers_patient_id'))

    op.drop_table('patient_identifiers')
