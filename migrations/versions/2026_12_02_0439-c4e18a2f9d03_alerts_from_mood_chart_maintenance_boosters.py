"""alerts from the mood chart and maintenance boosters

Revision ID: c4e18a2f9d03
Revises: ce1abed98bee
Create Date: 2026-12-02 04:39:58.215295
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ketaflow.db

revision: str = 'c4e18a2f9d03'
down_revision: str | None = 'ce1abed98bee'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('maintenance_boosters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('planned_on', sa.Date(), nullable=False),
    sa.Column('phase', sa.String(length=40), nullable=False),
    sa.Column('state', sa.Enum('suggested', 'confirmed', 'given', 'cancelled', name='boosterstate', native_enum=False, length=16), nullable=False),
    sa.Column('earlier_on', sa.Date(), nullable=True),
    sa.Column('earlier_reason', sa.Text(), nullable=True),
    sa.Column('earlier_suggested_at', ketaflow.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('confirmed_on', sa.Date(), nullable=True),
    sa.Column('confirmed_by_user_id', sa.Integer(), nullable=True),
    sa.Column('confirmed_at', ketaflow.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', ketaflow.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['confirmed_by_user_id'], ['staff_users.id'], name=op.f('fk_maintenance_boosters_confirmed_by_user_id_staff_users')),
    sa.ForeignKeyConstraint(['course_id'], ['treatment_courses.id'], name=op.f('fk_maintenance_boosters_course_id_treatment_courses')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_maintenance_boosters')),
    sa.UniqueConstraint('course_id', 'sequence', name='uq_maintenance_boosters_course_sequence')
    )
    with op.batch_alter_table('maintenance_boosters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_maintenance_boosters_course_id'), ['course_id'], unique=False)

    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source_key', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('reason', sa.Text(), nullable=True))
        batch_op.alter_column('source_assessment_id',
               existing_type=sa.INTEGER(),
               nullable=True)
        batch_op.create_unique_constraint(batch_op.f('uq_alerts_source_key'), ['source_key'])



def downgrade() -> None:
    # Fails while mood-chart alerts exist (no assessment to point at): they are clinical
    # records, so a downgrade must not drop them silently.
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_alerts_source_key'), type_='unique')
        batch_op.alter_column('source_assessment_id',
               existing_type=sa.INTEGER(),
               nullable=False)
        batch_op.drop_column('reason')
        batch_op.drop_column('source_key')

    with op.batch_alter_table('maintenance_boosters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_maintenance_boosters_course_id'))

    op.drop_table('maintenance_boosters')
