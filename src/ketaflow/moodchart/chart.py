"""The life chart: a declared two-pole chart (`ketaflow.charts`) of the daily summaries.

Above the euthymic line the day's upper pole (elevated or irritable, the worse), below it the
depressed score, as the NIMH Life Chart Method draws mania above and depression below; shaded by
severity (1 mild, 2 moderate, 3 severe). Over it: infusions (triangles, with the dose
delivered), medication starts, stops and dose changes (vertical rules), life events, scale
totals (dark circles, with the instrument and total), warnings (diamonds, with their reason),
and the week-ahead forecast of signed mood (dashed, with its 80% band). Below: hours slept.
Every marked item is described (hover title and aria-label).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

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


def _bars(summaries: Sequence[DaySummary], x: charts.Spec) -> list[charts.Spec]:
    # A pole at 0 draws nothing (a bar of no height), so it is left out of the data: two
    # years of mostly euthymic days would otherwise be over a thousand empty marks to render
    # and send. Each drawn bar's description still names the day's scores on both poles.
    rows: list[dict[str, Any]] = []
    for s in summaries:
        scores = (f"{_day(s.day)}: elevated {s.elevated}, irritable {s.irritable}, "
                  f"depressed {s.depressed}")
        if s.elevation:
            rows.append({"day": _day(s.day), "y": s.elevation, "pole": "elevated or irritable",
                         "shade": SEVERITY_OPACITY[s.elevation], "description": scores})
        if s.depressed:
            rows.append({"day": _day(s.day), "y": -s.depressed, "pole": "depressed",
                         "shade": SEVERITY_OPACITY[s.depressed], "description": scores})
    return [{"data": {"values": rows},
             "mark": {"type": "bar", "aria": True, "width": {"band": 0.9}},
             "encoding": {
                 "x": {**x, "timeUnit": "utcyearmonthdate", "bandPosition": 0},
                 "y": {"field": "y", "type": "quantitative", "title": "depressed / elevated",
                       "scale": {"domain": [-3.6, 3.6], "nice": False},
                       "axis": {"values": [-3, -2, -1, 0, 1, 2, 3]}},
                 "color": {"field": "pole", "type": "nominal", "title": None,
                           "scale": {"domain": ["elevated or irritable", "depressed"],
                                     "range": [UP, DOWN]}},
                 "opacity": {"field": "shade", "type": "quantitative", "scale": None},
                 "description": {"field": "description"}}}]


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
    x = _x(start, last)
    euthymic = {"data": {"values": [{"y": 0}]}, "mark": {"type": "rule", "color": "#14202b"},
                "encoding": {"y": {"field": "y", "type": "quantitative"}}}
    warning_marks = [Marker(w.day, w.reason) for w in warnings]
    mood_layers = [*_bars(summaries, x), euthymic, *_rules(medication_changes, x),
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
    sleep_rows = [{"day": _day(s.day), "sleep_h": s.sleep_h,
                   "description": f"{_day(s.day)}: slept {s.sleep_h:g} h"}
                  for s in summaries if s.sleep_h is not None]
    sleep_x = {**x, "axis": {**x["axis"], "labels": True}}
    # One point per night carries the description (hover title and aria-label), over a plain
    # line: a line's own points would be a second, unlabelled copy of every night.
    sleep = {"height": 70, "width": WIDTH, "data": {"values": sleep_rows}, "layer": [
        {"mark": {"type": "line", "color": EVENT},
         "encoding": {"x": sleep_x, "y": {"field": "sleep_h", "type": "quantitative",
                                          "title": "sleep (h)",
                                          "scale": {"domain": [0, 14], "nice": False}}}},
        {"mark": {"type": "point", "filled": True, "size": 20, "color": EVENT, "opacity": 1,
                  "aria": True},
         "encoding": {"x": sleep_x, "y": {"field": "sleep_h", "type": "quantitative"},
                      "description": {"field": "description"}}}]}
    top = {"height": 200, "width": WIDTH, "layer": mood_layers}
    return {"$schema": charts.VEGA_LITE_SCHEMA, "description": description,
            "config": charts.CONFIG, "vconcat": [top, sleep], "spacing": 12}
