"""The life chart's spec: what it draws, and one shape for every patient, day and range (so
the Vega-Lite compile runs once per process; benchmarks/bench_lifechart.py)."""

from __future__ import annotations

import re
from datetime import date, timedelta

import numpy as np

from ketaflow import charts
from ketaflow.mood.entries import DaySummary
from ketaflow.mood.forecast import Forecast
from ketaflow.mood.signals import Signal, SignalKind
from ketaflow.moodchart.chart import Marker, life_chart_spec

END = date(2026, 11, 30)


def _days(n: int, *, up_from: int) -> list[DaySummary]:
    """`n` days to END, euthymic then elevated with short nights from day `up_from`."""
    first = END - timedelta(days=n - 1)
    return [DaySummary(first + timedelta(days=k), 0, 2 if k >= up_from else 0, 0, 0,
                       4.5 if k >= up_from else 7.5, 1) for k in range(n)]


def _full(days: int = 730) -> charts.Spec:
    start = END - timedelta(days=days - 1)
    mood = np.array([[1.2, 1.1, 1.0, 0.9, 0.8, 0.7, 0.6]])
    return life_chart_spec(
        _days(days, up_from=days - 5), start=start, end=END,
        infusions=[Marker(start + timedelta(days=2), "35.0 mg delivered (completed)")],
        medication_changes=[Marker(start + timedelta(days=10), "lithium 800 mg started")],
        life_events=[Marker(start + timedelta(days=12), "Moved house (-2)")],
        warnings=[Signal(SignalKind.SWITCH, END - timedelta(days=3),
                         "possible manic switch: elevated")],
        forecast=Forecast(mood, mood - 1, mood + 1, mood * 0 + 0.5),
        ratings=[Marker(END, "ASRM total 8")],
        planned=[Marker(END + timedelta(days=4), "booster 2 (weekly), confirmed")],
        description=f"Life chart, {days} days")


def test_every_kind_of_item_is_drawn_and_described() -> None:
    svg = charts.svg(_full(), element_id="life-chart")
    titles = re.findall(r"<title>([^<]+)</title>", svg)
    start = END - timedelta(days=729)
    assert titles[0] == "Life chart, 730 days"
    assert set(titles[1:]) == {
        f"infusion {start + timedelta(days=2)}: 35.0 mg delivered (completed)",
        f"planned booster {END + timedelta(days=4)}: booster 2 (weekly), confirmed",
        f"life event {start + timedelta(days=12)}: Moved house (-2)",
        f"warning {END - timedelta(days=3)}: possible manic switch: elevated",
        f"rating {END}: ASRM total 8"}
    assert f'aria-label="{start + timedelta(days=10)}: lithium 800 mg started"' in svg
    for text in ("depressed / elevated", "sleep (h)", "elevated or irritable", "depressed"):
        assert f">{text}</text>" in svg
    # The poles as one layer of bands (the elevated run at 2: its first day to the day
    # after its last), then the forecast band and line and the sleep line, none described
    # item by item.
    assert svg.count('class="mark-rect role-mark') == 1
    assert svg.count('class="mark-area role-mark') == 1 and svg.count("mark-line role-mark") == 2
    assert 'aria-roledescription="area mark"' not in svg
    spec = _full()
    bands = spec["layer"][1]["layer"][0]["data"]["values"]
    assert bands == [{"day": str(END - timedelta(days=4)), "end": str(END + timedelta(days=1)),
                      "y": 2, "pole": "elevated or irritable", "shade": 0.7}]


def test_one_shape_for_any_patient_day_and_range() -> None:
    empty = life_chart_spec([], start=END - timedelta(days=29), end=END, description="none")
    assert charts.shape_json(_full(730)) == charts.shape_json(_full(90)) == charts.shape_json(
        empty)
    assert charts.svg(empty).startswith('<svg role="img" aria-label="none"')
