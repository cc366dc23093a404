"""The SQL building blocks: the filtered courses, their infusions, current ratings and
baselines, each a subquery with one row per course (or per course and instrument).

Everything is counted by the database (window functions and GROUP BY), so the work grows with
the number of rows the database reads, not with Python loops over patients. Both SQLite and
PostgreSQL run the same statements; the two date expressions that differ are in `_days` and
`utc_day`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Date,
    Float,
    Index,
    Integer,
    MetaData,
    Select,
    Subquery,
    Table,
    and_,
    case,
    cast,
    func,
    literal,
    null,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import InstrumentedAttribute, Session

from ketaflow.assessments.models import Assessment, AssessmentResult
from ketaflow.booking.models import Appointment
from ketaflow.clinical.course_plan import CourseState
from ketaflow.courses.models import CourseStateChange, TreatmentCourse
from ketaflow.infusions.models import InfusionSession
from ketaflow.patients.diagnosis_codes import BipolarType
from ketaflow.patients.models import Diagnosis
from ketaflow.scales.longitudinal import RESPONSE_INSTRUMENTS, BaselineFallback
from ketaflow.scales.thresholds import ScaleThresholds

ENDED_STATES = (CourseState.COMPLETED, CourseState.STOPPED)
# After these a course's induction is over even if fewer infusions than planned were given.
INDUCTION_OVER_STATES = (CourseState.MAINTENANCE, CourseState.COMPLETED, CourseState.STOPPED)


@dataclass(frozen=True)
class Filters:
    """Which courses count: started (first planned day) within the period, at a site (or with
    no site), of a bipolar type, planned by a prescriber, with the last induction infusion
    started in [since, before) (UTC moments: the monthly report's inductions that ended in
    a month). None means any."""

    start_from: date | None = None
    start_to: date | None = None
    site_id: int | None = None
    without_site: bool = False  # courses with no booked appointment ("no site")
    bipolar_type: BipolarType | None = None
    prescriber_id: int | None = None
    induction_ended_since: datetime | None = None
    induction_ended_before: datetime | None = None


# What the figures read from: the rows computed once into a temporary table (`Snapshots`).
Rows = Subquery | Table
# A column of a subquery or a mapped class's attribute.
Expression = ColumnElement[Any] | InstrumentedAttribute[Any]
# Whose rows a building block computes: these patients' (a summary refresh), or everyone's.
Patients = Sequence[int] | None


def of_patients(column: Expression, patients: Patients) -> ColumnElement[bool]:
    """The rows of `patients` (all rows for None)."""
    return true() if patients is None else column.in_(list(patients))


class Snapshots:
    """The cohort's building blocks (courses, ratings, baselines) computed once per dashboard
    into temporary tables, each with the database's statistics, so every figure's statement
    reads stored rows.

    Why not subqueries or CTEs: as nested subqueries, planners re-ran the baselines for every
    course (about 9 s at 2,000 patients on SQLite); as MATERIALIZED CTEs, each figure's
    statement recomputed them, and PostgreSQL, with no row counts for a CTE, joined ratings to
    courses by nested loops (6-8 s per figure at 2,000 patients; benchmarks/bench_outcomes.py).
    A temporary table lives in the request's own connection and transaction: nothing is shared
    or locked across requests. `drop()` removes them at the end; if the request fails first,
    its rollback does (DDL is transactional on both databases)."""

    def __init__(self, db: Session) -> None:
        self._db = db
        self._made: list[Table] = []

    def keep(self, rows: Subquery, name: str, *, index: tuple[str, ...] = ()) -> Table:
        connection = self._db.connection()
        table = Table(name, MetaData(), *(Column(c.name, c.type) for c in rows.c),
                      prefixes=["TEMPORARY"])
        table.create(connection)
        self._made.append(table)
        connection.execute(table.insert().from_select([c.name for c in rows.c], select(rows)))
        if index:
            Index(f"{name}_lookup", *(table.c[n] for n in index)).create(connection)
        if not is_sqlite(self._db):
            connection.exec_driver_sql(f"ANALYZE {name}")
        return table

    def drop(self) -> None:
        connection = self._db.connection()
        while self._made:
            self._made.pop().drop(connection)


def is_sqlite(db: Session) -> bool:
    return db.get_bind().dialect.name == "sqlite"


def days_between(db: Session, later: Expression, earlier: Expression) -> ColumnElement[float]:
    """Fractional days from `earlier` to `later` (UTC moments)."""
    if is_sqlite(db):
        return cast(func.julianday(later) - func.julianday(earlier), Float)
    return cast(func.extract("epoch", later - earlier) / 86400.0, Float)


def whole_weeks(db: Session, days: ColumnElement[float]) -> ColumnElement[int]:
    """Completed weeks of a non-negative number of days."""
    if is_sqlite(db):
        return cast(days / 7, Integer)  # CAST truncates towards zero: floor for days >= 0
    return cast(func.floor(days / 7), Integer)


def utc_day(db: Session, moment: Any) -> ColumnElement[date]:
    """The UTC calendar day of a stored moment (never the database session's time zone)."""
    if is_sqlite(db):
        return func.date(moment)
    return cast(func.timezone("UTC", moment), Date)


def course_sites(patients: Patients = None) -> Subquery:
    """Each course's site: where its first appointment was booked (None without one)."""
    ranked = select(
        Appointment.course_id.label("course_id"), Appointment.site_id.label("site_id"),
        func.row_number().over(partition_by=Appointment.course_id,
                               order_by=(Appointment.starts_at, Appointment.id)).label("rn"),
    ).where(Appointment.course_id.is_not(None), of_patients(Appointment.patient_id, patients)
            ).subquery("ranked_sites")
    return select(ranked.c.course_id, ranked.c.site_id).where(ranked.c.rn == 1).subquery("sites")


def current_diagnoses(patients: Patients = None) -> Subquery:
    """Each patient's current diagnosis (the newest version not superseded)."""
    ranked = select(
        Diagnosis.patient_id.label("patient_id"), Diagnosis.bipolar_type.label("bipolar_type"),
        func.row_number().over(partition_by=Diagnosis.patient_id,
                               order_by=Diagnosis.id.desc()).label("rn"),
    ).where(Diagnosis.superseded_at.is_(None), of_patients(Diagnosis.patient_id, patients)
            ).subquery("ranked_diagnoses")
    return (select(ranked.c.patient_id, ranked.c.bipolar_type).where(ranked.c.rn == 1)
            .subquery("diagnoses"))


def infusion_summary(patients: Patients = None) -> tuple[Subquery, Subquery]:
    """Per course: the first infusion's start, how many were started, and the start of the last
    induction infusion (the course's planned count, or fewer if fewer were given)."""
    ranked = select(
        InfusionSession.course_id.label("course_id"),
        InfusionSession.started_at.label("started_at"),
        func.row_number().over(partition_by=InfusionSession.course_id,
                               order_by=(InfusionSession.started_at, InfusionSession.id)
                               ).label("number"),
    ).where(InfusionSession.started_at.is_not(None),
            of_patients(InfusionSession.patient_id, patients)).subquery("ranked_infusions")
    return (select(
        ranked.c.course_id,
        func.min(ranked.c.started_at).label("first_at"),
        func.count().label("started"),
        func.max(ranked.c.number).label("last_number"),
    ).group_by(ranked.c.course_id).subquery("infusion_counts"), ranked)


def courses(db: Session, filters: Filters, patients: Patients = None) -> Subquery:
    """The filtered courses (of `patients`, or everyone's), one row each, with what the
    figures need."""
    sites = course_sites(patients)
    diagnoses = current_diagnoses(patients)
    counts, ranked = infusion_summary(patients)
    last_induction = (select(ranked.c.course_id, func.max(ranked.c.started_at).label("last_at"))
                      .join(TreatmentCourse, TreatmentCourse.id == ranked.c.course_id)
                      .where(ranked.c.number <= TreatmentCourse.infusion_count)
                      .group_by(ranked.c.course_id).subquery("last_induction"))
    ended = TreatmentCourse.state.in_(ENDED_STATES)
    query = (
        select(
            TreatmentCourse.id.label("course_id"),
            TreatmentCourse.patient_id.label("patient_id"),
            TreatmentCourse.start_on.label("start_on"),
            TreatmentCourse.baseline_on.label("baseline_on"),
            TreatmentCourse.baseline_fallback.label("fallback"),
            TreatmentCourse.infusion_count.label("planned"),
            TreatmentCourse.state.label("state"),
            case((ended, TreatmentCourse.state_changed_at), else_=null()).label("end_at"),
            sites.c.site_id,
            diagnoses.c.bipolar_type,
            TreatmentCourse.recorded_by_user_id.label("prescriber_id"),
            counts.c.first_at,
            func.coalesce(counts.c.started, 0).label("started"),
            last_induction.c.last_at,
            # The induction is over once the planned count was given, or the course moved on.
            or_(func.coalesce(counts.c.started, 0) >= TreatmentCourse.infusion_count,
                TreatmentCourse.state.in_(INDUCTION_OVER_STATES)).label("induction_over"),
        )
        .outerjoin(sites, sites.c.course_id == TreatmentCourse.id)
        .outerjoin(counts, counts.c.course_id == TreatmentCourse.id)
        .outerjoin(last_induction, last_induction.c.course_id == TreatmentCourse.id)
        .outerjoin(diagnoses, diagnoses.c.patient_id == TreatmentCourse.patient_id)
        .where(of_patients(TreatmentCourse.patient_id, patients))
    )
    query = _filtered(query, filters, sites, diagnoses)
    if filters.induction_ended_since is not None:
        query = query.where(last_induction.c.last_at >= filters.induction_ended_since)
    if filters.induction_ended_before is not None:
        query = query.where(last_induction.c.last_at < filters.induction_ended_before)
    return query.subquery("courses")


def _filtered(query: Select[tuple[object, ...]], filters: Filters, sites: Subquery,
              diagnoses: Subquery) -> Select[tuple[object, ...]]:
    if filters.start_from is not None:
        query = query.where(TreatmentCourse.start_on >= filters.start_from)
    if filters.start_to is not None:
        query = query.where(TreatmentCourse.start_on <= filters.start_to)
    if filters.without_site:
        query = query.where(sites.c.site_id.is_(None))
    elif filters.site_id is not None:
        query = query.where(sites.c.site_id == filters.site_id)
    if filters.bipolar_type is not None:
        query = query.where(diagnoses.c.bipolar_type == filters.bipolar_type)
    if filters.prescriber_id is not None:
        query = query.where(TreatmentCourse.recorded_by_user_id == filters.prescriber_id)
    return query


def entered_maintenance(patients: Patients = None) -> Subquery:
    """Courses (of `patients`, or everyone's) that ever entered maintenance."""
    theirs = (true() if patients is None else CourseStateChange.course_id.in_(
        select(TreatmentCourse.id).where(of_patients(TreatmentCourse.patient_id, patients))))
    return (select(CourseStateChange.course_id.label("course_id"))
            .where(CourseStateChange.to_state == CourseState.MAINTENANCE, theirs)
            .group_by(CourseStateChange.course_id).subquery("maintained"))


def current_ratings(patients: Patients = None) -> Subquery:
    """Every current depression rating (of `patients`, or everyone's) with its total: amended
    originals and superseded result versions are left out, so only the current version of a
    rating counts."""
    return (select(
        Assessment.id.label("assessment_id"), Assessment.patient_id.label("patient_id"),
        Assessment.instrument_id.label("instrument_id"), Assessment.rated_at.label("rated_at"),
        AssessmentResult.total.label("total"),
    ).join(AssessmentResult, AssessmentResult.assessment_id == Assessment.id)
        .where(Assessment.superseded_at.is_(None), AssessmentResult.superseded_at.is_(None),
               AssessmentResult.total.is_not(None),
               Assessment.instrument_id.in_(RESPONSE_INSTRUMENTS),
               of_patients(Assessment.patient_id, patients))
        .subquery("ratings"))


def baselines(db: Session, cohort: Rows, ratings: Rows) -> Subquery:
    """Per course and instrument, the course baseline as `scales.longitudinal.course_baseline`
    defines it (docs/clinical-sources.md#course-baseline): the last rating before the first
    infusion started (before any, before the course's first day), by the end of the baseline
    date when set; else, where a prescriber chose the fallback, the first rating after the first
    infusion."""
    before_first = or_(
        and_(cohort.c.first_at.is_not(None), ratings.c.rated_at < cohort.c.first_at),
        and_(cohort.c.first_at.is_(None), utc_day(db, ratings.c.rated_at) < cohort.c.start_on))
    by_baseline_day = or_(cohort.c.baseline_on.is_(None),
                          utc_day(db, ratings.c.rated_at) <= cohort.c.baseline_on)
    pre = select(
        cohort.c.course_id, ratings.c.instrument_id, ratings.c.rated_at, ratings.c.total,
        literal(0).label("priority"),
        func.row_number().over(partition_by=(cohort.c.course_id, ratings.c.instrument_id),
                               order_by=(ratings.c.rated_at.desc(),
                                         ratings.c.assessment_id.desc())).label("rn"),
    ).join(ratings, ratings.c.patient_id == cohort.c.patient_id).where(before_first,
                                                                       by_baseline_day)
    fallback = select(
        cohort.c.course_id, ratings.c.instrument_id, ratings.c.rated_at, ratings.c.total,
        literal(1).label("priority"),
        func.row_number().over(partition_by=(cohort.c.course_id, ratings.c.instrument_id),
                               order_by=(ratings.c.rated_at, ratings.c.assessment_id)
                               ).label("rn"),
    ).join(ratings, ratings.c.patient_id == cohort.c.patient_id).where(
        cohort.c.fallback == BaselineFallback.FIRST_AFTER_FIRST_INFUSION,
        cohort.c.first_at.is_not(None), ratings.c.rated_at >= cohort.c.first_at)
    both = union_all(pre, fallback).subquery("baseline_candidates")
    firsts = select(both).where(both.c.rn == 1).subquery("baseline_firsts")
    chosen = select(
        firsts.c.course_id, firsts.c.instrument_id, firsts.c.rated_at, firsts.c.total,
        firsts.c.priority,
        func.row_number().over(partition_by=(firsts.c.course_id, firsts.c.instrument_id),
                               order_by=firsts.c.priority).label("pick"),
    ).subquery("baseline_ranked")
    return (select(chosen.c.course_id, chosen.c.instrument_id,
                   chosen.c.rated_at.label("baseline_at"), chosen.c.total.label("baseline"),
                   chosen.c.priority.label("is_fallback"))
            .where(chosen.c.pick == 1).subquery("baselines"))


def responded(baseline: Expression, total: Expression,
              thresholds: ScaleThresholds) -> ColumnElement[bool]:
    """`longitudinal.is_response` in SQL: at least the response drop from a non-zero baseline
    (integer arithmetic, as there: no rounding)."""
    return and_(baseline > 0,
                (baseline - total) * 100 >= thresholds.response_min_drop_pct * baseline)


def remitted(instrument: Expression, total: Expression,
             thresholds: ScaleThresholds) -> ColumnElement[bool]:
    """`longitudinal.is_remission` in SQL (MADRS <= 10, PHQ-9 < 5, QIDS-SR16 <= 5 by default)."""
    return or_(and_(instrument == "madrs", total <= thresholds.madrs_remission_max),
               and_(instrument == "phq9", total < thresholds.phq9_remission_below),
               and_(instrument == "qids-sr16", total <= thresholds.qids_remission_max))


def as_flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    """1 where the condition holds, else 0 (for SUM)."""
    return case((condition, 1), else_=0)
