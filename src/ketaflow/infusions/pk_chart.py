"""The predicted plasma-concentration curve for this session's dose, as a declared Vega-Lite
chart (`ketaflow.charts`, rendered to inline SVG on the server).

Model: Kamp et al., Anesthesiology 2020;133:1192 (`ketaflow.pk` key "kamp"): three compartments,
every volume and clearance linear in body weight, so the curve needs only the dosing weight.
Two curves: the planned regimen from the signed order (dashed) and the regimen as actually
given so far, from the start, pauses, rate changes and stop on the record (solid). Reference
lines at 100 and 50 ng/mL are illustrative, as in docs/pk.md, not clinical targets.

The planned curve, its end concentration and its time below the lowest line depend only on the
order's dosing weight, dose and duration (and the grid's width), and a signed order never
changes (a new order supersedes it), so they are computed once per order and kept in small
in-process caches keyed on those values. Only the curve as given, which moves with the clock
while the pump runs, is simulated on every page load.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import numpy as np

from ketaflow import charts
from ketaflow.dosing import SaltForm
from ketaflow.infusions.models import EventKind, InfusionOrder, InfusionSession
from ketaflow.pk import BASE_PER_HYDROCHLORIDE, MODELS, Infusion, Regimen, simulate, time_below
from ketaflow.pk.kinetics import FloatArray

MODEL_KEY = "kamp"
REFERENCE_LINES_NG_PER_ML = (100.0, 50.0)
WIDTH, HEIGHT = 600, 220  # the plot area in px; the SVG scales to its container
PLANNED, GIVEN, REFERENCE, NOW, NOW_TEXT = "#6b7c8c", "#0b5f73", "#a4161a", "#f2a900", "#8a4b00"
GRID_POINTS = 241
# Entries per cache: each is one order (or one order at one chart width), a few kB at most;
# far more than the sessions a clinic runs in a day, so a day's orders stay cached.
_CACHE_ENTRIES = 256


@dataclass(frozen=True)
class PkChart:
    svg: str
    spec: charts.Spec
    model_name: str
    citation: str
    planned_end_ng_per_ml: float
    planned_peak_ng_per_ml: float
    below_lowest_line_min: float | None


def _base_mg_per_min(rate_ml_per_h: float, order: InfusionOrder) -> float:
    per_min = rate_ml_per_h / 60.0 * order.concentration_mg_per_ml
    if order.concentration_salt is SaltForm.HYDROCHLORIDE:
        per_min *= BASE_PER_HYDROCHLORIDE
    return per_min


_PUMP_OFF = ("pause", "stop", "abort")


def given_regimen(record: InfusionSession, order: InfusionOrder, now: datetime) -> Regimen | None:
    """The infusion as given: constant-rate pieces between start, pauses, rate changes, stop."""
    start = record.started_at
    if start is None:
        return None
    rate, running, since = order.rate_ml_per_h, True, 0.0
    pieces: list[Infusion] = []
    changes = [e for e in record.events if e.kind is EventKind.RATE_CHANGE
               or e.detail.get("action") in (*_PUMP_OFF, "resume")]
    end_min = ((record.ended_at or now) - start).total_seconds() / 60
    for event in [*changes, None]:
        t = end_min if event is None else max((event.occurred_at - start).total_seconds() / 60,
                                              0.0)
        if running and t > since and rate > 0:
            pieces.append(Infusion(since, t - since, _base_mg_per_min(rate, order)))
        since = max(since, t)
        if event is None:
            break
        if event.kind is EventKind.RATE_CHANGE:
            rate = float(event.detail["to_ml_per_h"])
        else:
            running = event.detail.get("action") == "resume"
    return Regimen(infusions=tuple(pieces)) if pieces else None


@lru_cache(maxsize=_CACHE_ENTRIES)
def _grid_min(x_max: float) -> FloatArray:
    times: FloatArray = np.linspace(0.0, x_max, GRID_POINTS)
    times.flags.writeable = False  # shared between requests
    return times


def _planned_regimen(dose_mg_base: float, duration_min: float) -> Regimen:
    return Regimen(infusions=(Infusion.of_dose(dose_mg_base, duration_min),))


@lru_cache(maxsize=_CACHE_ENTRIES)
def _planned_curve(weight_kg: float, dose_mg_base: float, duration_min: float,
                   x_max: float) -> FloatArray:
    """Plasma ng/mL of the signed order on the chart's grid."""
    kinetics = MODELS[MODEL_KEY].kinetics_for_weight(np.array([weight_kg]))
    curve: FloatArray = simulate(kinetics, _planned_regimen(dose_mg_base, duration_min),
                                 _grid_min(x_max)).plasma_ng_per_ml[0]
    curve.flags.writeable = False  # shared between requests
    return curve


@lru_cache(maxsize=_CACHE_ENTRIES)
def _planned_end_and_below(weight_kg: float, dose_mg_base: float,
                           duration_min: float) -> tuple[float, float | None]:
    """Plasma ng/mL at the end of the planned infusion, and the minute after which it stays
    below the lowest reference line (None if never: not finite). The exact root finding in
    `time_below` is the most expensive step of the chart, hence the cache."""
    kinetics = MODELS[MODEL_KEY].kinetics_for_weight(np.array([weight_kg]))
    planned = _planned_regimen(dose_mg_base, duration_min)
    end = float(simulate(kinetics, planned, [duration_min]).plasma_ng_per_ml[0, 0])
    below = float(time_below(kinetics, planned, min(REFERENCE_LINES_NG_PER_ML))[0])
    return end, below if np.isfinite(below) else None


