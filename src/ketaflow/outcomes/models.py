"""Per-course outcome summaries: what the dashboard aggregates instead of raw ratings.

Derived rows only, never a record: each is recomputed from the clinical tables by
`ketaflow.outcomes.service.summaries.refresh_summaries` whenever a patient is marked stale
(`OutcomeStalePatient`, written in the same transaction as the change by
`ketaflow.outcomes.freshness`). Nothing here depends on a clinic setting: thresholds and the
end-of-induction window are applied when aggregating, so a changed setting needs no refresh.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ketaflow.clinical.course_plan import CourseState
from ketaflow.db import Base, str_enum
from ketaflow.patients.diagnosis_codes import BipolarType


class OutcomeCourse(Base):
    """One row per course: the filters' keys and the course's infusion milestones."""

    __tablename__ = "outcome_courses"

    course_id: Mapped[int] = mapped_column(ForeignKey("treatment_courses.id"),
                                           primary_key=True, autoincrement=False)
    patient_id: Mapped[int] = mapped_column(Integer, index=True)
    start_on: Mapped[date] = mapped_column(Date)
    site_id: Mapped[int | None] = mapped_column(Integer)  # the first appointment's site
    bipolar_type: Mapped[BipolarType | None] = mapped_column(str_enum(BipolarType))
    prescriber_id: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[CourseState] = mapped_column(str_enum(CourseState))
    first_at: Mapped[datetime | None] = mapped_column()  # the first infusion's start
    started: Mapped[int] = mapped_column(Integer)  # infusions started
    last_at: Mapped[datetime | None] = mapped_column()  # the last induction infusion's start
    end_at: Mapped[datetime | None] = mapped_column()  # completed or stopped then
    induction_over: Mapped[bool] = mapped_column(Boolean)
    maintained: Mapped[bool] = mapped_column(Boolean)  # ever entered maintenance


class OutcomeBaseline(Base):
    """Per course and instrument with a baseline: the baseline, the end-of-induction candidate
    (the first rating after both the last induction infusion and the baseline; the window is
    applied when aggregating) and the last followed rating (Kaplan-Meier's censoring time).
    Times are stored as the fractional days the figures compare (`cohort.days_between` of the
    same stored moments, so the same numbers the live computation derives)."""

    __tablename__ = "outcome_baselines"

    course_id: Mapped[int] = mapped_column(ForeignKey("treatment_courses.id"),
                                           primary_key=True, autoincrement=False)
    instrument_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    baseline: Mapped[int] = mapped_column(Integer)
    baseline_at: Mapped[datetime] = mapped_column()
    is_fallback: Mapped[int] = mapped_column(Integer)
    end_days: Mapped[float | None] = mapped_column(Float)  # after the last induction start
    end_total: Mapped[int | None] = mapped_column(Integer)
    followed_days: Mapped[float | None] = mapped_column(Float)  # after the first infusion


class OutcomeLow(Base):
    """The followed ratings that were lower than every earlier one of the course (a running
    minimum): the first rating meeting any response drop is always one of them, so the time to
    response is exact for whatever threshold is in force, from a handful of rows per course."""

    __tablename__ = "outcome_lows"

    course_id: Mapped[int] = mapped_column(ForeignKey("treatment_courses.id"),
                                           primary_key=True, autoincrement=False)
    instrument_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    assessment_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    days: Mapped[float] = mapped_column(Float)  # after the first infusion
    total: Mapped[int] = mapped_column(Integer)


class OutcomeWeek(Base):
    """Per course, instrument and completed week since the first infusion (below
    `figures.MAX_WEEKS`): the week's last followed rating."""

    __tablename__ = "outcome_weeks"

    course_id: Mapped[int] = mapped_column(ForeignKey("treatment_courses.id"),
                                           primary_key=True, autoincrement=False)
    instrument_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    week: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    total: Mapped[int] = mapped_column(Integer)


class OutcomeSession(Base):
    """One row per infusion session started: its safety counts and the two values whose
    spread the dashboard shows (aggregated by value, so a read fetches a few rows)."""

    __tablename__ = "outcome_sessions"

    session_id: Mapped[int] = mapped_column(ForeignKey("infusion_sessions.id"),
                                            primary_key=True, autoincrement=False)
    course_id: Mapped[int] = mapped_column(Integer, index=True)
    adverse_events: Mapped[int] = mapped_column(Integer)
    serious_adverse_events: Mapped[int] = mapped_column(Integer)
    bp_alerts: Mapped[int] = mapped_column(Integer)
    peak_cadss: Mapped[int | None] = mapped_column(Integer)  # the highest CADSS-6 total
    discharge_minutes: Mapped[float | None] = mapped_column(Float)  # end to discharge


class OutcomeStalePatient(Base):
    """A patient whose summaries must be recomputed before the next aggregate: appended in the
    transaction that changed one of their records, deleted by id by the refresh that read it
    (so a marker written meanwhile survives for the next one)."""

    __tablename__ = "outcome_stale_patients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(Integer)
