"""outcomes: per-course summaries and stale-patient markers

Derived rows the dashboard aggregates (ketaflow.outcomes.models). They start empty: the first
dashboard read computes every course without a summary (ketaflow.outcomes.service.summaries).

Revision ID: 3498f04b44b6
Revises: e4b7c9a2d6f1
Create Date: 2026-12-03 15:51:18.298797
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ketaflow.db

revision: str = '3498f04b44b6'
down_revision: str | None = 'e4b7c9a2d6f1'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('outcome_stale_patients',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outcome_stale_patients'))
    )
    op.create_table('outcome_baselines',
    sa.Column('course_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('instrument_id', sa.String(length=32), nullable=False),
    sa.Column('baseline', sa.Integer(), nullable=False),
    sa.Column('baseline_at', ketaflow.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('is_fallback', sa.Integer(), nullable=False),
    sa.Column('end_days', sa.Float(), nullable=True),
    sa.Column('end_total', sa.Integer(), nullable=True),
    sa.Column('followed_days', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['course_id'], ['treatment_courses.id'], name=op.f('fk_outcome_baselines_course_id_treatment_courses')),
    sa.PrimaryKeyConstraint('course_id', 'instrument_id', name=op.f('pk_outcome_baselines'))
    )
    op.create_table('outcome_courses',
    sa.Column('course_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('start_on', sa.Date(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=True),
    sa.Column('bipolar_type', sa.Enum('bipolar_i', 'bipolar_ii', name='bipolartype', native_enum=False, length=24), nullable=True),
    sa.Column('prescriber_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.Enum('planned', 'active', 'maintenance', 'paused', 'completed', 'stopped', name='coursestate', native_enum=False, length=24), nullable=False),
    sa.Column('first_at', ketaflow.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('started', sa.Integer(), nullable=False),
    sa.Column('last_at', ketaflow.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('end_at', ketaflow.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('induction_over', sa.Boolean(), nullable=False),
    sa.Column('maintained', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['course_id'], ['treatment_courses.id'], name=op.f('fk_outcome_courses_course_id_treatment_courses')),
    sa.PrimaryKeyConstraint('course_id', name=op.f('pk_outcome_courses'))
    )
    with op.batch_alter_table('outcome_courses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outcome_courses_patient_id'), ['patient_id'], unique=False)

    op.create_table('outcome_lows',
    sa.Column('course_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('instrument_id', sa.String(length=32), nullable=False),
    sa.Column('assessment_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('days', sa.Float(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['course_id'], ['treatment_courses.id'], name=op.f('fk_outcome_lows_course_id_treatment_courses')),
    sa.PrimaryKeyConstraint('course_id', 'instrument_id', 'assessment_id', name=op.f('pk_outcome_lows'))
    )
    op.create_table('outcome_sessions',
    sa.Column('session_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('adverse_events', sa.Integer(), nullable=False),
    sa.Column('serious_adverse_events', sa.Integer(), nullable=False),
    sa.Column('bp_alerts', sa.Integer(), nullable=False),
    sa.Column('peak_cadss', sa.Integer(), nullable=True),
    sa.Column('discharge_minutes', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['session_id'], ['infusion_sessions.id'], name=op.f('fk_outcome_sessions_session_id_infusion_sessions')),
    sa.PrimaryKeyConstraint('session_id', name=op.f('pk_outcome_sessions'))
    )
    with op.batch_alter_table('outcome_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outcome_sessions_course_id'), ['course_id'], unique=False)

    op.create_table('outcome_weeks',
    sa.Column('course_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('instrument_id', sa.String(length=32), nullable=False),
    sa.Column('week', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['course_id'], ['treatment_courses.id'], name=op.f('fk_outcome_weeks_course_id_treatment_courses')),
    sa.PrimaryKeyConstraint('course_id', 'instrument_id', 'week', name=op.f('pk_outcome_weeks'))
    )


def downgrade() -> None:
    op.drop_table('outcome_weeks')
    with op.batch_alter_table('outcome_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outcome_sessions_course_id'))

    op.drop_table('outcome_sessions')
    op.drop_table('outcome_lows')
    with op.batch_alter_table('outcome_courses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outcome_courses_patient_id'))

    op.drop_table('outcome_courses')
    op.drop_table('outcome_baselines')
    op.drop_table('outcome_stale_patients')
