"""maintenance boosters: given (by which infusion session) and cancelled (by whom, why)

Revision ID: 7b3e9c1d2a4f
Revises: f3b8e2a1c5d7
Create Date: 2026-12-02 14:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ketaflow.db

revision: str = '7b3e9c1d2a4f'
down_revision: str | None = 'f3b8e2a1c5d7'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('maintenance_boosters', schema=None) as batch_op:
        batch_op.add_column(sa.Column('given_session_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('given_at', ketaflow.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('cancel_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('cancelled_by_user_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('cancelled_at', ketaflow.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_maintenance_boosters_given_session_id_infusion_sessions'), 'infusion_sessions', ['given_session_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_maintenance_boosters_cancelled_by_user_id_staff_users'), 'staff_users', ['cancelled_by_user_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('maintenance_boosters', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_maintenance_boosters_cancelled_by_user_id_staff_users'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_maintenance_boosters_given_session_id_infusion_sessions'), type_='foreignkey')
        batch_op.drop_column('cancelled_at')
        batch_op.drop_column('cancelled_by_user_id')
        batch_op.drop_column('cancel_reason')
        batch_op.drop_column('given_at')
        batch_op.drop_column('given_session_id')
