"""fhir export jobs: the Group a group-level export is of

Revision ID: a9d4c2e7f1b3
Revises: 9c4d2f7a1b38
Create Date: 2026-12-03 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'a9d4c2e7f1b3'
down_revision: str | None = '9c4d2f7a1b38'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('fhir_export_jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('group_id', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('fhir_export_jobs', schema=None) as batch_op:
        batch_op.drop_column('group_id')
