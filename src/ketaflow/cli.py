"""The `ketaflow` command line: a Typer root to which each domain adds its sub-app."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from typer._click import exceptions as click_exceptions  # Typer vendors Click

from ketaflow import migrate
from ketaflow.audit.cli import app as audit_app
from ketaflow.auth.cli import token_app, user_app
from ketaflow.backup import backup_database, restore_database
from ketaflow.clictx import USER_ERROR, cli_context, fail, settings, unit_of_work
from ketaflow.clinic.cli import app as clinic_app
from ketaflow.config import Mode, Settings, SettingsError, load_settings
from ketaflow.db import database_busy
from ketaflow.demo_data.cli import generate as generate_command
from ketaflow.dosing.cli import app as dosing_app
from ketaflow.fhir.cli import app as fhir_app
from ketaflow.jobs.cli import app as jobs_app
from ketaflow.mood.cli import app as mood_app
from ketaflow.outcomes import freshness
from ketaflow.outcomes.cli import outcomes as outcomes_command
from ketaflow.pk.cli import app as pk_app
from ketaflow.reports.cli import app as report_app
from ketaflow.research.cli import app as export_app
from ketaflow.scales.cli import app as scales_app
from ketaflow.scheduling.cli import app as schedule_app

app = typer.Typer(
    name="ketaflow",
    help="ketaflow clinic platform: server, database, accounts, audit and clinical calculators.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
# Every session's flush marks the patients whose outcome summaries it makes stale.
freshness.register()
db_app = typer.Typer(no_args_is_help=True, help="Database schema (Alembic migrations).")
demo_app = typer.Typer(no_args_is_help=True, help="Demo data for trying ketaflow.")

app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(audit_app, name="audit")
app.add_typer(demo_app, name="demo")
app.add_typer(clinic_app, name="clinic")
app.add_typer(pk_app, name="pk", help="Pharmacokinetic predictions for ketamine.")
app.add_typer(mood_app, name="mood", help="Mood chart: early warnings and forecast from CSV.")
app.add_typer(scales_app, name="scales", help="Rating scales: list instruments and score answers.")
app.add_typer(dosing_app, name="dose", help="Weight-based dose, volume and pump-rate calculations.")
app.add_typer(schedule_app, name="schedule", help="Book infusion series into chairs and nurses.")
app.add_typer(report_app, name="report", help="Patient reports: prior-authorisation packet, "
              "clinician report.")
app.add_typer(export_app, name="export", help="De-identified research export.")


app.add_typer(jobs_app, name="jobs",
              help="The outbox: deliver messages (cron) and show their state.")
app.add_typer(fhir_app, name="fhir", help="FHIR R4: Bulk Data export to NDJSON files, "
              "referral import, SMART system clients.")
app.command("outcomes", help="Outcome figures (response, remission, retention) as JSON or text.")(
    outcomes_command)
demo_app.command("generate", help="A synthetic clinic group (bulk) in an empty database.")(
    generate_command)


@app.command("serve")
def serve(
    host: str | None = typer.Option(None, help="Address to listen on (default from settings)."),
    port: int | None = typer.Option(None, help="Port (default from settings)."),
    workers: int | None = typer.Option(None, min=1, help="Processes (default from settings)."),
) -> None:
    """Apply migrations, then serve the web app and API."""
    from ketaflow.web.app import create_app, dispose_engines
    from ketaflow.web.server import serve as run_server

    cfg = settings()
    bind_host, bind_port = host or cfg.host, port or cfg.port
    if "public_base_url" not in cfg.model_fields_set:
        # Links for patients follow the address served, unless KETAFLOW_PUBLIC_BASE_URL says
        # otherwise; the environment carries it to the workers' settings.
        os.environ["KETAFLOW_PUBLIC_BASE_URL"] = served_base_url(bind_host, bind_port)
        cfg = settings()
    migrate.upgrade_for(cfg)
    problem = production_database_problem(cfg) or production_clinic_problem(cfg)
    if problem:
        fail(f"refusing to start in production: {problem}")
    try:  # refuse bad settings here, in one line, before any worker starts
        dispose_engines(create_app(cfg))
    except SettingsError as exc:  # e.g. an invalid licensed-wording pack
        fail(str(exc))
    typer.echo(f"ketaflow ({cfg.mode.value} mode) on http://{_url_host(bind_host)}:{bind_port}"
               f"; patient links use {cfg.public_base_url}")
    status = run_server(bind_host, bind_port, workers or cfg.workers)
    if status:
        raise typer.Exit(status)


def served_base_url(host: str, port: int) -> str:
    """The base URL for links to this server: the address it listens on, or, listening on
    every address, this machine's name (a phone cannot open 0.0.0.0)."""
    shown = socket.getfqdn() if host in _ANY_ADDRESS else host
    return f"http://{_url_host(shown)}:{port}"


