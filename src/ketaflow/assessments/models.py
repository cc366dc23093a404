"""Assessment tables: what was answered (kept as entered) and every result computed from it.

An assessment's raw answers never change. Scoring produces an `AssessmentResult`; re-scoring with
newer scoring code adds a result version and marks the previous one superseded, so the history of
what the clinic saw is kept. A correction of the answers is a new assessment that supersedes the
original (`supersedes_id`, `amendment_reason`); the original row stays.
"""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ketaflow.auth.models import StaffUser
from ketaflow.courses.models import TreatmentCourse
from ketaflow.db import Base, str_enum, utcnow
from ketaflow.patients.models import Patient
from ketaflow.portal.models import PortalLink


class RaterKind(StrEnum):
    """Who gave the answers: a staff member, or the patient through a portal link."""

    STAFF = "staff"
    PATIENT_PORTAL = "patient-portal"


class ResultReason(StrEnum):
    """Why a result version exists."""

    ENTERED = "entered"  # scored when the answers were stored
    RESCORED = "rescored"  # recomputed later from the same raw answers


class Assessment(Base):
    __tablename__ = "assessments"
    __table_args__ = (Index("ix_assessments_patient_id_rated_at", "patient_id", "rated_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey(Patient.id))
    instrument_id: Mapped[str] = mapped_column(String(32))
    # Version of the instrument definition the answers were given against.
    instrument_version: Mapped[str] = mapped_column(String(16))
    rated_at: Mapped[datetime]
    rater_kind: Mapped[RaterKind] = mapped_column(str_enum(RaterKind))
    rater_user_id: Mapped[int | None] = mapped_column(ForeignKey(StaffUser.id), default=None)
    # The answers as given, keyed by item id (JSON text); the source every result is computed from.
    answers_json: Mapped[str] = mapped_column(Text)
    # The treatment course the rating belongs to (None before any course started).
    course_id: Mapped[int | None] = mapped_column(
        ForeignKey(TreatmentCourse.id), default=None, index=True
    )
    portal_link_id: Mapped[int | None] = mapped_column(
        ForeignKey(PortalLink.id), default=None, index=True
    )
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Amendments: the corrected assessment points at the one it replaces, with the reason.
    supersedes_id: Mapped[int | None] = mapped_column(
        ForeignKey("assessments.id"), default=None, index=True
    )
    amendment_reason: Mapped[str | None] = mapped_column(Text, default=None)
    superseded_at: Mapped[datetime | None] = mapped_column(default=None)

    results: Mapped[list[AssessmentResult]] = relationship(
        back_populates="assessment", lazy="raise", order_by="AssessmentResult.version"
    )
    rater: Mapped[StaffUser | None] = relationship(lazy="raise")

    @property
    def answers(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.answers_json)
        return value

    @property
    def current_result(self) -> AssessmentResult:
        """The latest result version (results must have been eager-loaded)."""
        return self.results[-1]

    @property
    def is_current(self) -> bool:
        return self.superseded_at is None

    @property
    def rater_label(self) -> str:
        """Who rated, as shown on pages and in exports (rater must have been eager-loaded)."""
        if self.rater_kind is RaterKind.PATIENT_PORTAL:
            return "patient (portal)"
        return self.rater.full_name if self.rater is not None else "staff"


class AssessmentResult(Base):
    """One computed result of an assessment; the newest version is the one shown."""

    __tablename__ = "assessment_results"
    __table_args__ = (
        UniqueConstraint("assessment_id", "version", name="uq_assessment_results_version"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    reason: Mapped[ResultReason] = mapped_column(str_enum(ResultReason))
    # Version of the instrument definition (and its scoring) that produced this result.
    scored_with_version: Mapped[str] = mapped_column(String(16))
    scored_at: Mapped[datetime] = mapped_column(default=utcnow)
    total: Mapped[int | None] = mapped_column(Integer, default=None)
    severity: Mapped[str | None] = mapped_column(String(40), default=None)
    risk_level: Mapped[str | None] = mapped_column(String(16), default=None)
    flags_json: Mapped[str] = mapped_column(Text, default="[]")
    subscores_json: Mapped[str] = mapped_column(Text, default="{}")
    # The full scoring output (ScoreResult.to_dict()), kept for export and audit of the numbers.
    result_json: Mapped[str] = mapped_column(Text)
    superseded_at: Mapped[datetime | None] = mapped_column(default=None)

    assessment: Mapped[Assessment] = relationship(back_populates="results", lazy="raise")

    @property
    def flags(self) -> list[str]:
        value: list[str] = json.loads(self.flags_json)
        return value

    @property
    def subscores(self) -> dict[str, int]:
        value: dict[str, int] = json.loads(self.subscores_json)
        return value
