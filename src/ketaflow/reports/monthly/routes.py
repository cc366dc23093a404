"""The monthly clinic report: its page (the month and site in the query string, a GET form
linked from the outcomes dashboard), the PDF and the CSV. The outcomes dashboard's
permission; the researcher sees small cells suppressed, as there."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from ketaflow import charts
from ketaflow.auth.permissions import Permission, requires, role_has
from ketaflow.db import utcnow
from ketaflow.errors import KetaflowError
from ketaflow.moodchart.warnings import clinic_day
from ketaflow.outcomes.service import filter_options
from ketaflow.reports import service
from ketaflow.reports.monthly.csvfile import monthly_csv
from ketaflow.reports.monthly.pdf import monthly_pdf
from ketaflow.reports.monthly.report import parse_form
from ketaflow.reports.monthly.view import monthly_view
from ketaflow.web import forms as web_forms
from ketaflow.web.deps import audit_context, get_db, require_principal
from ketaflow.web.routing import UnitOfWorkRoute
from ketaflow.web.templating import render

router = APIRouter(include_in_schema=False, route_class=UnitOfWorkRoute)
DB = Annotated[Session, Depends(get_db)]
_Text = Annotated[str, Query(max_length=40)]


def _page(request: Request, db: Session, form: dict[str, str], *, kind: str) -> Response:
    """The page (kind "page") or a download; a refused month or site re-renders the page's
    form with the message beside the field (422)."""
    zone = web_forms.clinic_zone(request)
    today = clinic_day(utcnow(), zone)
    context: dict[str, object] = {"form": form, "sites": filter_options(db).sites,
                                  "max_month": f"{today:%Y-%m}"}
    try:
        month, site_id = parse_form(db, form, today=today)
    except KetaflowError as exc:
        return render(request, "reports/monthly.html",
                      {**context, "view": None, **web_forms.error_context(exc)},
                      status_code=exc.status_code)
    ctx = audit_context(request)
    report = service.monthly_report(
        db, ctx, month=month, site_id=site_id, zone=zone, today=today,
        small_cells=role_has(require_principal(request).role, Permission.OUTCOMES_SMALL_CELLS),
        formats=(kind,))
    view = monthly_view(report)
    name = f"monthly-report-{month.iso}" + ("" if site_id is None else f"-site-{site_id}")
    if kind == "csv":
        return Response(monthly_csv(view), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    if kind == "pdf":
        return Response(monthly_pdf(view, printout=service.clinic_printout(db, ctx, zone=zone)),
                        media_type="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="{name}.pdf"'})
    svgs = {"weekly": None if view.weekly_spec is None else charts.svg(
                view.weekly_spec, element_id="monthly-weeks"),
            "rates": None if view.rates_spec is None else charts.svg(
                view.rates_spec, element_id="monthly-rates")}
    return render(request, "reports/monthly.html", {
        **context, "form": {"month": month.iso, "site": form.get("site", "")}, "view": view,
        "svgs": svgs, "query": f"month={month.iso}"
                               + ("" if site_id is None else f"&site={site_id}")})


@router.get("/reports/monthly")
@requires(Permission.OUTCOMES_VIEW)
def monthly_page(request: Request, db: DB, month: _Text = "", site: _Text = "") -> Response:
    """The report of ?month=YYYY-MM (default: the last whole month) and ?site=ID."""
    return _page(request, db, {"month": month, "site": site}, kind="page")


@router.get("/reports/monthly.pdf")
@requires(Permission.OUTCOMES_VIEW)
def monthly_as_pdf(request: Request, db: DB, month: _Text = "", site: _Text = "") -> Response:
    return _page(request, db, {"month": month, "site": site}, kind="pdf")


@router.get("/reports/monthly.csv")
@requires(Permission.OUTCOMES_VIEW)
def monthly_as_csv(request: Request, db: DB, month: _Text = "", site: _Text = "") -> Response:
    return _page(request, db, {"month": month, "site": site}, kind="csv")

