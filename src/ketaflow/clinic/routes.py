"""The clinic profile page: every staff member sees it; an admin edits it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from ketaflow.auth.permissions import Permission, requires
from ketaflow.clinic import service
from ketaflow.clinic.crisis_lines import NATIONAL_LINES
from ketaflow.config import Settings
from ketaflow.errors import KetaflowError
from ketaflow.web import forms as web_forms
from ketaflow.web.deps import audit_context, get_db, get_settings
from ketaflow.web.routing import UnitOfWorkRoute
from ketaflow.web.templating import render

router = APIRouter(include_in_schema=False, route_class=UnitOfWorkRoute)
DB = Annotated[Session, Depends(get_db)]
SETTINGS = Annotated[Settings, Depends(get_settings)]
FORM = Annotated[web_forms.Form, Depends(web_forms.form_fields)]
FIELDS = ("name", "address", "phone", "timezone", "crisis_line", "national_line_country",
          "national_line_custom", "after_hours")


def _page(request: Request, db: Session, settings: Settings, form: dict[str, str],
          status_code: int = 200, **context: object) -> Response:
    return render(request, "clinic/profile.html", {
        "form": form, "profile": service.get_profile(db), "labels": service.LABELS,
        "national_lines": list(NATIONAL_LINES.values()),
        "timezone_in_force": service.effective_timezone(db, settings),
        "config_timezone": settings.clinic_timezone, **context,
    }, status_code=status_code)


@router.get("/settings/clinic")
@requires(Permission.HOME_VIEW)
def profile_page(request: Request, db: DB, settings: SETTINGS, notice: str = "") -> Response:
    entry = service.current_entry(db)
    form = {} if entry is None else {k: v or "" for k, v in entry.__dict__.items()}
    return _page(request, db, settings, form,
                 notice="Clinic profile saved." if notice == "saved" else None)


@router.post("/settings/clinic")
@requires(Permission.CLINIC_PROFILE_EDIT)
def save_profile(request: Request, db: DB, settings: SETTINGS, form: FORM) -> Response:
    entry = service.ProfileEntry(**{name: form.get(name, "") for name in FIELDS})
    try:
        service.update_profile(db, audit_context(request), entry=entry,
                               production=service.is_production(settings))
    except KetaflowError as exc:
        return _page(request, db, settings, form, status_code=exc.status_code,
                     error=exc.detail, error_field=exc.field)
    return RedirectResponse("/settings/clinic?notice=saved", status_code=303)
