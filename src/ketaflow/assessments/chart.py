"""Scores over time as server-side SVG: one panel per instrument, severity bands shaded.

Plain SVG text built in Python: no JavaScript, and only presentation attributes (fill=, stroke=)
because the CSP refuses inline style attributes. Every point carries a <title> so the value is
available on hover and to screen readers, and the panel has a text summary.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from html import escape

from ketaflow.scales import Instrument, RiskLevel
from ketaflow.scales.instruments import Band, ScoringRule

WIDTH = 960
HEIGHT = 250
LEFT, RIGHT, TOP, BOTTOM = 52, 170, 16, 40
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif"
LINE = "#0b5f73"
AXIS = "#4b5b6a"
GRID = "#d5dde5"
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


def _attrs(**values: object) -> str:
    return " ".join(f'{key.rstrip("_").replace("_", "-")}="{escape(str(value))}"'
                    for key, value in values.items())


def _el(tag: str, title: str | None = None, **attrs: object) -> str:
    """One SVG element; `title` becomes its tooltip (escaped like every attribute)."""
    if title is None:
        return f"<{tag} {_attrs(**attrs)}/>"
    return f"<{tag} {_attrs(**attrs)}><title>{escape(title)}</title></{tag}>"


def _px(value: float) -> str:
    return f"{value:.1f}"


class _Frame:
    """Maps dates and values to pixels inside the plot area."""

    def __init__(self, start: datetime, end: datetime, scale: Scale) -> None:
        self.start, self.end, self.scale = start, end, scale
        self.plot_w = WIDTH - LEFT - RIGHT
        self.plot_h = HEIGHT - TOP - BOTTOM

    def x(self, moment: datetime) -> float:
        span = (self.end - self.start).total_seconds()
        return LEFT + self.plot_w * (moment - self.start).total_seconds() / span

    def y(self, value: float) -> float:
        # Categorical scales (C-SSRS) put each level mid-band; numeric ones use the edges.
        low, high = float(self.scale.low), float(self.scale.high)
        if self.scale.tick_labels is not None:
            low, high = low - 0.5, high + 0.5
        return TOP + self.plot_h * (1 - (value - low) / (high - low))


def _time_range(points: Sequence[ChartPoint], extra: Sequence[datetime]
                ) -> tuple[datetime, datetime]:
    moments = [p.rated_at for p in points] + list(extra)
    start, end = min(moments), max(moments)
    # Pad so points never sit on the frame; a single day still gets a readable week.
    padding = max((end - start) * 0.04, timedelta(days=1))
    if end - start < timedelta(days=5):
        padding = timedelta(days=3)
    return start - padding, end + padding


def _bands(frame: _Frame) -> list[str]:
    parts = []
    bands = frame.scale.bands
    categorical = frame.scale.tick_labels is not None
    for index, band in enumerate(bands):
        tint = BAND_TINTS[round(index * (len(BAND_TINTS) - 1) / max(len(bands) - 1, 1))]
        top_value = band.high + 0.5 if categorical else min(band.high + 1, frame.scale.high)
        bottom_value = band.low - 0.5 if categorical else band.low
        y_top, y_bottom = frame.y(top_value), frame.y(bottom_value)
        parts.append(_el("rect", x=LEFT, y=_px(y_top), width=frame.plot_w,
                         height=_px(y_bottom - y_top), fill=tint))
        if not categorical:
            parts.append(_text(WIDTH - RIGHT + 8, (y_top + y_bottom) / 2 + 4,
                               f"{band.label} {band.low}-{band.high}", size=11, fill=AXIS))
    return parts


def _text(x: float, y: float, content: str, *, size: int = 12, fill: str = AXIS,
          anchor: str = "start", weight: str = "normal") -> str:
    attrs = _attrs(x=_px(x), y=_px(y), font_size=size, fill=fill, text_anchor=anchor,
                   font_weight=weight, font_family=FONT)
    return f"<text {attrs}>{escape(content)}</text>"


def _y_axis(frame: _Frame) -> list[str]:
    scale = frame.scale
    if scale.tick_labels is not None:
        ticks = dict(scale.tick_labels)
    else:
        step = 5 if scale.high - scale.low <= 30 else 10
        first = -(-scale.low // step) * step
        ticks = {v: str(v) for v in range(first, scale.high + 1, step)}
        # Label the top of the scale too, unless it would collide with the last tick (25, 27).
        if scale.high - max(ticks) >= step / 2:
            ticks[scale.high] = str(scale.high)
    parts = []
    for value, label in ticks.items():
        y = _px(frame.y(value))
        parts.append(_el("line", x1=LEFT, x2=WIDTH - RIGHT, y1=y, y2=y, stroke=GRID,
                         stroke_width=1))
        parts.append(_text(LEFT - 8, frame.y(value) + 4, label, size=11, anchor="end"))
    return parts


def _x_axis(frame: _Frame) -> list[str]:
    first_day = frame.start.date() + timedelta(days=1)
    last_day = frame.end.date()
    step = max(1, round((last_day - first_day).days / 7))
    base = HEIGHT - BOTTOM
    parts = [_el("line", x1=LEFT, x2=WIDTH - RIGHT, y1=base, y2=base, stroke=AXIS,
                 stroke_width=1)]
    day = first_day
    while day <= last_day:
        x = frame.x(datetime.combine(day, time(12), UTC))
        parts.append(_el("line", x1=_px(x), x2=_px(x), y1=base, y2=base + 5, stroke=AXIS))
        parts.append(_text(x, base + 19, day.strftime("%d %b"), size=11, anchor="middle"))
        day += timedelta(days=step)
    return parts


def _course_start(frame: _Frame, moment: datetime) -> list[str]:
    x = frame.x(moment)
    return [
        _el("line", f"Course start {moment.date().isoformat()}", x1=_px(x), x2=_px(x), y1=TOP,
            y2=HEIGHT - BOTTOM, stroke=COURSE, stroke_width=2, stroke_dasharray="6 4"),
        _text(x + 4, TOP + 12, "course start", size=11, fill=COURSE, weight="600"),
    ]


def _day_marks(frame: _Frame, days: Sequence[date], label: str) -> list[str]:
    parts = []
    base = HEIGHT - BOTTOM
    for day in days:
        x = frame.x(datetime.combine(day, time(12), UTC))
        points = f"{_px(x - 5)},{base + 1} {_px(x + 5)},{base + 1} {_px(x)},{base - 8}"
        parts.append(_el("polygon", f"{label} {day.isoformat()}", points=points, fill=MARK))
    return parts


def _series(frame: _Frame, points: Sequence[ChartPoint]) -> list[str]:
    coords = [(frame.x(p.rated_at), frame.y(p.value)) for p in points]
    parts = []
    if len(coords) > 1:
        path = " ".join(f"{_px(x)},{_px(y)}" for x, y in coords)
        parts.append(_el("polyline", points=path, fill="none", stroke=LINE, stroke_width=2.5,
                         stroke_linejoin="round"))
    for point, (x, y) in zip(points, coords, strict=True):
        title = f"{point.rated_at.date().isoformat()}: {point.label}"
        parts.append(_el("circle", title, cx=_px(x), cy=_px(y), r=5.5, fill="#ffffff",
                         stroke=LINE, stroke_width=2.5))
    return parts


def _legend(has_course: bool, mark_label: str | None) -> list[str]:
    y = HEIGHT - 8
    parts = [_el("circle", cx=LEFT + 6, cy=y - 4, r=5, fill="#ffffff", stroke=LINE,
                 stroke_width=2.5),
             _text(LEFT + 16, y, "rating", size=11)]
    x = LEFT + 80
    if has_course:
        parts.append(_el("line", x1=x, x2=x + 22, y1=y - 4, y2=y - 4, stroke=COURSE,
                         stroke_width=2, stroke_dasharray="6 4"))
        parts.append(_text(x + 28, y, "course start", size=11))
        x += 130
    if mark_label:
        parts.append(_el("polygon", points=f"{x},{y} {x + 10},{y} {x + 5},{y - 9}", fill=MARK))
        parts.append(_text(x + 16, y, mark_label, size=11))
    return parts


def panel_svg(
    instrument: Instrument,
    points: Sequence[ChartPoint],
    *,
    course_start: datetime | None = None,
    marked_days: Sequence[date] = (),
    mark_label: str = "planned infusion",
    element_id: str = "chart",
) -> str:
    """One instrument's panel as an inline <svg> element (trusted markup: all text escaped)."""
    if not points:
        raise ValueError("a chart panel needs at least one point")
    extra = [datetime.combine(d, time(12), UTC) for d in marked_days]
    if course_start is not None:
        extra.append(course_start)
    start, end = _time_range(points, extra)
    frame = _Frame(start, end, scale_for(instrument))
    latest = points[-1]
    summary = (f"{instrument.name}: {len(points)} rating(s) from "
               f"{points[0].rated_at.date().isoformat()} to "
               f"{latest.rated_at.date().isoformat()}; latest {latest.label}.")
    body = [
        *_bands(frame),
        *_y_axis(frame),
        *_x_axis(frame),
        *([] if course_start is None else _course_start(frame, course_start)),
        *_day_marks(frame, marked_days, mark_label),
        *_series(frame, points),
        *_legend(course_start is not None, mark_label if marked_days else None),
    ]
    title_id = f"{element_id}-title"
    attrs = _attrs(viewBox=f"0 0 {WIDTH} {HEIGHT}", role="img", id=element_id,
                   aria_labelledby=title_id, preserveAspectRatio="xMidYMid meet")
    return (f'<svg xmlns="http://www.w3.org/2000/svg" {attrs}>'
            f'<title id="{escape(title_id)}">{escape(summary)}</title>'
            + "".join(body) + "</svg>")
