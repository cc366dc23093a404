"""infusions: a new order names the order it supersedes and why

Revision ID: 5b8e2f1c9a47
Revises: 3d657873fc78
Create Date: 2026-12-02 00:01:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '5b8e2f1c9a47'
down_revision: str | None = '3d657873fc78'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('infusion_orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('supersedes_order_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('supersede_reason', sa.Text(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_infusion_orders_supersedes_order_id_infusion_orders'),
            'infusion_orders', ['supersedes_order_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('infusion_orders', schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f('fk_infusion_orders_supersedes_order_id_infusion_orders'),
            type_='foreignkey')
        batch_op.drop_column('supersede_reason')
        batch_op.drop_column('supersedes_order_id')
