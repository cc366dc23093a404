"""`ketaflow fhir export`: the same Bulk Data export as `GET /fhir/R4/$export`, run here and
now into a folder (for cron or an off-site copy), one `<Type>.ndjson` per type.
`ketaflow fhir import`: a referral bundle from a file, as `POST /fhir/R4` imports it."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated

import typer

from ketaflow.audit.keys import session_info
from ketaflow.audit.service import record_event
from ketaflow.clictx import USER_ERROR, cli_context, fail, settings, unit_of_work
from ketaflow.db import make_engine, make_session_factory, transaction
from ketaflow.errors import KetaflowError
from ketaflow.fhir.bulk import service
from ketaflow.fhir.bulk.models import ExportLevel
from ketaflow.fhir.bulk.ndjson import write_types
from ketaflow.fhir.bulk.runner import snapshot
from ketaflow.fhir.referrals.service import import_bundle
from ketaflow.fhir.registry import BY_NAME

app = typer.Typer(no_args_is_help=True,
                  help="FHIR R4: Bulk Data export to NDJSON files, referral import.")


@app.command("export")
def export(
    out: Annotated[Path, typer.Option("--out", help="Folder to write <Type>.ndjson files to.")],
    types: Annotated[str | None, typer.Option("--type", help="Comma list of resource types "
                                              "(default: every type served).")] = None,
    since: Annotated[str | None, typer.Option("--since", help="Only resources changed at or "
                                              "after this instant, e.g. "
                                              "2026-12-01T00:00:00Z.")] = None,
) -> None:
    """Write every resource of the types asked, one JSON object a line, and print the counts."""
    query = [(name, value) for name, value in (("_type", types), ("_since", since))
             if value is not None]
    try:
        asked = service.parse_kickoff(ExportLevel.SYSTEM, query, "respond-async")
    except KetaflowError as exc:
        fail(exc.detail.replace("_type", "--type").replace("_since", "--since"), USER_ERROR)
    cfg = settings()
    engine = make_engine(cfg.effective_database_url, connections=2)
    info = session_info(cfg.effective_audit_key)
    try:
        read = make_session_factory(engine, info=info, read_only=True)
        with contextlib.closing(read()) as session:
            transaction_at = snapshot(session)
            written = write_types(session, [BY_NAME[name] for name in asked.types], out,
                                  since=asked.since)
            session.rollback()
        with transaction(make_session_factory(engine, info=info)) as db:
            record_event(db, cli_context(), action="fhir.export.cli",
                         entity_type=service.ENTITY,
                         detail={"counts": {w.type_name: w.count for w in written},
                                 "since": None if asked.since is None
                                 else asked.since.isoformat()})
    finally:
        engine.dispose()
    for item in written:
        typer.echo(f"{item.type_name:24} {item.count:>9}  {item.path}")
    typer.echo(f"transactionTime {transaction_at.isoformat(timespec='milliseconds')}")


@app.command("import")
def import_referral(
    file: Annotated[Path, typer.Argument(help="A transaction Bundle (JSON), as POST /fhir/R4 "
                                         "takes it.", exists=True, dir_okay=False)],
) -> None:
    """Import a referral bundle: every entry recorded, or (on any refusal) none. Prints each
    entry's status and location, as the transaction-response Bundle gives them."""
    with unit_of_work() as db:
        try:
            answer = import_bundle(db, cli_context(), body=file.read_bytes())
        except KetaflowError as exc:  # each problem with its element; nothing is saved
            fail("; ".join(f"{p.field}: {p.detail}" if p.field else p.detail
                           for p in exc.problems), USER_ERROR if exc.status_code < 500 else 1)
    for index, entry in enumerate(answer["entry"]):
        response = entry["response"]
        typer.echo(f"entry[{index}] {response['status']:12} {response['location']}")
