"""The life chart: a declared two-pole chart (`ketaflow.charts`) of the daily summaries.

Above the euthymic line the day's upper pole (elevated or irritable, the worse), below it the
depressed score, as the NIMH Life Chart Method draws mania above and depression below; shaded by
severity (1 mild, 2 moderate, 3 severe). Over it: infusions (triangles, with the dose
delivered), medication starts, stops and dose changes (vertical rules), life events, scale
totals (dark circles, with the instrument and total), warnings (diamonds, with their reason),
and the week-ahead forecast of signed mood (dashed, with its 80% band). Below: hours slept.
Every marked item is described (hover title and aria-label); the daily scores and sleep are
drawn as steps and a line, each day's figures being in the entries listed with the chart.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from ketaflow import charts
from ketaflow.mood.entries import DaySummary
from ketaflow.mood.forecast import Forecast
from ketaflow.mood.signals import Signal

WIDTH = 720
UP, DOWN = "#b35806", "#2166ac"      # elevation, depression (a colour-blind-safe pair)
SEVERITY_OPACITY = [0.0, 0.45, 0.7, 1.0]
INFUSION, MEDICATION, WARNING, EVENT = "#1b7837", "#6a3d9a", "#a4161a", "#4b5b6a"
RATING = "#14202b"


@dataclass(frozen=True)
class Marker:
    day: date
    label: str


def _day(d: date) -> str:
    return d.isoformat()


def _x(start: date, end: date) -> charts.Spec:
    return {"field": "day", "type": "temporal", "title": None,
            "scale": {"type": "utc", "domain": [_day(start), _day(end + timedelta(days=1))]},
            "axis": {"format": "%d %b", "tickCount": 10, "grid": False, "labelOverlap": True,
                     "labelSeparation": 8}}


def _runs(summaries: Sequence[DaySummary], score: Callable[[DaySummary], int],
          level: int) -> list[tuple[date, int]]:
    """The days where `score` is `level`, as change points of a step: (first day, level) where a
    run starts and (the day after it, 0) where it ends; a day without an entry ends a run."""
    points: list[tuple[date, int]] = []
    held: date | None = None  # the last day of the run being drawn
    for s in summaries:
        if held is not None and (score(s) != level or s.day != held + timedelta(days=1)):
            points.append((held + timedelta(days=1), 0))
            held = None
        if score(s) == level:
            if held is None:
                points.append((s.day, level))
            held = s.day
    if held is not None:
        points.append((held + timedelta(days=1), 0))
    return points


POLES: tuple[tuple[str, Callable[[DaySummary], int], int], ...] = (
    ("elevated or irritable", lambda s: s.elevation, 1), ("depressed", lambda s: s.depressed, -1))


def _poles(summaries: Sequence[DaySummary], x: charts.Spec) -> list[charts.Spec]:
    # One stepped area per pole and severity, not one bar per day: two years of days are
    # under a pixel each, and the renderer's time grows with the marks (a bar per day made
    # the chart's first view 2-3 times the chair page's; benchmarks/bench_lifechart.py). Each
    # day's scores are listed under the chart, entry by entry.
    layers: list[charts.Spec] = []
    for pole, score, sign in POLES:
        for level in (1, 2, 3):
            points = _runs(summaries, score, level)
            if not points:
                continue
            layers.append({
                "data": {"values": [{"day": _day(d), "y": sign * v} for d, v in points]},
                "mark": {"type": "area", "interpolate": "step-after", "clip": True,
                         "opacity": SEVERITY_OPACITY[level]},
                "encoding": {
                    "x": x,
                    "y": {"field": "y", "type": "quantitative", "title": "depressed / elevated",
                          "scale": {"domain": [-3.6, 3.6], "nice": False},
                          "axis": {"values": [-3, -2, -1, 0, 1, 2, 3]}},
                    "color": {"datum": pole, "title": None, "legend": {"symbolOpacity": 1},
                              "scale": {"domain": [p[0] for p in POLES], "range": [UP, DOWN]}}}})
    return layers


def _marks(items: Sequence[Marker], x: charts.Spec, *, y: float, shape: str, colour: str,
           prefix: str, filled: bool = True) -> list[charts.Spec]:
    if not items:
        return []
    rows = [{"day": _day(m.day), "y": y, "description": f"{prefix}{_day(m.day)}: {m.label}"}
            for m in items]
    return [{"data": {"values": rows},
             "mark": {"type": "point", "shape": shape, "filled": filled, "size": 110,
                      "color": colour, "opacity": 1, "aria": True},
             "encoding": {"x": x, "y": {"field": "y", "type": "quantitative"},
                          "description": {"field": "description"}}}]


def _rules(items: Sequence[Marker], x: charts.Spec) -> list[charts.Spec]:
    if not items:
        return []
    rows = [{"day": _day(m.day), "description": f"{_day(m.day)}: {m.label}"} for m in items]
    return [{"data": {"values": rows},
             "mark": {"type": "rule", "color": MEDICATION, "strokeDash": [4, 3], "aria": True},
             "encoding": {"x": x, "description": {"field": "description"}}}]


def _forecast(first_day: date, ahead: Forecast | None, x: charts.Spec) -> list[charts.Spec]:
    if ahead is None or ahead.mood.size == 0 or ahead.mood[0, 0] != ahead.mood[0, 0]:
        return []
    rows = [{"day": _day(first_day + timedelta(days=k)), "mood": round(float(ahead.mood[0, k]), 2),
             "low": round(float(ahead.low[0, k]), 2), "high": round(float(ahead.high[0, k]), 2)}
            for k in range(ahead.mood.shape[1])]
    y = {"field": "mood", "type": "quantitative"}
    return [
        {"data": {"values": rows}, "mark": {"type": "area", "color": EVENT, "opacity": 0.15},
         "encoding": {"x": x, "y": {"field": "low", "type": "quantitative"},
                      "y2": {"field": "high"}}},
        {"data": {"values": rows}, "mark": {"type": "line", "color": EVENT, "strokeDash": [5, 4],
                                            "strokeWidth": 2},
         "encoding": {"x": x, "y": y}},
    ]


def life_chart_spec(summaries: Sequence[DaySummary], *, start: date, end: date,
                    infusions: Sequence[Marker] = (), medication_changes: Sequence[Marker] = (),
                    life_events: Sequence[Marker] = (), warnings: Sequence[Signal] = (),
                    forecast: Forecast | None = None, ratings: Sequence[Marker] = (),
                    description: str, planned: Sequence[Marker] = ()) -> charts.Spec:
    """The two-pole chart and the sleep panel, from `start` to `end` plus the forecast week;
    `planned`: confirmed boosters ahead (open triangles), drawn within that week."""
    last = end + timedelta(days=7 if forecast is not None else 0)
    planned = [m for m in planned if start <= m.day <= last]
    # The dates are drawn once, under the sleep panel: each axis costs the renderer as much
    # as a whole layer of marks.
    sleep_x = _x(start, last)
    x = {**sleep_x, "axis": None}
    euthymic = {"data": {"values": [{"y": 0}]}, "mark": {"type": "rule", "color": "#14202b"},
                "encoding": {"y": {"field": "y", "type": "quantitative"}}}
    warning_marks = [Marker(w.day, w.reason) for w in warnings]
    mood_layers = [*_poles(summaries, x), euthymic, *_rules(medication_changes, x),
                   *_forecast(end + timedelta(days=1), forecast, x),
                   *_marks(infusions, x, y=3.35, shape="triangle-down", colour=INFUSION,
                           prefix="infusion "),
                   *_marks(planned, x, y=3.35, shape="triangle-down", colour=INFUSION,
                           prefix="planned booster ", filled=False),
                   *_marks(life_events, x, y=-3.35, shape="square", colour=EVENT,
                           prefix="life event "),
                   *_marks(warning_marks, x, y=3.35, shape="diamond", colour=WARNING,
                           prefix="warning "),
                   *_marks(ratings, x, y=-2.95, shape="circle", colour=RATING,
                           prefix="rating ")]
    # Hours slept as one line: each night's figure is in the entries listed under the chart,
    # not a described point per night (730 more marks to render for two years).
    sleep_rows = [{"day": _day(s.day), "sleep_h": s.sleep_h}
                  for s in summaries if s.sleep_h is not None]
    sleep = {"height": 70, "width": WIDTH, "data": {"values": sleep_rows},
             "mark": {"type": "line", "color": EVENT, "clip": True},
             "encoding": {"x": sleep_x, "y": {"field": "sleep_h", "type": "quantitative",
                                              "title": "sleep (h)",
                                              "scale": {"domain": [0, 14], "nice": False}}}}
    top = {"height": 200, "width": WIDTH, "layer": mood_layers}
    return {"$schema": charts.VEGA_LITE_SCHEMA, "description": description,
            "config": charts.CONFIG, "vconcat": [top, sleep], "spacing": 12}
