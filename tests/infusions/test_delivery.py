"""The dose actually delivered (infusions.rules.delivery): hand-computed cases and properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ketaflow.infusions.rules import OrderedDose, PumpChange, PumpEvent, delivered

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
# 70 kg x 0.5 mg/kg = 35 mg at 1 mg/mL: 35 mL over 40 min, 52.5 mL/h.
ORDER = OrderedDose(dose_mg=35.0, volume_ml=35.0, duration_min=40.0,
                    concentration_mg_per_ml=1.0)
P = PumpChange


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def ev(minutes: float, change: PumpChange, rate: float | None = None) -> PumpEvent:
    return PumpEvent(at(minutes), change, rate)


def test_uninterrupted_full_run_gives_the_ordered_dose() -> None:
    d = delivered([ev(0, P.START, 52.5), ev(40, P.STOP)], ORDER, until=at(100))
    assert d.volume_ml == pytest.approx(35.0) and d.dose_mg == pytest.approx(35.0)
    assert (d.running_min, d.paused_min, d.pauses, d.rate_changes) == (
        pytest.approx(40.0), 0.0, 0, 0)
    assert d.stopped_at == at(40)


def test_pause_and_rate_change_hand_computed() -> None:
    # 0-10 at 52.5 (8.75 mL), paused 10-15, 15-25 at 52.5 (8.75 mL), 25-35 at 26.25
    # (4.375 mL): 21.875 mL = 21.875 mg; 30 min running, 5 min paused.
    d = delivered([ev(0, P.START, 52.5), ev(10, P.PAUSE), ev(15, P.RESUME),
                   ev(25, P.RATE, 26.25), ev(35, P.STOP)], ORDER, until=at(60))
    assert d.volume_ml == pytest.approx(21.875) and d.dose_mg == pytest.approx(21.875)
    assert d.running_min == pytest.approx(30.0) and d.paused_min == pytest.approx(5.0)
    assert (d.pauses, d.rate_changes) == (1, 1)


def test_early_stop_after_ten_minutes() -> None:
    d = delivered([ev(0, P.START, 52.5), ev(10, P.STOP)], ORDER, until=at(60))
    assert d.volume_ml == pytest.approx(8.75) and d.fraction_of(ORDER) == pytest.approx(0.25)


def test_rate_set_while_paused_applies_on_resume() -> None:
    # 0-10 at 52.5 (8.75 mL), paused 10-15 (rate set to 20 at 12), 15-25 at 20 (3.333 mL).
    d = delivered([ev(0, P.START, 52.5), ev(10, P.PAUSE), ev(12, P.RATE, 20.0),
                   ev(15, P.RESUME), ev(25, P.STOP)], ORDER, until=at(60))
    assert d.volume_ml == pytest.approx(8.75 + 20 * 10 / 60)
    assert d.paused_min == pytest.approx(5.0)


def test_stop_while_paused_and_still_paused_now() -> None:
    stopped = delivered([ev(0, P.START, 52.5), ev(10, P.PAUSE), ev(18, P.STOP)], ORDER,
                        until=at(60))
    assert stopped.volume_ml == pytest.approx(8.75) and stopped.paused_min == pytest.approx(8.0)
    still = delivered([ev(0, P.START, 52.5), ev(10, P.PAUSE)], ORDER, until=at(30))
    assert still.volume_ml == pytest.approx(8.75) and still.paused_min == pytest.approx(20.0)
    assert still.stopped_at is None


def test_running_now_counts_up_to_until() -> None:
    d = delivered([ev(0, P.START, 52.5)], ORDER, until=at(20))
    assert d.volume_ml == pytest.approx(17.5) and d.running_min == pytest.approx(20.0)


def test_dose_in_the_order_salt() -> None:
    # An order of 40 mg (hydrochloride) drawn up as 35 mL of 1 mg/mL base: half the volume
    # is 20 mg of the dose salt and 17.5 mg as labelled.
    order = OrderedDose(dose_mg=40.0, volume_ml=35.0, duration_min=40.0,
                        concentration_mg_per_ml=1.0)
    d = delivered([ev(0, P.START, 52.5), ev(20, P.STOP)], order, until=at(60))
    assert d.dose_mg == pytest.approx(20.0) and d.dose_mg_as_labelled == pytest.approx(17.5)


def test_nothing_before_the_start() -> None:
    d = delivered([], ORDER, until=at(60))
    assert (d.volume_ml, d.dose_mg, d.running_min) == (0.0, 0.0, 0.0)


orders = st.builds(
    lambda dose, conc, duration: OrderedDose(dose_mg=dose, volume_ml=dose / conc,
                                             duration_min=duration,
                                             concentration_mg_per_ml=conc),
    st.floats(5, 100), st.sampled_from([1.0, 2.0, 10.0]), st.floats(5, 120))
steps = st.lists(st.tuples(st.floats(0.01, 1.0),             # share of running time
                           st.floats(0.01, 1.0),             # rate as a share of the order's
                           st.floats(0, 30),                 # minutes paused after it
                           st.booleans()),                   # pause after it?
                 min_size=1, max_size=8)


def _events(order: OrderedDose, plan: list[tuple[float, float, float, bool]],
            run_share: float) -> list[PumpEvent]:
    """A run whose rates never exceed the order's and whose running time is at most the
    ordered duration (a pump programmed with the order stops at its volume)."""
    signed = order.volume_ml / order.duration_min * 60
    total = sum(share for share, _, _, _ in plan)
    clock, events = 0.0, []
    for index, (share, rate_share, pause_min, pause) in enumerate(plan):
        rate = signed * rate_share
        events.append(ev(clock, P.START if index == 0 else P.RATE, rate))
        clock += order.duration_min * run_share * share / total
        if pause:
            events.append(ev(clock, P.PAUSE))
            clock += pause_min
            events.append(ev(clock, P.RESUME))
    events.append(ev(clock, P.STOP))
    return events


@settings(max_examples=200, deadline=None)
@given(orders, steps, st.floats(0.0, 1.0))
def test_never_more_than_ordered_when_rates_stay_within_the_order(
        order: OrderedDose, plan: list[tuple[float, float, float, bool]],
        run_share: float) -> None:
    d = delivered(_events(order, plan, run_share), order, until=at(10_000))
    assert d.volume_ml <= order.volume_ml * (1 + 1e-6)  # event times carry whole microseconds
    assert d.dose_mg <= order.dose_mg * (1 + 1e-6)  # event times carry whole microseconds
    assert d.running_min <= order.duration_min * (1 + 1e-6)  # event times carry whole microseconds


@settings(max_examples=200, deadline=None)
@given(orders)
def test_uninterrupted_full_length_run_equals_the_ordered_dose(order: OrderedDose) -> None:
    signed = order.volume_ml / order.duration_min * 60
    d = delivered([ev(0, P.START, signed), ev(order.duration_min, P.STOP)], order,
                  until=at(10_000))
    # Times carry whole microseconds: the stop is rounded to one.
    assert d.dose_mg == pytest.approx(order.dose_mg, rel=1e-6)
    assert d.volume_ml == pytest.approx(order.volume_ml, rel=1e-6)
