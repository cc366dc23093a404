"""Controlled-substance log pages: inventory, discrepancies, recent entries, the forms that add
entries (receive, draw, administer, waste with a witness, reversal) and the CSV export.

Forms post back here and redirect to the page (post/redirect/get). A refused form re-renders the
page with the message, the failed form open and what was typed (never a password), status 422.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from ketaflow.audit.service import AuditContext
from ketaflow.auth.permissions import Permission, public, requires
from ketaflow.clinic import service as clinic_service
from ketaflow.db import utcnow
from ketaflow.errors import KetaflowError
from ketaflow.infusions import forms
from ketaflow.infusions.controlled import reconciliation, views
from ketaflow.infusions.controlled import service as ledger
from ketaflow.infusions.formulary import INFUSION_DRUGS
from ketaflow.web.deps import audit_context, get_db
from ketaflow.web.forms import collect_errors, error_context
from ketaflow.web.routing import UnitOfWorkRoute
from ketaflow.web.templating import render

router = APIRouter(prefix="/controlled", include_in_schema=False, route_class=UnitOfWorkRoute)
DB = Annotated[Session, Depends(get_db)]
CSS = (Path(__file__).parent / "templates" / "infusions" / "ledger.css").read_text()
SECRET_FIELDS = frozenset({"witness_password", "csrf_token"})
NOTICES = {"receive": "Receipt recorded.", "draw": "Draw recorded.",
           "administer": "Administration recorded.", "waste": "Waste recorded and witnessed.",
           "reverse": "Reversal recorded; the original entry is kept."}


async def form_data(request: Request) -> FormData:
    return await request.form()


FORM = Annotated[FormData, Depends(form_data)]


def _page(request: Request, db: Session, *, status_code: int = 200, **context: Any) -> Response:
    page = views.ledger_page(db, audit_context(request))
    return render(request, "infusions/ledger.html", {
        "page": page, "today": utcnow().date(), "failed": None, "form": {},
        "infusion_drugs": INFUSION_DRUGS, "max_vials": ledger.MAX_VIALS_PER_RECEIPT,
        **context},
        status_code=status_code)


def _post(request: Request, db: Session, form: FormData, name: str,
          apply: Callable[[AuditContext], object]) -> Response:
    try:
        apply(audit_context(request))
    except KetaflowError as exc:
        # Keep what a refusal must keep (a failed witness check); undo anything else.
        if not exc.keep_changes:
            db.rollback()
        kept = {k: v for k, v in form.items() if k not in SECRET_FIELDS}
        return _page(request, db, status_code=422, **error_context(exc), failed=name,
                     form=kept)
    return RedirectResponse(f"/controlled?done={name}#entries", status_code=303)


def _amount_and_session(form: FormData) -> tuple[float, int | None]:
    """Amount and session of a draw, administration or waste, both checked at once."""
    with collect_errors() as check:
        amount = check(forms.number, form, "amount_mg", required=True) or 0.0
        session_id = check(forms.integer, form, "session_id")
    return amount, session_id


@router.get("/assets/ledger.css")
@public
def stylesheet() -> Response:
    return Response(CSS, media_type="text/css", headers={"Cache-Control": "max-age=3600"})


@router.get("")
@requires(Permission.CONTROLLED_SUBSTANCES)
def ledger_page(request: Request, db: DB, done: str | None = None) -> Response:
    return _page(request, db, notice=NOTICES.get(done or ""))


def _password(form: FormData) -> str:
    # Read raw: a leading or trailing space may be part of it.
    password = form.get("witness_password")
    return password if isinstance(password, str) else ""


@router.post("/receive")
@requires(Permission.CONTROLLED_SUBSTANCES)
def receive(request: Request, db: DB, form: FORM) -> Response:
    def apply(ctx: AuditContext) -> object:
        with collect_errors() as check:
            receipt = ledger.Receipt(
                lot_number=forms.text(form, "lot_number") or "",
                drug=forms.text(form, "drug") or "",
                expiry_date=check(forms.day, form, "expiry_date"),
                concentration_mg_per_ml=check(forms.number, form, "concentration_mg_per_ml",
                                              required=True) or 0.0,
                vial_count=check(forms.integer, form, "vial_count", required=True) or 0,
                vial_volume_ml=check(forms.number, form, "vial_volume_ml"),
                vial_mg=check(forms.number, form, "vial_mg"))
            witness_id = check(forms.integer, form, "witness_id")
        return ledger.receive_vials(db, ctx, request.app.state.settings, receipt=receipt,
                                    witness_id=witness_id, witness_password=_password(form))
    return _post(request, db, form, "receive", apply)


@router.post("/draw")
@requires(Permission.CONTROLLED_SUBSTANCES)
def draw(request: Request, db: DB, form: FORM) -> Response:
    def apply(ctx: AuditContext) -> object:
        amount_mg, session_id = _amount_and_session(form)
        return ledger.draw(db, ctx, lot_number=forms.text(form, "lot_number") or "",
                           amount_mg=amount_mg, session_id=session_id)
    return _post(request, db, form, "draw", apply)


@router.post("/administer")
@requires(Permission.CONTROLLED_SUBSTANCES)
def administer(request: Request, db: DB, form: FORM) -> Response:
    def apply(ctx: AuditContext) -> object:
        amount_mg, session_id = _amount_and_session(form)
        return ledger.administer(db, ctx, lot_number=forms.text(form, "lot_number") or "",
                                 amount_mg=amount_mg, session_id=session_id)
    return _post(request, db, form, "administer", apply)


@router.post("/waste")
@requires(Permission.CONTROLLED_SUBSTANCES)
def waste(request: Request, db: DB, form: FORM) -> Response:
    def apply(ctx: AuditContext) -> object:
        amount_mg, session_id = _amount_and_session(form)
        return ledger.waste(db, ctx, request.app.state.settings,
                            lot_number=forms.text(form, "lot_number") or "",
                            amount_mg=amount_mg, session_id=session_id,
                            witness_id=forms.integer(form, "witness_id"),
                            witness_password=_password(form))
    return _post(request, db, form, "waste", apply)


@router.post("/reverse")
@requires(Permission.CONTROLLED_SUBSTANCES)
def reverse(request: Request, db: DB, form: FORM) -> Response:
    return _post(request, db, form, "reverse", lambda ctx: ledger.reverse(
        db, ctx, entry_id=forms.integer(form, "reverses_id"),
        reason=forms.text(form, "reason")))


@router.get("/export.csv")
@requires(Permission.CONTROLLED_SUBSTANCES)
def export(request: Request, db: DB, date_from: str | None = None,
           date_to: str | None = None) -> Response:
    query = {"date_from": date_from or "", "date_to": date_to or ""}
    try:
        start, end = views.export_range(_day(query, "date_from"), _day(query, "date_to"),
                                        utcnow().date())
    except KetaflowError as exc:
        return _page(request, db, status_code=422, **error_context(exc), failed="export",
                     form=query)
    content = views.export_csv(db, audit_context(request), start=start, end=end)
    return Response(content, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="controlled-ledger-{start}-{end}.csv"'})


def _day(query: dict[str, str], name: str) -> date | None:
    return forms.day(query, name) if query[name].strip() else None


def _clinic_today(request: Request, db: Session) -> tuple[date, str]:
    zone = clinic_service.effective_timezone(db, request.app.state.settings)
    return utcnow().astimezone(ZoneInfo(zone)).date(), zone


def _report_range(request: Request, db: Session, query: dict[str, str]
                  ) -> tuple[date, date, str]:
    """The range asked for (clinic days) and the clinic's time zone; 422s name the field."""
    today, zone = _clinic_today(request, db)
    start, end = reconciliation.report_range(_day(query, "date_from"), _day(query, "date_to"),
                                             today)
    return start, end, zone


