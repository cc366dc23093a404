"""The outcome figures as plain GROUP BY statements over the per-course summaries
(`ketaflow.outcomes.models`, kept fresh by `summaries.refresh_summaries`).

Each gives exactly what its counterpart in `figures.py` gives from the raw rows (the tests
compare the two on every hand-made cohort): thresholds and the end-of-induction window are
applied here, to stored totals and times, so a changed setting needs no refresh.
"""

from __future__ import annotations

import numpy as np
from sqlalchemy import ColumnElement, Select, Subquery, and_, case, func, null, select
from sqlalchemy.orm import Session

from ketaflow.outcomes.models import (
    OutcomeBaseline,
    OutcomeCourse,
    OutcomeLow,
    OutcomeSession,
    OutcomeWeek,
)
from ketaflow.outcomes.service import cohort as q
from ketaflow.outcomes.service.cohort import Filters, Rows
from ketaflow.outcomes.service.figures import Endpoint, Safety, Week, curves_of
from ketaflow.outcomes.settings import OutcomeSettings
from ketaflow.outcomes.stats import SurvivalCurve, spread
from ketaflow.scales.longitudinal import RESPONSE_INSTRUMENTS
from ketaflow.scales.thresholds import ScaleThresholds


def courses(filters: Filters) -> Subquery:
    """The filtered courses' summaries, with the column names `cohort.courses` gives (so the
    figures that join raw rows to the cohort, safety and mood, read them unchanged)."""
    c = OutcomeCourse
    query: Select[tuple[object, ...]] = select(
        c.course_id, c.patient_id, c.start_on, c.site_id, c.bipolar_type, c.prescriber_id,
        c.state, c.first_at, c.started, c.last_at, c.end_at, c.induction_over, c.maintained)
    if filters.start_from is not None:
        query = query.where(c.start_on >= filters.start_from)
    if filters.start_to is not None:
        query = query.where(c.start_on <= filters.start_to)
    if filters.without_site:
        query = query.where(c.site_id.is_(None))
    elif filters.site_id is not None:
        query = query.where(c.site_id == filters.site_id)
    if filters.bipolar_type is not None:
        query = query.where(c.bipolar_type == filters.bipolar_type)
    if filters.prescriber_id is not None:
        query = query.where(c.prescriber_id == filters.prescriber_id)
    if filters.induction_ended_since is not None:
        query = query.where(c.last_at >= filters.induction_ended_since)
    if filters.induction_ended_before is not None:
        query = query.where(c.last_at < filters.induction_ended_before)
    return query.subquery("summary_courses")


def _over(cohort: Rows) -> ColumnElement[bool]:
    return and_(cohort.c.first_at.is_not(None), cohort.c.induction_over)


def endpoints(db: Session, cohort: Rows, settings: OutcomeSettings,
              thresholds: ScaleThresholds) -> tuple[Endpoint, ...]:
    """`figures.endpoints`: the stored candidate counts when it lies within the window."""
    b = OutcomeBaseline
    evaluated = and_(b.end_total.is_not(None),
                     b.end_days <= settings.end_of_induction_window_days)
    rows = db.execute(
        select(b.instrument_id, func.count(), func.sum(b.is_fallback),
               func.sum(q.as_flag(evaluated)),
               func.sum(q.as_flag(and_(evaluated, q.responded(b.baseline, b.end_total,
                                                              thresholds)))),
               func.sum(q.as_flag(and_(evaluated, q.remitted(b.instrument_id, b.end_total,
                                                             thresholds)))))
        .join(cohort, cohort.c.course_id == b.course_id)
        .where(_over(cohort)).group_by(b.instrument_id)).all()
    found = {row[0]: tuple(int(v or 0) for v in row[1:]) for row in rows}
    over = int(db.scalar(select(func.count()).select_from(cohort).where(_over(cohort))) or 0)
    return tuple(Endpoint(instrument, over, *found.get(instrument, (0, 0, 0, 0, 0)))
                 for instrument in RESPONSE_INSTRUMENTS)


def weeks(db: Session, cohort: Rows, thresholds: ScaleThresholds) -> tuple[Week, ...]:
    """`figures.weeks`: each course's stored last rating of the week against its baseline."""
    w, b = OutcomeWeek, OutcomeBaseline
    rows = db.execute(
        select(w.instrument_id, w.week, func.count(),
               func.sum(q.as_flag(q.responded(b.baseline, w.total, thresholds))),
               func.sum(q.as_flag(q.remitted(w.instrument_id, w.total, thresholds))))
        .join(b, and_(b.course_id == w.course_id, b.instrument_id == w.instrument_id))
        .join(cohort, cohort.c.course_id == w.course_id)
        .group_by(w.instrument_id, w.week).order_by(w.instrument_id, w.week)).all()
    return tuple(Week(str(r[0]), int(r[1]), int(r[2]), int(r[3] or 0), int(r[4] or 0))
                 for r in rows)


def time_to_response(db: Session, cohort: Rows, thresholds: ScaleThresholds
                     ) -> dict[str, SurvivalCurve | None]:
    """`figures.time_to_response`: the first response is the first running low that meets
    the drop in force (no later, higher rating can meet it earlier); censored at the last
    followed rating."""
    b, low = OutcomeBaseline, OutcomeLow
    # The stored days are `days_between` of each moment and the first infusion: increasing
    # with the moment, so the least day of a response is the live figure's day of the first.
    per_course = (
        select(b.instrument_id, b.followed_days,
               func.min(case((q.responded(b.baseline, low.total, thresholds), low.days),
                             else_=null())).label("event_days"))
        .join(cohort, cohort.c.course_id == b.course_id)
        .outerjoin(low, and_(low.course_id == b.course_id, low.instrument_id == b.instrument_id))
        .where(b.followed_days.is_not(None), cohort.c.first_at.is_not(None))
        .group_by(b.course_id, b.instrument_id, b.followed_days)
        .subquery("response_times"))
    rows = db.execute(select(
        per_course.c.instrument_id,
        func.coalesce(per_course.c.event_days, per_course.c.followed_days),
        per_course.c.event_days.is_not(None))).all()
    return curves_of(rows)


def safety(db: Session, cohort: Rows) -> Safety:
    """`figures.safety` from one summary row per session: the spreads from each distinct
    value's count (the same multiset, so the same quartiles)."""
    s = OutcomeSession
    joined = (select(func.count(), func.coalesce(func.sum(s.adverse_events), 0),
                     func.coalesce(func.sum(s.serious_adverse_events), 0),
                     func.coalesce(func.sum(s.bp_alerts), 0))
              .join(cohort, cohort.c.course_id == s.course_id))
    infusions, adverse, serious, bp_alerts = (int(v) for v in db.execute(joined).one())
    return Safety(infusions, adverse, serious, bp_alerts,
                  spread(_values(db, cohort, s.peak_cadss)),
                  spread(_values(db, cohort, s.discharge_minutes)))


def _values(db: Session, cohort: Rows, column: q.Expression) -> np.ndarray:
    rows = db.execute(select(column, func.count())
                      .join(cohort, cohort.c.course_id == OutcomeSession.course_id)
                      .where(column.is_not(None)).group_by(column)).all()
    return np.repeat(np.array([float(v) for v, _ in rows], dtype=float),
                     np.array([int(n) for _, n in rows], dtype=int))
