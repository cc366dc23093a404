"""The demo seed gives `make run` reminder plans with sent, cancelled and waiting messages."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.config import Settings
from ketaflow.demo import seed_demo
from ketaflow.jobs.models import OutboxMessage, OutboxStatus
from ketaflow.reminders.models import ReminderPlan
from tests.support.factories import SYSTEM


def test_demo_patients_have_plans_and_deliveries(db: Session, settings: Settings) -> None:
    seed_demo(db, SYSTEM, settings=settings)
    plans = db.scalars(select(ReminderPlan)).all()
    assert len(plans) >= 2
    messages = db.scalars(select(OutboxMessage).where(
        OutboxMessage.dedupe_key.startswith("reminder:"))).all()
    states = Counter(m.status for m in messages)
    assert states[OutboxStatus.SENT] > 0 and states[OutboxStatus.PENDING] > 0
    assert all(m.patient_id in {p.patient_id for p in plans} for m in messages)
