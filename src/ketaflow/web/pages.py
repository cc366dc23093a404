"""Home page, health check and the API documentation page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from ketaflow import __version__
from ketaflow.auth.permissions import Permission, public, requires
from ketaflow.web.deps import require_principal
from ketaflow.web.routing import UnitOfWorkRoute
from ketaflow.web.templating import render

router = APIRouter(include_in_schema=False, route_class=UnitOfWorkRoute)


@router.get("/", response_class=HTMLResponse)
@requires(Permission.HOME_VIEW)
def home(request: Request) -> Response:
    return render(request, "home.html", {"me": require_principal(request)})


@router.get("/healthz")
@public
async def healthz(request: Request) -> Response:
    """Answers within a second even when the server is saturated: it skips the admission
    queue and checks the database on a connection and a thread of its own."""
    ok = await request.app.state.health.database_ok()
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
