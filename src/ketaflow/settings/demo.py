"""Demo data: one audited settings change, so the settings page shows a history entry."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.audit.service import AuditContext
from ketaflow.auth.models import StaffUser
from ketaflow.config import Role
from ketaflow.settings import service
from ketaflow.settings.models import SettingChange

DEMO_REASON = "clinic protocol v2"


def seed_settings(session: Session, ctx: AuditContext) -> SettingChange | None:
    """The demo admin raises the prescriber-review systolic threshold during an infusion from
    160 to 165 mmHg, effective now (after every seeded session, so none of them changes)."""
    admin = session.scalar(select(StaffUser).where(StaffUser.role == Role.ADMIN)
                           .order_by(StaffUser.id).limit(1))
    if admin is None:
        return None
    as_admin = ctx.as_user(admin.id, admin.username, admin.role.value)
    return service.change_setting(session, as_admin, group="infusion",
                                  name="review_sbp_min_mmhg", value=165, reason=DEMO_REASON)
