"""Demo reminder plans (`ketaflow demo seed`): every demo patient with a course gets the default
plan, and the planner is run over the last two days as the outbox worker would have run it, so
the reminders page shows what was sent, what was cancelled because the patient did it, and
the newest message still waiting for the worker.

Messages in the past are marked sent here only because no worker ran while the demo "lived"
them; a real clinic's rows are marked by the jobs worker.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.assessments import courses
from ketaflow.audit.service import AuditContext
from ketaflow.clinic import service as clinic_service
from ketaflow.config import Role, Settings
from ketaflow.db import utcnow
from ketaflow.jobs.models import OutboxMessage, OutboxStatus
from ketaflow.patients.models import Patient
from ketaflow.reminders import service
from ketaflow.reminders.timing import local_wall
from ketaflow.screening.demo import staff_context

HISTORY_HOURS = 48
STEP = timedelta(minutes=30)


def seed_reminders(session: Session, ctx: AuditContext, patients: Sequence[Patient],
                   settings: Settings | None) -> int:
    """Plans for the demo patients with a course; with settings (links need the public
    address and the key), two days of reminders. Returns the messages stored."""
    nurse = staff_context(session, Role.NURSE, ctx)
    profile = clinic_service.get_profile(session)
    zone = profile.timezone if profile is not None and profile.timezone else "UTC"
    # The weekly check-in falls on yesterday's weekday, so the reminders page shows a sent
    # reminder and a waiting repeat whichever day the demo is seeded (the mood check-ins are
    # all done: the demo patient charts daily).
    weekday = (local_wall(utcnow(), ZoneInfo(zone)).date() - timedelta(days=1)).weekday()
    planned = []
    for patient in patients:
        if courses.latest_course(session, patient_id=patient.id) is None:
            continue
        service.save_plan(session, nurse, patient_id=patient.id,
                          data=service.PlanInput(time_zone=zone, scales_weekday=weekday),
                          user_id=nurse.actor_user_id or 0)
        planned.append(patient.id)
    if settings is None or not planned:
        return 0
    now = utcnow()
    moment, stored = now - timedelta(hours=HISTORY_HOURS), 0
    while moment <= now:
        stored += service.plan_due(session, moment, settings=settings)
        moment += STEP
    _deliver_all_but_the_newest(session, planned)
    return stored


def _deliver_all_but_the_newest(session: Session, patient_ids: list[int]) -> None:
    for patient_id in patient_ids:
        pending = list(session.scalars(
            select(OutboxMessage).where(OutboxMessage.patient_id == patient_id,
                                        OutboxMessage.status == OutboxStatus.PENDING,
                                        OutboxMessage.dedupe_key.startswith("reminder:"))
            .order_by(OutboxMessage.not_before.desc())))
        for message in pending[1:]:
            message.status, message.attempts = OutboxStatus.SENT, 1
            message.sent_at = message.not_before + timedelta(minutes=1)
    session.flush()
