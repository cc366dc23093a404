"""Each dashboard figure as one or two aggregate statements over the filtered courses."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    Subquery,
    and_,
    case,
    distinct,
    func,
    null,
    or_,
    select,
)
from sqlalchemy.orm import Session

from ketaflow.alerts.models import Alert, AlertKind
from ketaflow.clinical.eligibility import Outcome
from ketaflow.infusions.models import EventKind, InfusionSession, SessionAlert, SessionEvent
from ketaflow.outcomes.service import cohort as q
from ketaflow.outcomes.service.cohort import Rows
from ketaflow.outcomes.settings import OutcomeSettings
from ketaflow.outcomes.stats import Spread, SurvivalCurve, kaplan_meier, spread
from ketaflow.scales.longitudinal import RESPONSE_INSTRUMENTS
from ketaflow.scales.thresholds import ScaleThresholds
from ketaflow.screening.models import Consent, Screening, ScreeningStatus

FUNNEL_INFUSIONS = 6  # the studied induction (docs/clinical-sources.md#course-plan)
MAX_WEEKS = 26  # weeks since the first infusion shown over time
SWITCH_KINDS = (AlertKind.POSSIBLE_SWITCH, AlertKind.PROBABLE_MANIA, AlertKind.MOOD_SWITCH)
RELAPSE_KINDS = (AlertKind.MOOD_RELAPSE,)
BP_FIELDS = ("sbp_mmhg", "dbp_mmhg")
ELIGIBLE_OUTCOMES = tuple(o for o in Outcome if o.allows_course)


@dataclass(frozen=True)
class CourseCounts:
    courses: int  # in the filters
    treated: int  # with at least one infusion started
    induction_over: int  # of the treated: the planned count given, or the course moved on
    infusions: int


@dataclass(frozen=True)
class Endpoint:
    """End-of-induction figures of one instrument over the courses whose induction is over."""

    instrument_id: str
    courses: int
    with_baseline: int
    fallback_baselines: int
    evaluable: int  # a baseline and an end-of-induction rating
    responders: int
    remitters: int


@dataclass(frozen=True)
class Week:
    instrument_id: str
    week: int  # completed weeks since the first infusion (0 = the first week)
    rated: int
    responders: int
    remitters: int


@dataclass(frozen=True)
class Funnel:
    screened: int
    eligible: int
    consented: int
    infusions: tuple[int, ...]  # patients with at least 1, 2, .. FUNNEL_INFUSIONS infusions
    maintenance: int


@dataclass(frozen=True)
class Safety:
    infusions: int
    adverse_events: int
    serious_adverse_events: int
    bp_alerts: int
    peak_cadss: Spread | None  # per session, the highest CADSS-6 total
    discharge_minutes: Spread | None  # end of infusion to discharge


@dataclass(frozen=True)
class MoodEvents:
    switch_courses: int
    switch_alerts: int
    relapse_courses: int
    relapse_alerts: int
    days_to_relapse: Spread | None  # last induction infusion to the first relapse warning


def course_counts(db: Session, cohort: Rows) -> CourseCounts:
    treated = cohort.c.first_at.is_not(None)
    row = db.execute(select(
        func.count(),
        func.coalesce(func.sum(q.as_flag(treated)), 0),
        func.coalesce(func.sum(q.as_flag(and_(treated, cohort.c.induction_over))), 0),
        func.coalesce(func.sum(cohort.c.started), 0),
    ).select_from(cohort)).one()
    return CourseCounts(*(int(value) for value in row))


def _endpoint_ratings(db: Session, cohort: Rows, ratings: Rows, base: Rows,
                      settings: OutcomeSettings) -> Subquery:
    """Per course and instrument, the first rating after the last induction infusion started,
    within the window (and after the baseline)."""
    within = q.days_between(db, ratings.c.rated_at, cohort.c.last_at) \
        <= settings.end_of_induction_window_days
    ranked = (select(
        base.c.course_id, base.c.instrument_id, ratings.c.total,
        func.row_number().over(partition_by=(base.c.course_id, base.c.instrument_id),
                               order_by=(ratings.c.rated_at, ratings.c.assessment_id)
                               ).label("rn"))
        .select_from(base)
        .join(cohort, cohort.c.course_id == base.c.course_id)
        .join(ratings, and_(ratings.c.patient_id == cohort.c.patient_id,
                            ratings.c.instrument_id == base.c.instrument_id))
        .where(cohort.c.induction_over, cohort.c.last_at.is_not(None),
               ratings.c.rated_at > cohort.c.last_at, ratings.c.rated_at > base.c.baseline_at,
               within)
        .subquery("endpoint_ranked"))
    return (select(ranked.c.course_id, ranked.c.instrument_id, ranked.c.total)
            .where(ranked.c.rn == 1).subquery("endpoints"))


def endpoints(db: Session, cohort: Rows, ratings: Rows, base: Rows,
              settings: OutcomeSettings, thresholds: ScaleThresholds) -> tuple[Endpoint, ...]:
    ends = _endpoint_ratings(db, cohort, ratings, base, settings)
    over = and_(cohort.c.first_at.is_not(None), cohort.c.induction_over)
    evaluated = ends.c.total.is_not(None)
    rows = db.execute(
        select(base.c.instrument_id, func.count(), func.sum(base.c.is_fallback),
               func.count(ends.c.total),
               func.sum(q.as_flag(and_(evaluated, q.responded(base.c.baseline, ends.c.total,
                                                              thresholds)))),
               func.sum(q.as_flag(and_(evaluated, q.remitted(base.c.instrument_id,
                                                             ends.c.total, thresholds)))))
        .select_from(base)
        .join(cohort, cohort.c.course_id == base.c.course_id)
        .outerjoin(ends, and_(ends.c.course_id == base.c.course_id,
                              ends.c.instrument_id == base.c.instrument_id))
        .where(over).group_by(base.c.instrument_id)).all()
    found = {row[0]: tuple(int(v or 0) for v in row[1:]) for row in rows}
    courses = int(db.scalar(select(func.count()).select_from(cohort).where(over)) or 0)
    return tuple(Endpoint(instrument, courses, *found.get(instrument, (0, 0, 0, 0, 0)))
                 for instrument in RESPONSE_INSTRUMENTS)


def _followed(cohort: Rows, ratings: Rows, base: Rows) -> ColumnElement[bool]:
    """Ratings after the first infusion and the baseline, up to the course's end."""
    return and_(cohort.c.first_at.is_not(None), ratings.c.rated_at >= cohort.c.first_at,
                ratings.c.rated_at > base.c.baseline_at,
                or_(cohort.c.end_at.is_(None), ratings.c.rated_at <= cohort.c.end_at))


