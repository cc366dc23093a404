"""The researcher's page: what the bundle holds, and its download as a zip."""

from __future__ import annotations

import shutil
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask
from starlette.responses import FileResponse, Response

from ketaflow.auth.permissions import Permission, requires
from ketaflow.errors import KetaflowError
from ketaflow.research import columns, deidentify, service
from ketaflow.web import forms as web_forms
from ketaflow.web.deps import audit_context, get_db, require_principal
from ketaflow.web.routing import UnitOfWorkRoute
from ketaflow.web.templating import render

router = APIRouter(prefix="/research", include_in_schema=False, route_class=UnitOfWorkRoute)
DB = Annotated[Session, Depends(get_db)]
FORMATS = (("csv", "CSV"), ("parquet", "Parquet"), ("both", "CSV and Parquet"))


def _page(request: Request, db: Session, *, status_code: int = 200, chosen: str = "csv",
          **context: object) -> Response:
    principal = require_principal(request)
    return render(request, "research/export.html", {
        "tables": columns.TABLES, "formats": FORMATS, "chosen": chosen,
        "past": service.recent_exports(db, username=principal.username),
        "shift_min": deidentify.SHIFT_MIN_DAYS, "shift_max": deidentify.SHIFT_MAX_DAYS,
        **context}, status_code=status_code)


@router.get("/export")
@requires(Permission.RESEARCH_EXPORT)
def export_page(request: Request, db: DB) -> Response:
    return _page(request, db)


@router.get("/export.zip")
@requires(Permission.RESEARCH_EXPORT)
def export_zip(request: Request, db: DB, format: str = "csv") -> Response:
    try:
        formats = service.parse_formats(format)
    except KetaflowError as exc:
        return _page(request, db, status_code=422, chosen="csv",
                     **web_forms.error_context(exc))
    bundle = service.export_research_zip(
        db, audit_context(request), root_key=request.app.state.settings.effective_research_key,
        formats=formats)
    return FileResponse(bundle.path, media_type="application/zip", filename=bundle.path.name,
                        background=BackgroundTask(shutil.rmtree, bundle.workdir, True))
