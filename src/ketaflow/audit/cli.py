"""`ketaflow audit verify | checkpoint | seal | export`."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from ketaflow.audit import chain
from ketaflow.audit import service as audit_service
from ketaflow.audit.keys import session_info
from ketaflow.audit.worker import seal_everything
from ketaflow.clictx import fail, settings, unit_of_work
from ketaflow.config import Settings
from ketaflow.db import make_engine, make_session_factory

app = typer.Typer(no_args_is_help=True, help="The tamper-evident audit trail.")


def checkpoints_to_check(cfg: Settings, extra: Path | None) -> list[chain.Checkpoint]:
    """The checkpoints verify compares the chain with: the var folder's file, and `extra`
    (a copy kept off site). A missing var file is no error (a new server); a missing extra is."""
    found: list[chain.Checkpoint] = []
    paths = [cfg.audit_checkpoint_file] + ([extra] if extra else [])
    for path in paths:
        if path is extra and not path.exists():
            fail(f"checkpoint file {path} does not exist", 2)
        if path.exists():
            try:
                found += chain.read_checkpoint_file(path)
            except chain.CheckpointFileError as exc:
                fail(str(exc), 2)
    return found


def verify_report(cfg: Settings, extra: Path | None = None) -> chain.VerifyReport:
    checkpoints = checkpoints_to_check(cfg, extra)
    with unit_of_work(cfg) as db:
        in_database = [c for c in [chain.latest_checkpoint(db)] if c is not None]
        return chain.verify(db, checkpoints=checkpoints + in_database)


@app.command("verify")
def verify(
    checkpoint: Annotated[Path | None, typer.Option(
        "--checkpoint", help="A checkpoint file kept elsewhere (lines of `audit checkpoint`).")
    ] = None,
) -> None:
    """Check every event, seal and checkpoint; exit 1 naming the first problem found."""
    report = verify_report(settings(), checkpoint)
    if not report.ok:
        where = f" (event {report.first_broken_id})" if report.first_broken_id else ""
        fail(f"audit trail broken{where}: {report.reason}; {report.events_checked} sealed "
             "events before it verified")
    notes = "".join(f"; {note}" for note in report.notes)
    typer.echo(f"audit trail intact: {report.events_checked} sealed events verified, "
               f"{report.checkpoints_checked} checkpoints matched{notes}")


@app.command("seal")
def seal() -> None:
    """Seal every committed event now and record a checkpoint (servers do this by themselves
    every second; use it before a backup or after restoring one)."""
    cfg = settings()
    engine = make_engine(cfg.effective_database_url, connections=1)
    try:
        factory = make_session_factory(engine, info=session_info(cfg.effective_audit_key))
        result = seal_everything(factory, cfg.audit_checkpoint_file)
    finally:
        engine.dispose()
    if result.refused:
        fail(f"sealed {result.sealed} events; {len(result.refused)} fail their MAC check and "
             f"were left out (first: event {result.refused[0]}); run ketaflow audit verify")
    typer.echo(f"sealed {result.sealed} events")


@app.command("checkpoint")
def checkpoint() -> None:
    """Print the latest checkpoint as one line, for keeping off site (verify --checkpoint)."""
    with unit_of_work() as db:
        latest = chain.latest_checkpoint(db)
    if latest is None:
        fail("no checkpoint yet: run ketaflow audit seal")
    typer.echo(latest.line())


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
