"""Concentration-time plots (matplotlib, headless). Exempt from the pure-core contract."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display on servers and CI
import matplotlib.pyplot as plt

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


def plot_curves(
    path: Path,
    curves: Sequence[Curve],
    *,
    title: str,
    thresholds_ng_per_ml: Sequence[float] = (),
    observations: Sequence[tuple[float, float, str]] = (),
    footnote: str = "",
) -> None:
    """Draw the curves (PNG or SVG, chosen by the file suffix) with horizontal threshold lines."""
    figure, axes = plt.subplots(figsize=(9, 5.2), dpi=120)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for index, curve in enumerate(curves):
        colour = colours[index % len(colours)]
        if curve.bands is not None:
            axes.fill_between(
                curve.times_min, curve.bands.band(5), curve.bands.band(95),
                color=colour, alpha=0.15, linewidth=0, label=f"{curve.label}: 5-95th percentile",
            )  # fmt: skip
            axes.fill_between(
                curve.times_min, curve.bands.band(25), curve.bands.band(75),
                color=colour, alpha=0.25, linewidth=0, label=f"{curve.label}: 25-75th percentile",
            )  # fmt: skip
        axes.plot(
            curve.times_min,
            curve.values_ng_per_ml,
            color=colour,
            linestyle="--" if curve.dashed else "-",
            linewidth=1.8,
            label=curve.label,
        )
    for threshold in thresholds_ng_per_ml:
        axes.axhline(threshold, color="0.35", linestyle=":", linewidth=1.2)
        axes.annotate(
            f"{threshold:g} ng/mL", (1.0, threshold), xycoords=("axes fraction", "data"),
            xytext=(-4, 3), textcoords="offset points", ha="right", fontsize=8, color="0.25",
        )  # fmt: skip
    for time_min, value, label in observations:  # published values to compare against
        axes.plot([time_min], [value], marker="D", color="black", markersize=6, linestyle="none")
        axes.annotate(
            label, (time_min, value), xytext=(6, 6), textcoords="offset points", fontsize=8
        )
    axes.set_xlabel("time since start (min)")
    axes.set_ylabel("ketamine concentration (ng/mL)")
    axes.set_title(title, fontsize=11)
    axes.set_xlim(left=0)
    axes.set_ylim(bottom=0)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8, loc="upper right", framealpha=0.9)
    if footnote:
        figure.text(0.01, 0.01, footnote, fontsize=7, color="0.3", va="bottom")
    figure.tight_layout(rect=(0, 0.04 if footnote else 0, 1, 1))
    figure.savefig(path)
    plt.close(figure)
