"""`ketaflow fhir export`: the same Bulk Data export as `GET /fhir/R4/$export`, run here and
now into a folder (for cron or an off-site copy), one `<Type>.ndjson` per type.
`ketaflow fhir client add|list|disable`: SMART system clients, as on the admin page.
`ketaflow fhir assertion`: a signed client assertion, to try the token endpoint with curl.
`ketaflow fhir import`: a referral bundle from a file, as `POST /fhir/R4` imports it."""

from __future__ import annotations

import contextlib
import time
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
from ketaflow.fhir.smart import assertion as smart_assertion
from ketaflow.fhir.smart import service as smart_service
from ketaflow.fhir.smart.keys import KeyProblem

app = typer.Typer(no_args_is_help=True,
                  help="FHIR R4: Bulk Data export to NDJSON files, referral import.")
client_app = typer.Typer(no_args_is_help=True,
                         help="SMART Backend Services clients (systems that read the API).")
app.add_typer(client_app, name="client")


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


@client_app.command("add")
def add_client(
    name: Annotated[str, typer.Option("--name", help="Who the client is, e.g. the EHR's name.")],
    key: Annotated[Path, typer.Option("--key", help="File holding its public key: a JWK "
                                      "(JSON) or a PEM (RSA 2048+ bits or EC P-384).")],
    scopes: Annotated[str, typer.Option("--scopes", help="Space-separated scopes it may ask "
                                        "for.")] = "system/*.read",
) -> None:
    """Register a client and print its client_id."""
    try:
        text = key.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        fail(f"--key: cannot read {key}", USER_ERROR)
    with unit_of_work() as db:
        try:
            client = smart_service.register_client(db, cli_context(), name=name,
                                                   public_key=text, allowed_scopes=scopes,
                                                   served=BY_NAME)
        except KetaflowError as exc:
            fail("; ".join(f"--{_OPTION.get(p.field or '', p.field)}: {p.detail}"
                           for p in exc.problems), USER_ERROR)
        typer.echo(f"{client.id}  {client.algorithm}  {' '.join(client.allowed_scopes)}")


_OPTION = {"public_key": "key", "scopes": "scopes", "name": "name"}


@client_app.command("list")
def list_clients() -> None:
    """Every registered client: id, status, algorithm, name and allowed scopes."""
    with unit_of_work() as db:
        for client in smart_service.list_clients(db):
            status = "active" if client.enabled else "disabled"
            typer.echo(f"{client.id}  {status:8}  {client.algorithm}  {client.name}  "
                       f"{' '.join(client.allowed_scopes)}")


@client_app.command("disable")
def disable_client(
    client_id: Annotated[str, typer.Argument(help="The client_id (kfc-...).")],
) -> None:
    """Disable a client: no more tokens, and those it holds stop working."""
    with unit_of_work() as db:
        client = smart_service.disable_client(db, cli_context(), client_id=client_id)
        typer.echo(f"disabled {client.id} ({client.name})")


@app.command("assertion")
def sign_assertion(
    client_id: Annotated[str, typer.Option("--client-id", help="The client_id (kfc-...).")],
    key: Annotated[Path, typer.Option("--key", help="The client's private key (PEM: RSA or "
                                      "EC P-384), e.g. the demo's var/demo-fhir-client.pem.")],
    base_url: Annotated[str | None, typer.Option("--url", help="The server's public address "
                                                 "(default: KETAFLOW_PUBLIC_BASE_URL).")] = None,
) -> None:
    """Print a client assertion (a JWT valid for 4 minutes, usable once) for the token
    endpoint, as a system client signs it. For trying the flow; clients sign their own."""
    try:
        text = key.read_text(encoding="ascii")
        jwt = smart_assertion.sign_assertion(
            text, client_id=client_id, now_s=int(time.time()),
            token_url=smart_service.token_url(base_url or settings().public_base_url))
    except (OSError, UnicodeDecodeError):
        fail(f"--key: cannot read {key}", USER_ERROR)
    except KeyProblem as problem:
        fail(f"--key: {problem}", USER_ERROR)
    typer.echo(jwt)


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
