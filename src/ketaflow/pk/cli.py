"""`ketaflow pk`: list the models and simulate a dose. Exempt from the pure-core contract.

Errors in the input are raised by the core as PKInputError and turned here into one line on
stderr and exit status 2, with nothing on stdout.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from ketaflow.pk.analysis import Site, peak, time_below
from ketaflow.pk.covariates import Covariates, Salt, Sex, to_base_mg
from ketaflow.pk.errors import PKInputError
from ketaflow.pk.models import MODELS, ModelParameters, model_parameters
from ketaflow.pk.population import (
    CovariateDistribution,
    draw_population,
    fraction_above,
    percentile_bands,
)
from ketaflow.pk.regimen import Infusion, Regimen, check_dose_per_kg
from ketaflow.pk.solver import simulate

app = typer.Typer(
    no_args_is_help=True,
    help="Pharmacokinetic predictions for racemic ketamine (doses in mg of ketamine base).",
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

_DEFAULT_TIMES = "0,10,20,40,60,90,120,180,240"


def _fail(error: PKInputError) -> typer.Exit:
    sys.stderr.write(f"error: {error}\n")
    return typer.Exit(2)


def _choice(field: str, value: str, allowed: tuple[str, ...]) -> str:
    if value.strip().lower() not in allowed:
        raise PKInputError(field, f"must be one of {', '.join(allowed)}", repr(value))
    return value.strip().lower()


def _numbers(field: str, texts: list[str], unit: str) -> list[float]:
    """Parse comma lists ("10,20,40"), rejecting anything that is not a finite number >= 0."""
    values: list[float] = []
    for text in texts:
        for item in text.split(","):
            try:
                value = float(item)
            except ValueError:
                raise PKInputError(
                    field, f"must be a comma-separated list of numbers in {unit}", repr(text)
                ) from None
            if not (np.isfinite(value) and value >= 0.0):
                raise PKInputError(field, f"must contain only finite values >= 0 {unit}", item)
            values.append(value)
    if not values:
        raise PKInputError(field, "must contain at least one value")
    return values


@app.command("models")
def list_models(
    output_format: Annotated[str, typer.Option("--format", help="table or json")] = "table",
) -> None:
    """List the published ketamine models with citation and population."""
    try:
        chosen = _choice("format", output_format, ("table", "json"))
    except PKInputError as error:
        raise _fail(error) from None
    rows = [
        {
            "model": key,
            "name": model.info.name,
            "citation": model.info.citation,
            "population": model.info.population,
            "sampling_site": model.info.sampling_site,
            "structure": model.info.structure,
            "ke0": model.info.ke0_source.value,
            "between_subject_variability": bool(model.info.variability_cv),
        }
        for key, model in MODELS.items()
    ]
    if chosen == "json":
        typer.echo(json.dumps(rows, indent=2))
        return
    typer.echo(f"{'model':<9} {'ke0':<9} {'population':<38} citation")
    for row in rows:
        typer.echo(f"{row['model']:<9} {row['ke0']:<9} {row['population']:<38} {row['citation']}")


@dataclass(frozen=True)
class _Request:
    params: ModelParameters
    regimen: Regimen
    dose_mg_base: float
    times_min: list[float]
    thresholds: list[float]


def _request(
    *,
    model: str,
    covariates: tuple[float, float, float, str],
    dose: tuple[float | None, float | None, str],
    duration_min: float,
    times_min: str,
    thresholds: list[str],
) -> _Request:
    weight_kg, age_years, height_cm, sex = covariates
    dose_mg_per_kg, dose_mg, salt_text = dose
    patient = Covariates(
        weight_kg, age_years, height_cm, Sex(_choice("sex", sex, ("male", "female")))
    )
    salt = Salt(_choice("salt", salt_text, ("base", "hydrochloride")))
    if (dose_mg_per_kg is None) == (dose_mg is None):
        raise PKInputError("dose", "must be given once, as --dose-mg-per-kg or --dose-mg")
    field, amount = (
        ("dose_mg", dose_mg) if dose_mg is not None else ("dose_mg_per_kg", dose_mg_per_kg)
    )
    assert amount is not None
    if not (np.isfinite(amount) and amount >= 0.0):
        raise PKInputError(field, "must be at least 0", f"{amount:g}")
    entered_mg = amount if dose_mg is not None else amount * weight_kg
    base_mg = to_base_mg(entered_mg, salt)
    check_dose_per_kg(base_mg, weight_kg)
    return _Request(
        params=model_parameters(model, patient),
        regimen=Regimen(infusions=(Infusion.of_dose(base_mg, duration_min),)),
        dose_mg_base=base_mg,
        times_min=_numbers("times_min", [times_min], "min"),
        thresholds=_thresholds(thresholds),
    )


def _thresholds(texts: list[str]) -> list[float]:
    values = _numbers("threshold_ng_per_ml", texts, "ng/mL") if texts else []
    if any(value <= 0.0 for value in values):
        raise PKInputError("threshold_ng_per_ml", "must be greater than 0 ng/mL")
    return values


def _population_summary(
    request: _Request, n_patients: int, seed: int, assumed_cv: float | None
) -> tuple[dict[str, Any], list[str], Any]:
    """Percentile bands at the requested times (and on the plot grid) for N virtual patients."""
    population = draw_population(
        request.params.info.key,
        n_patients,
        seed=seed,
        distribution=CovariateDistribution.around(request.params.covariates),
        assumed_cv=assumed_cv,
    )
    result = simulate(population.kinetics, request.regimen, request.times_min)
    summary: dict[str, Any] = {"n_patients": n_patients, "seed": seed}
    for name, values in (
        ("plasma_ng_per_ml", result.plasma_ng_per_ml),
        ("effect_ng_per_ml", result.effect_ng_per_ml),
    ):
        if values is None:
            summary[name] = None
            continue
        bands = percentile_bands(values)
        summary[name] = {f"p{p}": bands.band(p).tolist() for p in bands.percentiles}
    summary["share_above"] = [
        {"threshold_ng_per_ml": t, "fraction": fraction_above(result.plasma_ng_per_ml, t).tolist()}
        for t in request.thresholds
    ]
    return summary, list(population.warnings), population


def _report(request: _Request) -> dict[str, Any]:
    kinetics = request.params.kinetics
    result = simulate(kinetics, request.regimen, request.times_min)
    top = peak(kinetics, request.regimen)
    info = request.params.info
    effect_peak = None
    if result.effect_ng_per_ml is not None:
        ce_top = peak(kinetics, request.regimen, Site.EFFECT)
        effect_peak = {
            "effect_ng_per_ml": float(ce_top.concentration_ng_per_ml[0]),
            "time_min": float(ce_top.time_min[0]),
        }
    infusion = request.regimen.infusions[0]
    ke0 = request.params.describe()["ke0_per_min"]
    return {
        "model": info.key,
        "model_name": info.name,
        "citation": info.citation,
        "population": info.population,
        "sampling_site": info.sampling_site,
        "plasma_label": info.plasma_label,
        "dose_mg_base": request.dose_mg_base,
        "duration_min": infusion.duration_min,
        "rate_mg_per_min": infusion.rate_mg_per_min,
        "ke0": {"per_min": ke0, "source": info.ke0_source.value},
        "times_min": request.times_min,
        "plasma_ng_per_ml": result.plasma_ng_per_ml[0].tolist(),
        "effect_ng_per_ml": None
        if result.effect_ng_per_ml is None
        else result.effect_ng_per_ml[0].tolist(),
        "peak": {
            "plasma_ng_per_ml": float(top.concentration_ng_per_ml[0]),
            "time_min": float(top.time_min[0]),
        },
        "effect_peak": effect_peak,
        "below": [
            {
                "threshold_ng_per_ml": t,
                "time_min": float(time_below(kinetics, request.regimen, t)[0]),
            }
            for t in request.thresholds
        ],
        "warnings": list(request.params.warnings),
    }


def _table(report: dict[str, Any]) -> str:
    lines = [
        f"{report['model_name']} ({report['citation']})",
        f"sampling site: {report['sampling_site']}",
        f"dose {report['dose_mg_base']:.4g} mg ketamine base over {report['duration_min']:g} min",
        "",
        f"{'time (min)':>10}  {report['plasma_label'] + ' (ng/mL)':>14}  {'effect (ng/mL)':>14}",
    ]
    effect = report["effect_ng_per_ml"] or [None] * len(report["times_min"])
    for t, cp, ce in zip(report["times_min"], report["plasma_ng_per_ml"], effect, strict=True):
        ce_text = "-" if ce is None else f"{ce:.1f}"
        lines.append(f"{t:>10g}  {cp:>14.1f}  {ce_text:>14}")
    top = report["peak"]
    lines += ["", f"peak plasma {top['plasma_ng_per_ml']:.1f} ng/mL at {top['time_min']:.2f} min"]
    lines += [
        f"plasma stays below {b['threshold_ng_per_ml']:g} ng/mL after {b['time_min']:.1f} min"
        for b in report["below"]
    ]
    lines += [f"warning: {w}" for w in report["warnings"]]
    return "\n".join(lines)


def _plot(path: Path, request: _Request, report: dict[str, Any], population: Any) -> None:
    from ketaflow.pk.plot import Curve, plot_curves  # lazy: the chart renderer only when asked

    end = max(*request.times_min, request.regimen.last_event_min * 2.0, 60.0)
    grid = np.linspace(0.0, end, 721)
    result = simulate(request.params.kinetics, request.regimen, grid)
    bands = None
    if population is not None:
        bands = percentile_bands(
            simulate(population.kinetics, request.regimen, grid).plasma_ng_per_ml
        )
    curves = [Curve(request.params.info.plasma_label, grid, result.plasma_ng_per_ml[0], bands)]
    if result.effect_ng_per_ml is not None:
        curves.append(Curve("effect site", grid, result.effect_ng_per_ml[0], dashed=True))
    title = f"{report['model_name']}: {report['dose_mg_base']:.4g} mg base over "
    title += f"{report['duration_min']:g} min"
    plot_curves(path, curves, title=title, thresholds_ng_per_ml=request.thresholds)


@app.command("simulate")
def simulate_command(
    *,
    model: Annotated[
        str, typer.Option(help="domino, clements, hijazi, kamp, herd, hornik, elkomy or sherwin")
    ],
    weight_kg: Annotated[float, typer.Option(help="body weight, 20-300 kg")],
    duration_min: Annotated[float, typer.Option(help="infusion duration (min), > 0")],
    age_years: Annotated[float, typer.Option(help="age (years); used for range warnings")] = 40.0,
    height_cm: Annotated[float, typer.Option(help="height (cm); used for range warnings")] = 170.0,
    sex: Annotated[str, typer.Option(help="male or female")] = "female",
    dose_mg_per_kg: Annotated[
        float | None, typer.Option(help="dose per kg (max 5 mg/kg base)")
    ] = None,
    dose_mg: Annotated[float | None, typer.Option(help="total dose in mg")] = None,
    salt: Annotated[
        str,
        typer.Option(
            help="what the dose number means: 'base' (default; vials are labelled in ketamine "
            "base equivalent) or 'hydrochloride' (converted to base x 237.7/274.2)"
        ),
    ] = "base",
    times_min: Annotated[
        str, typer.Option(help="comma-separated output times (min)")
    ] = _DEFAULT_TIMES,
    threshold_ng_per_ml: Annotated[
        list[str] | None,
        typer.Option(help="report when plasma stays below it; repeatable or comma list"),
    ] = None,
    output_format: Annotated[str, typer.Option("--format", help="json or table")] = "json",
    plot: Annotated[
        Path | None, typer.Option(help="write the curve to FILE.png or FILE.svg")
    ] = None,
    population: Annotated[
        int | None, typer.Option(help="add percentile bands from N virtual patients")
    ] = None,
    seed: Annotated[int, typer.Option(help="random seed for --population")] = 1,
    assumed_cv: Annotated[
        float | None, typer.Option(help="CV to ASSUME when a model has no published variability")
    ] = None,
) -> None:
    """Predict plasma and effect-site concentrations for a constant-rate infusion."""
    try:
        chosen = _choice("format", output_format, ("json", "table"))
        if plot is not None and plot.suffix.lower() not in (".png", ".svg"):
            raise PKInputError("plot", "must be a .png or .svg file", str(plot))
        if population is not None and not 1 <= population <= 1_000_000:
            raise PKInputError("population", "must be between 1 and 1000000", population)
        request = _request(
            model=model,
            covariates=(weight_kg, age_years, height_cm, sex),
            dose=(dose_mg_per_kg, dose_mg, salt),
            duration_min=duration_min,
            times_min=times_min,
            thresholds=threshold_ng_per_ml or [],
        )
        report = _report(request)
        drawn = None
        if population is not None:
            report["percentiles"], caveats, drawn = _population_summary(
                request, population, seed, assumed_cv
            )
            report["warnings"] += [c for c in caveats if c not in report["warnings"]]
    except PKInputError as error:
        raise _fail(error) from None
    if plot is not None:
        _plot(plot, request, report, drawn)
    typer.echo(json.dumps(report, indent=2) if chosen == "json" else _table(report))
