"""Early warnings on hand-made daily series: every rule at its edge, with its reason."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ketaflow.mood.entries import Entry, EntryError, daily_summaries
from ketaflow.mood.series import DailySeries, one_patient
from ketaflow.mood.settings import DEFAULT_MOOD_SETTINGS as DEFAULTS
from ketaflow.mood.signals import (
    Rating,
    SignalKind,
    daily_conditions,
    daily_signals,
    disengaged_days,
    rating_signals,
)

START = date(2026, 3, 2)
Day = float | None


def series(depressed: Sequence[Day], elevation: Sequence[Day] | None = None,
           sleep: Sequence[Day] | None = None, med_changes: Sequence[int] = ()) -> DailySeries:
    """One patient; None is a day without an entry (in `depressed`) or without sleep."""
    def row(values: Sequence[Day]) -> np.ndarray:
        return np.array([[np.nan if v is None else v for v in values]], dtype=float)
    days = len(depressed)
    dep = row(depressed)
    up = row(elevation if elevation is not None else [0] * days)
    up[np.isnan(dep)] = np.nan
    changes = np.zeros((1, days), dtype=bool)
    changes[0, list(med_changes)] = True
    return DailySeries(START, dep, up, up.copy(), row(sleep or [None] * days), changes)


def kinds_and_days(found: Sequence[object]) -> list[tuple[str, int]]:
    return [(s.kind.value, (s.day - START).days) for s in found]  # type: ignore[attr-defined]


EUTHYMIC = [0] * 12  # more than the 10 euthymic days a personal baseline needs


def test_worst_of_the_day_per_pole_and_the_latest_sleep() -> None:
    day = date(2026, 3, 5)
    [summary] = daily_summaries([
        Entry(day, depressed=1, elevated=0, irritable=2, anxious=1, sleep_h=6.0),
        Entry(day, depressed=3, elevated=1, irritable=0, anxious=0),
        Entry(day, depressed=0, elevated=0, irritable=0, anxious=2, sleep_h=7.5)])
    assert (summary.depressed, summary.elevated, summary.irritable, summary.anxious) == (3, 1, 2, 2)
    assert summary.sleep_h == 7.5 and summary.entries == 3
    assert summary.elevation == 2 and summary.mood == 1 - 3


@pytest.mark.parametrize(("field", "values"), [
    ("depressed", {"depressed": 4}), ("anxious", {"anxious": -1}),
    ("elevated", {"elevated": True}), ("sleep_h", {"sleep_h": 24.5}),
    ("sleep_h", {"sleep_h": float("nan")})])
def test_out_of_range_reports_are_refused_naming_the_field(field: str,
                                                           values: dict[str, object]) -> None:
    base: dict[str, object] = {"depressed": 0, "elevated": 0, "irritable": 0, "anxious": 0}
    with pytest.raises(EntryError) as error:
        Entry(START, **(base | values))  # type: ignore[arg-type]
    assert error.value.field == field


def test_disengagement_starts_on_the_third_day_without_an_entry() -> None:
    assert kinds_and_days(daily_signals(series([0, 0, None, None, 0, None, None, None, 0]))) == [
        ("disengagement", 7)]
    assert daily_signals(series([0, 0, None, None, 0])) == []


def test_relapse_needs_a_well_period_first() -> None:
    """The episode a patient starts charting in is not a relapse: a relapse needs the
    euthymic days a personal baseline is made of."""
    assert daily_signals(series([2, 2, 3, 3, 2, 3])) == []
    found = daily_signals(series([*EUTHYMIC, 1, 1]))
    assert kinds_and_days(found) == [("relapse", 13)]
    assert found[0].reason == ("possible depressive relapse: depressed mood averaging 0.4 over "
                               "the last 5 days (usual 0)")
    assert daily_signals(series([*EUTHYMIC, 1, 0])) == []  # 0.2: within the usual


def test_a_personal_baseline_needs_ten_euthymic_days() -> None:
    # Usual 0: a recent level of 0.4 (two mild days in five) is a change for this patient ...
    assert kinds_and_days(daily_signals(series([0] * 10 + [1, 1, 1]))) == [("relapse", 11)]
    # ... but with nine euthymic days the population cut-off (1.5) still applies.
    assert daily_signals(series([0] * 9 + [1, 1, 1])) == []


def test_a_medication_change_restarts_the_baseline() -> None:
    assert daily_signals(series([*EUTHYMIC, 1, 1, 1], med_changes=[11])) == []
    assert kinds_and_days(daily_signals(series([*EUTHYMIC, 1, 1, 1], med_changes=[1]))) == [
        ("relapse", 13)]


def test_a_spread_out_baseline_needs_a_bigger_rise() -> None:
    flat, wobbly = [0] * 12, [0, 1] * 6  # usual 0, and usual about 0.5
    assert kinds_and_days(daily_signals(series([*flat, 2, 2, 2]))) == [("relapse", 12)]
    assert kinds_and_days(daily_signals(series([*wobbly, 2, 2, 2]))) == [("relapse", 13)]
    assert daily_signals(series([*wobbly, 1, 1, 1])) == []  # still within the usual


def test_switch_from_short_nights_with_few_entries() -> None:
    found = daily_signals(series([0, 0], [2, 2], [4.5, 5.0]))  # usual 7 h: 5.0 is 2 h short
    assert kinds_and_days(found) == [("switch", 1)]
    assert found[0].reason == ("possible manic switch: elevated or irritable mood averaging 2 "
                               "over the last 5 days (no personal baseline yet) with 2 of the "
                               "last 3 nights at least 2 h below usual sleep (7 h)")
    assert daily_signals(series([0, 0], [2, 2], [4.5, 5.1])) == []


def test_switch_from_a_raised_upper_pole() -> None:
    found = daily_signals(series([0] * 3, [2, 2, 1]))
    assert kinds_and_days(found) == [("switch", 2)]
    assert found[0].reason.endswith("(no personal baseline yet)")
    assert daily_signals(series([0] * 3, [2, 1, 1])) == []


def test_one_warning_per_episode_and_none_again_within_the_refractory_days() -> None:
    bouts = [*EUTHYMIC, 2, 2, 0, 0, 0, 0, 0, 0, 2, 2]  # a second bout eight days later
    assert kinds_and_days(daily_signals(series(bouts))) == [("relapse", 12), ("relapse", 20)]
    close = replace(DEFAULTS, refractory_days=9)
    assert kinds_and_days(daily_signals(series(bouts), close)) == [("relapse", 12)]


def test_rating_signals_at_their_cut_offs() -> None:
    day = START
    found = rating_signals([Rating(day, "asrm", 5), Rating(day, "asrm", 6),
                            Rating(day, "ymrs", 11), Rating(day, "ymrs", 12),
                            Rating(day, "qids-sr16", 10), Rating(day, "qids-sr16", 11)])
    assert [(s.kind.value, s.reason) for s in found] == [
        ("relapse", "possible depressive relapse: QIDS-SR16 11 (at least 11)"),
        ("switch", "possible manic switch: ASRM 6 (at least 6)"),
        ("switch", "possible manic switch: YMRS 12 (at least 12)")]


def test_madrs_relapse_needs_a_response_then_two_ratings_above_the_threshold() -> None:
    def madrs(*totals: int) -> list[Rating]:
        return [Rating(START + timedelta(days=7 * i), "madrs", t) for i, t in enumerate(totals)]
    [relapse] = rating_signals(madrs(30, 15, 16, 16))
    assert relapse.kind is SignalKind.RELAPSE and relapse.day == START + timedelta(days=21)
    assert rating_signals(madrs(30, 15, 16, 15, 16)) == []  # never twice in a row
    assert rating_signals(madrs(30, 16, 17, 18)) == []      # never responded


@settings(max_examples=60, deadline=None)
@given(depressed=st.integers(0, 1), elevation=st.integers(0, 1),
       sleep_h=st.floats(3.0, 12.0), days=st.integers(1, 120))
def test_no_signal_from_a_flat_euthymic_series(depressed: int, elevation: int, sleep_h: float,
                                               days: int) -> None:
    assert daily_signals(series([depressed] * days, [elevation] * days, [sleep_h] * days)) == []


@settings(max_examples=60, deadline=None)
@given(present=st.lists(st.booleans(), min_size=1, max_size=60), data=st.data())
def test_a_missing_day_never_removes_a_disengaged_day(present: list[bool],
                                                      data: st.DataObject) -> None:
    before = np.array([present])
    index = data.draw(st.integers(0, len(present) - 1))
    after = before.copy()
    after[0, index] = False
    was, now = (disengaged_days(p, DEFAULTS.disengagement_days) for p in (before, after))
    assert not (was & ~now).any()


def test_the_sweep_over_many_patients_matches_one_at_a_time() -> None:
    rng = np.random.default_rng(7)
    dep = rng.choice([0.0, 0.0, 1.0, 2.0, 3.0, np.nan], size=(40, 90))
    up = np.where(np.isnan(dep), np.nan, rng.choice([0.0, 0.0, 1.0, 2.0], size=(40, 90)))
    sleep = np.where(np.isnan(dep), np.nan, rng.normal(7, 1.5, size=(40, 90)))
    changes = rng.random((40, 90)) < 0.02
    group = DailySeries(START, dep, up, up, sleep, changes)
    together = daily_conditions(group)
    for p in range(40):
        alone = daily_conditions(DailySeries(START, dep[p:p + 1], up[p:p + 1], up[p:p + 1],
                                             sleep[p:p + 1], changes[p:p + 1]))
        for name in ("switch_onset", "relapse_onset", "disengaged_onset"):
            assert (getattr(alone, name)[0] == getattr(together, name)[p]).all(), (p, name)


def test_one_patient_lays_summaries_out_by_date() -> None:
    laid = one_patient(daily_summaries([
        Entry(START + timedelta(days=2), depressed=2, elevated=1, irritable=3, anxious=0,
              sleep_h=5.5)]), start=START, end=START + timedelta(days=3),
        med_changes=[START + timedelta(days=1)])
    assert np.isnan(laid.depressed[0, [0, 1, 3]]).all() and laid.depressed[0, 2] == 2
    assert laid.elevation[0, 2] == 3 and laid.mood[0, 2] == 1 - 2
    assert laid.sleep_h[0, 2] == 5.5 and laid.med_change[0].tolist() == [False, True, False,
                                                                         False]
