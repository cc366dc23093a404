"""booking: sites, chairs, shifts, closures, series, appointments, waiting list

Revision ID: 51b693983788
Revises: 2b86a1b13640
Create Date: 2026-12-02 05:11:16.377083
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ketaflow.db

revision: str = '51b693983788'
down_revision: str | None = '2b86a1b13640'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('sites',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('opening_hours', sa.JSON(), nullable=False),
    sa.Column('nurse_ratio', sa.Integer(), nullable=False),
    sa.Column('prescriber_required', sa.Boolean(), nullable=False),
    sa.Column('feed_token_sha256', sa.String(length=64), nullable=True),
    sa.Column('booking_version', sa.Integer(), nullable=False),
    sa.Column('created_at', ketaflow.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sites')),
    sa.UniqueConstraint('code', name=op.f('uq_sites_code')),
    sa.UniqueConstraint('feed_token_sha256', name=op.f('uq_sites_feed_token_sha256'))
    )
    op.create_table('chairs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=60), nullable=True),
    sa.Column('retired_at', ketaflow.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_chairs_site_id_sites')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chairs'))
    )
    with op.batch_alter_table('chairs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_chairs_site_id'), ['site_id'], unique=False)

    op.create_table('site_closures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('on', sa.Date(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_site_closures_site_id_sites')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_site_closures'))
    )
    with op.batch_alter_table('site_closures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_site_closures_site_id'), ['site_id'], unique=False)

    op.create_table('staff_shifts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('staff_user_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('on', sa.Date(), nullable=False),
    sa.Column('starts', sa.Time(), nullable=False),
    sa.Column('ends', sa.Time(), nullable=False),
    sa.Column('cancelled_at', ketaflow.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cancel_reason', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_staff_shifts_site_id_sites')),
    sa.ForeignKeyConstraint(['staff_user_id'], ['staff_users.id'], name=op.f('fk_staff_shifts_staff_user_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_shifts'))
    )
    with op.batch_alter_table('staff_shifts', schema=None) as batch_op:
        batch_op.create_index('ix_staff_shifts_site_on', ['site_id', 'on'], unique=False)
        batch_op.create_index(batch_op.f('ix_staff_shifts_staff_user_id'), ['staff_user_id'], unique=False)

    op.create_table('appointment_series',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=True),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('min_gap_hours', sa.Float(), nullable=False),
    sa.Column('max_per_week', sa.Integer(), nullable=False),
    sa.Column('within_days', sa.Integer(), nullable=False),
    sa.Column('weekdays', sa.JSON(), nullable=True),
    sa.Column('after', sa.Time(), nullable=True),
    sa.Column('before', sa.Time(), nullable=True),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('booked_at', ketaflow.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('booked_by_user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['booked_by_user_id'], ['staff_users.id'], name=op.f('fk_appointment_series_booked_by_user_id_staff_users')),
    sa.ForeignKeyConstraint(['course_id'], ['treatment_courses.id'], name=op.f('fk_appointment_series_course_id_treatment_courses')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_appointment_series_patient_id_patients')),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_appointment_series_site_id_sites')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appointment_series'))
    )
    with op.batch_alter_table('appointment_series', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_appointment_series_patient_id'), ['patient_id'], unique=False)

    op.create_table('appointments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('chair_id', sa.Integer(), nullable=True),
    sa.Column('staff_user_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.Enum('screening', 'infusion', 'follow-up', name='appointmentkind', native_enum=False, length=16), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=True),
    sa.Column('infusion_number', sa.Integer(), nullable=True),
    sa.Column('series_id', sa.Integer(), nullable=True),
    sa.Column('starts_at', ketaflow.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('state', sa.Enum('booked', 'cancelled', 'no-show', 'attended', 'moved', name='appointmentstate', native_enum=False, length=16), nullable=False),
    sa.Column('state_reason', sa.Text(), nullable=True),
    sa.Column('replaces_id', sa.Integer(), nullable=True),
    sa.Column('instructions_acknowledged_at', ketaflow.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('booked_at', ketaflow.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('booked_by_user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['booked_by_user_id'], ['staff_users.id'], name=op.f('fk_appointments_booked_by_user_id_staff_users')),
    sa.ForeignKeyConstraint(['chair_id'], ['chairs.id'], name=op.f('fk_appointments_chair_id_chairs')),
    sa.ForeignKeyConstraint(['course_id'], ['treatment_courses.id'], name=op.f('fk_appointments_course_id_treatment_courses')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_appointments_patient_id_patients')),
    sa.ForeignKeyConstraint(['replaces_id'], ['appointments.id'], name=op.f('fk_appointments_replaces_id_appointments')),
    sa.ForeignKeyConstraint(['series_id'], ['appointment_series.id'], name=op.f('fk_appointments_series_id_appointment_series')),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_appointments_site_id_sites')),
    sa.ForeignKeyConstraint(['staff_user_id'], ['staff_users.id'], name=op.f('fk_appointments_staff_user_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appointments'))
    )
    with op.batch_alter_table('appointments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_appointments_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_appointments_series_id'), ['series_id'], unique=False)
        batch_op.create_index('ix_appointments_site_starts_at', ['site_id', 'starts_at'], unique=False)

    op.create_table('waitlist_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('screening', 'infusion', 'follow-up', name='appointmentkind', native_enum=False, length=16), nullable=False),
    sa.Column('note', sa.String(length=300), nullable=True),
    sa.Column('added_at', ketaflow.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('added_by_user_id', sa.Integer(), nullable=True),
    sa.Column('offered_appointment_id', sa.Integer(), nullable=True),
    sa.Column('closed_at', ketaflow.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['added_by_user_id'], ['staff_users.id'], name=op.f('fk_waitlist_entries_added_by_user_id_staff_users')),
    sa.ForeignKeyConstraint(['offered_appointment_id'], ['appointments.id'], name=op.f('fk_waitlist_entries_offered_appointment_id_appointments')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_waitlist_entries_patient_id_patients')),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_waitlist_entries_site_id_sites')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_waitlist_entries'))
    )
    with op.batch_alter_table('waitlist_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_waitlist_entries_patient_id'), ['patient_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('waitlist_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_waitlist_entries_patient_id'))

    op.drop_table('waitlist_entries')
    with op.batch_alter_table('appointments', schema=None) as batch_op:
        batch_op.drop_index('ix_appointments_site_starts_at')
        batch_op.drop_index(batch_op.f('ix_appointments_series_id'))
        batch_op.drop_index(batch_op.f('ix_appointments_patient_id'))

    op.drop_table('appointments')
    with op.batch_alter_table('appointment_series', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_appointment_series_patient_id'))

    op.drop_table('appointment_series')
    with op.batch_alter_table('staff_shifts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_shifts_staff_user_id'))
        batch_op.drop_index('ix_staff_shifts_site_on')

    op.drop_table('staff_shifts')
    with op.batch_alter_table('site_closures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_site_closures_site_id'))

    op.drop_table('site_closures')
    with op.batch_alter_table('chairs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_chairs_site_id'))

    op.drop_table('chairs')
    op.drop_table('sites')
