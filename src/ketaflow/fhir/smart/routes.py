"""The admin page for SMART system clients (under /admin): register one with its public key
and allowed scopes, see them all, disable one. Thin: parse, call one service, render."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from ketaflow.auth.permissions import Permission, requires
from ketaflow.config import Settings
from ketaflow.errors import KetaflowError
from ketaflow.fhir.registry import BY_NAME
from ketaflow.fhir.smart import service
from ketaflow.fhir.smart.keys import looks_private
from ketaflow.fhir.smart.service import token_url
from ketaflow.web.deps import audit_context, get_db, get_settings
from ketaflow.web.routing import UnitOfWorkRoute
from ketaflow.web.templating import render

router = APIRouter(prefix="/admin/fhir-clients", include_in_schema=False,
                   route_class=UnitOfWorkRoute)
DB = Annotated[Session, Depends(get_db)]
AppSettings = Annotated[Settings, Depends(get_settings)]
# Registering a system that may read the record is access management, as staff tokens are.
MANAGE = Permission.USERS_MANAGE
DEFAULT_SCOPES = "system/*.read"


def _page(request: Request, db: Session, settings: Settings, **context: object) -> Response:
    status = 422 if context.get("error") else 200
    return render(request, "fhir/clients.html",
                  {"clients": service.list_clients(db), "default_scopes": DEFAULT_SCOPES,
                   "token_url": token_url(settings.public_base_url), **context},
                  status_code=status)


@router.get("")
@requires(MANAGE)
def clients_page(request: Request, db: DB, settings: AppSettings,
                 created: int = 0) -> Response:
    notice = None
    if created:
        notice = ("Client registered. Give its operator the client id (listed below) and "
                  "the token endpoint above; it signs its assertions with its own private key.")
    return _page(request, db, settings, notice=notice)


@router.post("")
@requires(MANAGE)
def register_client(
    request: Request,
    db: DB,
    settings: AppSettings,
    name: Annotated[str, Form()] = "",
    public_key: Annotated[str, Form()] = "",
    scopes: Annotated[str, Form()] = "",
) -> Response:
    # A private key pasted by mistake is refused and not shown back on the page.
    shown_key = "" if looks_private(public_key) else public_key
    form = {"name": name, "public_key": shown_key, "scopes": scopes}
    try:
        service.register_client(db, audit_context(request), name=name,
                                public_key=public_key, allowed_scopes=scopes, served=BY_NAME)
    except KetaflowError as exc:
        return _page(request, db, settings, error=exc.detail, error_field=exc.field,
                     field_errors={p.field: p.detail for p in exc.problems if p.field},
                     error_list=[p.detail for p in exc.problems], form=form)
    # Post/redirect/get; the new client's id is in the list on the page.
    return RedirectResponse("/admin/fhir-clients?created=1", status_code=303)


@router.post("/{client_id}/disable")
@requires(MANAGE)
def disable_client(request: Request, db: DB, settings: AppSettings, client_id: str) -> Response:
    try:
        client = service.disable_client(db, audit_context(request), client_id=client_id)
    except KetaflowError as exc:
        return _page(request, db, settings, error=exc.detail)
    return _page(request, db, settings,
                 notice=f"{client.name} disabled: its tokens no longer work.")
