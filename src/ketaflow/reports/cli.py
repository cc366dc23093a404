"""`ketaflow report`: print a patient's prior-authorisation packet, clinician report, letter
to the referring clinician or plain-language summary.

The files are written only once the whole report was read and audited in one transaction, so
an unknown MRN or a bad range exits 2 with one line and writes nothing.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.audit.service import AuditContext
from ketaflow.auth.models import StaffUser
from ketaflow.clictx import USER_ERROR, cli_context, fail, settings, unit_of_work
from ketaflow.clinic.service import effective_timezone
from ketaflow.db import utcnow
from ketaflow.errors import NotFound
from ketaflow.moodchart.warnings import clinic_day
from ketaflow.reports import service
from ketaflow.reports.csvfile import clinician_csv
from ketaflow.reports.letter import letter_pdf
from ketaflow.reports.monthly.csvfile import monthly_csv
from ketaflow.reports.monthly.pdf import monthly_pdf
from ketaflow.reports.monthly.report import parse_form
from ketaflow.reports.monthly.view import monthly_view
from ketaflow.reports.patient_summary import summary_pdf
from ketaflow.reports.pdf import clinician_pdf, prior_auth_pdf
from ketaflow.reports.prior_auth import packet_json

app = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False, rich_markup_mode=None,
                  help="Patient reports: prior-authorisation packet, clinician report, "
                       "letter to the referrer, patient summary; the monthly clinic report.")

_By = Annotated[str | None, typer.Option(
    "--by", help="Your staff username: the printout names you (default: the command line).")]


def _context(db: Session, username: str | None) -> AuditContext:
    ctx = cli_context()
    if username is None:
        return ctx
    user = db.scalar(select(StaffUser).where(StaffUser.username == username))
    if user is None:
        raise NotFound("--by: no staff account has that username")
    return ctx.as_user(user.id, user.username, user.role.value)


def _write(files: list[tuple[Path, bytes]]) -> None:
    for path, content in files:
        try:
            path.write_bytes(content)
        except OSError as error:
            fail(f"{path}: cannot be written ({type(error).__name__})", USER_ERROR)
        typer.echo(f"wrote {path}")


@app.command("prior-auth")
def prior_auth(
    mrn: Annotated[str, typer.Argument(help="The patient's MRN.")],
    out: Annotated[Path, typer.Option("--out", help="The packet as PDF.")],
    json_out: Annotated[Path | None, typer.Option("--json", help="The packet as JSON too.")]
    = None,
    by: _By = None,
) -> None:
    """The prior-authorisation packet of the patient with this MRN."""
    cfg = settings()
    formats = ("pdf", "json") if json_out else ("pdf",)
    with unit_of_work(cfg) as db:
        ctx = _context(db, by)
        patient_id = service.patient_id_for_mrn(db, mrn)
        ready = service.prepare(db, ctx, patient_id=patient_id,
                                zone=effective_timezone(db, cfg))
        packet = service.prior_auth_packet(db, ctx, patient_id=patient_id, formats=formats)
        files = [(out, prior_auth_pdf(packet, printout=ready.printout))]
        if json_out is not None:
            body = packet_json(packet, ready.identity, clinic_name=ready.printout.clinic_name,
                               prepared_by=ready.prepared_by)
            files.append((json_out, json.dumps(body, indent=2).encode()))
    _write(files)


@app.command("patient")
def patient(
    mrn: Annotated[str, typer.Argument(help="The patient's MRN.")],
    out: Annotated[Path, typer.Option("--out", help="The report as PDF.")],
    start: Annotated[str | None, typer.Option(
        "--from", help="First day, YYYY-MM-DD (default: 90 days before --to).")] = None,
    end: Annotated[str | None, typer.Option(
        "--to", help="Last day, YYYY-MM-DD (default: today).")] = None,
    csv_out: Annotated[Path | None, typer.Option("--csv", help="The report as CSV too.")]
    = None,
    by: _By = None,
) -> None:
    """The clinician report of the patient with this MRN over a date range."""
    cfg = settings()
    first, last = _day(start, "--from"), _day(end, "--to")
    formats = ("pdf", "csv") if csv_out else ("pdf",)
    with unit_of_work(cfg) as db:
        ctx = _context(db, by)
        patient_id = service.patient_id_for_mrn(db, mrn)
        zone = effective_timezone(db, cfg)
        ready = service.prepare(db, ctx, patient_id=patient_id, zone=zone)
        report = service.clinician_report(db, ctx, patient_id=patient_id, start=first,
                                          end=last, zone=zone,
                                          today=clinic_day(utcnow(), zone), formats=formats)
        files = [(out, clinician_pdf(report, printout=ready.printout))]
        if csv_out is not None:
            files.append((csv_out, clinician_csv(report).encode("utf-8")))
    _write(files)


@app.command("letter")
def letter(
    mrn: Annotated[str, typer.Argument(help="The patient's MRN.")],
    out: Annotated[Path, typer.Option("--out", help="The letter as PDF.")],
    by: _By = None,
) -> None:
    """The letter to the referring clinician after the induction (signed by --by)."""
    cfg = settings()
    with unit_of_work(cfg) as db:
        ctx = _context(db, by)
        patient_id = service.patient_id_for_mrn(db, mrn)
        zone = effective_timezone(db, cfg)
        ready = service.prepare(db, ctx, patient_id=patient_id, zone=zone)
        facts = service.referrer_letter(db, ctx, patient_id=patient_id, zone=zone)
        files = [(out, letter_pdf(facts, printout=ready.printout, signer=ready.prepared_by))]
    _write(files)


@app.command("summary")
def summary(
    mrn: Annotated[str, typer.Argument(help="The patient's MRN.")],
    out: Annotated[Path, typer.Option("--out", help="The summary as PDF.")],
    by: _By = None,
) -> None:
    """The plain-language treatment summary for the patient to keep."""
    cfg = settings()
    with unit_of_work(cfg) as db:
        ctx = _context(db, by)
        patient_id = service.patient_id_for_mrn(db, mrn)
        ready = service.prepare(db, ctx, patient_id=patient_id, zone=effective_timezone(db, cfg))
        made = service.patient_summary(db, ctx, patient_id=patient_id)
        files = [(out, summary_pdf(made, printout=ready.printout,
                                   prepared_by=ready.prepared_by))]
    _write(files)


@app.command("monthly")
def monthly(
    month: Annotated[str, typer.Option("--month", help="The calendar month, YYYY-MM (the "
                                                       "clinic's time zone).")],
    out: Annotated[Path, typer.Option("--out", help="The report as PDF.")],
    site: Annotated[str, typer.Option("--site", help="One site's id (default: all sites).",
                                      show_default=False)] = "",
    csv_out: Annotated[Path | None, typer.Option("--csv", help="The report as CSV too.")]
    = None,
    suppress_small_cells: Annotated[bool, typer.Option(
        help="Hide counts below the clinic's minimum, as in the researcher's view.")] = False,
    by: _By = None,
) -> None:
    """The monthly clinic report (aggregates only) for a month and optionally one site."""
    if not month.strip():  # the page defaults to the last month; a command says which
        fail("Month must be a month (YYYY-MM)", USER_ERROR)
    cfg = settings()
    formats = ("pdf", "csv") if csv_out else ("pdf",)
    with unit_of_work(cfg) as db:
        ctx = _context(db, by)
        zone = effective_timezone(db, cfg)
        today = clinic_day(utcnow(), zone)
        chosen, site_id = parse_form(db, {"month": month, "site": site}, today=today)
        report = service.monthly_report(db, ctx, month=chosen, site_id=site_id, zone=zone,
                                        today=today, small_cells=not suppress_small_cells,
                                        formats=formats)
        view = monthly_view(report)
        files = [(out, monthly_pdf(view, printout=service.clinic_printout(db, ctx, zone=zone)))]
        if csv_out is not None:
            files.append((csv_out, monthly_csv(view).encode("utf-8")))
    _write(files)


def _day(raw: str | None, option: str) -> date | None:
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        fail(f"{option} must be a date (YYYY-MM-DD)", USER_ERROR)
