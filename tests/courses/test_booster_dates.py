"""The earlier booster's date, as a property: a course that skips weekends gets a weekday,
never today or before, at most two days from the date asked for (the Friday before, else the
Monday after); other courses get the date asked for."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from ketaflow.courses.maintenance import weekday_near

TODAY = st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31))
WITHIN = st.integers(min_value=1, max_value=14)


@given(TODAY, WITHIN)
def test_a_weekend_skipping_course_gets_a_weekday_after_today(today: date, within: int) -> None:
    asked = today + timedelta(days=within)
    day = weekday_near(asked, today, skip_weekends=True)
    assert day.weekday() < 5
    assert day > today
    assert abs((day - asked).days) <= 2
    if asked.weekday() < 5:
        assert day == asked
    elif day < asked:
        assert day.weekday() == 4  # the Friday before
    else:
        assert day.weekday() == 0  # the Monday after


@given(TODAY, WITHIN)
def test_other_courses_get_the_date_asked_for(today: date, within: int) -> None:
    asked = today + timedelta(days=within)
    assert weekday_near(asked, today, skip_weekends=False) == asked
