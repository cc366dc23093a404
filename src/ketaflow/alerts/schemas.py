"""What crosses the API boundary for alerts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from ketaflow.alerts.models import Alert
from ketaflow.alerts.service import NOTE_MAX_LENGTH, NOTE_MIN_LENGTH, TITLES
from ketaflow.inputs import nonblank_pattern, shown


class AlertOut(BaseModel):
    id: int
    patient_id: int
    kind: str
    severity: str
    title: str
    source_assessment_id: int | None
    instrument: str | None
    reason: str | None
    actions: list[str]
    created_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by_user_id: int | None
    action_note: str | None

    @classmethod
    def of(cls, alert: Alert) -> AlertOut:
        return cls(id=alert.id, patient_id=alert.patient_id, kind=str(alert.kind),
                   severity=str(alert.severity), title=TITLES[alert.kind],
                   source_assessment_id=alert.source_assessment_id,
                   instrument=None if alert.source is None else alert.source.instrument_id,
                   reason=alert.reason, actions=list(alert.action_list),
                   created_at=alert.created_at, acknowledged_at=alert.acknowledged_at,
                   acknowledged_by_user_id=alert.acknowledged_by_user_id,
                   action_note=alert.action_note)


class AlertAcknowledge(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # At least NOTE_MIN_LENGTH characters once stripped, as the service counts them.
    note: Annotated[str, shown(pattern=nonblank_pattern(NOTE_MIN_LENGTH))] = Field(
        min_length=NOTE_MIN_LENGTH, max_length=NOTE_MAX_LENGTH,
        description="What was done about the alert.")
