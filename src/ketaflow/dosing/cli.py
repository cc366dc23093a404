"""`ketaflow dose`: dose, volume and pump rate from the command line.

Contract: a result goes to stdout (one JSON object, or a table); a refused value exits with status 2
and one `error: ...` line on stderr naming the field and the limit, with nothing on stdout.
Non-numbers, unknown choices and missing options are usage errors that the root `main()` turns
into one line with status 2 as well.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from typing import Annotated, TypedDict

import typer

from ketaflow.dosing.core import (
    DEFAULT_PUMP_PRECISION_ML_PER_H,
    DoseCalculation,
    DoseOrder,
    Sex,
    TotalDoseOrder,
    WeightBasedOrder,
    WeightBasis,
    calculate_dose,
)
from ketaflow.dosing.limits import DosingError, SaltForm

app = typer.Typer(
    no_args_is_help=True,
    help="Weight-based dose, volume and pump-rate calculations.",
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)

USAGE_ERROR = 2


class OutputFormat(StrEnum):
    """How `dose calc` prints its result."""

    JSON = "json"
    TABLE = "table"


@app.callback()
def dose() -> None:
    """Weight-based dose, volume and pump-rate calculations."""


class _CommonFields(TypedDict):
    """The order fields shared by mg/kg and total-dose orders."""

    duration_min: float
    concentration_mg_per_ml: float
    weight_kg: float | None
    weight_lb: float | None
    height_cm: float | None
    sex: Sex | None
    weight_basis: WeightBasis
    dose_salt: SaltForm
    concentration_salt: SaltForm
    pump_precision_ml_per_h: float
    override_reason: str | None


def _build_order(
    *, dose_mg_per_kg: float | None, dose_mg: float | None, common: _CommonFields
) -> DoseOrder:
    if (dose_mg_per_kg is None) == (dose_mg is None):
        got = "both" if dose_mg is not None else "neither"
        raise DosingError(
            f"give exactly one of --dose-mg-per-kg or --dose-mg (got {got})", field="dose"
        )
    if dose_mg is not None:
        return TotalDoseOrder(dose_mg=dose_mg, **common)
    assert dose_mg_per_kg is not None  # narrowed by the check above
    return WeightBasedOrder(dose_mg_per_kg=dose_mg_per_kg, **common)


TABLE_ROWS: tuple[tuple[str, str, str], ...] = (
    ("weight", "weight_kg", "kg"),
    ("dosing weight", "dosing_weight_kg", "kg"),
    ("weight basis", "weight_basis", ""),
    ("ideal body weight", "ideal_body_weight_kg", "kg"),
    ("dose", "dose_mg_per_kg", "mg/kg"),
    ("dose", "dose_mg", "mg"),
    ("dose as base", "dose_mg_base", "mg"),
    ("dose written as", "dose_salt", ""),
    ("concentration", "concentration_mg_per_ml", "mg/mL"),
    ("concentration labelled as", "concentration_salt", ""),
    ("duration", "duration_min", "min"),
    ("volume", "volume_ml", "mL"),
    ("pump rate", "rate_ml_per_h", "mL/h"),
    ("pump rate", "rate_mg_per_h", "mg/h"),
    ("delivered volume", "delivered_volume_ml", "mL"),
    ("delivered dose", "delivered_dose_mg", "mg"),
    ("requires override", "requires_override", ""),
    ("soft limits overridden", "soft_limits_overridden", ""),
    ("override reason", "override_reason", ""),
)


def render_table(result: DoseCalculation) -> str:
    """A plain two-column table of the display values, then formula, warnings and sources."""
    values = result.display_values()
    lines: list[str] = []
    for label, key, unit in TABLE_ROWS:
        value = values[key]
        if value is None:
            continue
        text = ("yes" if value else "no") if isinstance(value, bool) else str(value)
        lines.append(f"{label:<27}{text} {unit}".rstrip())
    lines.append(f"{'weight formula':<27}{result.weight_formula}")
    lines.extend(f"WARNING: {w.message}" for w in result.warnings)
    lines.extend(f"source: {citation}" for citation in result.citations)
    return "\n".join(lines)


@app.command("calc")
def calc(
    *,
    duration_min: Annotated[
        float, typer.Option("--duration-min", help="Infusion duration in minutes.")
    ],
    concentration_mg_per_ml: Annotated[
        float,
        typer.Option("--concentration-mg-per-ml", help="Drug concentration in the syringe/bag."),
    ],
    weight_kg: Annotated[
        float | None, typer.Option("--weight-kg", help="Actual body weight in kg.")
    ] = None,
    weight_lb: Annotated[
        float | None, typer.Option("--weight-lb", help="Actual body weight in pounds.")
    ] = None,
    dose_mg_per_kg: Annotated[
        float | None, typer.Option("--dose-mg-per-kg", help="Dose per kg of dosing weight.")
    ] = None,
    dose_mg: Annotated[
        float | None, typer.Option("--dose-mg", help="Total dose in mg (instead of mg/kg).")
    ] = None,
    height_cm: Annotated[
        float | None, typer.Option("--height-cm", help="Height, for ideal/adjusted weight.")
    ] = None,
    sex: Annotated[
        Sex | None, typer.Option("--sex", help="Sex, for the Devine ideal-weight formula.")
    ] = None,
    weight_basis: Annotated[
        WeightBasis, typer.Option("--weight-basis", help="Weight the mg/kg dose applies to.")
    ] = WeightBasis.ACTUAL,
    salt: Annotated[
        SaltForm, typer.Option("--salt", help="Salt the dose is written in.")
    ] = SaltForm.BASE,
    concentration_salt: Annotated[
        SaltForm,
        typer.Option("--concentration-salt", help="Salt the concentration is labelled in."),
    ] = SaltForm.BASE,
    pump_precision_ml_per_h: Annotated[
        float, typer.Option("--pump-precision-ml-per-h", help="Smallest pump-rate step.")
    ] = DEFAULT_PUMP_PRECISION_ML_PER_H,
    override_reason: Annotated[
        str | None, typer.Option("--override-reason", help="Reason for crossing a soft limit.")
    ] = None,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="Output format.")
    ] = OutputFormat.TABLE,
) -> None:
    """Dose, volume, pump rate and delivered dose, checked against the default clinic limits."""
    common: _CommonFields = {
        "duration_min": duration_min,
        "concentration_mg_per_ml": concentration_mg_per_ml,
        "weight_kg": weight_kg,
        "weight_lb": weight_lb,
        "height_cm": height_cm,
        "sex": sex,
        "weight_basis": weight_basis,
        "dose_salt": salt,
        "concentration_salt": concentration_salt,
        "pump_precision_ml_per_h": pump_precision_ml_per_h,
        "override_reason": override_reason,
    }
    try:
        order = _build_order(dose_mg_per_kg=dose_mg_per_kg, dose_mg=dose_mg, common=common)
        result = calculate_dose(order)
    except DosingError as exc:
        # One line, no traceback: the message already names the field, the limit and the unit.
        sys.stderr.write(f"error: {exc}\n")
        raise typer.Exit(USAGE_ERROR) from None
    if output_format == OutputFormat.JSON:
        sys.stdout.write(json.dumps(result.display_values(), indent=2) + "\n")
    else:
        sys.stdout.write(render_table(result) + "\n")
