"""fhir: bulk export jobs

Revision ID: f3b8e2a1c5d7
Revises: de14d6c8c07d
Create Date: 2026-12-02 14:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ketaflow.db

revision: str = 'f3b8e2a1c5d7'
down_revision: str | None = 'de14d6c8c07d'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('fhir_export_jobs',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('level', sa.Enum('system', 'patient', name='exportlevel', native_enum=False, length=16), nullable=False),
    sa.Column('types', sa.JSON(), nullable=False),
    sa.Column('since', ketaflow.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('request_url', sa.String(length=2000), nullable=False),
    sa.Column('requester_user_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.Enum('queued', 'running', 'done', 'failed', 'cancelled', name='exportstate', native_enum=False, length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('claimed_by', sa.String(length=64), nullable=True),
    sa.Column('heartbeat_at', ketaflow.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('progress', sa.String(length=200), nullable=False),
    sa.Column('output', sa.JSON(), nullable=False),
    sa.Column('transaction_at', ketaflow.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('error', sa.String(length=200), nullable=True),
    sa.Column('created_at', ketaflow.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_at', ketaflow.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', ketaflow.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', ketaflow.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['requester_user_id'], ['staff_users.id'], name=op.f('fk_fhir_export_jobs_requester_user_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fhir_export_jobs'))
    )
    with op.batch_alter_table('fhir_export_jobs', schema=None) as batch_op:
        batch_op.create_index('ix_fhir_export_jobs_state_created_at', ['state', 'created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('fhir_export_jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_fhir_export_jobs_state_created_at')

    op.drop_table('fhir_export_jobs')
