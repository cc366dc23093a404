"""Re-planning a site's week (`ketaflow.booking.replan`): the proposal page and applying it."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from ketaflow.auth.permissions import Permission, requires
from ketaflow.booking import replan, sites
from ketaflow.booking.routes import _day_param
from ketaflow.booking.series_routes import acting_user_id
from ketaflow.errors import KetaflowError
from ketaflow.web import forms as web_forms
from ketaflow.web.deps import audit_context, get_db
from ketaflow.web.routing import UnitOfWorkRoute
from ketaflow.web.templating import render

router = APIRouter(include_in_schema=False, route_class=UnitOfWorkRoute)
DB = Annotated[Session, Depends(get_db)]
FORM = Annotated[web_forms.Form, Depends(web_forms.form_fields)]


def _page(request: Request, db: Session, site_id: int, week: date | None,
          status_code: int = 200, **context: object) -> Response:
    site = sites.get_site(db, site_id)
    start = replan.week_start_of(week or sites.local_today(site))
    plan = replan.propose(db, site_id=site_id, week_start=start)
    return render(request, "booking/replan.html", {
        "plan": plan, "site": site, "zone": ZoneInfo(site.timezone),
        "week_end": start + timedelta(days=6), **context}, status_code=status_code)


@router.get("/calendar/sites/{site_id}/replan")
@requires(Permission.CALENDAR_VIEW)
def replan_page(request: Request, db: DB, site_id: int, week: str = "") -> Response:
    try:
        shown = _day_param(week)
    except KetaflowError as exc:
        return _page(request, db, site_id, None, status_code=exc.status_code,
                     **web_forms.error_context(exc))
    return _page(request, db, site_id, shown)


@router.post("/calendar/sites/{site_id}/replan")
@requires(Permission.APPOINTMENTS_BOOK)
def apply_replan(request: Request, db: DB, site_id: int, form: FORM) -> Response:
    week = None
    try:
        with web_forms.collect_errors() as check:
            week = check(web_forms.required_date, form, "week", "Week")
            version = check(web_forms.whole_number, form, "version", "Calendar version", 0)
        plan = replan.apply(db, audit_context(request), site_id=site_id,
                            week_start=replan.week_start_of(week), version=version,
                            booked_by_user_id=acting_user_id(request))
    except KetaflowError as exc:
        return _page(request, db, site_id, week, status_code=exc.status_code,
                     **web_forms.error_context(exc))
    return RedirectResponse(f"/calendar/sites/{site_id}/replan?week={plan.week_start}"
                            f"&done={len(plan.changes)}", status_code=303)
