"""Concentration-time plots as declared charts (`ketaflow.charts`: Vega-Lite, rendered to PNG
or SVG without a display). Exempt from the pure-core contract."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ketaflow import charts
from ketaflow.pk.kinetics import FloatArray
from ketaflow.pk.population import PercentileBands


@dataclass(frozen=True)
class Curve:
    """One line on the plot, optionally with a population band (5-95 and 25-75 percentiles)."""

    label: str
    times_min: FloatArray
    values_ng_per_ml: FloatArray
    bands: PercentileBands | None = None
    dashed: bool = False


# One colour per curve, in order (colour-blind-safe Tableau 10).
PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1"]


def plot_spec(
    curves: Sequence[Curve],
    *,
    title: str,
    thresholds_ng_per_ml: Sequence[float] = (),
    observations: Sequence[tuple[float, float, str]] = (),
    footnote: str = "",
) -> charts.Spec:
    """Curves (with their population bands), horizontal threshold lines and published values
    to compare against, as one declared chart."""
    labels = [curve.label for curve in curves]
    colour = {"field": "curve", "type": "nominal", "title": None,
              "scale": {"domain": labels, "range": PALETTE[:len(labels)]},
              "legend": {"symbolType": "stroke", "symbolOpacity": 1, "symbolStrokeWidth": 3}}
    x = {"field": "t_min", "type": "quantitative", "title": "time since start (min)"}
    y = {"field": "ng_per_ml", "type": "quantitative",
         "title": "ketamine concentration (ng/mL)"}
    layers = [layer for curve in curves for layer in _band_layers(curve, x, colour)]
    lines = [{"curve": c.label, "t_min": round(float(t), 3), "ng_per_ml": round(float(v), 2),
              "dash": "dashed" if c.dashed else "solid"}
             for c in curves for t, v in zip(c.times_min, c.values_ng_per_ml, strict=True)]
    layers.append({"data": {"values": lines}, "mark": {"type": "line", "strokeWidth": 1.8},
                   "encoding": {"x": x, "y": y, "color": colour,
                                "strokeDash": {"field": "dash", "type": "nominal",
                                               "legend": None, "scale": {
                                                   "domain": ["solid", "dashed"],
                                                   "range": [[1, 0], [6, 4]]}}}})
    layers += _threshold_layers(thresholds_ng_per_ml, y)
    layers += _observation_layers(observations, x, y)
    heading: charts.Spec = {"text": title}
    if footnote:
        heading |= {"subtitle": footnote.split("\n"), "subtitleFontSize": 10,
                    "subtitleColor": charts.MUTED}
    return charts.chart(layers, title=heading, description=title, width=720, height=380)


def _band_layers(curve: Curve, x: charts.Spec, colour: charts.Spec) -> list[charts.Spec]:
    if curve.bands is None:
        return []
    layers = []
    for low, high, opacity in ((5, 95, 0.15), (25, 75, 0.25)):
        rows = [{"curve": curve.label, "t_min": round(float(t), 3), "low": round(float(a), 2),
                 "high": round(float(b), 2)}
                for t, a, b in zip(curve.times_min, curve.bands.band(low),
                                   curve.bands.band(high), strict=True)]
        layers.append({"data": {"values": rows}, "mark": {"type": "area", "opacity": opacity},
                       "encoding": {"x": x, "y": {"field": "low", "type": "quantitative"},
                                    "y2": {"field": "high"},
                                    "color": colour}})
    return layers


def _threshold_layers(thresholds: Sequence[float], y: charts.Spec) -> list[charts.Spec]:
    if not thresholds:
        return []
    rows = [{"ng_per_ml": t, "label": f"{t:g} ng/mL"} for t in thresholds]
    return [{"data": {"values": rows}, "mark": {"type": "rule", "color": "#595959",
                                                "strokeDash": [2, 3]},
             "encoding": {"y": y}},
            {"data": {"values": rows},
             "mark": {"type": "text", "align": "right", "x": "width", "dx": -4, "dy": -7,
                      "fontSize": 10, "color": "#404040"},
             "encoding": {"y": y, "text": {"field": "label"}}}]


def _observation_layers(observations: Sequence[tuple[float, float, str]], x: charts.Spec,
                        y: charts.Spec) -> list[charts.Spec]:
    if not observations:
        return []
    rows = [{"t_min": t, "ng_per_ml": v, "label": label} for t, v, label in observations]
    return [{"data": {"values": rows},
             "mark": {"type": "point", "shape": "diamond", "filled": True, "color": "#000000",
                      "size": 60, "opacity": 1},
             "encoding": {"x": x, "y": y}},
            {"data": {"values": rows},
             "mark": {"type": "text", "align": "left", "dx": 7, "dy": -8, "fontSize": 10},
             "encoding": {"x": x, "y": y, "text": {"field": "label"}}}]


def plot_curves(path: Path, curves: Sequence[Curve], **options: Any) -> None:
    """Write the chart to `path` as PNG or SVG (by its suffix); options as `plot_spec`."""
    spec = plot_spec(curves, **options)
    if path.suffix.lower() == ".svg":
        path.write_text(charts.svg(spec), encoding="utf-8")
    else:
        path.write_bytes(charts.png(spec))
