"""What crosses the API boundary for assessments (not a mirror of the ORM)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from ketaflow.assessments.models import Assessment, AssessmentResult
from ketaflow.ids import RecordId
from ketaflow.inputs import PlausibleMoment, RequiredText, answers_schema, one_of
from ketaflow.scales.instruments import instrument_ids

InstrumentId = Annotated[str, one_of(instrument_ids())]


class AssessmentCreate(BaseModel):
    # Each instrument's items and scores, so the schema says which answers it takes.
    model_config = ConfigDict(extra="forbid", json_schema_extra={"oneOf": [
        {"properties": {"instrument": {"const": instrument},
                        "answers": answers_schema(instrument, nullable=True)}}
        for instrument in instrument_ids()]})

    instrument: InstrumentId = Field(min_length=1, max_length=32, examples=["madrs"])
    # Item id -> score (C-SSRS: 1 yes, 0 no; leave out items the skip logic does not ask).
    answers: dict[str, int | None]
    rated_at: PlausibleMoment | None = Field(default=None, description="default: now")
    course_id: RecordId | None = None


class AssessmentAmend(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answers: dict[str, int | None]
    reason: RequiredText = Field(min_length=1, max_length=500)
    rated_at: PlausibleMoment | None = None


class ResultOut(BaseModel):
    version: int
    reason: str
    scored_with_version: str
    scored_at: datetime
    total: int | None
    severity: str | None
    risk_level: str | None
    flags: list[str]
    subscores: dict[str, int]
    superseded_at: datetime | None

    @classmethod
    def of(cls, row: AssessmentResult) -> ResultOut:
        return cls(version=row.version, reason=str(row.reason),
                   scored_with_version=row.scored_with_version, scored_at=row.scored_at,
                   total=row.total, severity=row.severity, risk_level=row.risk_level,
                   flags=row.flags, subscores=row.subscores, superseded_at=row.superseded_at)


class AssessmentOut(BaseModel):
    id: int
    patient_id: int
    instrument: str
    instrument_version: str
    rated_at: datetime
    rater: str
    rater_user_id: int | None
    course_id: int | None
    answers: dict[str, int | None]
    result: ResultOut
    result_history: list[ResultOut]
    supersedes_id: int | None
    amendment_reason: str | None
    superseded_at: datetime | None

    @classmethod
    def of(cls, assessment: Assessment) -> AssessmentOut:
        return cls(
            id=assessment.id, patient_id=assessment.patient_id,
            instrument=assessment.instrument_id,
            instrument_version=assessment.instrument_version, rated_at=assessment.rated_at,
            rater=assessment.rater_label, rater_user_id=assessment.rater_user_id,
            course_id=assessment.course_id, answers=assessment.answers,
            result=ResultOut.of(assessment.current_result),
            result_history=[ResultOut.of(row) for row in assessment.results],
            supersedes_id=assessment.supersedes_id,
            amendment_reason=assessment.amendment_reason,
            superseded_at=assessment.superseded_at)