def build_chart(record: InfusionSession, order: InfusionOrder, now: datetime) -> PkChart:
    model = MODELS[MODEL_KEY]
    weight_kg, dose_mg_base = order.dosing_weight_kg, order.dose_mg_base
    duration_min = order.duration_min
    given = given_regimen(record, order, now)
    start = record.started_at
    now_min = None if start is None else (now - start).total_seconds() / 60
    infused_min = 0.0 if start is None else (
        ((record.ended_at or now) - start).total_seconds() / 60)
    shown_until = float("inf") if record.status.is_final else (now_min or 0.0)
    span = max(duration_min, infused_min, 0.0 if now_min is None
               or record.status.is_final else now_min - 120)
    x_max = float(max(180, int((span + 120) / 30 + 1) * 30))
    times = _grid_min(x_max)
    planned_curve = _planned_curve(weight_kg, dose_mg_base, duration_min, x_max)
    given_curve = None if given is None else simulate(
        model.kinetics_for_weight(np.array([weight_kg])), given, times).plasma_ng_per_ml[0]
    planned_peak = float(planned_curve.max())
    top = max(planned_peak, 0.0 if given_curve is None else float(given_curve.max()))
    y_max = float(max(300, int(top / 50 + 1) * 50))
    planned_label = f"planned: {dose_mg_base:.1f} mg base over {duration_min:g} min"
    values = _points(times, planned_curve, planned_label)
    if given_curve is not None:
        shown = times <= shown_until + 1e-9
        values += _points(times[shown], given_curve[shown], "as given")
    now_at = None if now_min is None or record.status.is_final else min(now_min, x_max)
    end, below = _planned_end_and_below(weight_kg, dose_mg_base, duration_min)
    title = f"Predicted plasma ketamine ({model.info.name} model)"
    spec = _spec(values, planned_label, x_max, y_max, now_at, title)
    return PkChart(svg=charts.svg(spec), spec=spec, model_name=model.info.name,
                   citation=model.info.citation, planned_end_ng_per_ml=end,
                   planned_peak_ng_per_ml=planned_peak, below_lowest_line_min=below)


def _points(times: FloatArray, values: FloatArray, series: str) -> list[dict[str, Any]]:
    return [{"t_min": round(float(t), 2), "ng_per_ml": round(float(v), 1), "series": series}
            for t, v in zip(times, values, strict=True)]


def _spec(values: list[dict[str, Any]], planned_label: str, x_max: float, y_max: float,
          now_min: float | None, title: str) -> charts.Spec:
    """Planned (dashed) and given (solid) curves, the reference lines and the clock."""
    domain = [planned_label, "as given"]
    series = {"field": "series", "type": "nominal", "title": None}
    curves = {
        "data": {"values": values},
        "mark": {"type": "line", "strokeWidth": 2.5},
        "encoding": {
            "x": {"field": "t_min", "type": "quantitative", "title": "minutes from start",
                  "scale": {"domain": [0, x_max], "nice": False},
                  "axis": {"values": list(range(0, int(x_max) + 1, 30))}},
            "y": {"field": "ng_per_ml", "type": "quantitative", "title": "plasma ng/mL",
                  "scale": {"domain": [0, y_max], "nice": False}},
            "color": {**series, "scale": {"domain": domain, "range": [PLANNED, GIVEN]}},
            "strokeDash": {**series, "scale": {"domain": domain, "range": [[6, 4], [1, 0]]}},
        },
    }
    lines = [{"ng_per_ml": line, "label": f"{line:g} ng/mL"}
             for line in REFERENCE_LINES_NG_PER_ML]
    reference = [
        {"data": {"values": lines}, "mark": {"type": "rule", "color": REFERENCE,
                                             "strokeDash": [2, 3]},
         "encoding": {"y": {"field": "ng_per_ml", "type": "quantitative"}}},
        {"data": {"values": lines},
         "mark": {"type": "text", "color": REFERENCE, "align": "right", "dy": -7,
                  "x": "width", "dx": -4, "fontSize": 11},
         "encoding": {"y": {"field": "ng_per_ml", "type": "quantitative"},
                      "text": {"field": "label"}}},
    ]
    clock = [] if now_min is None else [
        {"data": {"values": [{"t_min": now_min}]}, "mark": {"type": "rule", "color": NOW,
                                                            "strokeWidth": 2},
         "encoding": {"x": {"field": "t_min", "type": "quantitative"}}},
        {"data": {"values": [{"t_min": now_min, "label": "now"}]},
         "mark": {"type": "text", "color": NOW_TEXT, "align": "left", "dx": 4, "y": "height",
                  "dy": -6, "fontSize": 11},
         "encoding": {"x": {"field": "t_min", "type": "quantitative"},
                      "text": {"field": "label"}}},
    ]
    return charts.chart([curves, *reference, *clock], description=title,
                        width=WIDTH, height=HEIGHT)
