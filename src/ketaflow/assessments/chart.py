"""Scores over time: one declared Vega-Lite panel per instrument (`ketaflow.charts`), severity
bands shaded, rendered to inline SVG on the server. Every point is described (its date and
score: a hover title and an aria-label), and the panel has a text summary as its name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from ketaflow import charts
from ketaflow.scales import Instrument, RiskLevel
from ketaflow.scales.instruments import Band, ScoringRule

WIDTH, HEIGHT = 700, 190  # the plot area in px (band names to its right); the SVG scales to fit
LINE = "#0b5f73"
AXIS = "#4b5b6a"
COURSE = "#6a3d9a"
MARK = "#8a4b00"
# Light tints from "fine" to "severe"; a band takes the tint at its relative position.
BAND_TINTS = ("#e3f2e7", "#eef5dc", "#fbf3d5", "#fde5cc", "#f9d4d0")
RISK_ORDER = (RiskLevel.NONE, RiskLevel.LOW, RiskLevel.MODERATE, RiskLevel.HIGH)


@dataclass(frozen=True)
class ChartPoint:
    rated_at: datetime
    value: int
    label: str  # e.g. "32 (moderate)", shown in the point's tooltip


@dataclass(frozen=True)
class Scale:
    """The y axis of a panel: its range and shaded bands."""

    low: int
    high: int
    bands: tuple[Band, ...]
    tick_labels: dict[int, str] | None = None


def scale_for(instrument: Instrument) -> Scale:
    if instrument.rule is ScoringRule.RISK_LEVEL:
        bands = tuple(Band(str(level), i, i) for i, level in enumerate(RISK_ORDER))
        return Scale(0, len(RISK_ORDER) - 1, bands,
                     {i: str(level) for i, level in enumerate(RISK_ORDER)})
    assert instrument.min_total is not None and instrument.max_total is not None
    return Scale(instrument.min_total, instrument.max_total, instrument.bands)


def risk_value(level: str) -> int:
    return RISK_ORDER.index(RiskLevel(level))


def _ms(moment: datetime) -> float:
    """Vega-Lite reads a number in a temporal field as milliseconds since the epoch (UTC)."""
    return moment.timestamp() * 1000


def _time_range(points: Sequence[ChartPoint], extra: Sequence[datetime]
                ) -> tuple[datetime, datetime]:
    moments = [p.rated_at for p in points] + list(extra)
    start, end = min(moments), max(moments)
    # Pad so points never sit on the frame; a single day still gets a readable week.
    padding = max((end - start) * 0.04, timedelta(days=1))
    if end - start < timedelta(days=5):
        padding = timedelta(days=3)
    return start - padding, end + padding


def _y(scale: Scale) -> charts.Spec:
    """The y encoding: the instrument's whole range; a categorical scale (C-SSRS risk) puts
    each level mid-band and labels the levels by name."""
    if scale.tick_labels is None:
        step = 5 if scale.high - scale.low <= 30 else 10
        first = -(-scale.low // step) * step
        ticks = list(range(first, scale.high + 1, step))
        if scale.high - ticks[-1] >= step / 2:  # label the top too, unless it would collide
            ticks.append(scale.high)
        return {"field": "value", "type": "quantitative", "title": None,
                "scale": {"domain": [scale.low, scale.high], "nice": False},
                "axis": {"values": ticks}}
    names = " : ".join(f"datum.value === {value} ? '{label}'"
                       for value, label in scale.tick_labels.items())
    return {"field": "value", "type": "quantitative", "title": None,
            "scale": {"domain": [scale.low - 0.5, scale.high + 0.5], "nice": False},
            "axis": {"values": list(scale.tick_labels), "labelExpr": f"{names} : ''"}}


def _bands(scale: Scale) -> list[charts.Spec]:
    categorical = scale.tick_labels is not None
    rows = []
    for index, band in enumerate(scale.bands):
        tint = BAND_TINTS[round(index * (len(BAND_TINTS) - 1) / max(len(scale.bands) - 1, 1))]
        rows.append({
            "value": band.low - 0.5 if categorical else band.low,
            "top": band.high + 0.5 if categorical else min(band.high + 1, scale.high),
            "tint": tint, "label": "" if categorical else f"{band.label} {band.low}-{band.high}"})
    y = _y(scale)
    return [
        {"data": {"values": rows}, "mark": {"type": "rect", "aria": False},
         "encoding": {"x": {"value": 0}, "x2": {"value": "width"}, "y": y,
                      "y2": {"field": "top"},
                      "fill": {"field": "tint", "type": "nominal", "scale": None}}},
        {"data": {"values": rows},
         "transform": [{"calculate": "(datum.value + datum.top) / 2", "as": "middle"}],
         "mark": {"type": "text", "align": "left", "x": "width", "dx": 8, "fontSize": 11,
                  "color": AXIS, "aria": False},
         "encoding": {"y": {**y, "field": "middle"}, "text": {"field": "label"}}},
    ]


def _course_start(moment: datetime, x: charts.Spec) -> list[charts.Spec]:
    row = {"at": _ms(moment), "label": "course start",
           "description": f"Course start {moment.date().isoformat()}"}
    return [
        {"data": {"values": [row]}, "mark": {"type": "rule", "color": COURSE, "strokeWidth": 2,
                                             "strokeDash": [6, 4], "aria": True},
         "encoding": {"x": x, "description": {"field": "description"}}},
        {"data": {"values": [row]}, "mark": {"type": "text", "color": COURSE, "align": "left",
                                             "dx": 4, "y": 0, "dy": 10, "fontSize": 11,
                                             "fontWeight": 600},
         "encoding": {"x": x, "text": {"field": "label"}}},
    ]


def _day_marks(days: Sequence[date], label: str, scale: Scale,
               x: charts.Spec) -> list[charts.Spec]:
    if not days:
        return []
    bottom = scale.low - 0.5 if scale.tick_labels is not None else scale.low
    rows = [{"at": _ms(datetime.combine(day, time(12), UTC)), "value": bottom,
             "description": f"{label} {day.isoformat()}"} for day in days]
    return [{"data": {"values": rows},
             "mark": {"type": "point", "shape": "triangle-up", "filled": True, "size": 90,
                      "color": MARK, "opacity": 1, "yOffset": -5, "aria": True},
             "encoding": {"x": x, "y": _y(scale), "description": {"field": "description"}}}]


def _series(points: Sequence[ChartPoint], x: charts.Spec, y: charts.Spec) -> list[charts.Spec]:
    rows = [{"at": _ms(p.rated_at), "value": p.value,
             "description": f"{p.rated_at.date().isoformat()}: {p.label}"} for p in points]
    return [
        {"data": {"values": rows}, "mark": {"type": "line", "color": LINE, "strokeWidth": 2.5,
                                            "strokeJoin": "round", "aria": False},
         "encoding": {"x": x, "y": y}},
        {"data": {"values": rows},
         "mark": {"type": "point", "filled": True, "fill": "#ffffff", "stroke": LINE,
                  "strokeWidth": 2.5, "size": 95, "opacity": 1, "aria": True},
         "encoding": {"x": x, "y": y, "description": {"field": "description"}}},
    ]


def panel_spec(
    instrument: Instrument,
    points: Sequence[ChartPoint],
    *,
    course_start: datetime | None = None,
    marked_days: Sequence[date] = (),
    mark_label: str = "planned infusion",
) -> charts.Spec:
    """One instrument's panel: severity bands, the ratings, the course start and the marked
    infusion days, over the ratings' dates."""
    if not points:
        raise ValueError("a chart panel needs at least one point")
    extra = [datetime.combine(d, time(12), UTC) for d in marked_days]
    if course_start is not None:
        extra.append(course_start)
    start, end = _time_range(points, extra)
    scale = scale_for(instrument)
    latest = points[-1]
    summary = (f"{instrument.name}: {len(points)} rating(s) from "
               f"{points[0].rated_at.date().isoformat()} to "
               f"{latest.rated_at.date().isoformat()}; latest {latest.label}.")
    x = {"field": "at", "type": "temporal", "title": None,
         "scale": {"type": "utc", "domain": [_ms(start), _ms(end)]},
         "axis": {"format": "%d %b", "tickCount": 8, "grid": False}}
    layers = [*_bands(scale), *([] if course_start is None else _course_start(course_start, x)),
              *_day_marks(marked_days, mark_label, scale, x), *_series(points, x, _y(scale))]
    return charts.chart(layers, description=summary, width=WIDTH, height=HEIGHT)


def panel_svg(instrument: Instrument, points: Sequence[ChartPoint], *,
              course_start: datetime | None = None, marked_days: Sequence[date] = (),
              mark_label: str = "planned infusion", element_id: str = "chart") -> str:
    """One instrument's panel rendered inline, its root element carrying `element_id`."""
    spec = panel_spec(instrument, points, course_start=course_start, marked_days=marked_days,
                      mark_label=mark_label)
    return charts.svg(spec, element_id=element_id)