_ANY_ADDRESS = ("", "0.0.0.0", "::")  # noqa: S104 - listening on every address


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def production_database_problem(cfg: Settings) -> str | None:
    """In production: a database with demo data, or an app role able to change audit rows."""
    if cfg.mode is not Mode.PRODUCTION:
        return None
    from ketaflow.demo import demo_data_problem

    with unit_of_work(cfg) as db:
        return demo_data_problem(db) or migrate.audit_privilege_problem(db)


def production_clinic_problem(cfg: Settings) -> str | None:
    """In production: a clinic profile without a crisis line (the portal's crisis content
    would name none). Checked at start, since the profile lives in the database."""
    if cfg.mode is not Mode.PRODUCTION:
        return None
    from ketaflow.clinic.service import crisis_line_problem

    with unit_of_work(cfg) as db:
        return crisis_line_problem(db)


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Apply migrations up to REVISION (default: the latest), as the owner role, then grant
    the app role what it needs (PostgreSQL, when the two differ)."""
    cfg = settings()
    migrate.upgrade_for(cfg, revision)
    typer.echo(f"database at {migrate.current_revision(cfg.effective_database_url)}")


@db_app.command("current")
def db_current() -> None:
    """Show the applied revision and whether it is the latest."""
    url = settings().effective_database_url
    current, head = migrate.current_revision(url), migrate.head_revision(url)
    state = "up to date" if current == head else f"behind: latest is {head}"
    typer.echo(f"{current or 'empty'} ({state})")


@demo_app.command("seed")
def demo_seed() -> None:
    """Create demo staff accounts and patients if the database has no staff, and print the
    accounts' generated passwords (again, if seeded before)."""
    from ketaflow.demo import seed_demo

    cfg = settings()
    if cfg.mode is not Mode.DEMO:
        fail("demo data is only created in demo mode (KETAFLOW_MODE=demo)", USER_ERROR)
    with unit_of_work(cfg) as db:
        created = seed_demo(db, cli_context(), settings=cfg)
    if not created:
        typer.echo("demo data already present (the database has staff accounts)")
    _print_demo_accounts(cfg)


@demo_app.command("accounts")
def demo_accounts() -> None:
    """Print the demo accounts with the passwords their seed generated."""
    _print_demo_accounts(settings())


def _print_demo_accounts(cfg: Settings) -> None:
    from ketaflow.demo import demo_accounts as accounts_of
    from ketaflow.fhir.smart.demo import demo_client, demo_key_path

    with unit_of_work(cfg) as db:
        accounts = accounts_of(db)
        client = demo_client(db)
        client_id = None if client is None else client.id
    if not accounts:
        fail("this database has no demo accounts")
    typer.echo("Demo staff accounts (user name / password):")
    for account in accounts:
        typer.echo(f"  {account.role.value:11} {account.username:11} {account.password}")
    if client_id is not None:
        typer.echo(f"Demo FHIR system client: {client_id} (private key {demo_key_path(cfg)}; "
                   "`ketaflow fhir assertion --client-id ...` signs a token request)")


