"""The PK chart: the regimen as given from the record, the planned prediction, the SVG."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from ketaflow.dosing import SaltForm
from ketaflow.infusions.models import EventKind, InfusionOrder, InfusionSession, SessionEvent
from ketaflow.infusions.pk_chart import build_chart, given_regimen
from ketaflow.infusions.rules import SessionStatus

START = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return START + timedelta(minutes=minutes)


def order(salt: SaltForm = SaltForm.BASE) -> InfusionOrder:
    return InfusionOrder(drug="ketamine", lot_number="L", expiry_date=date(2027, 1, 1),
                         concentration_mg_per_ml=1.0, concentration_salt=salt,
                         dose_salt=SaltForm.BASE, dose_mg_per_kg=0.5, dose_mg=35.0,
                         dose_mg_base=35.0, dosing_weight_kg=70.0, duration_min=40.0,
                         volume_ml=35.0, rate_ml_per_h=52.5, delivered_dose_mg=35.0)


def event(minutes: float, action: str | None = None, to: float | None = None) -> SessionEvent:
    if to is not None:
        return SessionEvent(kind=EventKind.RATE_CHANGE, occurred_at=at(minutes),
                            detail={"action": "change_rate", "to_ml_per_h": to})
    return SessionEvent(kind=EventKind.STATUS, occurred_at=at(minutes), detail={"action": action})


def session(events: list[SessionEvent], ended: float | None,
            status: SessionStatus = SessionStatus.RUNNING) -> InfusionSession:
    record = InfusionSession(status=status, started_at=START,
                             ended_at=None if ended is None else at(ended))
    record.events = [event(0, "start"), *events]
    return record


def test_given_regimen_follows_pauses_and_rate_changes() -> None:
    record = session([event(10, "pause"), event(15, "resume"), event(20, to=30.0),
                      event(45, "stop")], ended=45)
    regimen = given_regimen(record, order(), at(60))
    assert regimen is not None
    assert [(i.start_min, i.duration_min, round(i.rate_mg_per_min * 60, 3))
            for i in regimen.infusions] == [(0.0, 10.0, 52.5), (15.0, 5.0, 52.5),
                                            (20.0, 25.0, 30.0)]


def test_hydrochloride_vials_are_converted_to_base() -> None:
    regimen = given_regimen(session([], ended=40), order(SaltForm.HYDROCHLORIDE), at(40))
    assert regimen is not None
    assert regimen.infusions[0].rate_mg_per_min == pytest.approx(52.5 / 60 * 237.7 / 274.2,
                                                                 rel=1e-3)


def test_still_running_counts_until_now_and_unstarted_has_none() -> None:
    regimen = given_regimen(session([], ended=None), order(), at(12))
    assert regimen is not None and regimen.infusions[0].duration_min == pytest.approx(12.0)
    assert given_regimen(InfusionSession(status=SessionStatus.PRECHECKS), order(), at(1)) is None


def test_chart_matches_published_prediction_and_is_csp_safe() -> None:
    chart = build_chart(session([], ended=None), order(), at(20))
    # docs/pk.md: Kamp, 70 kg, 35 mg over 40 min -> 253.1 ng/mL at 40 min.
    assert chart.planned_end_ng_per_ml == pytest.approx(253.1, abs=0.1)
    assert chart.planned_peak_ng_per_ml == pytest.approx(253.1, abs=1.0)
    assert chart.below_lowest_line_min == pytest.approx(119.8, abs=0.1)
    assert chart.svg.startswith("<svg") and "style=" not in chart.svg
    assert "<script" not in chart.svg and 'aria-label="Predicted plasma ketamine' in chart.svg
    series = {point["series"] for point in chart.spec["layer"][0]["data"]["values"]}
    assert series == {"planned: 35.0 mg base over 40 min", "as given"}
    assert ">as given</text>" in chart.svg and ">now</text>" in chart.svg
    given = [p for p in chart.spec["layer"][0]["data"]["values"] if p["series"] == "as given"]
    assert max(p["t_min"] for p in given) <= 20.0  # drawn up to now, not beyond
    final = build_chart(session([event(40, "stop")], ended=40, status=SessionStatus.DISCHARGED),
                        order(), at(200))
    assert ">now</text>" not in final.svg


def test_planned_prediction_is_reused_for_an_order_and_never_for_another() -> None:
    record = session([], ended=None)
    first = build_chart(record, order(), at(20))
    assert build_chart(record, order(), at(20)) == first
    heavier = order()
    heavier.dosing_weight_kg, heavier.dose_mg_base, heavier.dose_mg = 90.0, 45.0, 45.0
    other = build_chart(record, heavier, at(20))
    # Kamp scales every volume and clearance with weight: the same mg/kg gives the same
    # concentrations, so a different dose at the same weight tells the orders apart.
    assert other.planned_end_ng_per_ml == pytest.approx(first.planned_end_ng_per_ml, rel=1e-9)
    larger = order()
    larger.dose_mg_base = larger.dose_mg = 52.5
    bigger = build_chart(record, larger, at(20))
    assert bigger.planned_end_ng_per_ml == pytest.approx(first.planned_end_ng_per_ml * 1.5,
                                                         rel=1e-9)
    assert bigger.svg != first.svg
