"""`ketaflow clinic`: show or set the clinic profile from the command line.

Production refuses to start without a crisis line on the profile, so a new installation sets
it here (or in demo mode on the page) before the first `ketaflow serve`.
"""

from __future__ import annotations

from typing import Annotated

import typer

from ketaflow.clictx import cli_context, settings, unit_of_work
from ketaflow.clinic import service

app = typer.Typer(no_args_is_help=True, help="The clinic profile (name, time zone, crisis lines).")

_Opt = Annotated[str | None, typer.Option()]


@app.command("show")
def show() -> None:
    """Print the clinic profile and the time zone in force."""
    cfg = settings()
    with unit_of_work(cfg) as db:
        entry = service.current_entry(db)
        zone = service.effective_timezone(db, cfg)
        problem = service.crisis_line_problem(db)
    if entry is None:
        typer.echo("no clinic profile yet")
    else:
        for name, label in service.LABELS.items():
            typer.echo(f"{label}: {getattr(entry, name) or '-'}")
    typer.echo(f"Time zone in force: {zone}")
    if problem:
        typer.echo(f"warning: {problem}")


@app.command("set")
def set_profile(
    name: _Opt = None,
    address: _Opt = None,
    phone: _Opt = None,
    timezone: Annotated[str | None, typer.Option(help="IANA name, e.g. America/New_York.")] = None,
    crisis_line: Annotated[str | None, typer.Option(help="The clinic's own crisis line.")] = None,
    national_line_country: Annotated[str | None, typer.Option(
        help="Country code of a listed national line (US, CA, GB, IE, AU, NZ).")] = None,
    national_line_custom: _Opt = None,
    after_hours: _Opt = None,
) -> None:
    """Change the given fields of the clinic profile (an empty value clears a field)."""
    cfg = settings()
    with unit_of_work(cfg) as db:
        entry = service.merged_entry(
            db, name=name, address=address, phone=phone, timezone=timezone,
            crisis_line=crisis_line, national_line_country=national_line_country,
            national_line_custom=national_line_custom, after_hours=after_hours)
        service.update_profile(db, cli_context(), entry=entry,
                               production=service.is_production(cfg))
    typer.echo("clinic profile saved")