@app.command("backup")
def backup(
    out: Annotated[Path, typer.Option("--out", help="File to write (refused if it exists).")],
    force: Annotated[bool, typer.Option("--force", help="Replace the file if it exists.")] = False,
) -> None:
    """Write a consistent backup of the database, safe while the server runs."""
    typer.echo(backup_database(settings().effective_migration_url, out, force=force))


@app.command("restore")
def restore(
    file: Annotated[Path, typer.Argument(help="A file written by ketaflow backup.")],
) -> None:
    """Restore a backup into an EMPTY database, then verify the audit trail against the last
    checkpoint (the var folder's file): a backup older than it is reported."""
    from ketaflow.audit.cli import verify_report

    cfg = settings()
    typer.echo(restore_database(cfg.effective_migration_url, file))
    migrate.grant_if_separate_roles(cfg)
    url = cfg.effective_migration_url
    if migrate.current_revision(url) != migrate.head_revision(url):
        typer.echo("after ketaflow db upgrade, run ketaflow audit verify")
        return
    report = verify_report(cfg)
    if not report.ok:
        fail(f"restored, but the audit trail does not verify: {report.reason}")
    typer.echo(f"audit trail intact: {report.events_checked} sealed events verified, "
               f"{report.checkpoints_checked} checkpoints matched")


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; usage errors become one line on stderr with exit status 2."""
    command = typer.main.get_command(app)
    try:
        code = command.main(args=argv, prog_name="ketaflow", standalone_mode=False)
    except click_exceptions.NoArgsIsHelpError as exc:
        sys.stdout.write(exc.ctx.get_help() + "\n" if exc.ctx else "")
        sys.exit(0)
    except click_exceptions.UsageError as exc:
        # Click prints a multi-line usage block; the contract is one line naming the problem.
        sys.stderr.write(f"error: {_one_line(exc.format_message())}\n")
        sys.exit(2)
    except click_exceptions.ClickException as exc:
        sys.stderr.write(f"error: {_one_line(exc.format_message())}\n")
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.stderr.write("error: aborted\n")
        sys.exit(1)
    except DBAPIError as exc:
        # One line, never a trace: the message could quote stored values.
        sys.stderr.write(f"error: {_database_problem(exc)}\n")
        sys.exit(1)
    except (ArgumentError, NoSuchModuleError):
        sys.stderr.write(f"error: the database URL {_tried_url()} is not one ketaflow can use "
                         "(sqlite:///path or postgresql+psycopg://user@host/name)\n")
        sys.exit(2)
    sys.exit(code if isinstance(code, int) else 0)


def _database_problem(exc: DBAPIError) -> str:
    text = str(exc.orig).lower()
    url = _tried_url()
    if "no such table" in text or ("relation" in text and "does not exist" in text):
        return (f"the database at {url} has no ketaflow tables or is behind: run "
                "`ketaflow db upgrade`")
    if "database" in text and "does not exist" in text:
        return f"the database {url} does not exist: create it, then run `ketaflow db upgrade`"
    if "unable to open database file" in text:
        return f"cannot open the database {url}: does its folder exist, and may we write there?"
    if "authentication failed" in text:
        return f"the database server refused the user name or password in {url}"
    if database_busy(exc):
        return (f"the database at {url} is busy or unreachable: check that it is running "
                "and try again")
    return f"database error ({type(exc.orig).__name__}) at {url}; the command stopped"


def _tried_url() -> str:
    """The database URL the command used (KETAFLOW_DATABASE_URL or the default; also the
    migration URL when that differs), passwords masked."""
    try:
        cfg = load_settings()
        urls = dict.fromkeys([cfg.effective_database_url, cfg.effective_migration_url])
    except SettingsError:
        return "(settings are invalid)"
    return " or ".join(_masked(url) for url in urls)


def _masked(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(an unparseable URL)"


def _one_line(message: str) -> str:
    return " ".join(message.split())
