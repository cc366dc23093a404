"""reports: the clinic's service codes for prior-authorisation packets

Revision ID: de14d6c8c07d
Revises: c4e18a2f9d03
Create Date: 2026-12-02 08:05:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ketaflow.db

revision: str = 'de14d6c8c07d'
down_revision: str | None = 'c4e18a2f9d03'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('clinic_service_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code_system', sa.String(length=40), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('added_at', ketaflow.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('added_by_user_id', sa.Integer(), nullable=True),
    sa.Column('retired_at', ketaflow.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('retired_by_user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['added_by_user_id'], ['staff_users.id'], name=op.f('fk_clinic_service_codes_added_by_user_id_staff_users')),
    sa.ForeignKeyConstraint(['retired_by_user_id'], ['staff_users.id'], name=op.f('fk_clinic_service_codes_retired_by_user_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clinic_service_codes'))
    )


def downgrade() -> None:
    op.drop_table('clinic_service_codes')
