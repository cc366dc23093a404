"""The pure statistics: Kaplan-Meier against a published worked example, the log(-log) band
against its formula, rates and small-cell suppression as properties."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ketaflow.outcomes.stats import (
    Partition,
    Rate,
    kaplan_meier,
    per_100,
    spread,
    suppressed_cells,
)

# Freireich et al. 1963 (Blood 21:699-716), the 6-MP group: weeks in remission; 0 = censored.
# Klein JP, Moeschberger ML, Survival Analysis, 2nd ed. (Springer 2003), table 4.1A lists the
# product-limit estimate and Greenwood's standard error at each relapse time, to 4 places:
SIX_MP_WEEKS = (6, 6, 6, 6, 7, 9, 10, 10, 11, 13, 16, 17, 19, 20, 22, 23, 25, 32, 32, 34, 35)
SIX_MP_RELAPSED = (1, 1, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0)
TABLE_4_1A = (  # time, at risk, relapses, S(t), Greenwood SE
    (6, 21, 3, 0.8571, 0.0764),
    (7, 17, 1, 0.8067, 0.0869),
    (10, 15, 1, 0.7529, 0.0963),
    (13, 12, 1, 0.6902, 0.1068),
    (16, 11, 1, 0.6275, 0.1141),
    (22, 7, 1, 0.5378, 0.1282),
    (23, 6, 1, 0.4482, 0.1346),
)


def _six_mp():  # type: ignore[no-untyped-def]
    curve = kaplan_meier(SIX_MP_WEEKS, [bool(x) for x in SIX_MP_RELAPSED])
    assert curve is not None
    return curve


def test_kaplan_meier_matches_the_textbook_table() -> None:
    curve = _six_mp()
    assert (curve.n, curve.events, curve.censored) == (21, 9, 12)
    assert curve.times == tuple(float(row[0]) for row in TABLE_4_1A)
    assert curve.at_risk == tuple(row[1] for row in TABLE_4_1A)
    assert curve.event_counts == tuple(row[2] for row in TABLE_4_1A)
    assert curve.survival == pytest.approx([row[3] for row in TABLE_4_1A], abs=5e-5)
    assert curve.std_error == pytest.approx([row[4] for row in TABLE_4_1A], abs=5e-5)
    assert curve.median == 23.0  # the first time S(t) <= 0.5


def test_the_band_is_the_log_log_interval() -> None:
    """exp(-exp(log(-log S) +- 1.96 se / (S |log S|))), computed here independently."""
    curve = _six_mp()
    for s, se, lower, upper in zip(curve.survival, curve.std_error, curve.lower, curve.upper,
                                   strict=True):
        v = 1.959963984540054 * se / (s * abs(math.log(s)))
        assert lower == pytest.approx(math.exp(-math.exp(math.log(-math.log(s)) + v)))
        assert upper == pytest.approx(math.exp(-math.exp(math.log(-math.log(s)) - v)))
        assert 0 < lower < s < upper < 1
    # At six weeks the interval is 0.620 to 0.952 (as R's survfit, conf.type = "log-log").
    assert (curve.lower[0], curve.upper[0]) == pytest.approx((0.6197, 0.9516), abs=5e-4)


def test_no_subjects_no_curve_and_no_events_a_flat_one() -> None:
    assert kaplan_meier([], []) is None
    flat = kaplan_meier([3.0, 5.0], [False, False])
    assert flat is not None and flat.times == () and flat.censored == 2 and flat.median is None
    with pytest.raises(ValueError, match="same length"):
        kaplan_meier([1.0], [True, False])
    with pytest.raises(ValueError, match="not negative"):
        kaplan_meier([-1.0], [True])


@given(st.lists(st.tuples(st.integers(0, 60), st.booleans()), min_size=1, max_size=40))
def test_kaplan_meier_properties(rows: list[tuple[int, bool]]) -> None:
    curve = kaplan_meier([float(t) for t, _ in rows], [e for _, e in rows])
    assert curve is not None and curve.n == len(rows)
    assert curve.events == sum(e for _, e in rows)
    # Non-increasing, within 0..1, the band around the estimate.
    assert all(a >= b for a, b in zip(curve.survival, curve.survival[1:], strict=False))
    for s, lo, up in zip(curve.survival, curve.lower, curve.upper, strict=True):
        assert 0 <= lo <= s <= up <= 1
    if curve.events and all(e for _, e in rows):  # no censoring: the empirical survival
        last = max(t for t, _ in rows)
        assert curve.survival[curve.times.index(float(last))] == pytest.approx(0.0)


def test_rates_have_no_value_without_a_denominator() -> None:
    assert Rate(0, 0).value is None and Rate(0, 0).wilson_95() is None
    assert Rate(3, 4).percent == 75
    low, high = Rate(0, 10).wilson_95() or (None, None)
    assert low == 0 and high == pytest.approx(0.2775, abs=1e-4)  # Wilson at 0/10
    assert per_100(3, 0) is None and per_100(3, 60) == 5
    with pytest.raises(ValueError):
        Rate(5, 4)


def test_spread_is_median_and_quartiles() -> None:
    assert spread([]) is None
    result = spread([10, 20, 30, 40, 50])
    assert result is not None
    assert (result.n, result.median, result.q1, result.q3) == (5, 30, 20, 40)


def test_a_small_cell_and_the_cell_that_reveals_it_are_hidden() -> None:
    counts = {"evaluable": 40, "responders": 35, "non_responders": 5}
    hidden = suppressed_cells(counts, [Partition("evaluable", ("responders", "non_responders"))],
                              minimum=11)
    # 5 non-responders is small; showing 40 and 35 would give it away: 35 goes too.
    assert hidden == {"non_responders", "responders"}
    assert suppressed_cells({"a": 0, "b": 11}, [], minimum=11) == frozenset()


@given(st.lists(st.integers(0, 30), min_size=2, max_size=6), st.integers(11, 15))
def test_no_hidden_cell_can_be_worked_out_by_subtraction(parts: list[int], minimum: int) -> None:
    counts = {"total": sum(parts)} | {f"p{i}": n for i, n in enumerate(parts)}
    partition = Partition("total", tuple(f"p{i}" for i in range(len(parts))))
    hidden = suppressed_cells(counts, [partition], minimum=minimum)
    assert all(name in hidden for name, n in counts.items() if 0 < n < minimum)
    members = ["total", *partition.parts]
    concealed = [name for name in members if name in hidden]
    # Zero or several hidden: a single subtraction never recovers one.
    assert len(concealed) != 1 or all(counts[n] == 0 for n in members if n not in hidden)