def weeks(db: Session, cohort: Rows, ratings: Rows, base: Rows,
          thresholds: ScaleThresholds) -> tuple[Week, ...]:
    """Per instrument and week since the first infusion: the courses rated that week (their
    last rating of the week), how many of them met response and remission."""
    week = q.whole_weeks(db, q.days_between(db, ratings.c.rated_at, cohort.c.first_at))
    ranked = (select(
        base.c.instrument_id, base.c.baseline, ratings.c.total, week.label("week"),
        func.row_number().over(partition_by=(base.c.course_id, base.c.instrument_id, week),
                               order_by=(ratings.c.rated_at.desc(),
                                         ratings.c.assessment_id.desc())).label("rn"))
        .select_from(base)
        .join(cohort, cohort.c.course_id == base.c.course_id)
        .join(ratings, and_(ratings.c.patient_id == cohort.c.patient_id,
                            ratings.c.instrument_id == base.c.instrument_id))
        .where(_followed(cohort, ratings, base))
        .subquery("weekly_ranked"))
    rows = db.execute(
        select(ranked.c.instrument_id, ranked.c.week, func.count(),
               func.sum(q.as_flag(q.responded(ranked.c.baseline, ranked.c.total, thresholds))),
               func.sum(q.as_flag(q.remitted(ranked.c.instrument_id, ranked.c.total,
                                             thresholds))))
        .where(ranked.c.rn == 1, ranked.c.week < MAX_WEEKS)
        .group_by(ranked.c.instrument_id, ranked.c.week)
        .order_by(ranked.c.instrument_id, ranked.c.week)).all()
    return tuple(Week(str(r[0]), int(r[1]), int(r[2]), int(r[3] or 0), int(r[4] or 0))
                 for r in rows)


