"""screening, consent and treatment courses: screenings with checklist answers, consents,
treatment courses and their state changes

Revision ID: b69fa511faf3
Revises: dc2f038fa5d8
Create Date: 2026-11-25 20:03:00.181097
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ketaflow.db

revision: str = 'b69fa511faf3'
down_revision: str | None = 'dc2f038fa5d8'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('consents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('form_version', sa.String(length=40), nullable=False),
    sa.Column('consented_on', sa.Date(), nullable=False),
    sa.Column('witnessed_by_user_id', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('recorded_at', ketaflow.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recorded_by_user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_consents_patient_id_patients')),
    sa.ForeignKeyConstraint(['recorded_by_user_id'], ['staff_users.id'], name=op.f('fk_consents_recorded_by_user_id_staff_users')),
    sa.ForeignKeyConstraint(['witnessed_by_user_id'], ['staff_users.id'], name=op.f('fk_consents_witnessed_by_user_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consents'))
    )
    with op.batch_alter_table('consents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consents_patient_id'), ['patient_id'], unique=False)

    op.create_table('screenings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('amends_id', sa.Integer(), nullable=True),
    sa.Column('amendment_reason', sa.Text(), nullable=True),
    sa.Column('status', sa.Enum('draft', 'signed', name='screeningstatus', native_enum=False, length=32), nullable=False),
    sa.Column('outcome', sa.Enum('eligible', 'eligible_with_cautions', 'not_eligible', 'incomplete', name='outcome', native_enum=False, length=32), nullable=False),
    sa.Column('systolic_mmhg', sa.Integer(), nullable=True),
    sa.Column('diastolic_mmhg', sa.Integer(), nullable=True),
    sa.Column('heart_rate_bpm', sa.Integer(), nullable=True),
    sa.Column('spo2_pct', sa.Integer(), nullable=True),
    sa.Column('weight_kg', sa.Float(), nullable=True),
    sa.Column('ymrs_total', sa.Integer(), nullable=True),
    sa.Column('ymrs_override_reason', sa.Text(), nullable=True),
    sa.Column('pregnancy_status', sa.Enum('not_applicable', 'negative_test', 'pregnant', 'breastfeeding', name='pregnancystatus', native_enum=False, length=32), nullable=True),
    sa.Column('pregnancy_test_on', sa.Date(), nullable=True),
    sa.Column('maudsley_episode_months', sa.Integer(), nullable=True),
    sa.Column('maudsley_severity', sa.Enum('subsyndromal', 'mild', 'moderate', 'severe_without_psychosis', 'severe_with_psychosis', name='severity', native_enum=False, length=32), nullable=True),
    sa.Column('maudsley_failed_antidepressants', sa.Integer(), nullable=True),
    sa.Column('maudsley_augmentation_used', sa.Boolean(), nullable=True),
    sa.Column('maudsley_ect_used', sa.Boolean(), nullable=True),
    sa.Column('maudsley_total', sa.Integer(), nullable=True),
    sa.Column('resistance_meets', sa.Boolean(), nullable=True),
    sa.Column('resistance_adequate_trials', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('recorded_at', ketaflow.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recorded_by_user_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', ketaflow.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('signed_at', ketaflow.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('signed_by_user_id', sa.Integer(), nullable=True),
    sa.Column('superseded_at', ketaflow.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['amends_id'], ['screenings.id'], name=op.f('fk_screenings_amends_id_screenings')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_screenings_patient_id_patients')),
    sa.ForeignKeyConstraint(['recorded_by_user_id'], ['staff_users.id'], name=op.f('fk_screenings_recorded_by_user_id_staff_users')),
    sa.ForeignKeyConstraint(['signed_by_user_id'], ['staff_users.id'], name=op.f('fk_screenings_signed_by_user_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_screenings'))
    )
    with op.batch_alter_table('screenings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_screenings_patient_id'), ['patient_id'], unique=False)

    op.create_table('screening_answers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('screening_id', sa.Integer(), nullable=False),
    sa.Column('item_key', sa.String(length=64), nullable=False),
    sa.Column('answer', sa.Enum('yes', 'no', 'unknown', name='answer', native_enum=False, length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['screening_id'], ['screenings.id'], name=op.f('fk_screening_answers_screening_id_screenings')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_screening_answers')),
    sa.UniqueConstraint('screening_id', 'item_key', name='uq_screening_answers_item')
    )
    with op.batch_alter_table('screening_answers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_screening_answers_screening_id'), ['screening_id'], unique=False)

    op.create_table('treatment_courses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('screening_id', sa.Integer(), nullable=False),
    sa.Column('consent_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.Enum('planned', 'active', 'maintenance', 'paused', 'completed', 'stopped', name='coursestate', native_enum=False, length=24), nullable=False),
    sa.Column('infusion_count', sa.Integer(), nullable=False),
    sa.Column('frequency', sa.Enum('mon_wed_fri', 'mon_thu', 'every_2_days', 'every_3_days', name='frequency', native_enum=False, length=24), nullable=False),
    sa.Column('skip_weekends', sa.Boolean(), nullable=False),
    sa.Column('start_on', sa.Date(), nullable=False),
    sa.Column('dose_mg_per_kg', sa.Float(), nullable=False),
    sa.Column('max_dose_mg', sa.Float(), nullable=False),
    sa.Column('salt_form', sa.Enum('base', 'hydrochloride', name='saltform', native_enum=False, length=16), nullable=False),
    sa.Column('baseline_on', sa.Date(), nullable=True),
    sa.Column('recorded_at', ketaflow.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recorded_by_user_id', sa.Integer(), nullable=True),
    sa.Column('state_changed_at', ketaflow.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['consent_id'], ['consents.id'], name=op.f('fk_treatment_courses_consent_id_consents')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_treatment_courses_patient_id_patients')),
    sa.ForeignKeyConstraint(['recorded_by_user_id'], ['staff_users.id'], name=op.f('fk_treatment_courses_recorded_by_user_id_staff_users')),
    sa.ForeignKeyConstraint(['screening_id'], ['screenings.id'], name=op.f('fk_treatment_courses_screening_id_screenings')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_treatment_courses'))
    )
    with op.batch_alter_table('treatment_courses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_treatment_courses_patient_id'), ['patient_id'], unique=False)

    op.create_table('course_state_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('from_state', sa.Enum('planned', 'active', 'maintenance', 'paused', 'completed', 'stopped', name='coursestate', native_enum=False, length=24), nullable=True),
    sa.Column('to_state', sa.Enum('planned', 'active', 'maintenance', 'paused', 'completed', 'stopped', name='coursestate', native_enum=False, length=24), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('changed_at', ketaflow.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('changed_by_user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['changed_by_user_id'], ['staff_users.id'], name=op.f('fk_course_state_changes_changed_by_user_id_staff_users')),
    sa.ForeignKeyConstraint(['course_id'], ['treatment_courses.id'], name=op.f('fk_course_state_changes_course_id_treatment_courses')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_course_state_changes'))
    )
    with op.batch_alter_table('course_state_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_course_state_changes_course_id'), ['course_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('course_state_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_course_state_changes_course_id'))

    op.drop_table('course_state_changes')
    with op.batch_alter_table('treatment_courses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_treatment_courses_patient_id'))

    op.drop_table('treatment_courses')
    with op.batch_alter_table('screening_answers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_screening_answers_screening_id'))

    op.drop_table('screening_answers')
    with op.batch_alter_table('screenings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_screenings_patient_id'))

    op.drop_table('screenings')
    with op.batch_alter_table('consents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consents_patient_id'))

    op.drop_table('consents')
