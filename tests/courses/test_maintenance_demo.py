"""The demo's between-visit story (`ketaflow demo seed`, as `make run` seeds it): a switch
warning as an open alert with its reason, a relapse that moved a booster earlier (waiting for the
prescriber), and a stable maintenance course with a confirmed booster today on the day's list."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.alerts.models import Alert, AlertKind
from ketaflow.courses.models import BoosterState, MaintenanceBooster
from ketaflow.demo import seed_demo
from ketaflow.infusions import service as infusions
from tests.support.factories import SYSTEM


def test_the_demo_tells_the_maintenance_story(db: Session) -> None:
    seed_demo(db, SYSTEM)
    today = datetime.now(UTC).date()
    open_mood = {a.kind: a for a in db.scalars(select(Alert).where(
        Alert.acknowledged_at.is_(None), Alert.source_key.is_not(None)))}
    switch = open_mood[AlertKind.MOOD_SWITCH]
    assert switch.reason is not None and switch.reason.startswith("possible manic switch")
    relapse = open_mood[AlertKind.MOOD_RELAPSE]
    assert relapse.reason is not None and "depressed mood" in relapse.reason
    boosters = list(db.scalars(select(MaintenanceBooster).order_by(MaintenanceBooster.id)))
    moved = [b for b in boosters if b.earlier_on is not None]
    assert len(moved) == 1 and moved[0].state is BoosterState.SUGGESTED
    assert moved[0].earlier_on is not None and moved[0].earlier_on < moved[0].planned_on
    confirmed = [b for b in boosters if b.state is BoosterState.CONFIRMED]
    assert len(confirmed) == 3 and confirmed[0].confirmed_on == today
    rows = [r for r in infusions.day_list(db, SYSTEM, zone="UTC").rows
            if r.course_id == confirmed[0].course_id]
    assert [(r.infusion_number, r.planned_on, r.can_open) for r in rows] == [(7, today, True)]
