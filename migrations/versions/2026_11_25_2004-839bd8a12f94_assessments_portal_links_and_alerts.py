"""assessments, portal links and alerts

Revision ID: 839bd8a12f94
Revises: b69fa511faf3
Create Date: 2026-11-25 20:04:57.461796
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ketaflow.db

revision: str = '839bd8a12f94'
down_revision: str | None = 'b69fa511faf3'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('portal_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('instruments', sa.String(length=200), nullable=False),
    sa.Column('created_at', ketaflow.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by_user_id', sa.Integer(), nullable=True),
    sa.Column('expires_at', ketaflow.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('completed_at', ketaflow.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('emailed_at', ketaflow.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['staff_users.id'], name=op.f('fk_portal_links_created_by_user_id_staff_users')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_portal_links_patient_id_patients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_links')),
    sa.UniqueConstraint('token_sha256', name=op.f('uq_portal_links_token_sha256'))
    )
    with op.batch_alter_table('portal_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_portal_links_patient_id'), ['patient_id'], unique=False)

    op.create_table('assessments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('instrument_id', sa.String(length=32), nullable=False),
    sa.Column('instrument_version', sa.String(length=16), nullable=False),
    sa.Column('rated_at', ketaflow.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('rater_kind', sa.Enum('staff', 'patient-portal', name='raterkind', native_enum=False, length=24), nullable=False),
    sa.Column('rater_user_id', sa.Integer(), nullable=True),
    sa.Column('answers_json', sa.Text(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=True),
    sa.Column('portal_link_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', ketaflow.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('supersedes_id', sa.Integer(), nullable=True),
    sa.Column('amendment_reason', sa.Text(), nullable=True),
    sa.Column('superseded_at', ketaflow.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['course_id'], ['treatment_courses.id'], name=op.f('fk_assessments_course_id_treatment_courses')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_assessments_patient_id_patients')),
    sa.ForeignKeyConstraint(['portal_link_id'], ['portal_links.id'], name=op.f('fk_assessments_portal_link_id_portal_links')),
    sa.ForeignKeyConstraint(['rater_user_id'], ['staff_users.id'], name=op.f('fk_assessments_rater_user_id_staff_users')),
    sa.ForeignKeyConstraint(['supersedes_id'], ['assessments.id'], name=op.f('fk_assessments_supersedes_id_assessments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessments'))
    )
    with op.batch_alter_table('assessments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assessments_course_id'), ['course_id'], unique=False)
        batch_op.create_index('ix_assessments_patient_id_rated_at', ['patient_id', 'rated_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_assessments_portal_link_id'), ['portal_link_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_assessments_supersedes_id'), ['supersedes_id'], unique=False)

    op.create_table('alerts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('cssrs-high', 'same-day-review', 'cssrs-screen', 'probable-mania', 'possible-switch', name='alertkind', native_enum=False, length=24), nullable=False),
    sa.Column('severity', sa.Enum('urgent', 'high', 'moderate', name='alertseverity', native_enum=False, length=16), nullable=False),
    sa.Column('source_assessment_id', sa.Integer(), nullable=False),
    sa.Column('actions', sa.String(length=200), nullable=False),
    sa.Column('created_at', ketaflow.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('acknowledged_by_user_id', sa.Integer(), nullable=True),
    sa.Column('acknowledged_at', ketaflow.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('action_note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['acknowledged_by_user_id'], ['staff_users.id'], name=op.f('fk_alerts_acknowledged_by_user_id_staff_users')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_alerts_patient_id_patients')),
    sa.ForeignKeyConstraint(['source_assessment_id'], ['assessments.id'], name=op.f('fk_alerts_source_assessment_id_assessments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alerts')),
    sa.UniqueConstraint('source_assessment_id', 'kind', name='uq_alerts_source_kind')
    )
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.create_index('ix_alerts_patient_id_acknowledged_at', ['patient_id', 'acknowledged_at'], unique=False)

    op.create_table('assessment_results',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Enum('entered', 'rescored', name='resultreason', native_enum=False, length=24), nullable=False),
    sa.Column('scored_with_version', sa.String(length=16), nullable=False),
    sa.Column('scored_at', ketaflow.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('total', sa.Integer(), nullable=True),
    sa.Column('severity', sa.String(length=40), nullable=True),
    sa.Column('risk_level', sa.String(length=16), nullable=True),
    sa.Column('flags_json', sa.Text(), nullable=False),
    sa.Column('subscores_json', sa.Text(), nullable=False),
    sa.Column('result_json', sa.Text(), nullable=False),
    sa.Column('superseded_at', ketaflow.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['assessment_id'], ['assessments.id'], name=op.f('fk_assessment_results_assessment_id_assessments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment_results')),
    sa.UniqueConstraint('assessment_id', 'version', name='uq_assessment_results_version')
    )
    with op.batch_alter_table('assessment_results', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assessment_results_assessment_id'), ['assessment_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('assessment_results', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assessment_results_assessment_id'))

    op.drop_table('assessment_results')
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_index('ix_alerts_patient_id_acknowledged_at')

    op.drop_table('alerts')
    with op.batch_alter_table('assessments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assessments_supersedes_id'))
        batch_op.drop_index(batch_op.f('ix_assessments_portal_link_id'))
        batch_op.drop_index('ix_assessments_patient_id_rated_at')
        batch_op.drop_index(batch_op.f('ix_assessments_course_id'))

    op.drop_table('assessments')
    with op.batch_alter_table('portal_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_portal_links_patient_id'))

    op.drop_table('portal_links')
