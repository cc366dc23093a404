"""moodchart: links and daily entries

Revision ID: 41d646c08c21
Revises: 5b0f3a9c1d2e
Create Date: 2026-12-02 02:11:53.265447
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ketaflow.db

revision: str = '41d646c08c21'
down_revision: str | None = '5b0f3a9c1d2e'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('mood_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', ketaflow.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by_user_id', sa.Integer(), nullable=False),
    sa.Column('expires_at', ketaflow.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', ketaflow.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_by_user_id', sa.Integer(), nullable=True),
    sa.Column('last_used_at', ketaflow.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['staff_users.id'], name=op.f('fk_mood_links_created_by_user_id_staff_users')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_mood_links_patient_id_patients')),
    sa.ForeignKeyConstraint(['revoked_by_user_id'], ['staff_users.id'], name=op.f('fk_mood_links_revoked_by_user_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mood_links')),
    sa.UniqueConstraint('token_sha256', name=op.f('uq_mood_links_token_sha256'))
    )
    with op.batch_alter_table('mood_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mood_links_patient_id'), ['patient_id'], unique=False)

    op.create_table('mood_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('depressed', sa.Integer(), nullable=False),
    sa.Column('elevated', sa.Integer(), nullable=False),
    sa.Column('irritable', sa.Integer(), nullable=False),
    sa.Column('anxious', sa.Integer(), nullable=False),
    sa.Column('sleep_h', sa.Float(), nullable=True),
    sa.Column('medications_taken', sa.JSON(), nullable=False),
    sa.Column('life_event', sa.Text(), nullable=True),
    sa.Column('life_event_impact', sa.Integer(), nullable=True),
    sa.Column('psychotic_symptoms', sa.Boolean(), nullable=False),
    sa.Column('menses', sa.Boolean(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('form_key', sa.String(length=64), nullable=True),
    sa.Column('mood_link_id', sa.Integer(), nullable=True),
    sa.Column('entered_by_user_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', ketaflow.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('entered_in_error_at', ketaflow.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('entered_in_error_by_user_id', sa.Integer(), nullable=True),
    sa.Column('entered_in_error_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['entered_by_user_id'], ['staff_users.id'], name=op.f('fk_mood_entries_entered_by_user_id_staff_users')),
    sa.ForeignKeyConstraint(['entered_in_error_by_user_id'], ['staff_users.id'], name=op.f('fk_mood_entries_entered_in_error_by_user_id_staff_users')),
    sa.ForeignKeyConstraint(['mood_link_id'], ['mood_links.id'], name=op.f('fk_mood_entries_mood_link_id_mood_links')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_mood_entries_patient_id_patients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mood_entries')),
    sa.UniqueConstraint('form_key', name=op.f('uq_mood_entries_form_key'))
    )
    with op.batch_alter_table('mood_entries', schema=None) as batch_op:
        batch_op.create_index('ix_mood_entries_patient_day', ['patient_id', 'day'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('mood_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_mood_entries_patient_day')

    op.drop_table('mood_entries')
    with op.batch_alter_table('mood_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mood_links_patient_id'))

    op.drop_table('mood_links')
