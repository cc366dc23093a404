"""What happens to each synthetic patient: drawn from one seeded generator, no database.

The rates, each with its source or marked invented:
- retention: about a fifth stop after the first infusion and about half do not finish six
  (docs/clinical-sources.md#published-outcome-figures, real-world retention, unverified);
- response at the end of a full induction 60%, remission 30%: *invented for realism*, set a
  little below Murrough 2013's 70.8% after six infusions (unipolar) because real-world bipolar
  practice does worse than trials; MADRS baseline about 31 (SD 5), *invented* (moderate to
  severe, as in the trials' entry criteria);
- four in five full-course responders enter maintenance (*invented*: real-world clinics keep
  most responders on boosters): weekly boosters for four weeks as in Phillips 2019's weekly
  phase, then every two weeks four times, then every four weeks, each later booster with a 2%
  chance of being the last (*invented*), until the generation day;
- follow-up: QIDS-SR16 and PHQ-9 self-reports weekly for 12 weeks from the first infusion,
  then every two weeks, each missed one time in ten (*invented*), and daily mood entries with
  one day in seven missed (*invented*), from a week before the first infusion to the day
  before the generation day, also for a patient who stopped the infusions (who stays in the
  clinic's bipolar care: *invented*);
- screening: 8% not eligible, 5% of the eligible do not consent (*invented*).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

INDUCTION_INFUSIONS = 6  # DEFAULT_INFUSION_COUNT (docs/clinical-sources.md#course-plan)
DAYS_BETWEEN_INFUSIONS = 2  # Frequency.EVERY_2_DAYS
HISTORY_DAYS = 730  # courses start over the two years before the generation day

P_NOT_ELIGIBLE = 0.08
P_NO_CONSENT = 0.05
P_STOP_AFTER_FIRST = 0.20
P_STOP_LATER = 0.30  # stop after the 2nd to 5th infusion
P_RESPONSE = 0.60
P_REMISSION = 0.30  # of all full courses; every remitter is a responder here
P_MAINTENANCE = 0.8  # of full-course responders
WEEKLY_BOOSTERS = 4
TWO_WEEKLY_BOOSTERS = 4
P_LAST_BOOSTER = 0.02  # for each booster after the weekly and two-weekly ones
SELF_REPORT_WEEKLY_WEEKS = 12
SELF_REPORT_LATER_DAYS = 14
P_MISSED_SELF_REPORT = 0.10
P_BIPOLAR_II = 0.45


class Fate(StrEnum):
    NOT_ELIGIBLE = "not_eligible"
    NO_CONSENT = "no_consent"
    COURSE = "course"


@dataclass(frozen=True)
class PatientPlan:
    """One patient's story. Scores are MADRS totals; the self-reports follow them."""

    index: int
    female: bool
    age_years: int
    weight_kg: float
    height_cm: float
    bipolar_ii: bool
    fate: Fate
    site: int  # 0-based
    start_on: date  # the course's first planned day (screening and consent a little before)
    given: int  # infusions given (induction and boosters)
    stopped: bool  # stopped early by the patient
    responder: bool
    remitter: bool
    maintenance_boosters: int
    madrs: tuple[int, ...]  # one total per moment in `rated_at`
    rated_at: tuple[datetime, ...]  # before the first infusion, after the 2nd, 4th, last, day after
    infusion_days: tuple[date, ...]
    follow_up_end: date | None = None  # the last day of self-reports and mood entries
    self_report_days: tuple[date, ...] = ()  # follow-up QIDS-SR16 and PHQ-9, after induction


def _induction_given(rng: random.Random) -> tuple[int, bool]:
    draw = rng.random()
    if draw < P_STOP_AFTER_FIRST:
        return 1, True
    if draw < P_STOP_AFTER_FIRST + P_STOP_LATER:
        return rng.randint(2, INDUCTION_INFUSIONS - 1), True
    return INDUCTION_INFUSIONS, False


