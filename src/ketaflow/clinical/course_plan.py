"""The treatment-course plan: induction dates, dose, per-course cap, states and a maintenance taper.

Induction is 6 infusions over 2-3 weeks (Murrough 2013: 3 per week over 12 days;
docs/clinical-sources.md#course-plan). The dose is mg/kg of actual body weight in the clinic's
salt basis with a per-course maximum in mg; neither may exceed the clinic hard limits in
`ketaflow.dosing.limits`. The maintenance taper (weekly x4, then every 2 weeks, then every 3-4
weeks) is a configurable suggestion, *unverified as a standard* (CANMAT 2021: maintenance evidence
level 3).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from ketaflow.dosing.limits import DEFAULT_LIMITS, DosingLimits, SaltForm

SOURCE_INDUCTION = (
    "Murrough 2013, Biol Psychiatry 74:250 (6 infusions, 3 per week over 12 days); "
    "docs/clinical-sources.md#course-plan"
)
MAINTENANCE_LABEL = "configurable suggestion, unverified as a standard"
SOURCE_MAINTENANCE = (
    "taper by symptoms, weekly x4, then every 2, then every 3-4 weeks (CANMAT 2021 level 3 "
    "evidence; Phillips 2019 weekly maintenance); docs/clinical-sources.md#course-plan"
)
DEFAULT_INFUSION_COUNT = 6
MAX_INDUCTION_INFUSIONS = 12
DEFAULT_DOSE_MG_PER_KG = 0.5
SATURDAY = 5


class CoursePlanError(ValueError):
    """An impossible plan; `field` names the input, as `DosingError` does."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


class Frequency(StrEnum):
    MON_WED_FRI = "mon_wed_fri"
    MON_THU = "mon_thu"
    EVERY_2_DAYS = "every_2_days"
    EVERY_3_DAYS = "every_3_days"

    @property
    def label(self) -> str:
        return FREQUENCY_LABELS[self]


FREQUENCY_LABELS: dict[Frequency, str] = {
    Frequency.MON_WED_FRI: "3 per week (Mon, Wed, Fri)",
    Frequency.MON_THU: "2 per week (Mon, Thu)",
    Frequency.EVERY_2_DAYS: "every 2 days",
    Frequency.EVERY_3_DAYS: "every 3 days",
}
_WEEKDAYS: dict[Frequency, frozenset[int]] = {
    Frequency.MON_WED_FRI: frozenset({0, 2, 4}),
    Frequency.MON_THU: frozenset({0, 3}),
}
_INTERVAL_DAYS: dict[Frequency, int] = {Frequency.EVERY_2_DAYS: 2, Frequency.EVERY_3_DAYS: 3}


@dataclass(frozen=True)
class CoursePlanInput:
    start_on: date
    infusion_count: int = DEFAULT_INFUSION_COUNT
    frequency: Frequency = Frequency.MON_WED_FRI
    # Only affects interval frequencies; the weekday patterns never fall on a weekend.
    skip_weekends: bool = True
    dose_mg_per_kg: float = DEFAULT_DOSE_MG_PER_KG
    # Per-course cap; the default is the clinic soft maximum (100 mg, a house default).
    max_dose_mg: float = DEFAULT_LIMITS.soft_max_mg


@dataclass(frozen=True)
class CoursePlan:
    planned_dates: tuple[date, ...]
    frequency: Frequency
    dose_mg_per_kg: float
    max_dose_mg: float
    salt_form: SaltForm
    warnings: tuple[str, ...]
    source: str = SOURCE_INDUCTION

    @property
    def span_days(self) -> int:
        return (self.planned_dates[-1] - self.planned_dates[0]).days


def plan_course(entry: CoursePlanInput, *, limits: DosingLimits = DEFAULT_LIMITS) -> CoursePlan:
    """Validate the plan against the clinic limits and lay out the induction dates."""
    count = entry.infusion_count
    if not isinstance(count, int) or isinstance(count, bool) or not (
        1 <= count <= MAX_INDUCTION_INFUSIONS
    ):
        raise CoursePlanError(
            f"infusion_count must be from 1 to {MAX_INDUCTION_INFUSIONS}", field="infusion_count")
    _require_dose("dose_mg_per_kg", entry.dose_mg_per_kg, limits.hard_max_mg_per_kg, "mg/kg")
    _require_dose("max_dose_mg", entry.max_dose_mg, limits.hard_max_mg, "mg")
    return CoursePlan(
        planned_dates=planned_dates(entry.start_on, count, entry.frequency,
                                    skip_weekends=entry.skip_weekends),
        frequency=entry.frequency,
        dose_mg_per_kg=entry.dose_mg_per_kg,
        max_dose_mg=entry.max_dose_mg,
        salt_form=limits.salt_basis,
        warnings=_soft_warnings(entry, limits),
    )


