"""patients: demographics versions carry both names folded for search (no case, no accents)

Revision ID: a3c91e5f7b24
Revises: 4e36e154ca38
Create Date: 2026-12-02 01:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from ketaflow.patients.search_text import search_name

revision: str = 'a3c91e5f7b24'
down_revision: str | None = '4e36e154ca38'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_VERSIONS = sa.table('patient_demographics_versions', sa.column('id', sa.Integer),
                     sa.column('given_name', sa.String), sa.column('family_name', sa.String),
                     sa.column('search_name', sa.String))


def upgrade() -> None:
    with op.batch_alter_table('patient_demographics_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('search_name', sa.String(length=210), nullable=True))
    # Existing versions get their folded names the same way new ones do (in Python: neither
    # database folds accents by itself).
    connection = op.get_bind()
    rows = connection.execute(sa.select(_VERSIONS.c.id, _VERSIONS.c.given_name,
                                        _VERSIONS.c.family_name)).all()
    for row_id, given, family in rows:
        connection.execute(_VERSIONS.update().where(_VERSIONS.c.id == row_id)
                           .values(search_name=search_name(given, family)))
    with op.batch_alter_table('patient_demographics_versions', schema=None) as batch_op:
        batch_op.alter_column('search_name', existing_type=sa.String(length=210),
                              nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('patient_demographics_versions', schema=None) as batch_op:
        batch_op.drop_column('search_name')
