"""settings: clinic setting changes (rows only added; what was in force is recomputed)

Revision ID: 47681bb46470
Revises: 4dc1fe46da7b
Create Date: 2026-12-01 22:56:29.093809
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ketaflow.db

revision: str = '47681bb46470'
down_revision: str | None = '4dc1fe46da7b'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('setting_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_key', sa.String(length=32), nullable=False),
    sa.Column('setting_name', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('is_reset', sa.Boolean(), nullable=False),
    sa.Column('effective_from', ketaflow.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('changed_by_user_id', sa.Integer(), nullable=True),
    sa.Column('changed_at', ketaflow.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['changed_by_user_id'], ['staff_users.id'], name=op.f('fk_setting_changes_changed_by_user_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_setting_changes'))
    )
    with op.batch_alter_table('setting_changes', schema=None) as batch_op:
        batch_op.create_index('ix_setting_changes_effective_from', ['effective_from'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('setting_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_setting_changes_effective_from')

    op.drop_table('setting_changes')
