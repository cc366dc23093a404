"""Home page, health check and the API documentation page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from starlette.responses import HTMLResponse, JSONResponse, Response

from ketaflow import __version__
from ketaflow.auth.permissions import Permission, public, requires
from ketaflow.web.deps import get_db, require_principal
from ketaflow.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
@requires(Permission.HOME_VIEW)
def home(request: Request) -> Response:
    return render(request, "home.html", {"me": require_principal(request)})


@router.get("/healthz")
@public
def healthz(db: Annotated[Session, Depends(get_db)]) -> Response:
    try:
        ok = db.execute(text("SELECT 1")).scalar() == 1
    except SQLAlchemyError:
        ok = False
    body = {
        "status": "ok" if ok else "unavailable",
        "database": "ok" if ok else "unreachable",
        "version": __version__,
    }
    return JSONResponse(body, status_code=200 if ok else 503)


@router.get("/api/docs", response_class=HTMLResponse)
@public
def api_docs(request: Request) -> Response:
    return render(request, "api_docs.html", {})
