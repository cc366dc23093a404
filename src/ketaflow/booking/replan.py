"""Re-planning a site's week after its rota or hours changed (a nurse's leave, a closure): the
booked infusions from now to the week's end that break a rule, which of them stay at their time
with another nurse or chair (`ketaflow.scheduling.replan`, CP-SAT), and which must be moved.

Applying keeps the records: a re-planned appointment is marked "moved" and replaced by a new
row at the same time (as a move does); nothing is sent to the patient, whose time is unchanged.
The ones that cannot stay are left as booked and listed, each with its series to move from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.audit.service import AuditContext, record_event
from ketaflow.auth.models import StaffUser
from ketaflow.booking import problem
from ketaflow.booking.appointments import day_bounds
from ketaflow.booking.models import Appointment, AppointmentState, Site
from ketaflow.booking.service import claim_version
from ketaflow.db import utcnow
from ketaflow.errors import Conflict
from ketaflow.patients.service.identity import PatientIdentity, patient_identities
from ketaflow.scheduling import replan as core
from ketaflow.scheduling.model import Problem

RULES = {"nurse-shift": "its nurse is not on shift throughout",
         "ratio": "its nurse would watch more patients than the site's ratio",
         "site-ratio": "more patients infusing than the nurses on shift may watch",
         "chair": "its chair is taken or out of service",
         "opening": "the site is closed then (closure or opening hours)",
         "prescriber": "no prescriber is on site throughout",
         "patient": "the patient has another infusion at the same time"}
REASON = "re-planned after a rota change: same time, another nurse or chair"


@dataclass(frozen=True)
class Item:
    appointment: Appointment
    patient: PatientIdentity
    problems: tuple[str, ...]  # worded rules it breaks now
    was_chair: int
    was_nurse: str | None
    chair_number: int | None   # the chair it keeps or moves to (None: must be moved)
    nurse_id: int | None
    nurse_name: str | None

    @property
    def stays(self) -> bool:
        return self.nurse_id is not None


@dataclass(frozen=True)
class WeekReplan:
    site: Site
    week_start: date
    items: tuple[Item, ...]
    version: int

    @property
    def changes(self) -> tuple[Item, ...]:
        return tuple(i for i in self.items if i.stays)

    @property
    def to_move(self) -> tuple[Item, ...]:
        return tuple(i for i in self.items if not i.stays)


def week_start_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def propose(db: Session, *, site_id: int, week_start: date) -> WeekReplan:
    """What re-planning the week would change (nothing is written)."""
    loaded = problem.load(db, site_id=site_id, start=week_start, days=7)
    first, _ = day_bounds(loaded.site, week_start)
    _, last = day_bounds(loaded.site, week_start + timedelta(days=6))
    found = core.broken(loaded.problem, max(first, utcnow()), last)
    kept = core.keep_in_place(loaded.problem, found)
    if core.verify(loaded.problem, found, kept):  # pragma: no cover - the model is tested
        kept = []
    by_index = {k.index: k for k in kept}
    rows = {a.id: a for a in db.scalars(select(Appointment).where(
        Appointment.id.in_([loaded.appointment_ids[i] for i in found])))}
    names = dict(db.execute(select(StaffUser.id, StaffUser.full_name).where(
        StaffUser.id.in_({int(k.nurse) for k in kept}
                         | {r.staff_user_id for r in rows.values() if r.staff_user_id})))
        .tuples().all())
    who = patient_identities(db, {r.patient_id for r in rows.values()})
    items = []
    for i in found:
        row, keep = rows[loaded.appointment_ids[i]], by_index.get(i)
        booking = loaded.problem.bookings[i]
        if keep is not None and (keep.chair, keep.nurse) == (booking.chair, booking.nurse):
            continue  # it stays as it is once the others move
        items.append(Item(row, who[row.patient_id], _worded(loaded.problem, i), booking.chair,
                          names.get(row.staff_user_id or 0),
                          None if keep is None else keep.chair,
                          None if keep is None else int(keep.nurse),
                          None if keep is None else names.get(int(keep.nurse))))
    return WeekReplan(loaded.site, week_start, tuple(items), loaded.version)


def _worded(p: Problem, index: int) -> tuple[str, ...]:
    return tuple(dict.fromkeys(RULES.get(v.rule, v.rule) for v in core.breaks(p, index)))


def apply(db: Session, ctx: AuditContext, *, site_id: int, week_start: date, version: int,
          booked_by_user_id: int | None) -> WeekReplan:
    """Store the proposal computed at calendar `version` (refused if the calendar changed)."""
    claim_version(db, site_id, version)
    plan = propose(db, site_id=site_id, week_start=week_start)
    if not plan.changes:
        raise Conflict("nothing in this week can stay at its time with another nurse or chair",
                       field="version")
    chairs = problem.chair_ids(db, site_id)
    replaced = []
    for item in plan.changes:
        old = item.appointment
        old.state, old.state_reason = AppointmentState.MOVED, REASON
        assert item.chair_number is not None
        replaced.append(Appointment(
            patient_id=old.patient_id, site_id=old.site_id, chair_id=chairs[item.chair_number],
            staff_user_id=item.nurse_id, kind=old.kind, course_id=old.course_id,
            infusion_number=old.infusion_number, series_id=old.series_id,
            starts_at=old.starts_at, minutes=old.minutes, replaces_id=old.id,
            instructions_acknowledged_at=old.instructions_acknowledged_at,
            booked_by_user_id=booked_by_user_id))
    db.add_all(replaced)
    db.flush()
    record_event(db, ctx, action="appointment.week_replan", entity_type="site",
                 entity_id=site_id, detail={
                     "week_start": week_start.isoformat(),
                     "moved": [i.appointment.id for i in plan.changes],
                     "replacements": [r.id for r in replaced],
                     "still_to_move": [i.appointment.id for i in plan.to_move]})
    return plan


def broken_on(db: Session, *, site_id: int, day: date) -> int:
    """How many booked infusions of the day, from now on, break a rule (for the day's page)."""
    loaded = problem.load(db, site_id=site_id, start=day, days=1)
    first, last = day_bounds(loaded.site, day)
    return len(core.broken(loaded.problem, max(first, utcnow()), last))
