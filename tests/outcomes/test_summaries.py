"""The dashboard from the per-course summaries is exactly the dashboard recomputed from the raw
rows (the live reference), on both databases: on the hand-made cohort under every filter, and
after ratings are added and amended, courses stopped or moved to maintenance, a diagnosis or
a site changes, and settings change; the stale markers are written by the flush and deleted
by the refresh that read them."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ketaflow.booking.models import Appointment, AppointmentKind
from ketaflow.clinical.course_plan import CourseState
from ketaflow.courses import service as courses_service
from ketaflow.courses.models import TreatmentCourse
from ketaflow.db import utcnow
from ketaflow.infusions.models import EventKind, InfusionSession, SessionAlert, SessionEvent
from ketaflow.infusions.rules import AlertLevel
from ketaflow.outcomes import service
from ketaflow.outcomes.models import OutcomeCourse, OutcomeStalePatient
from ketaflow.outcomes.service import Filters, summaries
from ketaflow.patients.diagnosis_codes import BipolarType, Episode, icd10_code, snomed_code
from ketaflow.patients.models import Diagnosis, SubstanceUse
from ketaflow.settings.service import change_setting
from tests.outcomes.factories import amend, anchor, course, make_clinic, rate, site
from tests.outcomes.test_service import _cohort
from tests.support.factories import SYSTEM

DAY = timedelta(days=1)


def _same(db: Session, filters: Filters, at: datetime | None = None) -> service.Dashboard:
    """The summary dashboard, asserted equal to the live one (same moment, same settings)."""
    moment = at or utcnow()
    board = service.outcome_dashboard(db, SYSTEM, filters=filters, small_cells=True, at=moment)
    live = service.outcome_dashboard(db, SYSTEM, filters=filters, small_cells=True, at=moment,
                                     live=True)
    # repr: exact for floats, and an undefined standard error (NaN) equals itself there.
    assert repr(board) == repr(live)
    researcher = service.outcome_dashboard(db, SYSTEM, filters=filters, small_cells=False,
                                           at=moment)
    assert repr(researcher) == repr(service.outcome_dashboard(
        db, SYSTEM, filters=filters, small_cells=False, at=moment, live=True))
    return board


def _diagnose(db: Session, patient_id: int, bipolar: BipolarType) -> None:
    db.add(Diagnosis(patient_id=patient_id, bipolar_type=bipolar,
                     current_episode=Episode.DEPRESSED,
                     icd10_code=icd10_code(bipolar, Episode.DEPRESSED, None),
                     snomed_code=snomed_code(bipolar), psychosis_history=False,
                     substance_use=SubstanceUse.NONE, suicide_attempts=0))
    db.flush()


def _stale(db: Session) -> set[int]:
    return set(db.scalars(select(OutcomeStalePatient.patient_id)))


def test_the_summaries_give_the_live_figures_under_every_filter(db: Session) -> None:
    ids = _cohort(db)
    board = _same(db, Filters())
    assert board.endpoint("madrs").responders == 5  # the cohort's known figures, unchanged
    for filters in (Filters(site_id=ids["north"]), Filters(site_id=ids["south"]),  # type: ignore[arg-type]
                    Filters(without_site=True), Filters(bipolar_type=BipolarType.BIPOLAR_II),
                    Filters(prescriber_id=ids["other"]),  # type: ignore[arg-type]
                    Filters(start_from=ids["later"]),  # type: ignore[arg-type]
                    Filters(induction_ended_since=anchor(80), induction_ended_before=utcnow())):
        _same(db, filters)


def test_changes_after_a_read_are_counted_at_the_next(db: Session) -> None:
    clinic = make_clinic(db)
    first = anchor(60)
    a = course(db, clinic, first=first)
    rate(db, a, 30, first - DAY)
    b = course(db, clinic, first=first, given=3)
    rate(db, b, 28, first - DAY)
    assert _same(db, Filters()).endpoint("madrs").evaluable == 0
    assert _stale(db) == set()  # the read's refresh deleted the markers it read
    # A rating after the induction: a marker for that patient only, then an endpoint.
    ended = rate(db, a, 20, a.last + DAY)
    assert _stale(db) == {a.row.patient_id}
    assert _same(db, Filters()).endpoint("madrs").evaluable == 1
    # Amended to a responder's total; then a lower rating later (a new running low).
    amend(db, ended, 14)
    rate(db, a, 9, a.last + 9 * DAY)
    board = _same(db, Filters())
    assert board.endpoint("madrs").responders == 1
    # B stops after three infusions (its induction is over), a rating a day later.
    courses_service.change_course_state(db, SYSTEM, course_id=b.row.id,
                                        target=CourseState.STOPPED, reason="moved away")
    rate(db, b, 13, b.last + DAY)
    assert _same(db, Filters()).endpoint("madrs").courses == 2
    # A's course moves to maintenance; a site is booked for B; a diagnosis for A.
    courses_service.change_course_state(db, SYSTEM, course_id=a.row.id,
                                        target=CourseState.MAINTENANCE)
    north = site(db, "N")
    db.add(Appointment(patient_id=b.row.patient_id, site_id=north.id,
                       kind=AppointmentKind.INFUSION, course_id=b.row.id, infusion_number=1,
                       starts_at=first - 2 * DAY, minutes=120))
    # Charted during A's first session: an adverse event, a CADSS-6, a blood-pressure alert.
    session_id = db.scalars(select(InfusionSession.id)
                            .where(InfusionSession.course_id == a.row.id)).first()
    assert session_id is not None
    db.add_all([SessionEvent(session_id=session_id, kind=EventKind.ADVERSE_EVENT, serious=True),
                SessionEvent(session_id=session_id, kind=EventKind.CADSS6, total=9),
                SessionAlert(session_id=session_id, level=AlertLevel.REVIEW, code="sbp_high",
                             field="sbp_mmhg", message="SBP above the limit")])
    db.flush()
    board = _same(db, Filters())
    assert board.funnel.maintenance == 1
    assert (board.safety.adverse_events, board.safety.serious_adverse_events,
            board.safety.bp_alerts) == (1, 1, 1)
    assert board.safety.peak_cadss is not None and board.safety.peak_cadss.median == 9
    assert _same(db, Filters(site_id=north.id)).counts.courses == 1


def test_a_changed_setting_needs_no_refresh(db: Session) -> None:
    _cohort(db)
    _same(db, Filters())
    later = utcnow() + timedelta(seconds=1)
    change_setting(db, SYSTEM, group="scales", name="response_min_drop_pct", value=40,
                   reason="the clinic's definition", effective_from=later)
    change_setting(db, SYSTEM, group="outcomes", name="end_of_induction_window_days",
                   value=14, reason="later ratings count", effective_from=later)
    board = _same(db, Filters(), at=later + timedelta(seconds=1))
    assert board.thresholds.response_min_drop_pct == 40
    assert board.settings.end_of_induction_window_days == 14
    # D's 20 ten days after (33%) now lies within the window; C's 20 (33%) is still not 40%.
    assert board.endpoint("madrs").evaluable == 7


def test_courses_without_a_summary_are_computed_at_the_next_read(db: Session) -> None:
    """As after the migration or `ketaflow demo generate` (rows written without a flush)."""
    _cohort(db)
    _same(db, Filters())
    db.execute(delete(OutcomeCourse))
    assert summaries.refresh_summaries(db) == 10
    assert db.scalar(select(func.count()).select_from(OutcomeCourse)) == \
        db.scalar(select(func.count()).select_from(TreatmentCourse))
    _same(db, Filters())


def test_the_monthly_reports_endpoints_are_the_live_ones(db: Session) -> None:
    _cohort(db)
    filters = Filters(induction_ended_since=anchor(85), induction_ended_before=utcnow())
    moment = utcnow()
    assert service.end_of_induction(db, filters=filters, small_cells=True, at=moment) == \
        service.end_of_induction(db, filters=filters, small_cells=True, at=moment, live=True)


# One step of a random write sequence: (which course, what to do, a total, days offset).
_STEP = st.tuples(st.integers(0, 2), st.sampled_from(["rate", "amend", "stop", "type"]),
                  st.integers(0, 40), st.integers(-3, 30))


@settings(max_examples=8, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(_STEP, min_size=1, max_size=8))
def test_random_write_sequences_keep_the_summaries_exact(
        db: Session, steps: list[tuple[int, str, int, int]]) -> None:
    nested = db.begin_nested()
    try:
        clinic = make_clinic(db)
        first = anchor(70)
        made = [course(db, clinic, first=first, given=given) for given in (6, 4, 2)]
        latest = {}
        for index, action, total, days in steps:
            c = made[index]
            if action == "rate":
                latest[index] = rate(db, c, total, c.last + days * DAY)
            elif action == "amend" and index in latest:
                latest[index] = amend(db, latest[index], total)
            elif action == "stop" and c.row.state is CourseState.ACTIVE:
                courses_service.change_course_state(db, SYSTEM, course_id=c.row.id,
                                                    target=CourseState.STOPPED, reason="why")
            elif action == "type":
                _diagnose(db, c.row.patient_id,
                          BipolarType.BIPOLAR_I if total % 2 else BipolarType.BIPOLAR_II)
            if days % 3 == 0:  # read between some of the writes
                _same(db, Filters())
        _same(db, Filters())
        _same(db, Filters(bipolar_type=BipolarType.BIPOLAR_II))
    finally:
        nested.rollback()
