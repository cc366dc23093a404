"""Alerts: one row per safety signal of a rating or warning of the mood chart. Never deleted;
closed by acknowledgement."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ketaflow.assessments.models import Assessment
from ketaflow.auth.models import StaffUser
from ketaflow.db import Base, str_enum, utcnow


class AlertKind(StrEnum):
    """The signal kinds of `ketaflow.scales.longitudinal.SignalKind` (from one rating) and of
    `ketaflow.mood.signals.SignalKind` (from the mood chart, prefixed "mood-"), stored by value."""

    CSSRS_HIGH = "cssrs-high"
    SUICIDALITY_URGENT = "suicidality-urgent"
    CSSRS_MODERATE = "cssrs-moderate"
    SAME_DAY_REVIEW = "same-day-review"
    CSSRS_SCREEN = "cssrs-screen"
    PROBABLE_MANIA = "probable-mania"
    POSSIBLE_SWITCH = "possible-switch"
    MOOD_SWITCH = "mood-switch"
    MOOD_RELAPSE = "mood-relapse"
    MOOD_DISENGAGEMENT = "mood-disengagement"


class AlertSeverity(StrEnum):
    URGENT = "urgent"
    HIGH = "high"
    MODERATE = "moderate"


class Alert(Base):
    __tablename__ = "alerts"
    __table_args__ = (
        # One alert per signal kind per rating, so re-scoring never duplicates an alert.
        UniqueConstraint("source_assessment_id", "kind", name="uq_alerts_source_kind"),
        Index("ix_alerts_patient_id_acknowledged_at", "patient_id", "acknowledged_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    kind: Mapped[AlertKind] = mapped_column(str_enum(AlertKind))
    severity: Mapped[AlertSeverity] = mapped_column(str_enum(AlertSeverity, 16))
    # A rating's alert names its assessment; a mood-chart alert has none and is keyed instead
    # by `source_key` ("mood:{patient}:{kind}:{day}"), so a warning is raised once however
    # often the chart is recomputed.
    source_assessment_id: Mapped[int | None] = mapped_column(ForeignKey("assessments.id"),
                                                             default=None)
    source_key: Mapped[str | None] = mapped_column(String(120), unique=True, default=None)
    # The warning's reason in words, as the rule worded it when raised (mood-chart alerts).
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    # What the reference says should follow (comma-separated `longitudinal.Action` values).
    actions: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    acknowledged_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id"), default=None
    )
    acknowledged_at: Mapped[datetime | None] = mapped_column(default=None)
    action_note: Mapped[str | None] = mapped_column(Text, default=None)

    source: Mapped[Assessment | None] = relationship(lazy="raise")
    acknowledged_by: Mapped[StaffUser | None] = relationship(lazy="raise")

    @property
    def is_open(self) -> bool:
        return self.acknowledged_at is None

    @property
    def action_list(self) -> tuple[str, ...]:
        return tuple(part for part in self.actions.split(",") if part)
