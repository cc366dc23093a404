"""The generator's plan alone (no database): maintenance boosters, follow-up self-reports and
the follow-up's end follow the schedules that `ketaflow.demo_data.plan` states."""

from __future__ import annotations

import itertools
import random
from datetime import date, timedelta

from ketaflow.demo_data import plan
from ketaflow.demo_data.plan import Fate, PatientPlan, plan_patient

TODAY = date(2026, 11, 30)


def _plans(count: int = 400) -> list[PatientPlan]:
    rng = random.Random(3)
    return [plan_patient(rng, k, sites=2, today=TODAY) for k in range(count)]


def _gaps(days: tuple[date, ...] | list[date]) -> list[int]:
    return [(later - earlier).days for earlier, later in itertools.pairwise(days)]


def test_boosters_are_weekly_then_two_weekly_then_four_weekly_and_never_after_today() -> None:
    maintained = [p for p in _plans() if p.maintenance_boosters]
    assert len(maintained) >= 20
    for p in maintained:
        induction_end = p.infusion_days[plan.INDUCTION_INFUSIONS - 1]
        boosters = [induction_end, *p.infusion_days[plan.INDUCTION_INFUSIONS:]]
        expected = [7] * plan.WEEKLY_BOOSTERS + [14] * plan.TWO_WEEKLY_BOOSTERS
        gaps = _gaps(boosters)
        assert gaps == (expected + [28] * len(gaps))[:len(gaps)]
        assert boosters[-1] < TODAY and p.responder
    # Some run until the generation day, some stop early (the 2% chance per later booster).
    assert any(p.maintenance_boosters > 12 for p in maintained)


def test_follow_up_runs_to_yesterday_with_self_reports_weekly_then_two_weekly() -> None:
    courses = [p for p in _plans() if p.fate is Fate.COURSE]
    for p in courses:
        assert p.follow_up_end == TODAY - timedelta(days=1)
        days = p.self_report_days
        assert all(p.rated_at[-1].date() < day <= TODAY - timedelta(days=1) for day in days)
        # Each day is on the schedule: weekly from the first infusion for 12 weeks, then
        # every two weeks (a missed report leaves a gap, never a day off the schedule).
        weekly_until = p.start_on + timedelta(weeks=plan.SELF_REPORT_WEEKLY_WEEKS)
        for day in days:
            if day <= weekly_until:
                assert (day - p.start_on).days % 7 == 0
            else:
                assert (day - weekly_until).days % plan.SELF_REPORT_LATER_DAYS == 0
    long_followed = [p for p in courses if (TODAY - p.start_on).days > 200]
    assert long_followed and all(len(p.self_report_days) >= 12 for p in long_followed)


def test_patients_without_a_course_have_no_follow_up() -> None:
    for p in _plans():
        if p.fate is not Fate.COURSE:
            assert p.given == 0 and not p.self_report_days and p.follow_up_end is None
