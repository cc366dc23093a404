"""When reminders are due: exact hand-made cases (quiet hours, DST, repeats, weekly day) and
Hypothesis properties."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from ketaflow.reminders.timing import (
    STALE_AFTER,
    QuietHours,
    Repeats,
    at_local,
    attempt_times,
    due_now,
    out_of_quiet,
    weekly_days,
)

NY = ZoneInfo("America/New_York")
QUIET = QuietHours(time(21, 30), time(8, 0))
TWICE_2H = Repeats(every_h=2, count=2)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def test_quiet_hours_wrap_midnight() -> None:
    assert QUIET.contains(time(21, 30)) and QUIET.contains(time(23, 59))
    assert QUIET.contains(time(0, 0)) and QUIET.contains(time(7, 59))
    assert not QUIET.contains(time(8, 0)) and not QUIET.contains(time(21, 29))
    assert not QuietHours(time(8, 0), time(8, 0)).contains(time(8, 0))  # equal: none
    daytime = QuietHours(time(12, 0), time(14, 0))
    assert daytime.contains(time(13, 0)) and not daytime.contains(time(14, 0))


def test_the_same_wall_time_either_side_of_the_spring_change() -> None:
    # 19:00 in New York is 00:00 UTC the next day in winter (EST) and 23:00 UTC in summer.
    assert at_local(date(2026, 3, 7), time(19, 0), NY) == utc(2026, 3, 8, 0, 0)
    assert at_local(date(2026, 3, 8), time(19, 0), NY) == utc(2026, 3, 8, 23, 0)


def test_a_skipped_wall_time_lands_after_the_gap_and_a_repeated_one_is_the_first() -> None:
    assert at_local(date(2026, 3, 8), time(2, 30), NY) == utc(2026, 3, 8, 7, 30)  # 03:30 EDT
    assert at_local(date(2026, 11, 1), time(1, 30), NY) == utc(2026, 11, 1, 5, 30)  # EDT


def test_a_due_time_in_quiet_hours_moves_to_their_end_across_the_clock_change() -> None:
    # 22:00 EST on the 7th is in quiet hours; they end at 08:00 on the 8th, by then EDT.
    moved = out_of_quiet(utc(2026, 3, 8, 3, 0), NY, QUIET)
    assert moved == utc(2026, 3, 8, 12, 0)
    # Early morning: the same day's end.
    assert out_of_quiet(utc(2026, 6, 1, 9, 0), NY, QUIET) == utc(2026, 6, 1, 12, 0)
    outside = utc(2026, 6, 1, 16, 0)
    assert out_of_quiet(outside, NY, QUIET) is outside


def test_repeats_stop_at_the_limit_and_quiet_hours_move_the_last() -> None:
    times = attempt_times(date(2026, 6, 1), time(19, 0), NY, quiet=QUIET, repeats=TWICE_2H)
    # 19:00 and 21:00 EDT, then 23:00 is quiet: 08:00 the next morning. Three, not more.
    assert times == (utc(2026, 6, 1, 23, 0), utc(2026, 6, 2, 1, 0), utc(2026, 6, 2, 12, 0))
    once = attempt_times(date(2026, 6, 1), time(19, 0), NY, quiet=QUIET,
                         repeats=Repeats(2, 0))
    assert once == (utc(2026, 6, 1, 23, 0),)


def test_repeats_moved_onto_the_same_morning_are_sent_once() -> None:
    times = attempt_times(date(2026, 6, 1), time(20, 0), NY, quiet=QUIET,
                          repeats=Repeats(every_h=1, count=5))
    assert times == (utc(2026, 6, 2, 0, 0), utc(2026, 6, 2, 1, 0), utc(2026, 6, 2, 12, 0))


def test_only_what_is_due_and_not_stale_is_sent() -> None:
    times = attempt_times(date(2026, 6, 1), time(19, 0), NY, quiet=QUIET, repeats=TWICE_2H)
    assert due_now(times, utc(2026, 6, 1, 22, 59)) == []
    assert due_now(times, utc(2026, 6, 1, 23, 0)) == [(1, times[0])]
    assert due_now(times, utc(2026, 6, 2, 1, 30)) == [(1, times[0]), (2, times[1])]
    # After a long outage: the old attempts are stale and never sent.
    almost_stale = utc(2026, 6, 2, 12, 0) + STALE_AFTER - timedelta(seconds=1)
    assert due_now(times, almost_stale) == [(3, times[2])]
    assert due_now(times, utc(2026, 6, 2, 12, 0) + STALE_AFTER) == []


def test_weekly_day_is_the_patients_local_weekday() -> None:
    # 02:00 UTC on Monday 1 June 2026 is still Sunday evening in New York.
    assert weekly_days(utc(2026, 6, 1, 2, 0), NY, 6) == [date(2026, 5, 31)]
    assert weekly_days(utc(2026, 6, 1, 2, 0), NY, 5) == [date(2026, 5, 30)]
    assert weekly_days(utc(2026, 6, 1, 2, 0), NY, 0) == []
    assert weekly_days(utc(2026, 6, 1, 2, 0), ZoneInfo("UTC"), 0) == [date(2026, 6, 1)]


ZONES = st.sampled_from(["America/New_York", "Europe/London", "Australia/Lord_Howe",
                         "Asia/Kolkata", "Pacific/Chatham", "UTC"]).map(ZoneInfo)
TIMES = st.times().map(lambda t: t.replace(second=0, microsecond=0))
DAYS = st.dates(min_value=date(2025, 1, 1), max_value=date(2028, 12, 31))
REPEATS = st.builds(Repeats, every_h=st.integers(1, 12), count=st.integers(0, 5))


@given(day=DAYS, wall=TIMES, zone=ZONES, start=TIMES, end=TIMES, repeats=REPEATS)
def test_nothing_is_ever_due_inside_quiet_hours(day: date, wall: time, zone: ZoneInfo,
                                                start: time, end: time,
                                                repeats: Repeats) -> None:
    quiet = QuietHours(start, end)
    times = attempt_times(day, wall, zone, quiet=quiet, repeats=repeats)
    assert 1 <= len(times) <= repeats.count + 1
    assert list(times) == sorted(set(times))  # strictly increasing: never two at once
    for moment in times:
        assert moment.tzinfo is UTC
        assert not quiet.contains(moment.astimezone(zone).time().replace(tzinfo=None))
