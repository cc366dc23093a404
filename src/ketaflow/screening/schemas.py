"""What crosses the JSON API boundary for screenings and consents."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from ketaflow.clinical.eligibility import (
    CHECKLIST_BY_KEY,
    VITAL_RANGES,
    Answer,
    FindingKind,
    Outcome,
    PregnancyStatus,
)
from ketaflow.clinical.maudsley import MAX_DURATION_MONTHS, MAX_FAILURES, MaudsleyBand
from ketaflow.clinical.maudsley import Severity as MaudsleySeverity
from ketaflow.ids import RecordId
from ketaflow.inputs import PlausibleDate, RequiredText, keys_of, within
from ketaflow.screening.models import ScreeningStatus
from ketaflow.screening.service import (
    AnswerEntry,
    MaudsleyEntry,
    ScreeningEntry,
    ScreeningView,
)


def _plausible(name: str) -> Any:
    return within(*VITAL_RANGES[name])


class AnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answer: Answer
    note: str | None = Field(default=None, max_length=1000)


class MaudsleyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    episode_months: Annotated[int, within(0, MAX_DURATION_MONTHS)] | None = None
    severity: MaudsleySeverity | None = None
    failed_antidepressants: Annotated[int, within(1, MAX_FAILURES)] | None = None
    augmentation_used: bool | None = None
    ect_used: bool | None = None


class ScreeningIn(BaseModel):
    """A draft's content; checklist answers are keyed by item (see the checklist keys)."""

    model_config = ConfigDict(extra="forbid")

    answers: Annotated[dict[str, AnswerIn], keys_of(CHECKLIST_BY_KEY)] = Field(
        default_factory=dict)
    # Plausible baseline values (`ketaflow.clinical.eligibility.VITAL_RANGES`); the diastolic
    # must be below the systolic.
    systolic_mmhg: Annotated[int, _plausible("systolic_mmhg")] | None = None
    diastolic_mmhg: Annotated[int, _plausible("diastolic_mmhg")] | None = None
    heart_rate_bpm: Annotated[int, _plausible("heart_rate_bpm")] | None = None
    spo2_pct: Annotated[int, _plausible("spo2_pct")] | None = None
    weight_kg: Annotated[float, _plausible("weight_kg")] | None = None
    ymrs_total: Annotated[int, within(0, 60)] | None = None
    pregnancy_status: PregnancyStatus | None = None
    pregnancy_test_on: PlausibleDate | None = None
    maudsley: MaudsleyIn = Field(default_factory=MaudsleyIn)
    note: str | None = Field(default=None, max_length=1000)

    def to_entry(self) -> ScreeningEntry:
        m = self.maudsley
        return ScreeningEntry(
            answers={k: AnswerEntry(v.answer, v.note) for k, v in self.answers.items()},
            systolic_mmhg=self.systolic_mmhg, diastolic_mmhg=self.diastolic_mmhg,
            heart_rate_bpm=self.heart_rate_bpm, spo2_pct=self.spo2_pct,
            weight_kg=self.weight_kg, ymrs_total=self.ymrs_total,
            pregnancy_status=self.pregnancy_status, pregnancy_test_on=self.pregnancy_test_on,
            maudsley=MaudsleyEntry(m.episode_months, m.severity, m.failed_antidepressants,
                                   m.augmentation_used, m.ect_used),
            note=self.note,
        )


class SignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ymrs_override_reason: str | None = Field(default=None, max_length=1000)


class AmendIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: RequiredText = Field(min_length=1, max_length=1000)


class ScreeningSummaryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    patient_id: int
    version: int
    status: ScreeningStatus
    outcome: Outcome
    amends_id: int | None
    amendment_reason: str | None
    recorded_at: datetime
    signed_at: datetime | None
    signed_by_user_id: int | None
    superseded_at: datetime | None


class FindingOut(BaseModel):
    key: str
    kind: FindingKind
    message: str
    source: str


class MissingOut(BaseModel):
    key: str
    label: str


class TrialJudgementOut(BaseModel):
    index: int
    trial: str
    counts: bool
    regimen: str | None
    reasons: list[str]
    source: str


class ResistanceOut(BaseModel):
    meets: bool
    adequate_failed_count: int
    required_count: int
    verdict: str
    source: str
    trials: list[TrialJudgementOut]


class MaudsleyOut(BaseModel):
    total: int
    band: MaudsleyBand
    duration_points: int
    severity_points: int
    treatment_failure_points: int
    augmentation_points: int
    ect_points: int
    note: str
    source: str


class ScreeningOut(ScreeningSummaryOut):
    answers: dict[str, AnswerIn]
    systolic_mmhg: int | None
    diastolic_mmhg: int | None
    heart_rate_bpm: int | None
    spo2_pct: int | None
    weight_kg: float | None
    ymrs_total: int | None
    ymrs_override_reason: str | None
    pregnancy_status: PregnancyStatus | None
    pregnancy_test_on: date | None
    note: str | None
    findings: list[FindingOut]
    unanswered: list[MissingOut]
    resistance: ResistanceOut | None
    maudsley: MaudsleyOut | None
    amended_by_id: int | None

    @classmethod
    def from_view(cls, view: ScreeningView) -> ScreeningOut:
        row, ev = view.screening, view.evaluation
        resistance = None
        if ev.resistance is not None:
            r = ev.resistance
            resistance = ResistanceOut(
                meets=r.meets, adequate_failed_count=r.adequate_failed_count,
                required_count=r.required_count, verdict=r.verdict, source=r.source,
                trials=[TrialJudgementOut(
                    index=t.index, trial=t.trial.describe(), counts=t.counts,
                    regimen=t.regimen.name if t.regimen else None, reasons=list(t.reasons),
                    source=t.source) for t in r.trials])
        m = ev.maudsley
        base = ScreeningSummaryOut.model_validate(row).model_dump()
        return cls(
            **base,
            answers={a.item_key: AnswerIn(answer=a.answer, note=a.note) for a in row.answers},
            systolic_mmhg=row.systolic_mmhg, diastolic_mmhg=row.diastolic_mmhg,
            heart_rate_bpm=row.heart_rate_bpm, spo2_pct=row.spo2_pct, weight_kg=row.weight_kg,
            ymrs_total=row.ymrs_total, ymrs_override_reason=row.ymrs_override_reason,
            pregnancy_status=row.pregnancy_status, pregnancy_test_on=row.pregnancy_test_on,
            note=row.note,
            findings=[FindingOut(key=f.key, kind=f.kind, message=f.message, source=f.source)
                      for f in ev.eligibility.findings],
            unanswered=[MissingOut(key=u.key, label=u.label) for u in ev.eligibility.unanswered],
            resistance=resistance,
            maudsley=None if m is None else MaudsleyOut(
                total=m.total, band=m.band, duration_points=m.duration_points,
                severity_points=m.severity_points,
                treatment_failure_points=m.treatment_failure_points,
                augmentation_points=m.augmentation_points, ect_points=m.ect_points,
                note=m.note, source=m.source),
            amended_by_id=view.amended_by.id if view.amended_by else None,
        )


class ConsentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    form_version: RequiredText = Field(min_length=1, max_length=40)
    consented_on: PlausibleDate
    witnessed_by_user_id: RecordId
    note: str | None = Field(default=None, max_length=1000)


class ConsentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    patient_id: int
    form_version: str
    consented_on: date
    witnessed_by_user_id: RecordId
    note: str | None
    recorded_at: datetime
