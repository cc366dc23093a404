"""`ketaflow export research --out DIR`: the de-identified bundle into an empty folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ketaflow.clictx import USER_ERROR, cli_context, fail, settings, unit_of_work
from ketaflow.errors import KetaflowError
from ketaflow.research import service

app = typer.Typer(no_args_is_help=True, help="Exports for use outside the clinic.")


@app.command("research")
def research(
    out: Annotated[Path, typer.Option("--out", help="A new or empty folder for the bundle.")],
    fmt: Annotated[str, typer.Option("--format", help="csv, parquet or both.")] = "csv",
) -> None:
    """Write the de-identified research bundle (docs/research-export.md) into DIR."""
    try:  # refused before any database work, each in one line
        formats = service.parse_formats(fmt, label="--format")
        service.require_empty_folder(out)
    except KetaflowError as exc:
        fail(exc.detail, USER_ERROR)
    cfg = settings()
    with unit_of_work(cfg) as db:
        summary = service.export_research(db, cli_context(), root_key=cfg.effective_research_key,
                                          folder=out, formats=formats)
    counts = ", ".join(f"{name} {count}" for name, count in summary.rows.items())
    typer.echo(f"wrote {summary.total_rows} rows to {out} ({'+'.join(formats)}): {counts}; "
               f"{summary.seconds:.1f} s, {summary.rows_per_second:,.0f} rows/s; "
               f"pseudonym key {summary.key_id}")
