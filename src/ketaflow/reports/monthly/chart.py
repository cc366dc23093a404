"""The monthly report's charts as declared Vega-Lite specs (`ketaflow.charts`): infusions
started in each slice of the month, and response and remission at the end of induction per
scale. A suppressed count (None) has no bar; each mark is described for screen readers."""

from __future__ import annotations

from collections.abc import Sequence

from ketaflow import charts
from ketaflow.outcomes.chart import BAR, LINE, REMISSION

WIDTH, HEIGHT = 520, 180


def weekly(weeks: Sequence[tuple[str, int | None]], month_label: str) -> charts.Spec:
    rows = [{"days": f"days {label}", "order": i, "infusions": n,
             "description": f"days {label}: {'hidden' if n is None else n} infusions"}
            for i, (label, n) in enumerate(weeks)]
    most = max((n for _, n in weeks if n is not None), default=0)
    step = max(1, -(-most // 5))
    # Every slice on the axis, a hidden one too (it has no bar).
    x = {"field": "days", "type": "nominal", "title": f"days of {month_label}",
         "scale": {"domain": [r["days"] for r in rows]}, "axis": {"labelAngle": 0}}
    y = {"field": "infusions", "type": "quantitative", "title": "infusions started",
         "axis": {"values": list(range(0, most + step, step)), "format": "d"}}
    described = ", ".join(str(r["description"]) for r in rows)
    return charts.chart([
        {"mark": {"type": "bar", "color": BAR},
         "encoding": {"x": x, "y": y, "description": {"field": "description"}}},
        {"mark": {"type": "text", "dy": -6, "fontSize": 11, "aria": False},
         "encoding": {"x": x, "y": y, "text": {"field": "infusions"}}},
    ], description=f"Infusions started in {month_label} by week: {described}",
        width=WIDTH, height=HEIGHT,
        data={"values": [r for r in rows if r["infusions"] is not None]})


def rates(bars: Sequence[tuple[str, str, float]]) -> charts.Spec:
    """(scale, "response" or "remission", rate 0..1) per bar, grouped by scale."""
    rows = [{"scale": scale, "measure": measure, "rate": rate,
             "description": f"{scale} {measure}: {100 * rate:.0f}%"}
            for scale, measure, rate in bars]
    colour = {"field": "measure", "type": "nominal", "title": None,
              "scale": {"domain": ["response", "remission"], "range": [LINE, REMISSION]}}
    return charts.chart([
        {"mark": {"type": "bar"},
         "encoding": {"x": {"field": "scale", "type": "nominal", "title": None,
                            "axis": {"labelAngle": 0}},
                      "xOffset": {"field": "measure", "sort": ["response", "remission"]},
                      "y": {"field": "rate", "type": "quantitative", "title": None,
                            "scale": {"domain": [0, 1]}, "axis": {"format": ".0%"}},
                      "color": colour, "description": {"field": "description"}}},
    ], description="Response and remission at the end of induction: "
                   + ", ".join(str(r["description"]) for r in rows),
        width=WIDTH, height=HEIGHT, data={"values": rows})
