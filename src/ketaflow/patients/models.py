"""Patient record tables. Demographics live in versions (an amendment appends one and marks the
previous superseded), so a correction never overwrites what was recorded before."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ketaflow.db import Base, str_enum, utcnow
from ketaflow.patients.diagnosis_codes import BipolarType, Episode, Severity
from ketaflow.patients.medication_catalogue import DoseUnit, DrugClass
from ketaflow.patients.search_text import search_name


class Sex(StrEnum):
    """Sex assigned at birth, which weight-based and PK covariate formulas need."""

    FEMALE = "female"
    MALE = "male"
    INTERSEX = "intersex"
    UNKNOWN = "unknown"


class AllergySeverity(StrEnum):
    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"
    UNKNOWN = "unknown"


class SubstanceUse(StrEnum):
    NONE = "none"
    PAST = "past"
    CURRENT = "current"


class Adherence(StrEnum):
    GOOD = "good"
    PARTIAL = "partial"
    POOR = "poor"
    UNKNOWN = "unknown"


class TrialResponse(StrEnum):
    NONE = "none"
    PARTIAL = "partial"
    RESPONSE = "response"
    REMISSION = "remission"
    NOT_TOLERATED = "not_tolerated"


class _Recorded:
    """Who recorded a row and when (ids only; the audit trail has the rest)."""

    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id"), default=None
    )


class EnteredInErrorMixin:
    """Marking a row entered in error keeps it (never deleted) with who, when and why; every
    calculation and current list leaves it out."""

    entered_in_error_at: Mapped[datetime | None] = mapped_column(default=None)
    entered_in_error_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id"), default=None
    )
    entered_in_error_reason: Mapped[str | None] = mapped_column(Text, default=None)

    @property
    def entered_in_error(self) -> bool:
        return self.entered_in_error_at is not None


class Patient(Base):
    __tablename__ = "patients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mrn: Mapped[str] = mapped_column(String(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    versions: Mapped[list[PatientDemographics]] = relationship(
        back_populates="patient", lazy="raise", order_by="PatientDemographics.version"
    )


def _search_name_default(context: DefaultExecutionContext) -> str:
    names = context.get_current_parameters()  # type: ignore[no-untyped-call]
    return search_name(names["given_name"], names["family_name"])


class PatientDemographics(_Recorded, Base):
    """One version of a patient's demographics; exactly one per patient is current."""

    __tablename__ = "patient_demographics_versions"
    __table_args__ = (
        UniqueConstraint("patient_id", "version", name="uq_patient_demographics_versions_version"),
        Index("ix_patient_demographics_versions_family_name", "family_name"),
        Index("ix_patient_demographics_versions_date_of_birth", "date_of_birth"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    given_name: Mapped[str] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    date_of_birth: Mapped[date] = mapped_column(Date)
    sex: Mapped[Sex] = mapped_column(str_enum(Sex))
    phone: Mapped[str | None] = mapped_column(String(40), default=None)
    email: Mapped[str | None] = mapped_column(String(254), default=None)
    address: Mapped[str | None] = mapped_column(Text, default=None)
    emergency_contact_name: Mapped[str | None] = mapped_column(String(200), default=None)
    emergency_contact_phone: Mapped[str | None] = mapped_column(String(40), default=None)
    referring_clinician: Mapped[str | None] = mapped_column(String(200), default=None)
    # Why this version replaced the previous one; None for the first registration.
    amendment_reason: Mapped[str | None] = mapped_column(Text, default=None)
    superseded_at: Mapped[datetime | None] = mapped_column(default=None)
    # Both names folded (no case, no accents) for search; written with the version, never
    # typed (`ketaflow.patients.search_text`).
    search_name: Mapped[str] = mapped_column(String(210), default=_search_name_default)

    patient: Mapped[Patient] = relationship(back_populates="versions", lazy="raise")

    DEMOGRAPHIC_FIELDS = (
        "given_name",
        "family_name",
        "date_of_birth",
        "sex",
        "phone",
        "email",
        "address",
        "emergency_contact_name",
        "emergency_contact_phone",
        "referring_clinician",
    )

    def values(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.DEMOGRAPHIC_FIELDS}


class Measurement(_Recorded, EnteredInErrorMixin, Base):
    """Weight and/or height at one time, stored in kg/cm with what was entered kept beside."""

    __tablename__ = "patient_measurements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    measured_at: Mapped[datetime]
    weight_kg: Mapped[float | None] = mapped_column(Float, default=None)
    weight_entered: Mapped[float | None] = mapped_column(Float, default=None)
    weight_entered_unit: Mapped[str | None] = mapped_column(String(2), default=None)
    height_cm: Mapped[float | None] = mapped_column(Float, default=None)
    height_entered: Mapped[float | None] = mapped_column(Float, default=None)
    height_entered_unit: Mapped[str | None] = mapped_column(String(2), default=None)
    # Set only when the weight differed from the previous one by more than the clinic's
    # threshold and the recorder confirmed it: the change in percent (negative for a loss).
    confirmed_weight_change_percent: Mapped[float | None] = mapped_column(Float, default=None)


class Allergy(_Recorded, Base):
    __tablename__ = "patient_allergies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    substance: Mapped[str] = mapped_column(String(200))
    reaction: Mapped[str | None] = mapped_column(String(500), default=None)
    severity: Mapped[AllergySeverity] = mapped_column(str_enum(AllergySeverity))


class Diagnosis(_Recorded, Base):
    """Diagnosis and psychiatric history; a revision appends a row and supersedes the last."""

    __tablename__ = "patient_diagnoses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    bipolar_type: Mapped[BipolarType] = mapped_column(str_enum(BipolarType))
    current_episode: Mapped[Episode] = mapped_column(str_enum(Episode))
    severity: Mapped[Severity | None] = mapped_column(str_enum(Severity), default=None)
    icd10_code: Mapped[str] = mapped_column(String(10))
    snomed_code: Mapped[str] = mapped_column(String(20))
    onset_date: Mapped[date | None] = mapped_column(Date, default=None)
    episode_start_date: Mapped[date | None] = mapped_column(Date, default=None)
    psychosis_history: Mapped[bool] = mapped_column(Boolean)
    substance_use: Mapped[SubstanceUse] = mapped_column(str_enum(SubstanceUse))
    substance_use_note: Mapped[str | None] = mapped_column(Text, default=None)
    suicide_attempts: Mapped[int] = mapped_column(Integer)
    last_suicide_attempt_date: Mapped[date | None] = mapped_column(Date, default=None)
    amendment_reason: Mapped[str | None] = mapped_column(Text, default=None)
    superseded_at: Mapped[datetime | None] = mapped_column(default=None)


class NoKnownAllergies(_Recorded, Base):
    """"No known allergies" as asked and recorded (distinct from nothing recorded). Recording an
    allergy afterwards supersedes it; the row is kept as history."""

    __tablename__ = "patient_no_known_allergies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    superseded_at: Mapped[datetime | None] = mapped_column(default=None)


class Medication(_Recorded, EnteredInErrorMixin, Base):
    __tablename__ = "patient_medications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    drug_name: Mapped[str] = mapped_column(String(120))
    drug_class: Mapped[DrugClass] = mapped_column(str_enum(DrugClass))
    dose_amount: Mapped[float] = mapped_column(Float)
    dose_unit: Mapped[DoseUnit] = mapped_column(str_enum(DoseUnit, 12))
    start_date: Mapped[date | None] = mapped_column(Date, default=None)
    stop_date: Mapped[date | None] = mapped_column(Date, default=None)
    adherence: Mapped[Adherence] = mapped_column(str_enum(Adherence))
    lithium_level_mmol_per_l: Mapped[float | None] = mapped_column(Float, default=None)
    lithium_level_date: Mapped[date | None] = mapped_column(Date, default=None)
    note: Mapped[str | None] = mapped_column(Text, default=None)
    # A daily dose above the catalogue's label maximum is stored only with a reason.
    above_max_daily_dose_reason: Mapped[str | None] = mapped_column(Text, default=None)


class TreatmentTrial(_Recorded, Base):
    """A prior treatment trial, the raw material of the treatment-resistance definition."""

    __tablename__ = "patient_treatment_trials"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    drug_name: Mapped[str] = mapped_column(String(120))
    dose_mg_per_day: Mapped[float] = mapped_column(Float)
    # Second drug of a combination trial (olanzapine + fluoxetine), if any.
    partner_drug_name: Mapped[str | None] = mapped_column(String(120), default=None)
    partner_dose_mg_per_day: Mapped[float | None] = mapped_column(Float, default=None)
    duration_weeks: Mapped[float] = mapped_column(Float)
    # Serum level reached (lithium), kept as history for earlier resistance definitions.
    serum_level_mmol_per_l: Mapped[float | None] = mapped_column(Float, default=None)
    start_date: Mapped[date | None] = mapped_column(Date, default=None)
    adherence_verified: Mapped[bool] = mapped_column(Boolean)
    response: Mapped[TrialResponse] = mapped_column(str_enum(TrialResponse))
    note: Mapped[str | None] = mapped_column(Text, default=None)
