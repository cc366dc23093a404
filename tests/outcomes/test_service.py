"""Outcome numbers on a hand-made cohort, exact, on both databases: baselines (none, the
fallback, one taken exactly at the first infusion's start), amended ratings (only the current
version counts), the end-of-induction window, courses still in induction, censoring in the
time to response, the funnel and the filters."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.audit.models import AuditEvent
from ketaflow.clinical.course_plan import CourseState
from ketaflow.config import Role
from ketaflow.errors import ValidationFailed
from ketaflow.outcomes import service
from ketaflow.outcomes.service import Filters
from ketaflow.patients.diagnosis_codes import BipolarType
from ketaflow.scales.longitudinal import BaselineFallback
from tests.outcomes.factories import amend, anchor, course, make_clinic, rate, site
from tests.support.factories import SYSTEM, make_user

DAY = timedelta(days=1)


def _cohort(db: Session) -> dict[str, object]:
    """Ten courses (see the module docstring of each line) and what they should give."""
    clinic = make_clinic(db)
    north, south = site(db, "N"), site(db, "S")
    other_prescriber = make_user(db, role=Role.PRESCRIBER, full_name="Dr Other")
    first = anchor(90)
    # A: baseline 30, 12 after the induction: response (60%), no remission (12 > 10).
    a = course(db, clinic, first=first, site=north, bipolar=BipolarType.BIPOLAR_II)
    rate(db, a, 30, first - DAY)
    rate(db, a, 12, a.last + DAY)
    # B: 9: response and remission.
    b = course(db, clinic, first=first, site=north, bipolar=BipolarType.BIPOLAR_I)
    rate(db, b, 30, first - DAY)
    rate(db, b, 9, b.last + DAY)
    # C: 20 (33%): neither; another prescriber, the south site.
    c = course(db, clinic, first=first, site=south, prescriber_id=other_prescriber.id)
    rate(db, c, 30, first - DAY)
    rate(db, c, 20, c.last + DAY)
    # D: the only later rating is 10 days after the last infusion: outside the 7-day window.
    d = course(db, clinic, first=first)
    rate(db, d, 30, first - DAY)
    rate(db, d, 20, d.last + 10 * DAY)
    # E: rated exactly when the first infusion started, never before: no baseline.
    e = course(db, clinic, first=first)
    rate(db, e, 30, first)
    rate(db, e, 8, e.last + DAY)
    # F: no pre-treatment rating, the prescriber chose the fallback (28 an hour after the
    # first start): 14 is exactly a 50% drop: response.
    f = course(db, clinic, first=first, fallback=BaselineFallback.FIRST_AFTER_FIRST_INFUSION)
    rate(db, f, 28, first + timedelta(hours=1))
    rate(db, f, 14, f.last + DAY)
    # G: 16 (47%) corrected to 15 (50%): the amended value counts, so response.
    g = course(db, clinic, first=first)
    rate(db, g, 30, first - DAY)
    amend(db, rate(db, g, 16, g.last + DAY), 15)
    # H: three of six infusions given, still active: in induction, no endpoint yet.
    h = course(db, clinic, first=first, given=3)
    rate(db, h, 30, first - DAY)
    rate(db, h, 25, first + 5 * DAY)
    # J: stopped after two infusions: its induction is over; 14 a day after the second.
    j = course(db, clinic, first=first, given=2, state=CourseState.STOPPED)
    rate(db, j, 30, first - DAY)
    rate(db, j, 14, j.last + DAY)
    # K: planned to start later, nothing given.
    k = course(db, clinic, first=anchor(30), given=0, state=CourseState.PLANNED)
    return {"north": north.id, "south": south.id, "other": other_prescriber.id,
            "later": k.first.date()}


def _board(db: Session, **filters: object) -> service.Dashboard:
    return service.outcome_dashboard(db, SYSTEM, filters=Filters(**filters),  # type: ignore[arg-type]
                                     small_cells=True)


def test_end_of_induction_figures_are_exact(db: Session) -> None:
    _cohort(db)
    board = _board(db)
    assert (board.counts.courses, board.counts.treated, board.counts.induction_over) == (10, 9, 8)
    madrs = board.endpoint("madrs")
    assert (madrs.courses, madrs.with_baseline, madrs.fallback_baselines, madrs.evaluable,
            madrs.responders, madrs.remitters) == (8, 7, 1, 6, 5, 1)
    assert board.response("madrs").value == pytest.approx(5 / 6)
    assert board.remission("madrs").value == pytest.approx(1 / 6)
    # No PHQ-9 was rated: no baseline, and a rate of nothing rather than zero.
    phq9 = board.endpoint("phq9")
    assert (phq9.with_baseline, phq9.evaluable) == (0, 0)
    assert board.response("phq9").value is None


def test_time_to_response_censors_courses_without_a_response(db: Session) -> None:
    _cohort(db)
    curve = _board(db).curves["madrs"]
    assert curve is not None
    # Events: J on day 3; A, B, F, G on day 12. Censored: H (day 5), C (day 12), D (day 21).
    assert (curve.n, curve.events, curve.censored) == (8, 5, 3)
    assert curve.times == pytest.approx((3.0, 12.0))
    assert curve.at_risk == (8, 6)  # C, censored on day 12, is still at risk then
    assert curve.survival == pytest.approx((7 / 8, 7 / 8 * 2 / 6))
    assert curve.median == pytest.approx(12.0)


def test_over_time_takes_each_course_once_a_week(db: Session) -> None:
    _cohort(db)
    weeks = {w.week: w for w in _board(db).weeks if w.instrument_id == "madrs"}
    assert (weeks[0].rated, weeks[0].responders) == (2, 1)  # H (25) and J (14)
    assert (weeks[1].rated, weeks[1].responders, weeks[1].remitters) == (5, 4, 1)
    assert (weeks[3].rated, weeks[3].responders) == (1, 0)  # D
    assert set(weeks) == {0, 1, 3}


def test_retention_funnel(db: Session) -> None:
    _cohort(db)
    funnel = _board(db).funnel
    assert (funnel.screened, funnel.eligible, funnel.consented) == (10, 10, 10)
    assert funnel.infusions == (9, 9, 8, 7, 7, 7)
    assert funnel.maintenance == 0


def test_filters_by_site_period_type_and_prescriber(db: Session) -> None:
    ids = _cohort(db)
    north = _board(db, site_id=ids["north"])
    assert north.counts.courses == 2 and north.endpoint("madrs").responders == 2
    assert _board(db, site_id=ids["south"]).endpoint("madrs").responders == 0
    assert _board(db, without_site=True).counts.courses == 7
    assert _board(db, bipolar_type=BipolarType.BIPOLAR_II).counts.courses == 1
    assert _board(db, prescriber_id=ids["other"]).counts.courses == 1
    later = _board(db, start_from=ids["later"])
    assert (later.counts.courses, later.counts.treated) == (1, 0)
    assert later.response("madrs").value is None and later.curves["madrs"] is None


def test_an_empty_clinic_has_no_figures_and_no_division_by_zero(db: Session) -> None:
    board = _board(db)
    assert board.counts.courses == 0
    assert all(board.response(e.instrument_id).value is None for e in board.endpoints)
    assert all(curve is None for curve in board.curves.values())
    assert board.safety.peak_cadss is None and board.safety.discharge_minutes is None
    payload = service.as_json(board)
    assert payload["courses"] == 0 and payload["response_rate"] is None


def test_a_period_that_ends_before_it_starts_is_refused(db: Session) -> None:
    day = anchor(10).date()
    with pytest.raises(ValidationFailed, match="To must be on or after From") as refused:
        _board(db, start_from=day, start_to=day - DAY)
    assert refused.value.field == "to"


def test_the_researchers_view_hides_small_cells(db: Session) -> None:
    _cohort(db)
    board = service.outcome_dashboard(db, SYSTEM, filters=Filters(), small_cells=False)
    assert board.researcher_view
    assert board.cell("madrs.responders", 5) == "<11"
    assert not board.rate_shown("madrs.responders", "madrs.evaluable")
    assert "madrs.curve" in board.hidden
    full = _board(db)
    assert not full.hidden and full.cell("madrs.responders", 5) == "5"


def test_each_view_is_audited_with_ids_only(db: Session) -> None:
    ids = _cohort(db)
    _board(db, site_id=ids["north"])
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "outcomes.view")).one()
    detail = json.loads(event.detail)
    assert detail["site_id"] == ids["north"] and detail["small_cells"] is True
