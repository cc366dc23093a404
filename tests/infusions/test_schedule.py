"""Monitoring schedule: every 10 min, the 40-minute reading, observation, overdue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ketaflow.infusions.rules import DueKind, forty_min_done, next_reading_due

START = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return START + timedelta(minutes=minutes)


def due(times: list[float], now: float, ended: float | None = None) -> tuple[float, str, bool]:
    result = next_reading_due(started_at=START, ended_at=None if ended is None else at(ended),
                              reading_times=[at(t) for t in times], now=at(now))
    assert result is not None
    return ((result.due_at - START).total_seconds() / 60, result.kind.value, result.overdue)


def test_first_reading_ten_minutes_after_start() -> None:
    assert due([], now=5) == (10, "interval", False)
    assert due([], now=10) == (10, "interval", False)  # due now is not yet overdue
    assert due([], now=10.5) == (10, "interval", True)


def test_pre_infusion_readings_do_not_count_and_interval_runs_from_last() -> None:
    assert due([-5], now=1) == (10, "interval", False)
    assert due([10, 22], now=25) == (32, "interval", False)


def test_forty_minute_reading_comes_before_a_later_interval() -> None:
    assert due([10, 20, 33], now=36) == (40, "forty_min", False)
    assert due([10, 20, 30], now=41) == (40, "forty_min", True)
    # A reading within 5 min of the mark counts as the 40-minute reading.
    assert due([10, 20, 30, 35], now=41) == (45, "interval", False)
    assert due([10, 20, 30, 45], now=50) == (55, "interval", False)
    assert due([10, 20, 30, 34.9], now=41) == (40, "forty_min", True)


def test_forty_min_done_window_edges() -> None:
    assert forty_min_done(START, [at(35)])
    assert forty_min_done(START, [at(45)])
    assert not forty_min_done(START, [at(45.1)])


def test_observation_schedule_and_before_discharge_reading() -> None:
    assert due([10, 20, 30, 40], now=45, ended=40) == (55, "observation", False)
    assert due([10, 20, 30, 40, 55, 70, 85], now=90, ended=40) == (
        100, "before_discharge", False)
    assert due([40, 90], now=101, ended=40) == (100, "before_discharge", True)


def test_nothing_due_after_the_before_discharge_reading() -> None:
    assert next_reading_due(started_at=START, ended_at=at(40),
                            reading_times=[at(100)], now=at(120)) is None


def test_overdue_by_minutes() -> None:
    result = next_reading_due(started_at=START, ended_at=None, reading_times=[], now=at(13))
    assert result is not None
    assert result.kind is DueKind.INTERVAL
    assert result.overdue_by_min == 3
