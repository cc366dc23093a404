"""`ketaflow audit verify` and `ketaflow audit export`."""

from __future__ import annotations

import sys
from datetime import date
from typing import Annotated

import typer

from ketaflow.audit import service as audit_service
from ketaflow.clictx import fail, unit_of_work

app = typer.Typer(no_args_is_help=True, help="The tamper-evident audit trail.")


@app.command("verify")
def verify() -> None:
    """Recompute the hash chain; exit 1 and name the first broken event if it was tampered with."""
    with unit_of_work() as db:
        report = audit_service.verify_chain(db)
    if not report.ok:
        fail(
            f"audit chain broken at event {report.first_broken_id}: {report.reason} "
            f"({report.events_checked} events before it verified)"
        )
    typer.echo(f"audit chain intact: {report.events_checked} events verified")


def _parse_date(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option} must be a date as YYYY-MM-DD (got {value!r})", 2)


@app.command("export")
def export(
    date_from: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD (UTC).")],
    date_to: Annotated[str, typer.Option("--to", help="Last day, YYYY-MM-DD (UTC), inclusive.")],
    fmt: Annotated[str, typer.Option("--format", help="Output format: csv.")] = "csv",
) -> None:
    """Write the audit events of a date range to standard output."""
    if fmt != "csv":
        fail(f"--format must be csv (got {fmt!r})", 2)
    start, end = _parse_date(date_from, "--from"), _parse_date(date_to, "--to")
    if end < start:
        fail("--to must not be before --from", 2)
    flt = audit_service.AuditFilter(date_from=start, date_to=end)
    with unit_of_work() as db:
        events = sorted(audit_service.list_events(db, flt, limit=10_000_000), key=lambda e: e.id)
        sys.stdout.write(audit_service.events_to_csv(events))
