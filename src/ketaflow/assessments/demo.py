"""Demo rating histories (`ketaflow demo seed`), stored through the services like real entries.

The patient on the active course gets a baseline and a MADRS after each infusion so far (32
falling towards 12), weekly PHQ-9 and QIDS-SR16 self-reports through the portal (one PHQ-9 with
item 9 positive, which leaves two open alerts, screen and urgent; no QIDS-SR16 before the first
infusion, so that course shows "no pre-treatment baseline" for it), and one YMRS. The patient on
the planned course gets baseline ratings only.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.orm import Session

from ketaflow.assessments import courses, service
from ketaflow.audit.service import AuditContext
from ketaflow.clinical.course_plan import CourseState, planned_dates
from ketaflow.config import Role
from ketaflow.db import utcnow
from ketaflow.patients.models import Patient
from ketaflow.scales import get_instrument
from ketaflow.screening.demo import staff_context

MADRS_COURSE = (32, 26, 21, 17, 14, 12)  # baseline, then after each of six infusions


def _spread(total: int, maxima: Sequence[int]) -> list[int]:
    """`total` spread as evenly as the items' maxima allow (real answers are rarely lopsided)."""
    scores = [0] * len(maxima)
    remaining = total
    while remaining > 0:
        open_items = [i for i, top in enumerate(maxima) if scores[i] < top]
        if not open_items:
            raise ValueError(f"total {total} is out of range")
        for i in open_items[:remaining]:
            scores[i] += 1
        remaining -= min(remaining, len(open_items))
    return scores


def _answers(instrument_id: str, total: int, *, last: int = 0) -> dict[str, int | None]:
    """Answers adding up to `total`, with the last item (PHQ-9 item 9, MADRS item 10) set."""
    items = get_instrument(instrument_id).asked_items
    scores = _spread(total - last, [item.max_score for item in items[:-1]])
    return {item.id: value for item, value in zip(items, [*scores, last], strict=True)}


# One item of each QIDS-SR16 domain except suicidality (domain totals are the max per domain).
_QIDS_CARRIERS = ("sleep_night", "sad_mood", "appetite_decreased", "concentration",
                  "self_view", "general_interest", "energy", "slowed_down")


def _qids(total: int) -> dict[str, int | None]:
    """QIDS-SR16 answers whose domain total is `total` (item 12, suicidality, left at 0)."""
    answers: dict[str, int | None] = {i.id: 0 for i in get_instrument("qids-sr16").asked_items}
    for item_id, value in zip(_QIDS_CARRIERS, _spread(total, [3] * len(_QIDS_CARRIERS)),
                              strict=True):
        answers[item_id] = value
    return answers


def _staff(ctx: AuditContext) -> service.Rater:
    assert ctx.actor_user_id is not None, "demo staff accounts are created first"
    return service.Rater.staff(ctx.actor_user_id)


def _at(day: date, hour: int) -> datetime:
    moment = datetime.combine(day, time(hour), UTC)
    return min(moment, utcnow() - timedelta(minutes=30))


def _active_course_history(session: Session, ctx: AuditContext, patient_id: int,
                           start_on: date, infusion_days: Sequence[date]) -> None:
    nurse = staff_context(session, Role.NURSE, ctx)
    prescriber = staff_context(session, Role.PRESCRIBER, ctx)
    staff = _staff(prescriber)
    portal = service.Rater.portal()
    baseline_day = start_on - timedelta(days=3)

    def rate(instrument_id: str, answers: dict[str, int | None], rater: service.Rater,
             at: datetime, as_ctx: AuditContext) -> None:
        service.record_assessment(session, as_ctx, patient_id=patient_id,
                                  instrument_id=instrument_id, answers=answers, rater=rater,
                                  rated_at=at)

    rate("madrs", _answers("madrs", MADRS_COURSE[0]), staff, _at(baseline_day, 10), prescriber)
    rate("phq9", _answers("phq9", 18), portal, _at(baseline_day, 8), ctx)
    # No QIDS-SR16 before the first infusion: its panel says "no pre-treatment baseline".
    past = [day for day in infusion_days if day <= utcnow().date()]
    for day, total in zip(past, MADRS_COURSE[1:], strict=False):
        # Rated the morning after each infusion (or today, before the next one).
        rate("madrs", _answers("madrs", total), staff, _at(day + timedelta(days=1), 9),
             prescriber)
    weekly = [start_on + timedelta(days=7 * week) for week in range(1, 3)]
    for week, day in enumerate(d for d in weekly if d <= utcnow().date()):
        # The first weekly PHQ-9 has item 9 positive: its alert is left open for the demo.
        rate("phq9", _answers("phq9", 12 - 4 * week, last=1 if week == 0 else 0), portal,
             _at(day, 7), ctx)
        rate("qids-sr16", _qids(12 - 4 * week), portal, _at(day, 7), ctx)
    nurse_rater = _staff(nurse)
    rate("ymrs", _answers("ymrs", 4), nurse_rater, _at(start_on + timedelta(days=5), 11), nurse)


def seed_assessments(session: Session, ctx: AuditContext, patients: Sequence[Patient]) -> int:
    """Rating histories for the demo patients' courses; returns how many patients got one."""
    seeded = 0
    for patient in patients:
        course = courses.latest_course(session, patient_id=patient.id)
        if course is None:
            continue
        if course.state is CourseState.ACTIVE:
            days = planned_dates(course.start_on, course.infusion_count, course.frequency,
                                 skip_weekends=course.skip_weekends)
            _active_course_history(session, ctx, patient.id, course.start_on, days)
        else:
            prescriber = staff_context(session, Role.PRESCRIBER, ctx)
            when = utcnow() - timedelta(days=2)
            service.record_assessment(session, prescriber, patient_id=patient.id,
                                      instrument_id="madrs", answers=_answers("madrs", 29),
                                      rater=_staff(prescriber),
                                      rated_at=when)
            service.record_assessment(session, ctx, patient_id=patient.id,
                                      instrument_id="phq9", answers=_answers("phq9", 16),
                                      rater=service.Rater.portal(), rated_at=when)
        seeded += 1
    return seeded
