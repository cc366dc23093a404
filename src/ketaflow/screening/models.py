"""Screenings, their checklist answers, and recorded informed consent.

A screening is a draft until a prescriber signs it; a signed screening is locked. A later change
is an amendment: a new screening row (version + 1) that points at the signed one it amends, which
stays readable and is marked superseded when the amendment is signed.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ketaflow.clinical.eligibility import Answer, Outcome, PregnancyStatus
from ketaflow.clinical.maudsley import Severity as MaudsleySeverity
from ketaflow.db import Base, str_enum, utcnow


class ScreeningStatus(StrEnum):
    DRAFT = "draft"
    SIGNED = "signed"


class Screening(Base):
    __tablename__ = "screenings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # The signed screening this one amends, and why; None for a first screening.
    amends_id: Mapped[int | None] = mapped_column(ForeignKey("screenings.id"), default=None)
    amendment_reason: Mapped[str | None] = mapped_column(Text, default=None)
    status: Mapped[ScreeningStatus] = mapped_column(str_enum(ScreeningStatus, 32))
    # Recomputed from the inputs on every save and frozen at signing (lists show it unloaded).
    outcome: Mapped[Outcome] = mapped_column(str_enum(Outcome, 32))

    systolic_mmhg: Mapped[int | None] = mapped_column(Integer, default=None)
    diastolic_mmhg: Mapped[int | None] = mapped_column(Integer, default=None)
    heart_rate_bpm: Mapped[int | None] = mapped_column(Integer, default=None)
    spo2_pct: Mapped[int | None] = mapped_column(Integer, default=None)
    weight_kg: Mapped[float | None] = mapped_column(Float, default=None)
    ymrs_total: Mapped[int | None] = mapped_column(Integer, default=None)
    ymrs_override_reason: Mapped[str | None] = mapped_column(Text, default=None)
    pregnancy_status: Mapped[PregnancyStatus | None] = mapped_column(
        str_enum(PregnancyStatus, 32), default=None)
    pregnancy_test_on: Mapped[date | None] = mapped_column(Date, default=None)

    # Maudsley Staging Method inputs (informational; every one optional).
    maudsley_episode_months: Mapped[int | None] = mapped_column(Integer, default=None)
    maudsley_severity: Mapped[MaudsleySeverity | None] = mapped_column(
        str_enum(MaudsleySeverity, 32), default=None)
    maudsley_failed_antidepressants: Mapped[int | None] = mapped_column(Integer, default=None)
    maudsley_augmentation_used: Mapped[bool | None] = mapped_column(Boolean, default=None)
    maudsley_ect_used: Mapped[bool | None] = mapped_column(Boolean, default=None)
    maudsley_total: Mapped[int | None] = mapped_column(Integer, default=None)

    # ISBD 2025 evaluation of the patient's recorded trials, as of the last save or the signing.
    resistance_meets: Mapped[bool | None] = mapped_column(Boolean, default=None)
    resistance_adequate_trials: Mapped[int | None] = mapped_column(Integer, default=None)

    note: Mapped[str | None] = mapped_column(Text, default=None)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id"), default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    signed_at: Mapped[datetime | None] = mapped_column(default=None)
    signed_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id"), default=None)
    superseded_at: Mapped[datetime | None] = mapped_column(default=None)

    answers: Mapped[list[ScreeningAnswer]] = relationship(
        back_populates="screening", lazy="raise", order_by="ScreeningAnswer.id",
        cascade="all, delete-orphan")

    @property
    def is_signed(self) -> bool:
        return self.status is ScreeningStatus.SIGNED


class ScreeningAnswer(Base):
    """The answer to one checklist item (`ketaflow.clinical.eligibility.CHECKLIST` key)."""

    __tablename__ = "screening_answers"
    __table_args__ = (
        UniqueConstraint("screening_id", "item_key", name="uq_screening_answers_item"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    screening_id: Mapped[int] = mapped_column(ForeignKey("screenings.id"), index=True)
    item_key: Mapped[str] = mapped_column(String(64))
    answer: Mapped[Answer] = mapped_column(str_enum(Answer, 16))
    note: Mapped[str | None] = mapped_column(Text, default=None)

    screening: Mapped[Screening] = relationship(back_populates="answers", lazy="raise")


class Consent(Base):
    """Off-label informed consent for ketamine treatment, witnessed by a staff member."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    form_version: Mapped[str] = mapped_column(String(40))
    consented_on: Mapped[date] = mapped_column(Date)
    witnessed_by_user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    note: Mapped[str | None] = mapped_column(Text, default=None)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id"), default=None)
