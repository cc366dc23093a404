"""The predicted plasma-concentration curve for this session's dose, as server-side SVG.

Model: Kamp et al., Anesthesiology 2020;133:1192 (`ketaflow.pk` key "kamp"): three compartments,
every volume and clearance linear in body weight, so the curve needs only the dosing weight.
Two curves: the planned regimen from the signed order (dashed) and the regimen as actually
given so far, from the start, pauses, rate changes and stop on the record (solid). Reference
lines at 100 and 50 ng/mL are illustrative, as in docs/pk.md, not clinical targets.
The SVG uses presentation attributes only (the CSP forbids inline style).

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
from html import escape

import numpy as np

from ketaflow.dosing import SaltForm
from ketaflow.infusions.models import EventKind, InfusionOrder, InfusionSession
from ketaflow.pk import BASE_PER_HYDROCHLORIDE, MODELS, Infusion, Regimen, simulate, time_below
from ketaflow.pk.kinetics import FloatArray

MODEL_KEY = "kamp"
REFERENCE_LINES_NG_PER_ML = (100.0, 50.0)
WIDTH, HEIGHT = 640, 280
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 18, 42
GRID_POINTS = 241
# Entries per cache: each is one order (or one order at one chart width), a few kB at most;
# far more than the sessions a clinic runs in a day, so a day's orders stay cached.
_CACHE_ENTRIES = 256


@dataclass(frozen=True)
class PkChart:
    svg: str
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


def _polyline(times: np.ndarray, values: np.ndarray, x_max: float, y_max: float) -> str:
    xs = LEFT + times / x_max * (WIDTH - LEFT - RIGHT)
    ys = HEIGHT - BOTTOM - values / y_max * (HEIGHT - TOP - BOTTOM)
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True))


def _axes(x_max: float, y_max: float) -> list[str]:
    parts = []
    for tick in range(0, int(x_max) + 1, 30):
        x = LEFT + tick / x_max * (WIDTH - LEFT - RIGHT)
        parts.append(f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{HEIGHT - BOTTOM}" '
                     'stroke="#e3e8ee" stroke-width="1"/>')
        parts.append(f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" font-size="11" '
                     f'text-anchor="middle" fill="#4b5b6a">{tick}</text>')
    step = 50 if y_max <= 300 else 100
    for tick in range(0, int(y_max) + 1, step):
        y = HEIGHT - BOTTOM - tick / y_max * (HEIGHT - TOP - BOTTOM)
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" '
                     'stroke="#e3e8ee" stroke-width="1"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end" '
                     f'fill="#4b5b6a">{tick}</text>')
    parts.append(f'<text x="{(WIDTH + LEFT) / 2:.0f}" y="{HEIGHT - 6}" font-size="12" '
                 'text-anchor="middle" fill="#14202b">minutes from start</text>')
    parts.append(f'<text x="14" y="{(HEIGHT - BOTTOM + TOP) / 2:.0f}" font-size="12" '
                 f'text-anchor="middle" fill="#14202b" transform="rotate(-90 14 '
                 f'{(HEIGHT - BOTTOM + TOP) / 2:.0f})">plasma ng/mL</text>')
    return parts


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
def _planned_points(weight_kg: float, dose_mg_base: float, duration_min: float,
                    x_max: float, y_max: float) -> str:
    curve = _planned_curve(weight_kg, dose_mg_base, duration_min, x_max)
    return _polyline(_grid_min(x_max), curve, x_max, y_max)


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


@lru_cache(maxsize=_CACHE_ENTRIES)
def _frame(x_max: float, y_max: float) -> str:
    """Axes, grid and reference lines: the same for every chart of this size."""
    parts = _axes(x_max, y_max)
    for line in REFERENCE_LINES_NG_PER_ML:
        y = HEIGHT - BOTTOM - line / y_max * (HEIGHT - TOP - BOTTOM)
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" '
                     'stroke="#a4161a" stroke-width="1" stroke-dasharray="2 3"/>')
        parts.append(f'<text x="{WIDTH - RIGHT - 4}" y="{y - 4:.1f}" font-size="11" '
                     f'text-anchor="end" fill="#a4161a">{line:g} ng/mL</text>')
    return "".join(parts)


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
    parts = [_frame(x_max, y_max)]
    parts.append(f'<polyline points="'
                 f'{_planned_points(weight_kg, dose_mg_base, duration_min, x_max, y_max)}" '
                 'fill="none" stroke="#6b7c8c" stroke-width="2" stroke-dasharray="6 4"/>')
    if given_curve is not None:
        shown = times <= shown_until + 1e-9
        points = _polyline(times[shown], given_curve[shown], x_max, y_max)
        parts.append(f'<polyline points="{points}" fill="none" stroke="#0b5f73" '
                     'stroke-width="3"/>')
    if now_min is not None and not record.status.is_final:
        x = LEFT + min(now_min, x_max) / x_max * (WIDTH - LEFT - RIGHT)
        parts.append(f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{HEIGHT - BOTTOM}" '
                     'stroke="#f2a900" stroke-width="2"/>')
        parts.append(f'<text x="{x + 4:.1f}" y="{HEIGHT - BOTTOM - 6}" font-size="11" '
                     'fill="#8a4b00">now</text>')
    legend_y = TOP + 12
    parts.append(f'<text x="{WIDTH - RIGHT - 4}" y="{legend_y}" font-size="11" '
                 'text-anchor="end" fill="#4b5b6a">'
                 f'dashed: planned {dose_mg_base:.1f} mg base over '
                 f'{duration_min:g} min; solid: as given</text>')
    end, below = _planned_end_and_below(weight_kg, dose_mg_base, duration_min)
    title = escape(f"Predicted plasma ketamine ({model.info.name} model)")
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
           f'width="100%" role="img" aria-label="{title}"><title>{title}</title>'
           + "".join(parts) + "</svg>")
    return PkChart(svg=svg, model_name=model.info.name, citation=model.info.citation,
                   planned_end_ng_per_ml=end, planned_peak_ng_per_ml=planned_peak,
                   below_lowest_line_min=below)
