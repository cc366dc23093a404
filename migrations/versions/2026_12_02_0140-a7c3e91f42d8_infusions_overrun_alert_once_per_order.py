"""infusions: an overrun alert names its order and is raised once per order

Revision ID: a7c3e91f42d8
Revises: 41d646c08c21
Create Date: 2026-12-02 01:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'a7c3e91f42d8'
down_revision: str | None = '41d646c08c21'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('infusion_alerts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('order_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_infusion_alerts_order_id_infusion_orders'),
            'infusion_orders', ['order_id'], ['id'])
        batch_op.create_unique_constraint(
            batch_op.f('uq_infusion_alerts_session_id'), ['session_id', 'code', 'order_id'])


def downgrade() -> None:
    with op.batch_alter_table('infusion_alerts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_infusion_alerts_session_id'), type_='unique')
        batch_op.drop_constraint(
            batch_op.f('fk_infusion_alerts_order_id_infusion_orders'), type_='foreignkey')
        batch_op.drop_column('order_id')
