"""infusions: sessions, orders, vitals, alerts, events, discharge, notes, ledger

Revision ID: 499502c9d147
Revises: 839bd8a12f94
Create Date: 2026-11-25 20:08:18.459208
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ketaflow.db

revision: str = '499502c9d147'
down_revision: str | None = '839bd8a12f94'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('infusion_idempotency_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=128), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=False),
    sa.Column('response', sa.JSON(), nullable=False),
    sa.Column('created_at', ketaflow.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['staff_users.id'], name=op.f('fk_infusion_idempotency_keys_user_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_infusion_idempotency_keys')),
    sa.UniqueConstraint('user_id', 'key', name=op.f('uq_infusion_idempotency_keys_user_id'))
    )
    op.create_table('infusion_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('active_patient_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.Enum('planned', 'prechecks', 'running', 'paused', 'stopped', 'observation', 'discharged', 'aborted', name='sessionstatus', native_enum=False, length=24), nullable=False),
    sa.Column('opened_at', ketaflow.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('opened_by_user_id', sa.Integer(), nullable=True),
    sa.Column('prechecks_at', ketaflow.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('started_at', ketaflow.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ended_at', ketaflow.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('discharged_at', ketaflow.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('aborted_at', ketaflow.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('abort_reason', sa.Text(), nullable=True),
    sa.Column('rate_ml_per_h', sa.Float(), nullable=True),
    sa.Column('identity_confirmed', sa.Boolean(), nullable=False),
    sa.Column('consent_current', sa.Boolean(), nullable=False),
    sa.Column('fasting_confirmed', sa.Boolean(), nullable=False),
    sa.Column('escort_confirmed', sa.Boolean(), nullable=False),
    sa.Column('transport_confirmed', sa.Boolean(), nullable=False),
    sa.Column('pregnancy_test', sa.Enum('not_applicable', 'not_done', 'negative', 'positive', name='pregnancytest', native_enum=False, length=24), nullable=False),
    sa.Column('bp_reviewed_by_user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['bp_reviewed_by_user_id'], ['staff_users.id'], name=op.f('fk_infusion_sessions_bp_reviewed_by_user_id_staff_users')),
    sa.ForeignKeyConstraint(['course_id'], ['treatment_courses.id'], name=op.f('fk_infusion_sessions_course_id_treatment_courses')),
    sa.ForeignKeyConstraint(['opened_by_user_id'], ['staff_users.id'], name=op.f('fk_infusion_sessions_opened_by_user_id_staff_users')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_infusion_sessions_patient_id_patients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_infusion_sessions')),
    sa.UniqueConstraint('active_patient_id', name=op.f('uq_infusion_sessions_active_patient_id'))
    )
    with op.batch_alter_table('infusion_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_infusion_sessions_course_id'), ['course_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_infusion_sessions_patient_id'), ['patient_id'], unique=False)

    op.create_table('controlled_substance_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('received', 'drawn', 'administered', 'wasted', 'reversal', name='entrykind', native_enum=False, length=16), nullable=False),
    sa.Column('lot_number', sa.String(length=64), nullable=False),
    sa.Column('amount_mg', sa.Float(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=True),
    sa.Column('staff_user_id', sa.Integer(), nullable=False),
    sa.Column('witness_user_id', sa.Integer(), nullable=True),
    sa.Column('reverses_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('drug', sa.String(length=100), nullable=True),
    sa.Column('concentration_mg_per_ml', sa.Float(), nullable=True),
    sa.Column('expiry_date', sa.Date(), nullable=True),
    sa.Column('recorded_at', ketaflow.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['reverses_id'], ['controlled_substance_entries.id'], name=op.f('fk_controlled_substance_entries_reverses_id_controlled_substance_entries')),
    sa.ForeignKeyConstraint(['session_id'], ['infusion_sessions.id'], name=op.f('fk_controlled_substance_entries_session_id_infusion_sessions')),
    sa.ForeignKeyConstraint(['staff_user_id'], ['staff_users.id'], name=op.f('fk_controlled_substance_entries_staff_user_id_staff_users')),
    sa.ForeignKeyConstraint(['witness_user_id'], ['staff_users.id'], name=op.f('fk_controlled_substance_entries_witness_user_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_controlled_substance_entries'))
    )
    with op.batch_alter_table('controlled_substance_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_controlled_substance_entries_lot_number'), ['lot_number'], unique=False)
        batch_op.create_index(batch_op.f('ix_controlled_substance_entries_session_id'), ['session_id'], unique=False)

    op.create_table('infusion_discharges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('aldrete_answers', sa.JSON(), nullable=False),
    sa.Column('aldrete_total', sa.Integer(), nullable=False),
    sa.Column('padss_answers', sa.JSON(), nullable=False),
    sa.Column('padss_total', sa.Integer(), nullable=False),
    sa.Column('scales_version', sa.String(length=16), nullable=False),
    sa.Column('escort_confirmed', sa.Boolean(), nullable=False),
    sa.Column('no_driving_advice_given', sa.Boolean(), nullable=False),
    sa.Column('ready_at', ketaflow.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('unmet', sa.JSON(), nullable=False),
    sa.Column('override_reason', sa.Text(), nullable=True),
    sa.Column('discharged_at', ketaflow.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recorded_by_user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['recorded_by_user_id'], ['staff_users.id'], name=op.f('fk_infusion_discharges_recorded_by_user_id_staff_users')),
    sa.ForeignKeyConstraint(['session_id'], ['infusion_sessions.id'], name=op.f('fk_infusion_discharges_session_id_infusion_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_infusion_discharges')),
    sa.UniqueConstraint('session_id', name=op.f('uq_infusion_discharges_session_id'))
    )
    op.create_table('infusion_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('status', 'rate_change', 'side_effects', 'cadss6', 'rescue_medication', 'adverse_event', name='eventkind', native_enum=False, length=24), nullable=False),
    sa.Column('occurred_at', ketaflow.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=True),
    sa.Column('serious', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('recorded_at', ketaflow.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recorded_by_user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['recorded_by_user_id'], ['staff_users.id'], name=op.f('fk_infusion_events_recorded_by_user_id_staff_users')),
    sa.ForeignKeyConstraint(['session_id'], ['infusion_sessions.id'], name=op.f('fk_infusion_events_session_id_infusion_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_infusion_events'))
    )
    with op.batch_alter_table('infusion_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_infusion_events_session_id'), ['session_id'], unique=False)

    op.create_table('infusion_notes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('note', 'addendum', name='notekind', native_enum=False, length=16), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', ketaflow.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by_user_id', sa.Integer(), nullable=True),
    sa.Column('signed_at', ketaflow.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('signed_by_user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['staff_users.id'], name=op.f('fk_infusion_notes_created_by_user_id_staff_users')),
    sa.ForeignKeyConstraint(['session_id'], ['infusion_sessions.id'], name=op.f('fk_infusion_notes_session_id_infusion_sessions')),
    sa.ForeignKeyConstraint(['signed_by_user_id'], ['staff_users.id'], name=op.f('fk_infusion_notes_signed_by_user_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_infusion_notes'))
    )
    with op.batch_alter_table('infusion_notes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_infusion_notes_session_id'), ['session_id'], unique=False)

    op.create_table('infusion_orders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('drug', sa.String(length=100), nullable=False),
    sa.Column('lot_number', sa.String(length=64), nullable=False),
    sa.Column('expiry_date', sa.Date(), nullable=False),
    sa.Column('concentration_mg_per_ml', sa.Float(), nullable=False),
    sa.Column('concentration_salt', sa.Enum('base', 'hydrochloride', name='saltform', native_enum=False, length=16), nullable=False),
    sa.Column('dose_salt', sa.Enum('base', 'hydrochloride', name='saltform', native_enum=False, length=16), nullable=False),
    sa.Column('dose_mg_per_kg', sa.Float(), nullable=False),
    sa.Column('dose_mg', sa.Float(), nullable=False),
    sa.Column('dose_mg_base', sa.Float(), nullable=False),
    sa.Column('dosing_weight_kg', sa.Float(), nullable=False),
    sa.Column('weight_measurement_id', sa.Integer(), nullable=False),
    sa.Column('duration_min', sa.Float(), nullable=False),
    sa.Column('volume_ml', sa.Float(), nullable=False),
    sa.Column('rate_ml_per_h', sa.Float(), nullable=False),
    sa.Column('delivered_dose_mg', sa.Float(), nullable=False),
    sa.Column('warnings', sa.JSON(), nullable=False),
    sa.Column('override_reason', sa.Text(), nullable=True),
    sa.Column('signed_at', ketaflow.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('signed_by_user_id', sa.Integer(), nullable=False),
    sa.Column('superseded_at', ketaflow.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['session_id'], ['infusion_sessions.id'], name=op.f('fk_infusion_orders_session_id_infusion_sessions')),
    sa.ForeignKeyConstraint(['signed_by_user_id'], ['staff_users.id'], name=op.f('fk_infusion_orders_signed_by_user_id_staff_users')),
    sa.ForeignKeyConstraint(['weight_measurement_id'], ['patient_measurements.id'], name=op.f('fk_infusion_orders_weight_measurement_id_patient_measurements')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_infusion_orders'))
    )
    with op.batch_alter_table('infusion_orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_infusion_orders_session_id'), ['session_id'], unique=False)

    op.create_table('infusion_vitals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('taken_at', ketaflow.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sbp_mmhg', sa.Float(), nullable=True),
    sa.Column('dbp_mmhg', sa.Float(), nullable=True),
    sa.Column('hr_bpm', sa.Float(), nullable=True),
    sa.Column('spo2_percent', sa.Float(), nullable=True),
    sa.Column('rr_per_min', sa.Float(), nullable=True),
    sa.Column('rass', sa.Integer(), nullable=True),
    sa.Column('recorded_at', ketaflow.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recorded_by_user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['recorded_by_user_id'], ['staff_users.id'], name=op.f('fk_infusion_vitals_recorded_by_user_id_staff_users')),
    sa.ForeignKeyConstraint(['session_id'], ['infusion_sessions.id'], name=op.f('fk_infusion_vitals_session_id_infusion_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_infusion_vitals'))
    )
    with op.batch_alter_table('infusion_vitals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_infusion_vitals_session_id'), ['session_id'], unique=False)

    op.create_table('infusion_alerts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('vitals_id', sa.Integer(), nullable=True),
    sa.Column('level', sa.Enum('review', 'hold', 'stop', name='alertlevel', native_enum=False, length=16), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('field', sa.String(length=64), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('raised_at', ketaflow.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('acknowledged_at', ketaflow.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_by_user_id', sa.Integer(), nullable=True),
    sa.Column('action_taken', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['acknowledged_by_user_id'], ['staff_users.id'], name=op.f('fk_infusion_alerts_acknowledged_by_user_id_staff_users')),
    sa.ForeignKeyConstraint(['session_id'], ['infusion_sessions.id'], name=op.f('fk_infusion_alerts_session_id_infusion_sessions')),
    sa.ForeignKeyConstraint(['vitals_id'], ['infusion_vitals.id'], name=op.f('fk_infusion_alerts_vitals_id_infusion_vitals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_infusion_alerts'))
    )
    with op.batch_alter_table('infusion_alerts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_infusion_alerts_session_id'), ['session_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('infusion_alerts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_infusion_alerts_session_id'))

    op.drop_table('infusion_alerts')
    with op.batch_alter_table('infusion_vitals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_infusion_vitals_session_id'))

    op.drop_table('infusion_vitals')
    with op.batch_alter_table('infusion_orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_infusion_orders_session_id'))

    op.drop_table('infusion_orders')
    with op.batch_alter_table('infusion_notes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_infusion_notes_session_id'))

    op.drop_table('infusion_notes')
    with op.batch_alter_table('infusion_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_infusion_events_session_id'))

    op.drop_table('infusion_events')
    op.drop_table('infusion_discharges')
    with op.batch_alter_table('controlled_substance_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_controlled_substance_entries_session_id'))
        batch_op.drop_index(batch_op.f('ix_controlled_substance_entries_lot_number'))

    op.drop_table('controlled_substance_entries')
    with op.batch_alter_table('infusion_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_infusion_sessions_patient_id'))
        batch_op.drop_index(batch_op.f('ix_infusion_sessions_course_id'))

    op.drop_table('infusion_sessions')
    op.drop_table('infusion_idempotency_keys')
