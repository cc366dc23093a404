"""Treatment courses and the history of their state changes."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Boolean, Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ketaflow.clinical.course_plan import CourseState, Frequency
from ketaflow.db import Base, str_enum, utcnow
from ketaflow.dosing.limits import SaltForm
from ketaflow.scales.longitudinal import BaselineFallback
from ketaflow.screening.models import Screening


class TreatmentCourse(Base):
    """One course: induction plan, dose and cap, state, and the baseline for the scales.

    Planned dates are derived from (start_on, infusion_count, frequency, skip_weekends) by
    `ketaflow.clinical.course_plan.planned_dates`, so they cannot drift from the plan.
    """

    __tablename__ = "treatment_courses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    screening_id: Mapped[int] = mapped_column(ForeignKey("screenings.id"))
    consent_id: Mapped[int] = mapped_column(ForeignKey("consents.id"))
    state: Mapped[CourseState] = mapped_column(str_enum(CourseState))
    infusion_count: Mapped[int] = mapped_column(Integer)
    frequency: Mapped[Frequency] = mapped_column(str_enum(Frequency))
    skip_weekends: Mapped[bool] = mapped_column(Boolean)
    start_on: Mapped[date] = mapped_column(Date)
    dose_mg_per_kg: Mapped[float] = mapped_column(Float)
    max_dose_mg: Mapped[float] = mapped_column(Float)
    salt_form: Mapped[SaltForm] = mapped_column(str_enum(SaltForm, 16))
    # The course baseline for rating scales (response = drop from baseline); assessments link
    # to the course and are compared against the rating on or before this date.
    baseline_on: Mapped[date | None] = mapped_column(Date, default=None)
    # Without a rating before the first infusion started, response and remission are not
    # computed unless a prescriber chooses a labelled fallback: who chose it and when.
    baseline_fallback: Mapped[BaselineFallback | None] = mapped_column(
        str_enum(BaselineFallback, 32), default=None)
    baseline_fallback_at: Mapped[datetime | None] = mapped_column(default=None)
    baseline_fallback_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id"), default=None)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id"), default=None)
    state_changed_at: Mapped[datetime] = mapped_column(default=utcnow)

    screening: Mapped[Screening] = relationship(lazy="raise")
    changes: Mapped[list[CourseStateChange]] = relationship(
        back_populates="course", lazy="raise", order_by="CourseStateChange.id")


class CourseStateChange(Base):
    """Every state a course entered, who moved it and why (a stop always has a reason)."""

    __tablename__ = "course_state_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("treatment_courses.id"), index=True)
    from_state: Mapped[CourseState | None] = mapped_column(str_enum(CourseState), default=None)
    to_state: Mapped[CourseState] = mapped_column(str_enum(CourseState))
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    changed_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id"), default=None)

    course: Mapped[TreatmentCourse] = relationship(back_populates="changes", lazy="raise")


class BoosterState(StrEnum):
    SUGGESTED = "suggested"   # from the taper; not on the day's list until confirmed
    CONFIRMED = "confirmed"   # a prescriber confirmed the date: on the day's list that day
    GIVEN = "given"
    CANCELLED = "cancelled"


class MaintenanceBooster(Base):
    """One planned maintenance infusion of a course, from the taper suggestion.

    `planned_on` is the taper's date and never changes. A rising relapse signal or a low
    forecast adds a suggested earlier date with its reason beside it (`earlier_on`,
    `earlier_reason`); the prescriber's confirmation fixes `confirmed_on` (the earlier date or
    the planned one) and says who and when.
    """

    __tablename__ = "maintenance_boosters"
    __table_args__ = (UniqueConstraint("course_id", "sequence",
                                       name="uq_maintenance_boosters_course_sequence"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("treatment_courses.id"), index=True)
    sequence: Mapped[int] = mapped_column(Integer)  # 1 = the first booster after the induction
    planned_on: Mapped[date] = mapped_column(Date)
    phase: Mapped[str] = mapped_column(String(40))
    state: Mapped[BoosterState] = mapped_column(str_enum(BoosterState, 16))
    earlier_on: Mapped[date | None] = mapped_column(Date, default=None)
    earlier_reason: Mapped[str | None] = mapped_column(Text, default=None)
    earlier_suggested_at: Mapped[datetime | None] = mapped_column(default=None)
    confirmed_on: Mapped[date | None] = mapped_column(Date, default=None)
    confirmed_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id"), default=None)
    confirmed_at: Mapped[datetime | None] = mapped_column(default=None)
    # Given: the infusion session of the maintenance course that delivered it (set when the
    # patient is discharged). Cancelled: a prescriber's decision, with the reason.
    given_session_id: Mapped[int | None] = mapped_column(
        ForeignKey("infusion_sessions.id"), default=None)
    given_at: Mapped[datetime | None] = mapped_column(default=None)
    cancel_reason: Mapped[str | None] = mapped_column(Text, default=None)
    cancelled_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id"), default=None)
    cancelled_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def due_on(self) -> date:
        """The date in force: the confirmed one, else the planned one."""
        return self.confirmed_on or self.planned_on
