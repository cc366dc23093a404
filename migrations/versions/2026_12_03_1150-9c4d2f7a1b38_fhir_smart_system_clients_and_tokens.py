"""fhir: SMART backend services clients, access tokens, used assertions

Revision ID: 9c4d2f7a1b38
Revises: 7b3e9c1d2a4f
Create Date: 2026-12-03 11:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ketaflow.db

revision: str = '9c4d2f7a1b38'
down_revision: str | None = '7b3e9c1d2a4f'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('fhir_system_clients',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('public_jwk', sa.JSON(), nullable=False),
    sa.Column('algorithm', sa.String(length=8), nullable=False),
    sa.Column('allowed_scopes', sa.JSON(), nullable=False),
    sa.Column('created_at', ketaflow.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by_user_id', sa.Integer(), nullable=True),
    sa.Column('disabled_at', ketaflow.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['staff_users.id'], name=op.f('fk_fhir_system_clients_created_by_user_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fhir_system_clients'))
    )
    op.create_table('fhir_system_tokens',
    sa.Column('id', sa.String(length=16), nullable=False),
    sa.Column('client_id', sa.String(length=40), nullable=False),
    sa.Column('secret_sha256', sa.String(length=64), nullable=False),
    sa.Column('scopes', sa.JSON(), nullable=False),
    sa.Column('issued_at', ketaflow.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', ketaflow.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['fhir_system_clients.id'], name=op.f('fk_fhir_system_tokens_client_id_fhir_system_clients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fhir_system_tokens'))
    )
    with op.batch_alter_table('fhir_system_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fhir_system_tokens_client_id'), ['client_id'], unique=False)

    op.create_table('fhir_used_assertions',
    sa.Column('client_id', sa.String(length=40), nullable=False),
    sa.Column('jti', sa.String(length=255), nullable=False),
    sa.Column('expires_at', ketaflow.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['fhir_system_clients.id'], name=op.f('fk_fhir_used_assertions_client_id_fhir_system_clients')),
    sa.PrimaryKeyConstraint('client_id', 'jti', name=op.f('pk_fhir_used_assertions'))
    )
    with op.batch_alter_table('fhir_export_jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('requester_client_id', sa.String(length=40), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_fhir_export_jobs_requester_client_id_fhir_system_clients'), 'fhir_system_clients', ['requester_client_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('fhir_export_jobs', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_fhir_export_jobs_requester_client_id_fhir_system_clients'), type_='foreignkey')
        batch_op.drop_column('requester_client_id')

    op.drop_table('fhir_used_assertions')
    with op.batch_alter_table('fhir_system_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fhir_system_tokens_client_id'))

    op.drop_table('fhir_system_tokens')
    op.drop_table('fhir_system_clients')
