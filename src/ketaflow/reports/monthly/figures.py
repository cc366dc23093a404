"""The monthly report's counts, each an aggregate statement over the month's rows (both
databases run the same SQL; the outcomes cohort's helpers give a course's site and the
dates).

An infusion belongs to the month its session started in (clinic time), whenever its course
started; a session belongs to its course's site (the site of the course's first booked
appointment, as on the outcomes dashboard). An infusion's number counts the course's started
sessions in order, so numbers 1..planned are the induction and later ones maintenance.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import ColumnElement, Select, Subquery, and_, func, select
from sqlalchemy.orm import Session

from ketaflow.courses.models import TreatmentCourse
from ketaflow.infusions.models import (
    Discharge,
    EventKind,
    InfusionSession,
    SessionAlert,
    SessionEvent,
)
from ketaflow.infusions.rules import AlertLevel, SessionAction
from ketaflow.infusions.rules.vitals import RED_FLAG_SYMPTOMS
from ketaflow.outcomes.service import cohort as q
from ketaflow.outcomes.service.figures import BP_FIELDS
from ketaflow.outcomes.stats import Spread, spread
from ketaflow.patients.models import Patient

OTHER_KIND = "no red-flag symptom"


@dataclass(frozen=True)
class Activity:
    site_id: int | None  # None: sessions of courses with no booked appointment
    infusions: int  # sessions started in the month
    maintenance: int  # of those, after the course's planned induction
    first_infusions: int  # courses whose first infusion was in the month (courses started)
    inductions_completed: int  # the course's last planned induction infusion in the month
    stopped_early: int  # stopped with more than the allowed shortfall still to run
    aborted: int  # sessions aborted in the month (started or not)

    @property
    def induction(self) -> int:
        return self.infusions - self.maintenance


@dataclass(frozen=True)
class Safety:
    adverse_events: int
    serious: int
    by_kind: tuple[tuple[str, int], ...]  # red-flag symptom (or none) -> events
    bp_alerts: tuple[tuple[AlertLevel, int], ...]  # every level, in order
    rescue: tuple[tuple[str, int], ...]  # medication -> doses given
    discharges: int
    discharge_delay_minutes: Spread | None  # end of observation to discharge
    overridden_discharges: int  # discharged with a criterion unmet (a reason on file)

    @property
    def non_serious(self) -> int:
        return self.adverse_events - self.serious

    def bp(self, level: AlertLevel) -> int:
        return dict(self.bp_alerts).get(level, 0)

    @property
    def rescue_doses(self) -> int:
        return sum(n for _, n in self.rescue)


def numbered_sessions() -> Subquery:
    """Every started session with its number in its course, the course's planned induction
    and the course's site."""
    sites = q.course_sites()
    return (select(
        InfusionSession.id.label("session_id"), InfusionSession.course_id,
        InfusionSession.started_at, sites.c.site_id,
        TreatmentCourse.infusion_count.label("planned"),
        func.row_number().over(partition_by=InfusionSession.course_id,
                               order_by=(InfusionSession.started_at, InfusionSession.id)
                               ).label("number"))
        .join(TreatmentCourse, TreatmentCourse.id == InfusionSession.course_id)
        .outerjoin(sites, sites.c.course_id == InfusionSession.course_id)
        .where(InfusionSession.started_at.is_not(None)).subquery("numbered"))


def month_sessions(since: datetime, until: datetime, site_id: int | None) -> Subquery:
    n = numbered_sessions()
    query = select(n).where(n.c.started_at >= since, n.c.started_at < until)
    if site_id is not None:
        query = query.where(n.c.site_id == site_id)
    return query.subquery("month_sessions")


def _early_stops() -> Subquery:
    """Sessions whose stop the record marked early (`rules.rates.is_early_stop`)."""
    return (select(SessionEvent.session_id)
            .where(SessionEvent.kind == EventKind.STATUS,
                   SessionEvent.detail["action"].as_string() == SessionAction.STOP.value,
                   SessionEvent.detail["early"].as_boolean().is_(True))
            .group_by(SessionEvent.session_id).subquery("early_stops"))


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(q.as_flag(condition)), 0)


def activity_by_site(db: Session, since: datetime, until: datetime,
                     site_id: int | None) -> tuple[Activity, ...]:
    """One row per site with any started or aborted session in the month."""
    s = month_sessions(since, until, site_id)
    early = _early_stops()
    started = {row[0]: tuple(int(v) for v in row[1:]) for row in db.execute(
        select(s.c.site_id, func.count(), _flag(s.c.number > s.c.planned),
               _flag(s.c.number == 1), _flag(s.c.number == s.c.planned),
               _flag(early.c.session_id.is_not(None)))
        .outerjoin(early, early.c.session_id == s.c.session_id)
        .group_by(s.c.site_id)).all()}
    aborted = dict(db.execute(_aborted(since, until, site_id)).tuples().all())
    keys = sorted(set(started) | set(aborted), key=lambda k: (k is None, k or 0))
    rows = []
    for k in keys:
        infusions, maintenance, firsts, completed, early_n = started.get(k, (0, 0, 0, 0, 0))
        rows.append(Activity(k, infusions, maintenance, firsts, completed, early_n,
                             int(aborted.get(k, 0))))
    return tuple(rows)


