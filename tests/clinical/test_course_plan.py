"""Course plan: induction dates, dose and cap against the clinic limits, states, taper."""

from __future__ import annotations

from datetime import date

import pytest

from ketaflow.clinical.course_plan import (
    MAINTENANCE_LABEL,
    TRANSITIONS,
    CoursePlanError,
    CoursePlanInput,
    CourseState,
    CourseTransitionError,
    Frequency,
    TaperSettings,
    check_transition,
    plan_course,
    planned_dates,
    planned_dose_mg,
    suggest_maintenance,
)
from ketaflow.dosing.limits import DEFAULT_LIMITS, DosingLimits, SaltForm

MONDAY = date(2026, 1, 5)


def test_default_plan_is_six_infusions_mon_wed_fri_over_12_days() -> None:
    plan = plan_course(CoursePlanInput(start_on=MONDAY))
    assert plan.planned_dates == (
        date(2026, 1, 5), date(2026, 1, 7), date(2026, 1, 9),
        date(2026, 1, 12), date(2026, 1, 14), date(2026, 1, 16),
    )
    assert plan.span_days == 11  # 12 calendar days, as in Murrough 2013
    assert (plan.dose_mg_per_kg, plan.max_dose_mg) == (0.5, 100.0)
    assert plan.salt_form is SaltForm.BASE
    assert plan.warnings == () and "Murrough 2013" in plan.source


def test_pattern_starts_on_the_next_matching_weekday() -> None:
    saturday = date(2026, 1, 10)
    assert planned_dates(saturday, 2, Frequency.MON_WED_FRI) == (
        date(2026, 1, 12), date(2026, 1, 14))
    assert planned_dates(date(2026, 1, 6), 3, Frequency.MON_THU) == (
        date(2026, 1, 8), date(2026, 1, 12), date(2026, 1, 15))


def test_every_2_days_moves_weekend_dates_to_monday() -> None:
    thursday = date(2026, 1, 8)
    # Thu, Sat->Mon, Wed, Fri, Sun->Mon
    assert planned_dates(thursday, 5, Frequency.EVERY_2_DAYS) == (
        date(2026, 1, 8), date(2026, 1, 12), date(2026, 1, 14), date(2026, 1, 16),
        date(2026, 1, 19))


def test_every_3_days_keeps_weekends_when_asked() -> None:
    friday = date(2026, 1, 9)
    assert planned_dates(friday, 3, Frequency.EVERY_3_DAYS, skip_weekends=False) == (
        date(2026, 1, 9), date(2026, 1, 12), date(2026, 1, 15))
    sunday = date(2026, 1, 11)
    assert planned_dates(sunday, 1, Frequency.EVERY_3_DAYS, skip_weekends=False) == (sunday,)
    assert planned_dates(sunday, 1, Frequency.EVERY_3_DAYS) == (date(2026, 1, 12),)


@pytest.mark.parametrize("count", [0, 13, True])
def test_infusion_count_range(count: int) -> None:
    with pytest.raises(CoursePlanError) as caught:
        plan_course(CoursePlanInput(start_on=MONDAY, infusion_count=count))
    assert caught.value.field == "infusion_count"


def test_infusion_count_edges_accepted() -> None:
    assert len(plan_course(CoursePlanInput(MONDAY, infusion_count=1)).planned_dates) == 1
    assert len(plan_course(CoursePlanInput(MONDAY, infusion_count=12)).planned_dates) == 12


def test_dose_at_hard_limit_passes_with_soft_warnings() -> None:
    plan = plan_course(CoursePlanInput(MONDAY, dose_mg_per_kg=2.0, max_dose_mg=200.0))
    assert len(plan.warnings) == 2
    assert "above the clinic soft maximum 1 mg/kg" in plan.warnings[0]
    assert "above the clinic soft maximum 100 mg" in plan.warnings[1]


def test_dose_at_soft_limit_has_no_warning() -> None:
    plan = plan_course(CoursePlanInput(MONDAY, dose_mg_per_kg=1.0, max_dose_mg=100.0))
    assert plan.warnings == ()


