"""infusions: index vitals by session and time

Revision ID: 5c1d0e7a9b42
Revises: 499502c9d147
Create Date: 2026-11-25 22:20:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = '5c1d0e7a9b42'
down_revision: str | None = '499502c9d147'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The composite index serves every lookup the single-column one did.
    with op.batch_alter_table('infusion_vitals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_infusion_vitals_session_id'))
        batch_op.create_index('ix_infusion_vitals_session_id_taken_at',
                              ['session_id', 'taken_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('infusion_vitals', schema=None) as batch_op:
        batch_op.drop_index('ix_infusion_vitals_session_id_taken_at')
        batch_op.create_index(batch_op.f('ix_infusion_vitals_session_id'), ['session_id'],
                              unique=False)
