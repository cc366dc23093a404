"""patients: registry, diagnoses, medications, trials

Revision ID: dc2f038fa5d8
Revises: d2d6f6d76a99
Create Date: 2026-11-25 19:59:10.663876
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ketaflow.db

revision: str = 'dc2f038fa5d8'
down_revision: str | None = 'd2d6f6d76a99'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('patients',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mrn', sa.String(length=32), nullable=False),
    sa.Column('created_at', ketaflow.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patients')),
    sa.UniqueConstraint('mrn', name=op.f('uq_patients_mrn'))
    )
    op.create_table('patient_allergies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('substance', sa.String(length=200), nullable=False),
    sa.Column('reaction', sa.String(length=500), nullable=True),
    sa.Column('severity', sa.Enum('mild', 'moderate', 'severe', 'unknown', name='allergyseverity', native_enum=False, length=24), nullable=False),
    sa.Column('recorded_at', ketaflow.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recorded_by_user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_patient_allergies_patient_id_patients')),
    sa.ForeignKeyConstraint(['recorded_by_user_id'], ['staff_users.id'], name=op.f('fk_patient_allergies_recorded_by_user_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patient_allergies'))
    )
    with op.batch_alter_table('patient_allergies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_patient_allergies_patient_id'), ['patient_id'], unique=False)

    op.create_table('patient_demographics_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('given_name', sa.String(length=100), nullable=False),
    sa.Column('family_name', sa.String(length=100), nullable=False),
    sa.Column('date_of_birth', sa.Date(), nullable=False),
    sa.Column('sex', sa.Enum('female', 'male', 'intersex', 'unknown', name='sex', native_enum=False, length=24), nullable=False),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('address', sa.Text(), nullable=True),
    sa.Column('emergency_contact_name', sa.String(length=200), nullable=True),
    sa.Column('emergency_contact_phone', sa.String(length=40), nullable=True),
    sa.Column('referring_clinician', sa.String(length=200), nullable=True),
    sa.Column('amendment_reason', sa.Text(), nullable=True),
    sa.Column('superseded_at', ketaflow.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('recorded_at', ketaflow.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recorded_by_user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_patient_demographics_versions_patient_id_patients')),
    sa.ForeignKeyConstraint(['recorded_by_user_id'], ['staff_users.id'], name=op.f('fk_patient_demographics_versions_recorded_by_user_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patient_demographics_versions')),
    sa.UniqueConstraint('patient_id', 'version', name='uq_patient_demographics_versions_version')
    )
    with op.batch_alter_table('patient_demographics_versions', schema=None) as batch_op:
        batch_op.create_index('ix_patient_demographics_versions_date_of_birth', ['date_of_birth'], unique=False)
        batch_op.create_index('ix_patient_demographics_versions_family_name', ['family_name'], unique=False)
        batch_op.create_index(batch_op.f('ix_patient_demographics_versions_patient_id'), ['patient_id'], unique=False)

    op.create_table('patient_diagnoses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('bipolar_type', sa.Enum('bipolar_i', 'bipolar_ii', name='bipolartype', native_enum=False, length=24), nullable=False),
    sa.Column('current_episode', sa.Enum('depressed', 'hypomanic', 'manic', 'mixed', 'euthymic', name='episode', native_enum=False, length=24), nullable=False),
    sa.Column('severity', sa.Enum('mild', 'moderate', 'severe', 'severe_psychotic', name='severity', native_enum=False, length=24), nullable=True),
    sa.Column('icd10_code', sa.String(length=10), nullable=False),
    sa.Column('snomed_code', sa.String(length=20), nullable=False),
    sa.Column('onset_date', sa.Date(), nullable=True),
    sa.Column('episode_start_date', sa.Date(), nullable=True),
    sa.Column('psychosis_history', sa.Boolean(), nullable=False),
    sa.Column('substance_use', sa.Enum('none', 'past', 'current', name='substanceuse', native_enum=False, length=24), nullable=False),
    sa.Column('substance_use_note', sa.Text(), nullable=True),
    sa.Column('suicide_attempts', sa.Integer(), nullable=False),
    sa.Column('last_suicide_attempt_date', sa.Date(), nullable=True),
    sa.Column('amendment_reason', sa.Text(), nullable=True),
    sa.Column('superseded_at', ketaflow.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('recorded_at', ketaflow.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recorded_by_user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_patient_diagnoses_patient_id_patients')),
    sa.ForeignKeyConstraint(['recorded_by_user_id'], ['staff_users.id'], name=op.f('fk_patient_diagnoses_recorded_by_user_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patient_diagnoses'))
    )
    with op.batch_alter_table('patient_diagnoses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_patient_diagnoses_patient_id'), ['patient_id'], unique=False)

    op.create_table('patient_measurements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('measured_at', ketaflow.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('weight_kg', sa.Float(), nullable=True),
    sa.Column('weight_entered', sa.Float(), nullable=True),
    sa.Column('weight_entered_unit', sa.String(length=2), nullable=True),
    sa.Column('height_cm', sa.Float(), nullable=True),
    sa.Column('height_entered', sa.Float(), nullable=True),
    sa.Column('height_entered_unit', sa.String(length=2), nullable=True),
    sa.Column('recorded_at', ketaflow.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recorded_by_user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_patient_measurements_patient_id_patients')),
    sa.ForeignKeyConstraint(['recorded_by_user_id'], ['staff_users.id'], name=op.f('fk_patient_measurements_recorded_by_user_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patient_measurements'))
    )
    with op.batch_alter_table('patient_measurements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_patient_measurements_patient_id'), ['patient_id'], unique=False)

    op.create_table('patient_medications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('drug_name', sa.String(length=120), nullable=False),
    sa.Column('drug_class', sa.Enum('mood_stabiliser', 'antipsychotic', 'antidepressant', 'benzodiazepine', 'stimulant', 'other', name='drugclass', native_enum=False, length=24), nullable=False),
    sa.Column('dose_amount', sa.Float(), nullable=False),
    sa.Column('dose_unit', sa.Enum('mg/day', 'mcg/day', 'mg/week', 'mg/month', name='doseunit', native_enum=False, length=12), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=True),
    sa.Column('stop_date', sa.Date(), nullable=True),
    sa.Column('adherence', sa.Enum('good', 'partial', 'poor', 'unknown', name='adherence', native_enum=False, length=24), nullable=False),
    sa.Column('lithium_level_mmol_per_l', sa.Float(), nullable=True),
    sa.Column('lithium_level_date', sa.Date(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('recorded_at', ketaflow.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recorded_by_user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_patient_medications_patient_id_patients')),
    sa.ForeignKeyConstraint(['recorded_by_user_id'], ['staff_users.id'], name=op.f('fk_patient_medications_recorded_by_user_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patient_medications'))
    )
    with op.batch_alter_table('patient_medications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_patient_medications_patient_id'), ['patient_id'], unique=False)

    op.create_table('patient_treatment_trials',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('drug_name', sa.String(length=120), nullable=False),
    sa.Column('dose_mg_per_day', sa.Float(), nullable=False),
    sa.Column('partner_drug_name', sa.String(length=120), nullable=True),
    sa.Column('partner_dose_mg_per_day', sa.Float(), nullable=True),
    sa.Column('duration_weeks', sa.Float(), nullable=False),
    sa.Column('serum_level_mmol_per_l', sa.Float(), nullable=True),
    sa.Column('start_date', sa.Date(), nullable=True),
    sa.Column('adherence_verified', sa.Boolean(), nullable=False),
    sa.Column('response', sa.Enum('none', 'partial', 'response', 'remission', 'not_tolerated', name='trialresponse', native_enum=False, length=24), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('recorded_at', ketaflow.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recorded_by_user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_patient_treatment_trials_patient_id_patients')),
    sa.ForeignKeyConstraint(['recorded_by_user_id'], ['staff_users.id'], name=op.f('fk_patient_treatment_trials_recorded_by_user_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patient_treatment_trials'))
    )
    with op.batch_alter_table('patient_treatment_trials', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_patient_treatment_trials_patient_id'), ['patient_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('patient_treatment_trials', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_patient_treatment_trials_patient_id'))

    op.drop_table('patient_treatment_trials')
    with op.batch_alter_table('patient_medications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_patient_medications_patient_id'))

    op.drop_table('patient_medications')
    with op.batch_alter_table('patient_measurements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_patient_measurements_patient_id'))

    op.drop_table('patient_measurements')
    with op.batch_alter_table('patient_diagnoses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_patient_diagnoses_patient_id'))

    op.drop_table('patient_diagnoses')
    with op.batch_alter_table('patient_demographics_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_patient_demographics_versions_patient_id'))
        batch_op.drop_index('ix_patient_demographics_versions_family_name')
        batch_op.drop_index('ix_patient_demographics_versions_date_of_birth')

    op.drop_table('patient_demographics_versions')
    with op.batch_alter_table('patient_allergies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_patient_allergies_patient_id'))

    op.drop_table('patient_allergies')
    op.drop_table('patients')
