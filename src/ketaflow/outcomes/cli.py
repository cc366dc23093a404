"""`ketaflow outcomes`: the dashboard's numbers on the command line (JSON: docs/outcomes.md).

Options are strings read by the page's own filter parser, so a bad date or an unknown site is
refused with the same one-line message (exit status 2). The command line is an operator's tool
on the database itself: it prints every count, as an admin sees them, unless
`--suppress-small-cells` asks for the researcher's view.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from ketaflow.clictx import cli_context, settings, unit_of_work
from ketaflow.outcomes import forms, service
from ketaflow.outcomes.payload import dashboard_json
from ketaflow.outcomes.view import SHORT

_Opt = Annotated[str, typer.Option(show_default=False)]


def outcomes(
    output_format: Annotated[str, typer.Option(
        "--format", help="json, or text for a short summary.")] = "text",
    start: Annotated[str, typer.Option("--from", help="First course start day, YYYY-MM-DD.",
                                       show_default=False)] = "",
    end: Annotated[str, typer.Option("--to", help="Last course start day, YYYY-MM-DD.",
                                     show_default=False)] = "",
    site: Annotated[str, typer.Option(help="A site id, or 'none' for courses with no site.",
                                      show_default=False)] = "",
    bipolar_type: Annotated[str, typer.Option(
        "--type", help="bipolar_i or bipolar_ii.", show_default=False)] = "",
    prescriber: Annotated[str, typer.Option(help="A prescriber's staff id.",
                                            show_default=False)] = "",
    suppress_small_cells: Annotated[bool, typer.Option(
        help="Hide counts below the clinic's minimum, as in the researcher's view.")] = False,
) -> None:
    """Print the outcome figures for courses started in a period (default: all)."""
    if output_format not in ("json", "text"):
        raise typer.BadParameter("must be json or text", param_hint="--format")
    cfg = settings()
    form = {"from": start, "to": end, "site": site, "type": bipolar_type,
            "prescriber": prescriber}
    with unit_of_work(cfg) as db:
        filters = forms.parse_filters(db, form)
        board = service.outcome_dashboard(db, cli_context(), filters=filters,
                                          small_cells=not suppress_small_cells)
    payload = dashboard_json(board)
    if output_format == "json":
        typer.echo(json.dumps(payload, indent=2, sort_keys=False))
        return
    for line in _summary(payload):
        typer.echo(line)


def _summary(payload: dict[str, Any]) -> list[str]:
    lines = [f"courses at the end of induction: {payload['courses']} "
             f"({payload['in_induction']} still in induction)"]
    for name, values in payload["instruments"].items():
        rate = values["response_rate"]
        remission = values["remission_rate"]
        lines.append(
            f"{SHORT[name]}: {values['evaluable']} rated at the end, {values['responders']} "
            f"responders ({'-' if rate is None else f'{100 * rate:.0f}%'}), "
            f"{values['remitters']} remitters "
            f"({'-' if remission is None else f'{100 * remission:.0f}%'})")
    return lines
