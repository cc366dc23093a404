"""The clinic settings page (every sourced threshold in force, its default, bounds and source;
admins change or reset one with a reason and an effective time) and the sources document.

A refused change re-renders the page (422) with the message beside the setting's form and what
was typed kept; nothing is saved.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from ketaflow.auth.permissions import Permission, requires
from ketaflow.db import utcnow
from ketaflow.errors import KetaflowError
from ketaflow.settings import service
from ketaflow.settings.sources import load_sources
from ketaflow.web import forms as web_forms
from ketaflow.web.deps import audit_context, get_db
from ketaflow.web.routing import UnitOfWorkRoute
from ketaflow.web.templating import render

router = APIRouter(include_in_schema=False, route_class=UnitOfWorkRoute)

DB = Annotated[Session, Depends(get_db)]
FORM = Annotated[web_forms.Form, Depends(web_forms.form_fields)]

NOTICES = {
    "changed": "Setting changed. It applies from its effective time; records made before "
               "keep the value they were made with.",
    "reset": "Setting reset to its default from its effective time.",
}


def _page(request: Request, db: Session, *, status: int = 200,
          **context: object) -> Response:
    moment = utcnow()
    return render(request, "settings/clinic_settings.html", {
        "groups": service.settings_groups(db, moment),
        "history": service.setting_history(db, now=moment),
        "bounds_text": service.bounds_text,
        "clinic_timezone": web_forms.clinic_zone(request),
        "form": {},
        **context,
    }, status_code=status)


@router.get("/settings/clinical")
@requires(Permission.HOME_VIEW)
def clinic_settings_page(request: Request, db: DB, notice: str | None = None) -> Response:
    return _page(request, db, notice=NOTICES.get(notice or ""))


def _submit(request: Request, db: Session, form: web_forms.Form, *, reset: bool) -> Response:
    group, name = form.get("group", ""), form.get("name", "")
    try:
        effective_from = web_forms.optional_datetime(
            form, "effective_from", "effective from", web_forms.clinic_zone(request))
        if reset:
            service.reset_setting(db, audit_context(request), group=group, name=name,
                                  reason=form.get("reason"), effective_from=effective_from)
        else:
            value = web_forms.required_number(form, "value", "value")
            service.change_setting(db, audit_context(request), group=group, name=name,
                                   value=value, reason=form.get("reason"),
                                   effective_from=effective_from)
    except KetaflowError as error:
        return _page(request, db, status=422, error=error.detail, error_field=error.field,
                     error_setting=(group, name), error_action="reset" if reset else "change",
                     form=form)
    notice = "reset" if reset else "changed"
    return RedirectResponse(f"/settings/clinical?notice={notice}#history", status_code=303)


@router.post("/settings/clinical/change")
@requires(Permission.SETTINGS_EDIT)
def change_setting(request: Request, db: DB, form: FORM) -> Response:
    return _submit(request, db, form, reset=False)


@router.post("/settings/clinical/reset")
@requires(Permission.SETTINGS_EDIT)
def reset_setting(request: Request, db: DB, form: FORM) -> Response:
    return _submit(request, db, form, reset=True)


@router.get("/sources")
@requires(Permission.HOME_VIEW)
def sources_page(request: Request) -> Response:
    document = load_sources()
    return render(request, "settings/sources.html", {"document": document})