def _range_refused(request: Request, query: dict[str, str], exc: KetaflowError) -> Response:
    """The report page again with the refused range and its message (nothing is read)."""
    return render(request, "infusions/reconciliation.html", {
        "report": None, "error": exc.detail, "error_field": exc.field, "form": query,
        "months": []}, status_code=422)


@router.get("/reconciliation")
@requires(Permission.CONTROLLED_SUBSTANCES)
def reconciliation_page(request: Request, db: DB, date_from: str | None = None,
                        date_to: str | None = None) -> Response:
    """The ledger against the infusion record: sessions and lots for a range of clinic days."""
    query = {"date_from": date_from or "", "date_to": date_to or ""}
    try:
        start, end, zone = _report_range(request, db, query)
    except KetaflowError as exc:
        return _range_refused(request, query, exc)
    report = reconciliation.read_report(db, audit_context(request), start=start, end=end,
                                        timezone=zone)
    return render(request, "infusions/reconciliation.html", {
        "report": report, "flags": reconciliation.flags, "error": None, "error_field": None,
        "form": {"date_from": start.isoformat(), "date_to": end.isoformat()},
        "months": reconciliation.month_ranges(_clinic_today(request, db)[0])})


@router.get("/reconciliation.csv")
@requires(Permission.CONTROLLED_SUBSTANCES)
def reconciliation_csv(request: Request, db: DB, date_from: str | None = None,
                       date_to: str | None = None) -> Response:
    query = {"date_from": date_from or "", "date_to": date_to or ""}
    try:
        start, end, zone = _report_range(request, db, query)
    except KetaflowError as exc:
        return _range_refused(request, query, exc)
    content = reconciliation.report_csv(db, audit_context(request), start=start, end=end,
                                        timezone=zone)
    return Response(content, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition":
            f'attachment; filename="controlled-reconciliation-{start}-{end}.csv"'})