def time_to_response(db: Session, cohort: Rows, ratings: Rows, base: Rows,
                     thresholds: ScaleThresholds) -> dict[str, SurvivalCurve | None]:
    """Per instrument, Kaplan-Meier of days from the first infusion to the first rating that
    met response; a course without one is censored at its last rating. The input is one row
    per course (courses with no rating after the baseline have no follow-up and are left out)."""
    is_response = q.responded(base.c.baseline, ratings.c.total, thresholds)
    per_course = (select(
        base.c.instrument_id, cohort.c.first_at,
        func.min(case((is_response, ratings.c.rated_at), else_=null())).label("event_at"),
        func.max(ratings.c.rated_at).label("last_at"))
        .select_from(base)
        .join(cohort, cohort.c.course_id == base.c.course_id)
        .join(ratings, and_(ratings.c.patient_id == cohort.c.patient_id,
                            ratings.c.instrument_id == base.c.instrument_id))
        .where(_followed(cohort, ratings, base))
        .group_by(base.c.course_id, base.c.instrument_id, cohort.c.first_at)
        .subquery("response_times"))
    until = func.coalesce(per_course.c.event_at, per_course.c.last_at)
    rows = db.execute(select(per_course.c.instrument_id,
                             q.days_between(db, until, per_course.c.first_at),
                             per_course.c.event_at.is_not(None))).all()
    return curves_of(rows)


def curves_of(rows: Sequence[Row[Any]]) -> dict[str, SurvivalCurve | None]:
    """Per instrument, Kaplan-Meier of (instrument, days to the event or censoring, event)."""
    curves: dict[str, SurvivalCurve | None] = {}
    for instrument in RESPONSE_INSTRUMENTS:
        mine = [(float(days), bool(event)) for name, days, event in rows if name == instrument]
        times = np.array([max(0.0, days) for days, _ in mine], dtype=float)
        events = np.array([event for _, event in mine], dtype=bool)
        curves[instrument] = kaplan_meier(times, events)
    return curves


def funnel_courses(db: Session, filters: q.Filters) -> Subquery:
    """The funnel's course steps from the raw rows: per course of the filters, its patient,
    infusions started and whether it ever entered maintenance."""
    cohort = q.courses(db, filters)
    maintained = q.entered_maintenance()
    return (select(cohort.c.patient_id, cohort.c.started,
                   or_(maintained.c.course_id.is_not(None),
                       cohort.c.state == "maintenance").label("maintained"))
            .outerjoin(maintained, maintained.c.course_id == cohort.c.course_id)
            .subquery("funnel_courses"))


def course_step_filters(filters: q.Filters) -> q.Filters:
    """The filters of the funnel's course steps: site, type and prescriber, any period."""
    return q.Filters(site_id=filters.site_id, without_site=filters.without_site,
                     bipolar_type=filters.bipolar_type, prescriber_id=filters.prescriber_id)


def funnel(db: Session, filters: q.Filters, courses: Rows) -> Funnel:
    """Patients screened in the period (of the bipolar type) and how far they got. Site and
    prescriber filter the course steps only (`courses`, filtered by `course_step_filters`,
    with patient_id, started and maintained): a screening belongs to no site."""
    day = q.utc_day(db, Screening.recorded_at)
    screened = select(Screening.patient_id.label("patient_id")).where(
        Screening.superseded_at.is_(None))
    if filters.start_from is not None:
        screened = screened.where(day >= filters.start_from)
    if filters.start_to is not None:
        screened = screened.where(day <= filters.start_to)
    if filters.bipolar_type is not None:
        diagnoses = q.current_diagnoses()
        screened = screened.join(diagnoses, diagnoses.c.patient_id == Screening.patient_id) \
            .where(diagnoses.c.bipolar_type == filters.bipolar_type)
    people = screened.group_by(Screening.patient_id).subquery("screened")
    eligible = (select(distinct(Screening.patient_id)).where(
        Screening.superseded_at.is_(None), Screening.status == ScreeningStatus.SIGNED,
        Screening.outcome.in_(ELIGIBLE_OUTCOMES), Screening.patient_id.in_(select(people)))
        .subquery("eligible"))
    consented = (select(distinct(Consent.patient_id))
                 .where(Consent.patient_id.in_(select(people))).subquery("consented"))
    reached = (select(courses.c.patient_id, func.max(courses.c.started).label("most"),
                      func.max(q.as_flag(courses.c.maintained)).label("kept"))
               .where(courses.c.patient_id.in_(select(people)))
               .group_by(courses.c.patient_id).subquery("reached"))
    steps = [func.coalesce(func.sum(q.as_flag(reached.c.most >= k)), 0)
             for k in range(1, FUNNEL_INFUSIONS + 1)]
    counts = db.execute(select(*steps, func.coalesce(func.sum(reached.c.kept), 0))).one()
    return Funnel(
        screened=int(db.scalar(select(func.count()).select_from(people)) or 0),
        eligible=int(db.scalar(select(func.count()).select_from(eligible)) or 0),
        consented=int(db.scalar(select(func.count()).select_from(consented)) or 0),
        infusions=tuple(int(v) for v in counts[:-1]), maintenance=int(counts[-1]))


