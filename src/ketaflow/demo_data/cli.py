"""`ketaflow demo generate`: a synthetic clinic group in an empty database, for benchmarks and
trying the dashboards at scale."""

from __future__ import annotations

from typing import Annotated

import typer

from ketaflow.clictx import USER_ERROR, cli_context, fail, settings, unit_of_work
from ketaflow.demo_data import service
from ketaflow.errors import Conflict


def generate(
    patients: Annotated[int, typer.Option("--patients", min=1, max=1_000_000,
                                          help="How many patients.")] = service.DEFAULT_PATIENTS,
    seed: Annotated[int, typer.Option("--seed", help="The same seed gives the same data.")] = 1,
    sites: Annotated[int, typer.Option("--sites", min=1, max=50,
                                       help="How many sites.")] = service.DEFAULT_SITES,
) -> None:
    """Fill a migrated database that has no patients with a synthetic clinic group, then print
    the rows written per table and the time taken."""
    cfg = settings()
    try:
        with unit_of_work(cfg) as db:
            summary = service.generate_clinic(
                db, cli_context(), patients=patients, seed=seed, sites=sites,
                progress=lambda done: typer.echo(f"  {done} patients", err=True))
    except Conflict as exc:
        fail(exc.detail, USER_ERROR)
    for table, count in summary.rows.items():
        typer.echo(f"{table:32} {count:>10,}")
    typer.echo(f"{summary.total_rows:,} rows for {summary.patients:,} patients at "
               f"{summary.sites} sites (seed {summary.seed}) in {summary.seconds:.1f} s")
