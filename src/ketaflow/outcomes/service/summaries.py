"""Keeps the per-course outcome summaries (`ketaflow.outcomes.models`) equal to what the raw
rows give, so the dashboard aggregates one row per course instead of every rating.

`refresh_summaries(db)` runs at the start of each aggregate, in its own transaction: it
recomputes the patients marked stale by `ketaflow.outcomes.freshness` and those with a course
that has no summary yet (after the migration, after `ketaflow demo generate`), with the same
SQL building blocks as the live computation (`cohort.py`, restricted to those patients), then
deletes exactly the markers it read. Services never commit: the caller's commit publishes the
rows and the marker deletion together; a rollback leaves the markers for the next read.

Refreshes are serialised per database, in the database: SQLite's write lock (the request's
BEGIN IMMEDIATE) and on PostgreSQL a transaction-level advisory lock taken before the markers
are read. Without it, two refreshes of the same patient could interleave their DELETE and
INSERT under READ COMMITTED and leave rows of the older computation behind. The lock is
waited for while holding nothing else and is held only for the refresh's own statements.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    Subquery,
    and_,
    case,
    delete,
    exists,
    func,
    insert,
    null,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.orm import Session

from ketaflow.courses.models import TreatmentCourse
from ketaflow.infusions.models import EventKind, InfusionSession, SessionAlert, SessionEvent
from ketaflow.outcomes.models import (
    OutcomeBaseline,
    OutcomeCourse,
    OutcomeLow,
    OutcomeSession,
    OutcomeStalePatient,
    OutcomeWeek,
)
from ketaflow.outcomes.service import cohort as q
from ketaflow.outcomes.service.cohort import Filters, Patients, Rows
from ketaflow.outcomes.service.figures import BP_FIELDS, MAX_WEEKS

# Above this many patients to recompute, everyone's summaries are rebuilt in one pass: the
# unrestricted statements are faster than long IN lists (and stay under parameter limits).
FULL_REFRESH_PATIENTS = 1000
CHUNK = 500  # ids per DELETE statement
# pg_advisory_xact_lock key: "outcomes summaries" (any constant unique to this use).
ADVISORY_KEY = 7_240_115_301


def refresh_summaries(db: Session) -> int:
    """Recompute the summaries of every stale patient; how many patients were recomputed."""
    unsummarised = (select(TreatmentCourse.patient_id).distinct()
                    .outerjoin(OutcomeCourse, OutcomeCourse.course_id == TreatmentCourse.id)
                    .where(OutcomeCourse.course_id.is_(None)))
    if not q.is_sqlite(db):
        # Nothing stale (the usual read): no lock, so concurrent reads never queue. A change
        # committed after this check is one the read began before; the next read counts it.
        stale = db.scalar(select(exists(select(OutcomeStalePatient.id))
                                 | exists(unsummarised)))
        if not stale:
            return 0
        db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_KEY})
    markers = db.execute(select(OutcomeStalePatient.id, OutcomeStalePatient.patient_id)).all()
    patients = sorted({int(p) for _, p in markers} | {int(p) for p in db.scalars(unsummarised)})
    if not patients:
        return 0
    _recompute(db, None if len(patients) > FULL_REFRESH_PATIENTS else patients)
    ids = [int(i) for i, _ in markers]
    for start in range(0, len(ids), CHUNK):
        db.execute(delete(OutcomeStalePatient)
                   .where(OutcomeStalePatient.id.in_(ids[start:start + CHUNK])))
    return len(patients)


def _recompute(db: Session, patients: Patients) -> None:
    """Replace the summaries of `patients` (None: everyone) by what the raw rows give now.

    Everyone's: the building blocks kept once in temporary tables (`cohort.Snapshots`, for
    the planners' sake). A few patients': plain subqueries restricted to them, whose compiled
    statements SQLAlchemy caches (a fresh temporary table is a new statement to compile each
    time, which cost more than the few rows' work)."""
    kept = q.Snapshots(db)
    courses: Rows = q.courses(db, Filters(), patients)
    ratings: Rows = q.current_ratings(patients)
    base: Rows = q.baselines(db, courses, ratings)
    if patients is None:
        courses = kept.keep(q.courses(db, Filters()), "refresh_courses", index=("course_id",))
        ratings = kept.keep(q.current_ratings(), "refresh_ratings",
                            index=("patient_id", "instrument_id"))
        base = kept.keep(q.baselines(db, courses, ratings), "refresh_baselines",
                         index=("course_id", "instrument_id"))
    _delete(db, patients)
    _insert_courses(db, courses, patients)
    _insert_baselines(db, courses, ratings, base)
    _insert_lows(db, courses, ratings, base)
    _insert_weeks(db, courses, ratings, base)
    _insert_sessions(db, patients)
    kept.drop()


def _delete(db: Session, patients: Patients) -> None:
    """Every summary row of the patients' courses (found from the courses themselves)."""
    if patients is None:
        for table in (OutcomeWeek, OutcomeLow, OutcomeBaseline, OutcomeCourse, OutcomeSession):
            db.execute(delete(table))
        return
    sessions = select(InfusionSession.id).where(InfusionSession.patient_id.in_(list(patients)))
    db.execute(delete(OutcomeSession).where(OutcomeSession.session_id.in_(sessions)))
    theirs = select(TreatmentCourse.id).where(TreatmentCourse.patient_id.in_(list(patients)))
    for child in (OutcomeWeek, OutcomeLow, OutcomeBaseline):
        db.execute(delete(child).where(child.course_id.in_(theirs)))
    db.execute(delete(OutcomeCourse).where(OutcomeCourse.course_id.in_(theirs)))


def _insert_courses(db: Session, courses: Rows, patients: Patients) -> None:
    maintained = q.entered_maintenance(patients)
    rows = (select(courses.c.course_id, courses.c.patient_id, courses.c.start_on,
                   courses.c.site_id, courses.c.bipolar_type, courses.c.prescriber_id,
                   courses.c.state, courses.c.first_at, courses.c.started, courses.c.last_at,
                   courses.c.end_at, courses.c.induction_over,
                   or_(maintained.c.course_id.is_not(None),
                       courses.c.state == "maintenance").label("maintained"))
            .outerjoin(maintained, maintained.c.course_id == courses.c.course_id))
    db.execute(insert(OutcomeCourse).from_select(
        ["course_id", "patient_id", "start_on", "site_id", "bipolar_type", "prescriber_id",
         "state", "first_at", "started", "last_at", "end_at", "induction_over", "maintained"],
        rows))


def _followed(courses: Rows, ratings: Rows, base: Rows) -> ColumnElement[bool]:
    """Ratings after the first infusion and the baseline, up to the course's end (as
    `figures._followed`)."""
    return and_(courses.c.first_at.is_not(None), ratings.c.rated_at >= courses.c.first_at,
                ratings.c.rated_at > base.c.baseline_at,
                or_(courses.c.end_at.is_(None), ratings.c.rated_at <= courses.c.end_at))


def _joined(courses: Rows, ratings: Rows, base: Rows, *columns: ColumnElement[Any]
            ) -> Select[Any]:
    """Each course and instrument with a baseline, beside the patient's ratings of it."""
    return (select(*columns).select_from(base)
            .join(courses, courses.c.course_id == base.c.course_id)
            .join(ratings, and_(ratings.c.patient_id == courses.c.patient_id,
                                ratings.c.instrument_id == base.c.instrument_id)))


def _end_candidates(courses: Rows, ratings: Rows, base: Rows) -> Subquery:
    """Per course and instrument, the first rating after the last induction infusion started
    and after the baseline. The live figure takes the first such rating within the window;
    that is this one when it lies within the window, and none otherwise."""
    ranked = _joined(
        courses, ratings, base, base.c.course_id, base.c.instrument_id, ratings.c.rated_at,
        ratings.c.total,
        func.row_number().over(partition_by=(base.c.course_id, base.c.instrument_id),
                               order_by=(ratings.c.rated_at, ratings.c.assessment_id)
                               ).label("rn")).where(
        courses.c.last_at.is_not(None), ratings.c.rated_at > courses.c.last_at,
        ratings.c.rated_at > base.c.baseline_at).subquery("end_ranked")
    return (select(ranked.c.course_id, ranked.c.instrument_id, ranked.c.rated_at,
                   ranked.c.total).where(ranked.c.rn == 1).subquery("end_candidates"))


def _insert_baselines(db: Session, courses: Rows, ratings: Rows, base: Rows) -> None:
    ends = _end_candidates(courses, ratings, base)
    followed = (_joined(courses, ratings, base, base.c.course_id, base.c.instrument_id,
                        func.max(ratings.c.rated_at).label("last_at"))
                .where(_followed(courses, ratings, base))
                .group_by(base.c.course_id, base.c.instrument_id).subquery("followed"))
    rows = (select(base.c.course_id, base.c.instrument_id, base.c.baseline, base.c.baseline_at,
                   base.c.is_fallback, q.days_between(db, ends.c.rated_at, courses.c.last_at),
                   ends.c.total, q.days_between(db, followed.c.last_at, courses.c.first_at))
            .select_from(base)
            .join(courses, courses.c.course_id == base.c.course_id)
            .outerjoin(ends, and_(ends.c.course_id == base.c.course_id,
                                  ends.c.instrument_id == base.c.instrument_id))
            .outerjoin(followed, and_(followed.c.course_id == base.c.course_id,
                                      followed.c.instrument_id == base.c.instrument_id)))
    db.execute(insert(OutcomeBaseline).from_select(
        ["course_id", "instrument_id", "baseline", "baseline_at", "is_fallback",
         "end_days", "end_total", "followed_days"], rows))


def _insert_lows(db: Session, courses: Rows, ratings: Rows, base: Rows) -> None:
    """The followed ratings lower than every earlier followed one (by time, then id)."""
    order = (ratings.c.rated_at, ratings.c.assessment_id)
    ranked = _joined(
        courses, ratings, base, base.c.course_id, base.c.instrument_id,
        ratings.c.assessment_id,
        q.days_between(db, ratings.c.rated_at, courses.c.first_at).label("days"),
        ratings.c.total,
        func.min(ratings.c.total).over(partition_by=(base.c.course_id, base.c.instrument_id),
                                       order_by=order, rows=(None, -1)).label("lowest_before")
    ).where(_followed(courses, ratings, base)).subquery("running_lows")
    rows = (select(ranked.c.course_id, ranked.c.instrument_id, ranked.c.assessment_id,
                   ranked.c.days, ranked.c.total)
            .where(or_(ranked.c.lowest_before.is_(None),
                       ranked.c.total < ranked.c.lowest_before)))
    db.execute(insert(OutcomeLow).from_select(
        ["course_id", "instrument_id", "assessment_id", "days", "total"], rows))


def _insert_weeks(db: Session, courses: Rows, ratings: Rows, base: Rows) -> None:
    """Per course, instrument and completed week since the first infusion: the week's last
    followed rating (as `figures.weeks` ranks them)."""
    week = q.whole_weeks(db, q.days_between(db, ratings.c.rated_at, courses.c.first_at))
    ranked = _joined(
        courses, ratings, base, base.c.course_id, base.c.instrument_id, week.label("week"),
        ratings.c.total,
        func.row_number().over(partition_by=(base.c.course_id, base.c.instrument_id, week),
                               order_by=(ratings.c.rated_at.desc(),
                                         ratings.c.assessment_id.desc())).label("rn")
    ).where(_followed(courses, ratings, base)).subquery("weekly_ranked")
    rows = (select(ranked.c.course_id, ranked.c.instrument_id, ranked.c.week, ranked.c.total)
            .where(ranked.c.rn == 1, ranked.c.week < MAX_WEEKS))
    db.execute(insert(OutcomeWeek).from_select(
        ["course_id", "instrument_id", "week", "total"], rows))


def _insert_sessions(db: Session, patients: Patients) -> None:
    """Per started session of the patients: what `figures.safety` counts from the raw rows."""
    theirs = q.of_patients(InfusionSession.patient_id, patients)
    adverse = SessionEvent.kind == EventKind.ADVERSE_EVENT
    events = (select(
        SessionEvent.session_id,
        func.sum(q.as_flag(adverse)).label("adverse"),
        func.sum(q.as_flag(and_(adverse, SessionEvent.serious.is_(True)))).label("serious"),
        func.max(case((and_(SessionEvent.kind == EventKind.CADSS6,
                            SessionEvent.total.is_not(None)), SessionEvent.total),
                      else_=null())).label("peak"))
        .where(_of_sessions(SessionEvent.session_id, patients))
        .group_by(SessionEvent.session_id).subquery("session_events"))
    alerts = (select(SessionAlert.session_id, func.count().label("bp"))
              .where(_of_sessions(SessionAlert.session_id, patients),
                     SessionAlert.field.in_(BP_FIELDS))
              .group_by(SessionAlert.session_id).subquery("session_bp_alerts"))
    minutes = case((and_(InfusionSession.discharged_at.is_not(None),
                         InfusionSession.ended_at.is_not(None)),
                    q.days_between(db, InfusionSession.discharged_at, InfusionSession.ended_at)
                    * 1440), else_=null())
    rows = (select(InfusionSession.id, InfusionSession.course_id,
                   func.coalesce(events.c.adverse, 0), func.coalesce(events.c.serious, 0),
                   func.coalesce(alerts.c.bp, 0), events.c.peak, minutes)
            .outerjoin(events, events.c.session_id == InfusionSession.id)
            .outerjoin(alerts, alerts.c.session_id == InfusionSession.id)
            .where(InfusionSession.started_at.is_not(None), theirs))
    db.execute(insert(OutcomeSession).from_select(
        ["session_id", "course_id", "adverse_events", "serious_adverse_events", "bp_alerts",
         "peak_cadss", "discharge_minutes"], rows))


def _of_sessions(column: q.Expression, patients: Patients) -> ColumnElement[bool]:
    """Rows of the patients' sessions, by session id (so the session_id index is used)."""
    if patients is None:
        return true()
    return column.in_(select(InfusionSession.id)
                      .where(InfusionSession.patient_id.in_(list(patients))))