def safety(db: Session, cohort: Rows) -> Safety:
    sessions = (select(InfusionSession.id.label("session_id"),
                       InfusionSession.ended_at, InfusionSession.discharged_at)
                .join(cohort, cohort.c.course_id == InfusionSession.course_id)
                .where(InfusionSession.started_at.is_not(None)).subquery("cohort_sessions"))
    infusions = int(db.scalar(select(func.count()).select_from(sessions)) or 0)
    serious = func.coalesce(func.sum(q.as_flag(SessionEvent.serious.is_(True))), 0)
    adverse = db.execute(
        select(func.count(), serious)
        .join(sessions, sessions.c.session_id == SessionEvent.session_id)
        .where(SessionEvent.kind == EventKind.ADVERSE_EVENT)).one()
    bp_alerts = int(db.scalar(
        select(func.count()).select_from(SessionAlert)
        .join(sessions, sessions.c.session_id == SessionAlert.session_id)
        .where(SessionAlert.field.in_(BP_FIELDS))) or 0)
    peaks = db.scalars(
        select(func.max(SessionEvent.total))
        .join(sessions, sessions.c.session_id == SessionEvent.session_id)
        .where(SessionEvent.kind == EventKind.CADSS6, SessionEvent.total.is_not(None))
        .group_by(SessionEvent.session_id)).all()
    minutes = db.scalars(
        select(q.days_between(db, sessions.c.discharged_at, sessions.c.ended_at) * 1440)
        .where(sessions.c.discharged_at.is_not(None), sessions.c.ended_at.is_not(None))).all()
    return Safety(infusions, int(adverse[0]), int(adverse[1]), bp_alerts,
                  spread(np.asarray(peaks, dtype=float)),
                  spread(np.asarray(minutes, dtype=float)))


def mood_events(db: Session, cohort: Rows) -> MoodEvents:
    """Manic-switch and relapse warnings raised during the courses (from the first infusion to
    the course's end): the alerts domain's rating signals and mood-chart warnings."""
    during = and_(cohort.c.first_at.is_not(None), Alert.created_at >= cohort.c.first_at,
                  or_(cohort.c.end_at.is_(None), Alert.created_at <= cohort.c.end_at))
    joined = select(Alert.kind, cohort.c.course_id).join(
        cohort, cohort.c.patient_id == Alert.patient_id).where(during)
    switch = _kind_counts(db, joined, SWITCH_KINDS)
    relapse = _kind_counts(db, joined, RELAPSE_KINDS)
    first_relapse = (select(cohort.c.last_at, func.min(Alert.created_at).label("at"))
                     .join(cohort, cohort.c.patient_id == Alert.patient_id)
                     .where(during, Alert.kind.in_(RELAPSE_KINDS),
                            cohort.c.last_at.is_not(None), Alert.created_at > cohort.c.last_at)
                     .group_by(cohort.c.course_id, cohort.c.last_at).subquery("first_relapse"))
    days = db.scalars(select(q.days_between(db, first_relapse.c.at, first_relapse.c.last_at))
                      ).all()
    return MoodEvents(switch[0], switch[1], relapse[0], relapse[1],
                      spread(np.asarray(days, dtype=float)))


def _kind_counts(db: Session, joined: Select[tuple[AlertKind, int]],
                 kinds: tuple[AlertKind, ...]) -> tuple[int, int]:
    """Courses with at least one alert of the kinds, and how many such alerts."""
    rows = joined.where(Alert.kind.in_(kinds)).subquery("kind_rows")
    row = db.execute(select(func.count(distinct(rows.c.course_id)), func.count())
                     .select_from(rows)).one()
    return int(row[0]), int(row[1])
