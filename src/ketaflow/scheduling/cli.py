"""`ketaflow schedule plan`: book series requests from a JSON file (the pure core's contract)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from ketaflow.scheduling.cpsat import solve_cpsat
from ketaflow.scheduling.greedy import solve_greedy
from ketaflow.scheduling.jsonio import InputError, parse_problem, plan_json

app = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False, rich_markup_mode=None,
                  help="Chair, nurse and series scheduling.")


def _fail(message: str) -> typer.Exit:
    sys.stderr.write(f"error: {message}\n")
    return typer.Exit(2)


@app.command("plan")
def plan_command(
    input_file: Annotated[Path, typer.Option("--input", help="problem JSON (see "
                                                             "docs/scheduling.md)")],
    output_format: Annotated[str, typer.Option("--format", help="json")] = "json",
    solver: Annotated[str, typer.Option("--solver", help="cp-sat or greedy")] = "cp-sat",
    time_limit_s: Annotated[float, typer.Option("--time-limit", help="seconds for CP-SAT")] = 10,
) -> None:
    """Place every request whole or not at all; print the new bookings and the unplaced
    requests with their reasons, as one JSON object."""
    if output_format.strip().lower() != "json":
        raise _fail(f"--format: must be json, not {output_format[:20]!r}")
    if solver not in ("cp-sat", "greedy"):
        raise _fail(f"--solver: must be cp-sat or greedy, not {solver[:20]!r}")
    if not 0.1 <= time_limit_s <= 3600:
        raise _fail("--time-limit: must be from 0.1 to 3600 seconds")
    try:
        data = json.loads(input_file.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError) as error:
        raise _fail(f"--input {input_file}: cannot be read ({type(error).__name__})") from None
    except json.JSONDecodeError as error:
        raise _fail(f"--input {input_file.name}: not JSON ({error.msg} at line {error.lineno} "
                    f"column {error.colno})") from None
    try:
        problem = parse_problem(data)
    except InputError as error:
        raise _fail(str(error)) from None
    plan = (solve_greedy(problem) if solver == "greedy"
            else solve_cpsat(problem, time_limit_s=time_limit_s))
    typer.echo(json.dumps(plan_json(problem, plan), indent=2))
