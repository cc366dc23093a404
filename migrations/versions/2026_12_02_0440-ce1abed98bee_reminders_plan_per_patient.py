"""reminders: plan per patient

Revision ID: ce1abed98bee
Revises: 51b693983788
Create Date: 2026-12-02 04:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ketaflow.db

revision: str = 'ce1abed98bee'
down_revision: str | None = '51b693983788'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('reminder_plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('time_zone', sa.String(length=64), nullable=False),
    sa.Column('mood_enabled', sa.Boolean(), nullable=False),
    sa.Column('mood_at', sa.Time(), nullable=False),
    sa.Column('scales_enabled', sa.Boolean(), nullable=False),
    sa.Column('scales_weekday', sa.Integer(), nullable=False),
    sa.Column('scales_at', sa.Time(), nullable=False),
    sa.Column('infusion_enabled', sa.Boolean(), nullable=False),
    sa.Column('infusion_at', sa.Time(), nullable=False),
    sa.Column('repeat_every_h', sa.Integer(), nullable=False),
    sa.Column('repeat_count', sa.Integer(), nullable=False),
    sa.Column('quiet_start', sa.Time(), nullable=False),
    sa.Column('quiet_end', sa.Time(), nullable=False),
    sa.Column('channel', sa.Enum('email', 'sms', name='channel', native_enum=False, length=8), nullable=False),
    sa.Column('opt_out_nonce', sa.String(length=32), nullable=False),
    sa.Column('opted_out_at', ketaflow.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('opted_out_by_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', ketaflow.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by_user_id', sa.Integer(), nullable=False),
    sa.Column('updated_at', ketaflow.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['opted_out_by_user_id'], ['staff_users.id'], name=op.f('fk_reminder_plans_opted_out_by_user_id_staff_users')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_reminder_plans_patient_id_patients')),
    sa.ForeignKeyConstraint(['updated_by_user_id'], ['staff_users.id'], name=op.f('fk_reminder_plans_updated_by_user_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reminder_plans')),
    sa.UniqueConstraint('patient_id', name=op.f('uq_reminder_plans_patient_id'))
    )


def downgrade() -> None:
    op.drop_table('reminder_plans')
