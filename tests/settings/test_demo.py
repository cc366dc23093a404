"""The demo seed leaves one audited settings change with a reason in the history."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.audit.models import AuditEvent
from ketaflow.config import Role
from ketaflow.settings import service
from ketaflow.settings.demo import DEMO_REASON, seed_settings
from tests.support.factories import SYSTEM, make_user


def test_seed_settings(db: Session) -> None:
    assert seed_settings(db, SYSTEM) is None  # no admin yet: nothing to add
    make_user(db, role=Role.ADMIN, full_name="Ada Okafor")
    change = seed_settings(db, SYSTEM)
    assert change is not None
    [entry] = service.setting_history(db)
    assert (entry.setting_name, entry.old_value, entry.new_value, entry.reason,
            entry.changed_by) == ("review_sbp_min_mmhg", 160, 165, DEMO_REASON, "Ada Okafor")
    now = datetime.now(UTC)
    assert service.settings_in_force(db, now).infusion.review_sbp_min_mmhg == 165
    assert db.scalars(select(AuditEvent.action).where(
        AuditEvent.entity_id == str(change.id), AuditEvent.entity_type == "clinic_setting")
    ).all() == ["settings.change"]
