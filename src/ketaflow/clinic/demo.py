"""The demo clinic's profile: plainly a demo, with the US national line (988)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ketaflow.audit.service import AuditContext
from ketaflow.clinic import service

DEMO_PROFILE = service.ProfileEntry(
    name="Demo Ketamine Clinic (not a real clinic)",
    address="1 Example Street, Springfield (demo address)",
    phone="+1 555 010 0100",
    # No time zone: the demo keeps KETAFLOW_CLINIC_TIMEZONE, so `make run` reads times as set.
    timezone=None,
    crisis_line="+1 555 010 0199 (demo number: weekdays 8am-6pm)",
    national_line_country="US",
    after_hours="This is a demo clinic: in a real clinic this says who to call at night and at "
                "weekends.",
)


def seed_clinic_profile(session: Session, ctx: AuditContext) -> None:
    if service.get_profile(session) is None:
        service.update_profile(session, ctx, entry=DEMO_PROFILE, production=False)
