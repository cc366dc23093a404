"""infusions: one open session per course

Revision ID: 4dc1fe46da7b
Revises: 0273c2472cd1
Create Date: 2026-12-01 19:59:23.319237
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '4dc1fe46da7b'
down_revision: str | None = '0273c2472cd1'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A session holds its course's one open slot until it is discharged or aborted.
OPEN = "status NOT IN ('discharged', 'aborted')"


def _refuse_existing_duplicates() -> None:
    """Earlier versions allowed several open sessions per course. Which to close is a clinical
    decision, so the upgrade stops and names the courses (ids only) rather than guessing."""
    courses = op.get_bind().execute(sa.text(
        "SELECT course_id FROM infusion_sessions WHERE " + OPEN  # noqa: S608 (a constant)
        + " GROUP BY course_id HAVING COUNT(*) > 1 ORDER BY course_id")).scalars().all()
    if courses:
        listed = ", ".join(str(course_id) for course_id in courses)
        raise RuntimeError(f"courses {listed} have more than one open infusion session: "
                           "discharge or abort the extra sessions, then upgrade again")


def upgrade() -> None:
    _refuse_existing_duplicates()
    with op.batch_alter_table('infusion_sessions', schema=None) as batch_op:
        batch_op.create_index('uq_infusion_sessions_open_course_id', ['course_id'], unique=True,
                              sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))


def downgrade() -> None:
    with op.batch_alter_table('infusion_sessions', schema=None) as batch_op:
        batch_op.drop_index('uq_infusion_sessions_open_course_id')
