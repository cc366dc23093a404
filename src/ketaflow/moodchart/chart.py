"""The life chart: a declared two-pole chart (`ketaflow.charts`) of the daily summaries.

Above the euthymic line the day's upper pole (elevated or irritable, the worse), below it the
depressed score, as the NIMH Life Chart Method draws mania above and depression below; shaded by
severity (1 mild, 2 moderate, 3 severe). Over it: infusions (triangles, with the dose
delivered), medication starts, stops and dose changes (vertical rules), life events, scale
totals (dark circles, with the instrument and total), warnings (diamonds, with their reason),
and the week-ahead forecast of signed mood (dashed, with its 80% band). Below: hours slept.
Every marked item is described (hover title and aria-label); the daily scores and sleep are
drawn as bands (a run of days at one severity) and a line, each day's figures being in the
entries listed with the chart.

The spec's *shape* is the same for every patient, day and range (every layer is always there,
perhaps with no rows; the dates shown are parameters), so `ketaflow.charts` compiles it to Vega
once per process and a first view only renders (benchmarks/bench_lifechart.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from ketaflow import charts
from ketaflow.mood.entries import DaySummary
from ketaflow.mood.forecast import Forecast
from ketaflow.mood.signals import Signal

WIDTH = 720
# One view: the two poles on top, hours slept under them on a scale of their own. (A second
# view in a vconcat cost the renderer about a third of the chart.)
MOOD_HEIGHT, GAP, SLEEP_HEIGHT = 200, 14, 70
HEIGHT = MOOD_HEIGHT + GAP + SLEEP_HEIGHT
UP, DOWN = "#b35806", "#2166ac"      # elevation, depression (a colour-blind-safe pair)
SEVERITY_OPACITY = [0.0, 0.45, 0.7, 1.0]
INFUSION, MEDICATION, WARNING, EVENT = "#1b7837", "#6a3d9a", "#a4161a", "#4b5b6a"
RATING = "#14202b"
# Every row is well formed, so the renderer need not filter each layer for invalid values.
CONFIG: charts.Spec = {**charts.CONFIG, "mark": {"invalid": None, "aria": False}}


@dataclass(frozen=True)
class Marker:
    day: date
    label: str


def _day(d: date) -> str:
    return d.isoformat()


def _utc_ms(d: date) -> int:
    """Midnight UTC of `d` in milliseconds, as Vega keeps dates."""
    return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp() * 1000)


# The shown range's first day and the day after its last: parameters, not part of the shape.
X: charts.Spec = {
    "field": "day", "type": "temporal", "title": None,
    "scale": {"type": "utc", "domainMin": {"expr": "first_day"},
              "domainMax": {"expr": "after_last_day"}},
    "axis": {"format": "%d %b", "tickCount": 10, "grid": False, "labelOverlap": True,
             "labelSeparation": 8}}
MOOD_Y: charts.Spec = {
    "type": "quantitative", "title": "depressed / elevated",
    "scale": {"domain": [-3.6, 3.6], "nice": False, "range": [MOOD_HEIGHT, 0]},
    "axis": {"values": [-3, -2, -1, 0, 1, 2, 3], "orient": "left"}}


def _mood_y(field: str) -> charts.Spec:
    return {**MOOD_Y, "field": field}


def _runs(summaries: Sequence[DaySummary], score: Callable[[DaySummary], int]
          ) -> list[tuple[date, date, int]]:
    """The runs of days with one nonzero `score`: (first day, the day after the last, score);
    a day without an entry ends a run."""
    runs: list[tuple[date, date, int]] = []
    for s in summaries:
        level = score(s)
        if runs and runs[-1][1] == s.day and runs[-1][2] == level:
            runs[-1] = (runs[-1][0], s.day + timedelta(days=1), level)
        elif level:
            runs.append((s.day, s.day + timedelta(days=1), level))
    return runs


POLES: tuple[tuple[str, Callable[[DaySummary], int], int], ...] = (
    ("elevated or irritable", lambda s: s.elevation, 1), ("depressed", lambda s: s.depressed, -1))


def _poles(summaries: Sequence[DaySummary]) -> charts.Spec:
    # One band per run of days at one severity, not one bar per day (two years of days are
    # under a pixel each), all in one layer, each row with its pole's colour and its
    # severity's shade: the renderer's time grows with the layers and the marks (a bar per
    # day made the first view 2-3 times the chair page's; benchmarks/bench_lifechart.py).
    # Each day's scores are listed under the chart, entry by entry.
    rows = [{"day": _day(first), "end": _day(after), "y": sign * level, "pole": pole,
             "shade": SEVERITY_OPACITY[level]}
            for pole, score, sign in POLES for first, after, level in _runs(summaries, score)]
    return {"data": {"values": rows}, "mark": {"type": "rect", "clip": True},
            "encoding": {
                "x": X, "x2": {"field": "end"}, "y": _mood_y("y"), "y2": {"datum": 0},
                "opacity": {"field": "shade", "type": "quantitative", "scale": None},
                "color": {"field": "pole", "type": "nominal", "title": None,
                          "legend": {"symbolOpacity": 1, "symbolType": "circle"},
                          "scale": {"domain": [p[0] for p in POLES], "range": [UP, DOWN]}}}}


@dataclass(frozen=True)
class _Symbol:
    items: Sequence[Marker]
    y: float
    shape: str
    colour: str
    prefix: str
    filled: bool = True


def _symbols(groups: Sequence[_Symbol]) -> charts.Spec:
    """Every marked item (infusions, boosters, life events, warnings, ratings) in one layer,
    each row carrying its own shape and colours: one mark for the renderer, not five."""
    rows = [{"day": _day(m.day), "y": g.y, "shape": g.shape,
             "fill": g.colour if g.filled else "transparent",
             "stroke": "transparent" if g.filled else g.colour,
             "description": f"{g.prefix}{_day(m.day)}: {m.label}"}
            for g in groups for m in g.items]
    literal = {"type": "nominal", "scale": None}
    return {"data": {"values": rows},
            "mark": {"type": "point", "size": 110, "opacity": 1, "strokeWidth": 2,
                     "aria": True},
            "encoding": {"x": X, "y": _mood_y("y"), "shape": {**literal, "field": "shape"},
                         "fill": {**literal, "field": "fill"},
                         "stroke": {**literal, "field": "stroke"},
                         "description": {"field": "description"}}}


def _rules(items: Sequence[Marker]) -> charts.Spec:
    rows = [{"day": _day(m.day), "description": f"{_day(m.day)}: {m.label}"} for m in items]
    return {"data": {"values": rows},
            "mark": {"type": "rule", "color": MEDICATION, "strokeDash": [4, 3], "aria": True,
                     "y": 0, "y2": MOOD_HEIGHT},
            "encoding": {"x": X, "description": {"field": "description"}}}


def _forecast(first_day: date, ahead: Forecast | None) -> charts.Spec:
    rows = []
    if ahead is not None and ahead.mood.size and ahead.mood[0, 0] == ahead.mood[0, 0]:
        rows = [{"day": _day(first_day + timedelta(days=k)),
                 "mood": round(float(ahead.mood[0, k]), 2),
                 "low": round(float(ahead.low[0, k]), 2),
                 "high": round(float(ahead.high[0, k]), 2)}
                for k in range(ahead.mood.shape[1])]
    # The band and the line read one data set (given to both, as the parent's).
    return {"data": {"values": rows}, "layer": [
        {"mark": {"type": "area", "color": EVENT, "opacity": 0.15},
         "encoding": {"x": X, "y": _mood_y("low"), "y2": {"field": "high"}}},
        {"mark": {"type": "line", "color": EVENT, "strokeDash": [5, 4], "strokeWidth": 2},
         "encoding": {"x": X, "y": _mood_y("mood")}},
    ]}


def _sleep(summaries: Sequence[DaySummary]) -> charts.Spec:
    # Hours slept as one line: each night's figure is in the entries listed under the chart,
    # not a described point per night (730 more marks to render for two years).
    rows = [{"day": _day(s.day), "sleep_h": s.sleep_h} for s in summaries
            if s.sleep_h is not None]
    return {"data": {"values": rows}, "mark": {"type": "line", "color": EVENT, "clip": True},
            "encoding": {"x": X, "y": {
                "field": "sleep_h", "type": "quantitative", "title": "sleep (h)",
                "scale": {"domain": [0, 14], "nice": False,
                          "range": [HEIGHT, HEIGHT - SLEEP_HEIGHT]},
                "axis": {"orient": "left", "values": [0, 5, 10]}}}}


def life_chart_spec(summaries: Sequence[DaySummary], *, start: date, end: date,
                    infusions: Sequence[Marker] = (), medication_changes: Sequence[Marker] = (),
                    life_events: Sequence[Marker] = (), warnings: Sequence[Signal] = (),
                    forecast: Forecast | None = None, ratings: Sequence[Marker] = (),
                    description: str, planned: Sequence[Marker] = ()) -> charts.Spec:
    """The two-pole chart and hours slept, from `start` to `end` plus the forecast week;
    `planned`: confirmed boosters ahead (open triangles), drawn within that week."""
    last = end + timedelta(days=7 if forecast is not None else 0)
    planned = [m for m in planned if start <= m.day <= last]
    euthymic = {"data": {"values": [{"y": 0}]}, "mark": {"type": "rule", "color": "#14202b"},
                "encoding": {"y": _mood_y("y")}}
    symbols = _symbols([
        _Symbol(infusions, 3.35, "triangle-down", INFUSION, "infusion "),
        _Symbol(planned, 3.35, "triangle-down", INFUSION, "planned booster ", filled=False),
        _Symbol(life_events, -3.35, "square", EVENT, "life event "),
        _Symbol([Marker(w.day, w.reason) for w in warnings], 3.35, "diamond", WARNING,
                "warning "),
        _Symbol(ratings, -2.95, "circle", RATING, "rating ")])
    mood = {"layer": [_poles(summaries), euthymic, _forecast(end + timedelta(days=1), forecast),
                      symbols]}
    return {"$schema": charts.VEGA_LITE_SCHEMA, "description": description, "config": CONFIG,
            "width": WIDTH, "height": HEIGHT,
            "params": [{"name": "first_day", "value": _utc_ms(start)},
                       {"name": "after_last_day", "value": _utc_ms(last + timedelta(days=1))}],
            "layer": [_rules(medication_changes), mood, _sleep(summaries)],
            "resolve": {"scale": {"y": "independent"}, "axis": {"y": "independent"}}}
