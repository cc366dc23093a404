"""After `ketaflow demo seed` the dashboard shows the demo clinic's numbers: several courses
with end-of-induction ratings, responders, a remitter, a curve and a drop-out in the funnel."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ketaflow.demo import seed_demo
from ketaflow.outcomes import service
from tests.support.factories import SYSTEM


def test_the_demo_clinic_has_outcomes(db: Session) -> None:
    seed_demo(db, SYSTEM)
    board = service.outcome_dashboard(db, SYSTEM, filters=service.Filters(), small_cells=True)
    madrs = board.endpoint("madrs")
    assert madrs.evaluable >= 5
    assert madrs.responders >= 3 and madrs.remitters >= 2
    assert madrs.responders < madrs.evaluable  # a non-responder too
    curve = board.curves["madrs"]
    assert curve is not None and curve.events >= 3
    assert board.funnel.infusions[1] > board.funnel.infusions[5]  # someone stopped early