@pytest.mark.parametrize(("field", "value", "message"), [
    ("dose_mg_per_kg", 2.01,
     "dose_mg_per_kg 2.01 mg/kg exceeds the clinic hard maximum of 2 mg/kg"),
    ("max_dose_mg", 200.5, "max_dose_mg 200.5 mg exceeds the clinic hard maximum of 200 mg"),
    ("dose_mg_per_kg", 0.0, "greater than 0"),
    ("max_dose_mg", -5.0, "greater than 0"),
    ("dose_mg_per_kg", float("nan"), "greater than 0"),
])
def test_doses_outside_limits_are_refused(field: str, value: float, message: str) -> None:
    with pytest.raises(CoursePlanError, match=message) as caught:
        plan_course(CoursePlanInput(MONDAY, **{field: value}))  # type: ignore[arg-type]
    assert caught.value.field == field


def test_clinic_limits_are_read_from_dosing() -> None:
    strict = DosingLimits(hard_max_mg=150.0, soft_max_mg=80.0)
    with pytest.raises(CoursePlanError, match="150 mg"):
        plan_course(CoursePlanInput(MONDAY, max_dose_mg=160.0), limits=strict)
    assert plan_course(CoursePlanInput(MONDAY, max_dose_mg=DEFAULT_LIMITS.hard_max_mg))


def test_planned_dose_respects_the_course_cap() -> None:
    assert planned_dose_mg(70, 0.5, 100) == (35.0, False)
    assert planned_dose_mg(200, 0.5, 100) == (100.0, False)
    assert planned_dose_mg(220, 0.5, 100) == (100, True)


ALLOWED = {(s, t) for s, targets in TRANSITIONS.items() for t in targets}


@pytest.mark.parametrize("current", list(CourseState))
@pytest.mark.parametrize("target", list(CourseState))
def test_transition_table_is_enforced(current: CourseState, target: CourseState) -> None:
    if (current, target) in ALLOWED:
        check_transition(current, target, reason="patient moved away")
    else:
        with pytest.raises(CourseTransitionError, match=f"a {current.value} course cannot"):
            check_transition(current, target, reason="x")


def test_expected_moves() -> None:
    assert TRANSITIONS[CourseState.PLANNED] == (CourseState.ACTIVE, CourseState.STOPPED)
    assert CourseState.ACTIVE in TRANSITIONS[CourseState.PAUSED]
    assert TRANSITIONS[CourseState.COMPLETED] == () and TRANSITIONS[CourseState.STOPPED] == ()


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_stop_needs_a_reason(reason: str | None) -> None:
    with pytest.raises(CourseTransitionError, match="reason is required"):
        check_transition(CourseState.ACTIVE, CourseState.STOPPED, reason=reason)


def test_pause_does_not_need_a_reason() -> None:
    check_transition(CourseState.ACTIVE, CourseState.PAUSED, reason=None)


def test_maintenance_taper_suggestion() -> None:
    last = date(2026, 1, 16)
    suggestion = suggest_maintenance(last)
    assert suggestion.label == MAINTENANCE_LABEL
    assert MAINTENANCE_LABEL == "configurable suggestion, unverified as a standard"
    dates = [v.on for v in suggestion.visits]
    assert dates[:4] == [date(2026, 1, 23), date(2026, 1, 30), date(2026, 2, 6), date(2026, 2, 13)]
    assert dates[4:6] == [date(2026, 2, 27), date(2026, 3, 13)]
    assert dates[6:] == [date(2026, 4, 10), date(2026, 5, 8), date(2026, 6, 5)]
    assert [v.phase for v in suggestion.visits][3:7] == [
        "weekly", "every 2 weeks", "every 2 weeks", "every 4 weeks"]


def test_taper_settings_are_configurable_and_validated() -> None:
    custom = suggest_maintenance(MONDAY, TaperSettings(weekly_count=1, fortnightly_count=0,
                                                       extended_interval_weeks=3,
                                                       extended_count=1))
    assert [v.on for v in custom.visits] == [date(2026, 1, 12), date(2026, 2, 2)]
    with pytest.raises(ValueError):
        TaperSettings(extended_interval_weeks=0)
    with pytest.raises(ValueError):
        TaperSettings(weekly_count=-1)
