"""Longitudinal rules on made-up histories, and the ScaleThresholds settings."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ketaflow.scales import DEFAULT_THRESHOLDS, ScaleThresholds, score
from ketaflow.scales.longitudinal import (
    Action,
    BaselineFallback,
    BaselineKind,
    CourseEventKind,
    Rating,
    SignalKind,
    course_baseline,
    course_outcome,
    is_remission,
    is_response,
    percent_change,
    safety_signals,
)
from tests.scales.conftest import answers_for_total

START = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)  # the first infusion starts
H = timedelta(hours=1)


def day(n: int) -> datetime:
    return START + timedelta(days=n)


def total(instrument_id: str, when: datetime, value: int) -> Rating:
    return Rating(when, score(instrument_id, answers_for_total(instrument_id, value)))


def rated(instrument_id: str, when: datetime, answers: Sequence[object]) -> Rating:
    return Rating(when, score(instrument_id, answers))


# --- baseline -----------------------------------------------------------------------------------


def test_baseline_is_last_rating_before_the_first_infusion_starts() -> None:
    history = [total("madrs", day(-10), 34), total("madrs", day(-1), 30),
               total("madrs", day(2), 20), total("phq9", day(0), 20)]
    baseline, kind = course_baseline(history, "madrs", START)
    assert baseline is not None and baseline.total == 30 and kind is BaselineKind.PRE_TREATMENT
    # A rating the same morning, before the infusion starts, is the baseline ...
    morning = [*history, total("madrs", START - timedelta(minutes=30), 31)]
    assert course_baseline(morning, "madrs", START)[0].total == 31  # type: ignore[union-attr]
    # ... but one at or after the start is not (ketamine acts within the hour).
    at_start = [*history, total("madrs", START, 12), total("madrs", day(0) + H, 10)]
    assert course_baseline(at_start, "madrs", START)[0].total == 30  # type: ignore[union-attr]


def test_no_pre_treatment_rating_means_no_baseline_unless_the_fallback_is_chosen() -> None:
    history = [total("madrs", day(3), 25), total("madrs", day(1), 28)]
    assert course_baseline(history, "madrs", START) == (None, BaselineKind.NONE)
    outcome = course_outcome(history, "madrs", START)
    assert (outcome.baseline, outcome.timeline, outcome.events) == (None, (), ())
    assert outcome.baseline_label == "no pre-treatment baseline"
    fallback = BaselineFallback.FIRST_AFTER_FIRST_INFUSION
    baseline, kind = course_baseline(history, "madrs", START, fallback=fallback)
    assert baseline is not None and baseline.rated_at == day(1) and kind is BaselineKind.FALLBACK
    labelled = course_outcome(history, "madrs", START, fallback=fallback)
    assert labelled.baseline_label == (
        "post-treatment baseline, the first rating after the first infusion: response "
        "understated")
    assert [s.rating.rated_at for s in labelled.timeline] == [day(3)]
    # The fallback is only a fallback: a pre-treatment rating still wins.
    with_pre = [*history, total("madrs", day(-2), 33)]
    assert course_baseline(with_pre, "madrs", START, fallback=fallback)[1] is (
        BaselineKind.PRE_TREATMENT)
    assert course_outcome(with_pre, "madrs", START, fallback=fallback).baseline_label is None


def test_before_any_infusion_every_rating_is_pre_treatment() -> None:
    history = [total("madrs", day(-3), 30), total("madrs", day(1), 29)]
    baseline, kind = course_baseline(history, "madrs", None)
    assert baseline is not None and baseline.total == 29 and kind is BaselineKind.PRE_TREATMENT


def test_baseline_date_and_lookback_bound_the_candidates() -> None:
    history = [total("madrs", day(-60), 40), total("madrs", day(-5), 33),
               total("madrs", day(-1), 30), total("madrs", day(2), 28)]
    by_date = course_baseline(history, "madrs", START, baseline_by=day(-4))[0]
    assert by_date is not None and by_date.total == 33
    recent = course_baseline(history, "madrs", START, baseline_by=day(-4),
                             lookback=timedelta(days=30))[0]
    assert recent is not None and recent.total == 33
    old_only = [total("madrs", day(-60), 40), total("madrs", day(2), 28)]
    assert course_baseline(old_only, "madrs", START, lookback=timedelta(days=30)) == (
        None, BaselineKind.NONE)
    assert course_baseline([], "madrs", START) == (None, BaselineKind.NONE)


MOMENTS = st.integers(-30 * 24, 30 * 24).map(lambda hours: START + timedelta(hours=hours))


@settings(max_examples=200, deadline=None)
@given(moments=st.lists(MOMENTS, max_size=8), first=st.none() | MOMENTS,
       by=st.none() | MOMENTS, fallback=st.none() | st.just(
           BaselineFallback.FIRST_AFTER_FIRST_INFUSION))
def test_baseline_is_never_after_the_first_infusion_unless_the_fallback_is_chosen(
        moments: list[datetime], first: datetime | None, by: datetime | None,
        fallback: BaselineFallback | None) -> None:
    history = [total("madrs", moment, 20 + i % 10) for i, moment in enumerate(moments)]
    baseline, kind = course_baseline(history, "madrs", first, baseline_by=by, fallback=fallback)
    pre = [m for m in moments if (first is None or m < first) and (by is None or m <= by)]
    if pre:
        assert baseline is not None and kind is BaselineKind.PRE_TREATMENT
        assert baseline.rated_at == max(pre)
    if baseline is not None and first is not None and baseline.rated_at >= first:
        assert fallback is not None and kind is BaselineKind.FALLBACK and not pre
    if fallback is None:
        assert kind is not BaselineKind.FALLBACK
        assert baseline is None or first is None or baseline.rated_at < first
    outcome = course_outcome(history, "madrs", first, baseline_by=by, fallback=fallback)
    assert (outcome.baseline_label is None) is (kind is BaselineKind.PRE_TREATMENT)
    if baseline is None:
        assert outcome.timeline == () and outcome.events == ()


# --- single comparisons -------------------------------------------------------------------------


def test_percent_change() -> None:
    assert percent_change(30, 15) == -50.0
    assert percent_change(20, 25) == 25.0
    assert percent_change(0, 3) is None


@pytest.mark.parametrize(
    ("baseline", "current", "expected"),
    [(30, 15, True), (30, 16, False), (31, 15, True), (31, 16, False), (0, 0, False)],
)
def test_response_edges(baseline: int, current: int, expected: bool) -> None:
    # 31 -> threshold 15.5: 15 meets it, 16 does not.
    assert is_response(baseline, current) is expected


def test_response_threshold_is_a_setting() -> None:
    lenient = DEFAULT_THRESHOLDS.with_changes(response_min_drop_pct=40)
    assert is_response(30, 18, lenient)
    assert not is_response(30, 18)


@pytest.mark.parametrize(
    ("instrument_id", "value", "expected"),
    [("madrs", 10, True), ("madrs", 11, False), ("phq9", 4, True), ("phq9", 5, False),
     ("qids-sr16", 5, True), ("qids-sr16", 6, False)],
)
def test_remission_edges(instrument_id: str, value: int, expected: bool) -> None:
    assert is_remission(instrument_id, value) is expected


def test_madrs_remission_twelve_selectable() -> None:
    esketamine = DEFAULT_THRESHOLDS.with_changes(madrs_remission_max=12)
    assert is_remission("madrs", 12, esketamine)
    assert not is_remission("madrs", 13, esketamine)
    with pytest.raises(ValueError, match="gad7 has no remission definition"):
        is_remission("gad7", 3)


# --- course outcome -----------------------------------------------------------------------------


def madrs_course() -> list[Rating]:
    # Baseline 30 (threshold for response: <= 15).
    return [
        total("madrs", day(-1), 30),
        total("madrs", day(3), 20),  # -33%: no response
        total("madrs", day(5), 14),  # response
        total("madrs", day(8), 9),   # remission (<= 10)
        total("madrs", day(12), 18),  # above the threshold: 1
        total("madrs", day(15), 12),  # back to response: the run resets
        total("madrs", day(18), 16),  # 1
        total("madrs", day(20), 17),  # 2 consecutive -> relapse
        total("madrs", day(25), 10),  # responds again after the relapse
    ]


def test_course_events() -> None:
    outcome = course_outcome(madrs_course(), "madrs", START)
    assert outcome.baseline is not None and outcome.baseline.total == 30
    assert [(e.kind, e.rated_at) for e in outcome.events] == [
        (CourseEventKind.RESPONSE, day(5)),
        (CourseEventKind.REMISSION, day(8)),
        (CourseEventKind.RELAPSE, day(20)),
        (CourseEventKind.RESPONSE, day(25)),
        (CourseEventKind.REMISSION, day(25)),
    ]
    assert outcome.first_response_at == day(5)
    assert outcome.first_remission_at == day(8)
    assert outcome.relapse_at == day(20)
    assert outcome.latest is not None and outcome.latest.percent_change == pytest.approx(-66.667,
                                                                                       abs=1e-3)
    assert [s.response for s in outcome.timeline] == [
        False, True, True, False, True, False, False, True]


def test_relapse_run_length_is_a_setting() -> None:
    strict = DEFAULT_THRESHOLDS.with_changes(relapse_consecutive_ratings=1)
    outcome = course_outcome(madrs_course(), "madrs", START, thresholds=strict)
    assert outcome.relapse_at == day(12)


def test_course_end_limits_the_timeline() -> None:
    outcome = course_outcome(madrs_course(), "madrs", START, course_end=day(10))
    assert [s.rating.rated_at for s in outcome.timeline] == [day(3), day(5), day(8)]
    assert outcome.relapse_at is None


def test_qids_relapse_on_single_rating_at_eleven() -> None:
    history = [total("qids-sr16", day(0), 18), total("qids-sr16", day(7), 8),
               total("qids-sr16", day(14), 11)]
    # 11 is above the response threshold of 9 only once, but QIDS-SR16 >= 11 is a relapse.
    outcome = course_outcome(history, "qids-sr16", START + H)
    assert [e.kind for e in outcome.events] == [CourseEventKind.RESPONSE,
                                                CourseEventKind.RELAPSE]
    assert outcome.relapse_at == day(14)
    assert "QIDS-SR16 11 >= 11" in outcome.events[-1].reason


def test_phq9_remission_without_response_from_low_baseline() -> None:
    history = [total("phq9", day(0), 6), total("phq9", day(7), 4)]
    outcome = course_outcome(history, "phq9", START + H)
    # 6 -> 4 is a 33% drop: remission (< 5) but no response.
    assert [e.kind for e in outcome.events] == [CourseEventKind.REMISSION]


def test_course_without_ratings_or_for_other_instruments() -> None:
    empty = course_outcome([], "madrs", START)
    assert (empty.baseline, empty.timeline, empty.events, empty.latest) == (None, (), (), None)
    with pytest.raises(ValueError, match="ymrs has no response definition"):
        course_outcome([], "ymrs", START)


def test_rating_needs_an_aware_datetime() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Rating(datetime(2025, 3, 3, 9, 0), score("asrm", [0] * 5))


def test_rating_without_total() -> None:
    rating = rated("cssrs-screener", day(0), [False, False, None, None, None, False, None])
    with pytest.raises(ValueError, match="has no total"):
        _ = rating.total


# --- safety signals -----------------------------------------------------------------------------


def test_suicidality_and_switch_signals() -> None:
    history = [
        rated("phq9", day(1), [1, 1, 1, 1, 1, 1, 1, 1, 1]),  # item 9 = 1 -> screen + urgent
        rated("madrs", day(2), [2] * 9 + [4]),  # item 10 = 4 -> screen + same-day review
        rated("cssrs-screener", day(3), [True, True, False, True, False, False, None]),  # high
        total("ymrs", day(4), 14),  # possible switch
        total("ymrs", day(5), 21),  # possible switch + probable mania
        total("asrm", day(6), 6),  # possible switch
        total("asrm", day(7), 5),  # nothing
        rated("qids-sr16", day(0), [0] * 11 + [1] + [0] * 4),  # item 12 = 1 -> screen + urgent
        rated("madrs", day(8), [2] * 9 + [5]),  # item 10 = 5 -> screen + urgent (no same-day)
        rated("cssrs-screener", day(9), [True, True, True, False, False, False, None]),  # moderate
    ]
    signals = safety_signals(history)
    assert [(s.kind, s.rated_at, s.instrument_id) for s in signals] == [
        (SignalKind.CSSRS_SCREEN, day(0), "qids-sr16"),
        (SignalKind.SUICIDALITY_URGENT, day(0), "qids-sr16"),
        (SignalKind.CSSRS_SCREEN, day(1), "phq9"),
        (SignalKind.SUICIDALITY_URGENT, day(1), "phq9"),
        (SignalKind.CSSRS_SCREEN, day(2), "madrs"),
        (SignalKind.SAME_DAY_REVIEW, day(2), "madrs"),
        (SignalKind.CSSRS_HIGH, day(3), "cssrs-screener"),
        (SignalKind.POSSIBLE_SWITCH, day(4), "ymrs"),
        (SignalKind.POSSIBLE_SWITCH, day(5), "ymrs"),
        (SignalKind.PROBABLE_MANIA, day(5), "ymrs"),
        (SignalKind.POSSIBLE_SWITCH, day(6), "asrm"),
        (SignalKind.CSSRS_SCREEN, day(8), "madrs"),
        (SignalKind.SUICIDALITY_URGENT, day(8), "madrs"),
        (SignalKind.CSSRS_MODERATE, day(9), "cssrs-screener"),
    ]
    assert signals[-1].actions == (Action.SAME_DAY_CLINICIAN_REVIEW,)
    assert signals[1].actions == signals[-2].actions == (
        Action.BLOCK_SELF_CHECK_IN, Action.NOTIFY_PRESCRIBER, Action.SHOW_EMERGENCY_PATHWAY)
    high = signals[6]
    assert high.actions == (Action.BLOCK_SELF_CHECK_IN, Action.NOTIFY_PRESCRIBER,
                            Action.SHOW_EMERGENCY_PATHWAY)


def test_signals_follow_changed_thresholds() -> None:
    history = [total("ymrs", day(1), 14), rated("madrs", day(2), [0] * 9 + [2])]
    changed = DEFAULT_THRESHOLDS.with_changes(ymrs_possible_switch_min=15,
                                              madrs_item10_screen_min=3,
                                              madrs_item10_same_day_min=3)
    assert safety_signals(history, changed) == ()
    assert len(safety_signals(history)) == 2


# --- thresholds ---------------------------------------------------------------------------------


def test_threshold_defaults_and_sources() -> None:
    t = ScaleThresholds()
    assert (t.response_min_drop_pct, t.madrs_remission_max, t.phq9_remission_below,
            t.qids_remission_max, t.relapse_consecutive_ratings, t.qids_relapse_min,
            t.ymrs_possible_switch_min, t.asrm_possible_switch_min, t.ymrs_probable_mania_min,
            t.phq9_item9_positive_min, t.qids_item12_positive_min, t.madrs_item10_screen_min,
            t.madrs_item10_same_day_min, t.aldrete_discharge_min, t.padss_discharge_min,
            t.phq9_item9_urgent_min, t.qids_item12_urgent_min, t.madrs_item10_urgent_min) == (
        50, 10, 5, 5, 2, 11, 12, 6, 21, 1, 1, 2, 4, 9, 9, 1, 1, 5)
    described = t.describe()
    assert len(described) == 18
    assert all(info.source and info.label and info.value == info.default for info in described)
    assert "<= 12 in esketamine trials" in ScaleThresholds.source("madrs_remission_max")
    with pytest.raises(KeyError):
        ScaleThresholds.source("nope")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"response_min_drop_pct": 0}, "response_min_drop_pct must be 1-100"),
        ({"relapse_consecutive_ratings": 0}, "relapse_consecutive_ratings must be at least 1"),
        ({"ymrs_probable_mania_min": -1}, "must be a non-negative integer"),
        ({"madrs_item10_same_day_min": 1}, "must not be below madrs_item10_screen_min"),
    ],
)
def test_invalid_thresholds(changes: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DEFAULT_THRESHOLDS.with_changes(**changes)


def test_thresholds_refuse_bools() -> None:
    with pytest.raises(ValueError, match="non-negative integer"):
        ScaleThresholds(qids_relapse_min=True)
