"""The dashboard's charts as declared Vega-Lite specs (`ketaflow.charts`): time to response
(Kaplan-Meier with its 95% band, drawn as the cumulative proportion responded), the retention
funnel, and response and remission by week since the first infusion. Each mark is described,
so hovering or a screen reader gives the value.
"""

from __future__ import annotations

from collections.abc import Sequence

from ketaflow import charts
from ketaflow.outcomes.stats import Rate, SurvivalCurve

WIDTH, HEIGHT = 560, 220
LINE, BAND, REMISSION = "#0b5f73", "#9ccbd6", "#6a3d9a"
BAR = "#0b5f73"


def _pct(value: float) -> str:
    return f"{100 * value:.0f}%"


def response_curve(curve: SurvivalCurve, instrument_label: str) -> charts.Spec:
    """1 - S(t) as a step line from day 0, the band as a stepped area; censored courses are
    in the text summary (and the at-risk numbers), not drawn one by one."""
    rows = [{"day": 0.0, "responded": 0.0, "low": 0.0, "high": 0.0,
             "description": f"day 0: 0% responded, {curve.n} courses at risk"}]
    for day, s, lower, upper, at_risk in zip(curve.times, curve.survival, curve.lower,
                                             curve.upper, curve.at_risk, strict=True):
        rows.append({"day": day, "responded": 1 - s, "low": 1 - upper, "high": 1 - lower,
                     "description": f"day {day:.0f}: {_pct(1 - s)} responded "
                                    f"(95% CI {_pct(1 - upper)} to {_pct(1 - lower)}), "
                                    f"{at_risk} at risk"})
    if curve.follow_up > (curve.times[-1] if curve.times else 0.0):
        # The estimate holds until the last course followed (censored) leaves.
        rows.append({**rows[-1], "day": curve.follow_up,
                     "description": f"day {curve.follow_up:.0f}: end of follow-up"})
    x = {"field": "day", "type": "quantitative", "title": "days since the first infusion",
         "scale": {"zero": True}}
    y = {"field": "responded", "type": "quantitative", "title": "responded",
         "scale": {"domain": [0, 1]}, "axis": {"format": ".0%"}}
    median = "not reached" if curve.median is None else f"day {curve.median:.0f}"
    description = (f"Time to response on the {instrument_label}: {curve.n} courses, "
                   f"{curve.events} responded, {curve.censored} censored; median {median}")
    return charts.chart([
        {"mark": {"type": "area", "interpolate": "step-after", "color": BAND, "opacity": 0.55,
                  "aria": False},
         "encoding": {"x": x, "y": {**y, "field": "low"}, "y2": {"field": "high"}}},
        {"mark": {"type": "line", "interpolate": "step-after", "color": LINE, "strokeWidth": 2.5,
                  "aria": False},
         "encoding": {"x": x, "y": y}},
        {"mark": {"type": "point", "filled": True, "size": 40, "color": LINE},
         "encoding": {"x": x, "y": y, "description": {"field": "description"}}},
    ], description=description, width=WIDTH, height=HEIGHT, data={"values": rows})


def funnel(steps: Sequence[tuple[str, int | None]]) -> charts.Spec:
    """Horizontal bars, one per step in order; a suppressed step (None) has no bar."""
    rows = [{"step": name, "order": i, "patients": value,
             "description": f"{name}: {'hidden' if value is None else value} patients"}
            for i, (name, value) in enumerate(steps)]
    y = {"field": "step", "type": "nominal", "title": None, "sort": {"field": "order"}}
    most = max((value for _, value in steps if value is not None), default=0)
    x = {"field": "patients", "type": "quantitative", "title": "patients",
         "axis": {"values": _whole_ticks(most), "format": "d"}}
    described = ", ".join(f"{r['step']} {'hidden' if r['patients'] is None else r['patients']}"
                          for r in rows)
    return charts.chart([
        {"mark": {"type": "bar", "color": BAR},
         "encoding": {"y": y, "x": x, "description": {"field": "description"}}},
        {"mark": {"type": "text", "align": "left", "dx": 4, "fontSize": 11, "aria": False},
         "encoding": {"y": y, "x": x, "text": {"field": "patients"}}},
    ], description=f"Retention funnel: {described}", width=WIDTH, height=24 * len(rows),
        data={"values": [r for r in rows if r["patients"] is not None]})


def _whole_ticks(most: int) -> list[int]:
    """About five whole-number ticks from 0 to at least `most` (no 0.5 patients)."""
    step = max(1, -(-most // 5))
    return list(range(0, most + step, step))


def over_time(weeks: Sequence[tuple[int, Rate, Rate]], instrument_label: str) -> charts.Spec:
    """Response and remission rates by week since the first infusion (weeks with ratings)."""
    rows = []
    for week, response, remission in weeks:
        for name, rate in (("response", response), ("remission", remission)):
            if rate.value is None:
                continue
            rows.append({"week": week + 1, "measure": name, "rate": rate.value,
                         "description": f"week {week + 1}: {name} {_pct(rate.value)} "
                                        f"({rate.numerator} of {rate.denominator} rated)"})
    x = {"field": "week", "type": "quantitative", "title": "week since the first infusion",
         "axis": {"values": sorted({week + 1 for week, _, _ in weeks}), "format": "d"}}
    y = {"field": "rate", "type": "quantitative", "title": None, "scale": {"domain": [0, 1]},
         "axis": {"format": ".0%"}}
    colour = {"field": "measure", "type": "nominal", "title": None,
              "scale": {"domain": ["response", "remission"], "range": [LINE, REMISSION]}}
    return charts.chart([
        {"mark": {"type": "line", "strokeWidth": 2.5, "aria": False},
         "encoding": {"x": x, "y": y, "color": colour}},
        {"mark": {"type": "point", "filled": True, "size": 50},
         "encoding": {"x": x, "y": y, "color": colour,
                      "shape": {"field": "measure", "title": None,
                                "scale": {"domain": ["response", "remission"],
                                          "range": ["circle", "square"]}},
                      "description": {"field": "description"}}},
    ], description=f"Response and remission by week on the {instrument_label}",
        width=WIDTH, height=HEIGHT, data={"values": rows})
