"""What crosses the JSON API boundary for treatment courses."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from ketaflow.clinical.course_plan import (
    DEFAULT_DOSE_MG_PER_KG,
    DEFAULT_INFUSION_COUNT,
    MAX_INDUCTION_INFUSIONS,
    CourseState,
    Frequency,
)
from ketaflow.courses.service import CourseEntry, CourseView
from ketaflow.dosing.limits import SaltForm
from ketaflow.inputs import PlausibleDate, positive, within
from ketaflow.scales.longitudinal import BaselineFallback


class CourseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start_on: PlausibleDate = Field(description="the first infusion on or after this day")
    infusion_count: Annotated[int, within(1, MAX_INDUCTION_INFUSIONS)] = DEFAULT_INFUSION_COUNT
    frequency: Frequency = Frequency.MON_WED_FRI
    skip_weekends: bool = True
    # Above 0 and at most the clinic's hard maximum (a clinic setting, refused by the service).
    dose_mg_per_kg: Annotated[float, positive()] = DEFAULT_DOSE_MG_PER_KG
    max_dose_mg: Annotated[float, positive()] | None = Field(
        default=None, description="per-course cap (mg); default: the clinic's soft maximum "
        "dose in force")
    baseline_on: PlausibleDate | None = None

    def to_entry(self) -> CourseEntry:
        return CourseEntry(**self.model_dump())


class TransitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: CourseState
    reason: str | None = Field(default=None, max_length=1000)


class BaselineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    baseline_on: PlausibleDate


class CourseSummaryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    patient_id: int
    screening_id: int
    consent_id: int
    state: CourseState
    infusion_count: int
    frequency: Frequency
    skip_weekends: bool
    start_on: date
    dose_mg_per_kg: float
    max_dose_mg: float
    salt_form: SaltForm
    baseline_on: date | None
    # The prescriber's fallback without a pre-treatment rating (None: response and remission are
    # not computed then), with who chose it and when.
    baseline_fallback: BaselineFallback | None = None
    baseline_fallback_at: datetime | None = None
    baseline_fallback_by_user_id: int | None = None
    state_changed_at: datetime


class PlannedInfusionOut(BaseModel):
    number: int
    on: date
    status: str


class StateChangeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    from_state: CourseState | None
    to_state: CourseState
    reason: str | None
    changed_at: datetime
    changed_by_user_id: int | None


class MaintenanceVisitOut(BaseModel):
    on: date
    phase: str


class MaintenanceOut(BaseModel):
    label: str
    source: str
    visits: list[MaintenanceVisitOut]


class CourseOut(CourseSummaryOut):
    infusions: list[PlannedInfusionOut]
    warnings: list[str]
    allowed_transitions: list[CourseState]
    changes: list[StateChangeOut]
    maintenance: MaintenanceOut

    @classmethod
    def from_view(cls, view: CourseView) -> CourseOut:
        base = CourseSummaryOut.model_validate(view.course).model_dump()
        suggestion = view.maintenance
        return cls(
            **base,
            infusions=[PlannedInfusionOut(number=i.number, on=i.on, status=i.status)
                       for i in view.infusions],
            warnings=list(view.warnings),
            allowed_transitions=list(view.allowed),
            changes=[StateChangeOut.model_validate(c) for c in view.course.changes],
            maintenance=MaintenanceOut(
                label=suggestion.label, source=suggestion.source,
                visits=[MaintenanceVisitOut(on=v.on, phase=v.phase) for v in suggestion.visits]),
        )