def _aborted(since: datetime, until: datetime, site_id: int | None
             ) -> Select[tuple[int | None, int]]:
    sites = q.course_sites()
    query = (select(sites.c.site_id, func.count())
             .select_from(InfusionSession)
             .outerjoin(sites, sites.c.course_id == InfusionSession.course_id)
             .where(InfusionSession.aborted_at >= since, InfusionSession.aborted_at < until))
    if site_id is not None:
        query = query.where(sites.c.site_id == site_id)
    return query.group_by(sites.c.site_id)


def total(rows: tuple[Activity, ...], site_id: int | None) -> Activity:
    return Activity(site_id, *(sum(getattr(r, name) for r in rows) for name in (
        "infusions", "maintenance", "first_infusions", "inductions_completed",
        "stopped_early", "aborted")))


def new_patients(db: Session, since: datetime, until: datetime) -> int:
    return int(db.scalar(select(func.count()).select_from(Patient).where(
        Patient.created_at >= since, Patient.created_at < until)) or 0)


def weekly_infusions(db: Session, sessions: Subquery,
                     weeks: tuple[tuple[str, datetime, datetime], ...]) -> tuple[int, ...]:
    """Sessions started in each slice of the month (one statement, a sum per slice)."""
    if not weeks:
        return ()
    row = db.execute(select(*(
        _flag(and_(sessions.c.started_at >= start, sessions.c.started_at < end))
        for _, start, end in weeks))).one()
    return tuple(int(v) for v in row)


def safety(db: Session, sessions: Subquery) -> Safety:
    in_month = SessionEvent.session_id.in_(select(sessions.c.session_id))
    adverse = db.execute(select(SessionEvent.serious, SessionEvent.detail).where(
        SessionEvent.kind == EventKind.ADVERSE_EVENT, in_month)).all()
    levels = dict(db.execute(
        select(SessionAlert.level, func.count())
        .where(SessionAlert.field.in_(BP_FIELDS),
               SessionAlert.session_id.in_(select(sessions.c.session_id)))
        .group_by(SessionAlert.level)).tuples().all())
    name = SessionEvent.detail["name"].as_string()
    rescue = db.execute(select(name, func.count()).where(
        SessionEvent.kind == EventKind.RESCUE_MEDICATION, in_month)
        .group_by(name).order_by(name)).all()
    minutes, overridden = _discharges(db, sessions)
    return Safety(
        adverse_events=len(adverse), serious=sum(1 for serious, _ in adverse if serious),
        by_kind=_kinds([detail for _, detail in adverse]),
        bp_alerts=tuple((level, int(levels.get(level, 0))) for level in AlertLevel),
        rescue=tuple((str(n or "unnamed"), int(c)) for n, c in rescue),
        discharges=len(minutes), discharge_delay_minutes=spread(np.asarray(minutes, float)),
        overridden_discharges=overridden)


def _kinds(details: list[dict[str, object]]) -> tuple[tuple[str, int], ...]:
    """Adverse events per red-flag symptom charted with them (an event may have several),
    and those with none. Counted here rather than in SQL: a JSON array is unnested
    differently by the two databases, and a month holds a handful of adverse events."""
    counts: Counter[str] = Counter()
    for detail in details:
        symptoms = detail.get("symptoms") or []
        keys = [s for s in symptoms if isinstance(s, str)] if isinstance(symptoms, list) else []
        counts.update(RED_FLAG_SYMPTOMS.get(k, k) for k in dict.fromkeys(keys))
        if not keys:
            counts[OTHER_KIND] += 1
    kinds = [*RED_FLAG_SYMPTOMS.values(), OTHER_KIND]
    return tuple((label, counts[label]) for label in kinds if counts[label])


def _discharges(db: Session, sessions: Subquery) -> tuple[list[float], int]:
    d = (select(Discharge.discharged_at, Discharge.ready_at, Discharge.override_reason)
         .where(Discharge.session_id.in_(select(sessions.c.session_id))).subquery("discharged"))
    minutes = q.days_between(db, d.c.discharged_at, d.c.ready_at) * 1440
    rows = db.execute(select(minutes, d.c.override_reason.is_not(None))).all()
    return [max(0.0, float(m)) for m, _ in rows], sum(1 for _, o in rows if o)