def planned_dates(
    start_on: date, count: int, frequency: Frequency, *, skip_weekends: bool = True
) -> tuple[date, ...]:
    """`count` strictly increasing dates from `start_on` (the first on or after it)."""
    dates: list[date] = []
    weekdays = _WEEKDAYS.get(frequency)
    day = start_on
    if weekdays is not None:
        while len(dates) < count:
            if day.weekday() in weekdays:
                dates.append(day)
            day += timedelta(days=1)
        return tuple(dates)
    interval = timedelta(days=_INTERVAL_DAYS[frequency])
    while len(dates) < count:
        if skip_weekends and day.weekday() >= SATURDAY:
            day += timedelta(days=7 - day.weekday())  # the next Monday
        dates.append(day)
        # From the (possibly moved) date, so two infusions are never closer than the interval.
        day += interval
    return tuple(dates)


def planned_dose_mg(
    weight_kg: float, dose_mg_per_kg: float, max_dose_mg: float
) -> tuple[float, bool]:
    """The dose for a weight under the course cap, and whether the cap applied."""
    dose = weight_kg * dose_mg_per_kg
    return (max_dose_mg, True) if dose > max_dose_mg else (dose, False)


def _require_dose(field: str, value: float, hard_max: float, unit: str) -> None:
    if not math.isfinite(value) or value <= 0:
        raise CoursePlanError(f"{field} must be greater than 0 {unit}", field=field)
    if value > hard_max:
        raise CoursePlanError(
            f"{field} {value:g} {unit} exceeds the clinic hard maximum of {hard_max:g} {unit}",
            field=field)


def _soft_warnings(entry: CoursePlanInput, limits: DosingLimits) -> tuple[str, ...]:
    warnings = []
    if entry.dose_mg_per_kg > limits.soft_max_mg_per_kg:
        warnings.append(f"dose {entry.dose_mg_per_kg:g} mg/kg is above the clinic soft maximum "
                        f"{limits.soft_max_mg_per_kg:g} mg/kg: each dose needs an override reason")
    if entry.max_dose_mg > limits.soft_max_mg:
        warnings.append(f"maximum {entry.max_dose_mg:g} mg is above the clinic soft maximum "
                        f"{limits.soft_max_mg:g} mg: doses above it need an override reason")
    return tuple(warnings)


class CourseState(StrEnum):
    PLANNED = "planned"
    ACTIVE = "active"
    MAINTENANCE = "maintenance"
    PAUSED = "paused"
    COMPLETED = "completed"
    STOPPED = "stopped"


# Every allowed move; anything not listed is refused. Completed and stopped are final: a new
# course starts from a new screening.
TRANSITIONS: dict[CourseState, tuple[CourseState, ...]] = {
    CourseState.PLANNED: (CourseState.ACTIVE, CourseState.STOPPED),
    CourseState.ACTIVE: (CourseState.MAINTENANCE, CourseState.PAUSED, CourseState.COMPLETED,
                         CourseState.STOPPED),
    CourseState.MAINTENANCE: (CourseState.PAUSED, CourseState.COMPLETED, CourseState.STOPPED),
    CourseState.PAUSED: (CourseState.ACTIVE, CourseState.MAINTENANCE, CourseState.STOPPED),
    CourseState.COMPLETED: (),
    CourseState.STOPPED: (),
}
REASON_REQUIRED: frozenset[CourseState] = frozenset({CourseState.STOPPED})


class CourseTransitionError(ValueError):
    pass


def check_transition(current: CourseState, target: CourseState, *, reason: str | None) -> None:
    """Refuse a move the table does not allow, or a stop without a reason."""
    if target not in TRANSITIONS[current]:
        allowed = ", ".join(TRANSITIONS[current]) or "none (final state)"
        raise CourseTransitionError(
            f"a {current.value} course cannot become {target.value}; allowed: {allowed}")
    if target in REASON_REQUIRED and not (reason or "").strip():
        raise CourseTransitionError(f"a reason is required to mark a course {target.value}")


@dataclass(frozen=True)
class TaperSettings:
    weekly_count: int = 4
    fortnightly_count: int = 2
    extended_interval_weeks: int = 4  # "every 3-4 weeks"
    extended_count: int = 3

    def __post_init__(self) -> None:
        for name in ("weekly_count", "fortnightly_count", "extended_count"):
            if not 0 <= getattr(self, name) <= 52:
                raise ValueError(f"{name} must be from 0 to 52")
        if not 1 <= self.extended_interval_weeks <= 12:
            raise ValueError("extended_interval_weeks must be from 1 to 12")


@dataclass(frozen=True)
class MaintenanceVisit:
    on: date
    phase: str


@dataclass(frozen=True)
class MaintenanceSuggestion:
    visits: tuple[MaintenanceVisit, ...]
    label: str = MAINTENANCE_LABEL
    source: str = SOURCE_MAINTENANCE


def suggest_maintenance(
    last_induction_on: date, settings: TaperSettings = TaperSettings()
) -> MaintenanceSuggestion:
    """Suggested maintenance dates after the last induction infusion (a suggestion only)."""
    phases = (
        ("weekly", 1, settings.weekly_count),
        ("every 2 weeks", 2, settings.fortnightly_count),
        (f"every {settings.extended_interval_weeks} weeks", settings.extended_interval_weeks,
         settings.extended_count),
    )
    visits: list[MaintenanceVisit] = []
    day = last_induction_on
    for phase, weeks, count in phases:
        for _ in range(count):
            day += timedelta(weeks=weeks)
            visits.append(MaintenanceVisit(day, phase))
    return MaintenanceSuggestion(tuple(visits))
