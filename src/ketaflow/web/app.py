"""The application factory: settings in, a ready ASGI app out."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.staticfiles import StaticFiles

from ketaflow import __version__
from ketaflow.assessments.wording import load_wording_packs
from ketaflow.config import Settings, load_settings
from ketaflow.db import make_engine, make_session_factory
from ketaflow.web.errors import install_error_handlers
from ketaflow.web.group_commit import GroupCommit
from ketaflow.web.guard import authorize, principals_for_tokens
from ketaflow.web.middleware import RequestMiddleware

STATIC_DIR = Path(__file__).resolve().parent / "static"
API_PREFIX = "/api/v1"


def create_app_from_environment() -> FastAPI:
    """The app as `ketaflow serve` runs it in each worker process, settings from the
    environment. What exists once it is built (routes, models, templates) lives as long as the
    process, so it is frozen out of the garbage collector's way: otherwise every full collection
    walks it again, a pause of tens of milliseconds under load (benchmarks/bench_vitals.py)."""
    app = create_app(load_settings())
    gc.collect()
    gc.freeze()
    return app


def create_app(settings: Settings) -> FastAPI:
    app = FastAPI(
        title="ketaflow API",
        version=__version__,
        description="JSON API of ketaflow. Authenticate with `Authorization: Bearer <token>`; "
        "errors are RFC 9457 problem details.",
        docs_url=None,
        redoc_url=None,
        openapi_url=f"{API_PREFIX}/openapi.json",
        dependencies=[Depends(authorize)],
    )
    engine = make_engine(settings.effective_database_url)
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
    from ketaflow.infusions import api as infusions_api

    app.state.vitals_writes = GroupCommit(app.state.session_factory, infusions_api.write_vitals)
    app.state.token_checks = GroupCommit(app.state.session_factory, principals_for_tokens)
    # Licensed scale wording; an invalid pack stops start-up with the file and the problem.
    app.state.wording_packs = load_wording_packs(settings.scales_wording_dir)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.openapi = lambda: _openapi_with_bearer(app)  # type: ignore[method-assign]
    _include_routers(app)
    install_error_handlers(app)
    app.add_middleware(
        RequestMiddleware,
        cookie_secure=settings.cookie_secure,
        secret_key=settings.effective_secret_key,
    )
    return app


def mounted_routers() -> list[tuple[APIRouter, str]]:
    """Every router with the prefix it is mounted under (the permission test walks these)."""
    # Imported here so building an app is the only thing that pulls in every domain's routes.
    from ketaflow.alerts import api as alerts_api
    from ketaflow.alerts import routes as alerts_routes
    from ketaflow.assessments import api as assessments_api
    from ketaflow.assessments import routes as assessments_routes
    from ketaflow.audit import api as audit_api
    from ketaflow.audit import routes as audit_routes
    from ketaflow.auth import admin_routes
    from ketaflow.auth import api as auth_api
    from ketaflow.auth import routes as auth_routes
    from ketaflow.courses import api as courses_api
    from ketaflow.courses import routes as courses_routes
    from ketaflow.infusions import api as infusions_api
    from ketaflow.infusions import ledger_routes
    from ketaflow.infusions import routes as infusions_routes
    from ketaflow.infusions.controlled import api as controlled_api
    from ketaflow.patients import api as patients_api
    from ketaflow.patients import clinical_routes as patients_clinical_routes
    from ketaflow.patients import routes as patients_routes
    from ketaflow.portal import api as portal_api
    from ketaflow.portal import routes as portal_routes
    from ketaflow.screening import api as screening_api
    from ketaflow.screening import routes as screening_routes
    from ketaflow.web import clinic_settings, pages

    pages_routers = [pages.router, auth_routes.router, admin_routes.router, audit_routes.router]
    pages_routers += [patients_routes.router, patients_clinical_routes.router]
    # Routes are matched in order, one by one: the chair-side API, which monitor gateways post
    # vitals to many times a second, comes first.
    api_routers = [infusions_api.router, controlled_api.router]
    api_routers += [auth_api.router, audit_api.router, patients_api.router]
    pages_routers += [assessments_routes.router, portal_routes.router, alerts_routes.router]
    api_routers += [assessments_api.router, portal_api.router, alerts_api.router]
    pages_routers += [screening_routes.router, courses_routes.router]
    api_routers += [screening_api.router, courses_api.router]
    pages_routers += [infusions_routes.router, ledger_routes.router, clinic_settings.router]
    return [(r, API_PREFIX) for r in api_routers] + [(r, "") for r in pages_routers]


def _openapi_with_bearer(app: FastAPI) -> dict[str, Any]:
    """The generated schema plus the bearer-token scheme, so /api/docs offers "Authorize"."""
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version,
                             description=app.description, routes=app.routes)
        components = schema.setdefault("components", {})
        components["securitySchemes"] = {
            "apiToken": {"type": "http", "scheme": "bearer", "bearerFormat": "kft_<id>_<secret>"}
        }
        schema["security"] = [{"apiToken": []}]
        app.openapi_schema = schema
    return app.openapi_schema


def _include_routers(app: FastAPI) -> None:
    for router, prefix in mounted_routers():
        app.include_router(router, prefix=prefix)