def _trajectory(rng: random.Random, baseline: int, responder: bool, remitter: bool,
                ratings: int) -> tuple[int, ...]:
    """MADRS at baseline and at the later rating points, falling towards the final score."""
    if remitter:
        final = rng.randint(3, min(10, baseline // 2))
    elif responder:
        final = rng.randint(11, baseline // 2) if baseline // 2 >= 11 else baseline // 2
    else:
        final = round(baseline * (1 - rng.uniform(0.0, 0.45)))
    points = [baseline]
    for k in range(1, ratings):
        share = k / (ratings - 1)
        wobble = rng.randint(-2, 2) if k < ratings - 1 else 0
        points.append(max(0, round(baseline + (final - baseline) * share) + wobble))
    return tuple(points)


def plan_patient(rng: random.Random, index: int, *, sites: int, today: date) -> PatientPlan:
    female = rng.random() < 0.58  # invented: slightly more women, as in mood clinics
    bipolar_ii = rng.random() < P_BIPOLAR_II
    age = rng.randint(18, 75)
    height = rng.gauss(163 if female else 177, 7)
    weight = max(45.0, rng.gauss(72 if female else 86, 13))
    fate = Fate.COURSE
    if rng.random() < P_NOT_ELIGIBLE:
        fate = Fate.NOT_ELIGIBLE
    elif rng.random() < P_NO_CONSENT:
        fate = Fate.NO_CONSENT
    start = today - timedelta(days=rng.randint(1, HISTORY_DAYS))
    given, stopped = _induction_given(rng)
    # A course whose later infusions would fall after today is still in induction.
    due = [start + timedelta(days=DAYS_BETWEEN_INFUSIONS * n) for n in range(given)]
    days = [day for day in due if day < today]
    if len(days) < len(due):
        stopped = False
    full = len(days) == INDUCTION_INFUSIONS
    responder = full and rng.random() < P_RESPONSE
    remitter = responder and rng.random() < P_REMISSION / P_RESPONSE
    boosters = 0
    if responder and rng.random() < P_MAINTENANCE:
        boosters_days = _boosters(rng, days[-1], today)
        boosters = len(boosters_days)
        days += boosters_days
    baseline = min(50, max(22, round(rng.gauss(31, 5))))
    if fate is not Fate.COURSE:
        return PatientPlan(index, female, age, round(weight, 1), round(height, 1), bipolar_ii,
                           fate, rng.randrange(sites), start, 0, False, False, False, 0, (), (),
                           ())
    moments = _rating_moments(days[:len(days) - boosters], today)
    madrs = _trajectory(rng, baseline, responder, remitter, len(moments))
    end = today - timedelta(days=1)
    return PatientPlan(index, female, age, round(weight, 1), round(height, 1), bipolar_ii, fate,
                       rng.randrange(sites), start, len(days), stopped, responder, remitter,
                       boosters, madrs, moments, tuple(days), end,
                       _self_report_days(rng, moments[-1].date(), start, end))


def _boosters(rng: random.Random, last: date, today: date) -> list[date]:
    """Maintenance infusions after the induction's last, up to the day before `today`."""
    found: list[date] = []
    day = last
    while True:
        k = len(found)
        gap = 7 if k < WEEKLY_BOOSTERS else 14 if k < WEEKLY_BOOSTERS + TWO_WEEKLY_BOOSTERS else 28
        day += timedelta(days=gap)
        if day >= today:
            return found
        found.append(day)
        if k >= WEEKLY_BOOSTERS + TWO_WEEKLY_BOOSTERS and rng.random() < P_LAST_BOOSTER:
            return found


def _self_report_days(rng: random.Random, induction_rated: date, start: date, end: date
                      ) -> tuple[date, ...]:
    """Follow-up self-report days after the induction's last rating, to `end`."""
    weekly_until = start + timedelta(weeks=SELF_REPORT_WEEKLY_WEEKS)
    found: list[date] = []
    day = start
    while True:
        day += timedelta(days=7 if day < weekly_until else SELF_REPORT_LATER_DAYS)
        if day > end:
            return tuple(found)
        if day > induction_rated and rng.random() >= P_MISSED_SELF_REPORT:
            found.append(day)


def _rating_moments(induction: list[date], today: date) -> tuple[datetime, ...]:
    """Before the first infusion (08:30, it starts 09:10), at noon after the 2nd and 4th, and
    the morning after the last of a full induction (the end-of-induction endpoint); a course
    stopped or still running is rated at noon after its last infusion instead."""
    if not induction:
        return (datetime.combine(today, time(8, 30), UTC),)
    moments = [datetime.combine(induction[0], time(8, 30), UTC)]
    moments += [datetime.combine(induction[k], time(12), UTC) for k in (1, 3)
                if k < len(induction) - 1]
    after = induction[-1] + timedelta(days=1)
    if len(induction) == INDUCTION_INFUSIONS and after < today:
        moments.append(datetime.combine(after, time(10), UTC))
    else:
        moments.append(datetime.combine(induction[-1], time(12), UTC))
    return tuple(moments)
