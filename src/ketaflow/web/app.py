"""The application factory: settings in, a ready ASGI app out."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import ipaddress
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Depends, FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.staticfiles import StaticFiles

from ketaflow import __version__, charts
from ketaflow.assessments.wording import load_wording_packs
from ketaflow.audit.buffer import AuditBuffer
from ketaflow.audit.keys import session_info
from ketaflow.audit.service import BUFFER_KEY
from ketaflow.config import Settings, load_settings
from ketaflow.db import make_engine, make_session_factory
from ketaflow.fhir.bulk.runner import ExportRunner
from ketaflow.jobs import worker as jobs_worker
from ketaflow.jobs.senders import senders_from_settings
from ketaflow.outcomes import freshness
from ketaflow.web.admission import AdmissionMiddleware
from ketaflow.web.background import Background
from ketaflow.web.errors import install_error_handlers
from ketaflow.web.group_commit import GroupCommit
from ketaflow.web.guard import authorize, cookie_names, principals_for_tokens
from ketaflow.web.health import HealthProbe
from ketaflow.web.middleware import RequestMiddleware
from ketaflow.web.openapi import complete as complete_api_schema

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
    # Every session's flush marks the patients whose outcome summaries it makes stale.
    freshness.register()
    app = FastAPI(
        title="ketaflow API",
        version=__version__,
        description="JSON API of ketaflow. Authenticate with `Authorization: Bearer <token>`; "
        "errors are RFC 9457 problem details.",
        docs_url=None,
        redoc_url=None,
        openapi_url=f"{API_PREFIX}/openapi.json",
        dependencies=[Depends(authorize)],
        lifespan=_lifespan,
    )
    _attach_state(app, settings)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.openapi = lambda: _openapi_with_bearer(app)  # type: ignore[method-assign]
    _include_routers(app)
    install_error_handlers(app)
    session_cookie, csrf_cookie = cookie_names(settings.cookie_secure)
    app.add_middleware(
        RequestMiddleware,
        cookie_secure=settings.cookie_secure,
        secret_key=settings.effective_secret_key,
        session_cookie=session_cookie,
        csrf_cookie=csrf_cookie,
    )
    # Outermost: a request refused for overload costs nothing further.
    app.add_middleware(
        AdmissionMiddleware,
        max_active=settings.max_concurrent_requests,
        max_waiting=settings.max_queued_requests,
        max_wait_s=settings.queue_timeout_seconds,
    )
    return app


def _attach_state(app: FastAPI, settings: Settings) -> None:
    """Engines, session factories and the shared machinery, on app.state."""
    url = settings.effective_database_url
    # SQLite has one writer at a time: one connection per process, so requests queue fairly
    # in the pool (bounded wait) instead of retrying SQLITE_BUSY. PostgreSQL: one per worker
    # thread, so a request never waits for a connection.
    connections = 1 if url.startswith("sqlite") else worker_threads(settings)
    engine = make_engine(url, connections=connections, serving=True)
    buffer = AuditBuffer()
    info = {**session_info(settings.effective_audit_key), BUFFER_KEY: buffer}
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine, info=info)
    app.state.read_session_factory = make_session_factory(engine, info=info, read_only=True)
    app.state.audit_buffer = buffer
    # Background duties have a connection of their own (see ketaflow.web.background).
    app.state.background_engine = make_engine(url, connections=1, serving=True)
    app.state.background = Background(
        make_session_factory(app.state.background_engine, info=info), buffer,
        settings.audit_checkpoint_file, settings.login_failure_window_minutes * 60.0)
    # The outbox has its own connection too: a slow mail server never delays audit sealing.
    app.state.outbox_engine = make_engine(url, connections=1, serving=True)
    app.state.outbox = jobs_worker.Outbox(
        make_session_factory(app.state.outbox_engine, info=info),
        senders_from_settings(settings), jobs_worker.WorkerConfig.of(settings),
        interval_s=settings.outbox_interval_seconds, planners=job_planners(settings))
    # FHIR $export jobs: their own thread and engine (an export reads for minutes).
    app.state.fhir_exports = ExportRunner(url, settings.var_dir, info=info)
    app.state.health = HealthProbe(url)
    app.state.session_cookie, app.state.csrf_cookie = cookie_names(settings.cookie_secure)
    app.state.trusted_proxies = tuple(ipaddress.ip_network(entry, strict=False)
                                      for entry in settings.trusted_proxies)
    from ketaflow.infusions import api as infusions_api

    app.state.vitals_writes = GroupCommit(app.state.session_factory, infusions_api.write_vitals)
    app.state.token_checks = GroupCommit(app.state.session_factory, principals_for_tokens)
    # Licensed scale wording; an invalid pack stops start-up with the file and the problem.
    app.state.wording_packs = load_wording_packs(settings.scales_wording_dir)


# Disengagement appears with the passage of days: a sweep every 15 minutes is prompt enough.
MOOD_SWEEP_EVERY_S = 900.0


def job_planners(settings: Settings) -> list[jobs_worker.Planner]:
    """The domains' outbox planners, run by every delivery round (`ketaflow.jobs.worker`).
    Here, in the composition root, so the jobs domain imports none of its users; the
    `ketaflow jobs run` command uses the same list."""
    from ketaflow.alerts.mood import sweep_mood_alerts
    from ketaflow.reminders import service as reminders

    return [reminders.planner(settings),
            jobs_worker.AtMostEvery(MOOD_SWEEP_EVERY_S, sweep_mood_alerts)]


def worker_threads(settings: Settings) -> int:
    """Threads for sync routes: one per request admitted at once, and a few for the batch
    writers (group commit). More would only queue for the interpreter lock, where the event
    loop, which answers /healthz, would wait behind them (benchmarks/bench_storm.py)."""
    return settings.max_concurrent_requests + 4


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    limiter = anyio.to_thread.current_default_thread_limiter()
    limiter.total_tokens = worker_threads(app.state.settings)
    background: Background = app.state.background
    task = asyncio.create_task(background.run())
    outbox: jobs_worker.Outbox = app.state.outbox
    outbox.start()
    exports: ExportRunner = app.state.fhir_exports
    exports.start()
    charts.warm_up()  # the chart renderer's first start takes a second: not on a request
    try:
        yield
    finally:
        await outbox.stop()
        await exports.stop()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await background.finish()
        dispose_engines(app)


def dispose_engines(app: FastAPI) -> None:
    app.state.engine.dispose()
    app.state.background_engine.dispose()
    app.state.outbox_engine.dispose()
    app.state.health.dispose()
    app.state.fhir_exports.dispose()


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
    from ketaflow.booking import replan_routes, series_routes
    from ketaflow.booking import routes as booking_routes
    from ketaflow.clinic import api as clinic_api
    from ketaflow.clinic import routes as clinic_routes
    from ketaflow.courses import api as courses_api
    from ketaflow.courses import routes as courses_routes
    from ketaflow.infusions import api as infusions_api
    from ketaflow.infusions import ledger_routes
    from ketaflow.infusions import routes as infusions_routes
    from ketaflow.infusions.controlled import api as controlled_api
    from ketaflow.jobs import routes as jobs_routes
    from ketaflow.moodchart import routes as moodchart_routes
    from ketaflow.outcomes import api as outcomes_api
    from ketaflow.outcomes import routes as outcomes_routes
    from ketaflow.patients import api as patients_api
    from ketaflow.patients import clinical_routes as patients_clinical_routes
    from ketaflow.patients import routes as patients_routes
    from ketaflow.portal import api as portal_api
    from ketaflow.portal import routes as portal_routes
    from ketaflow.reminders import routes as reminders_routes
    from ketaflow.reports import api as reports_api
    from ketaflow.screening import api as screening_api
    from ketaflow.screening import routes as screening_routes
    from ketaflow.settings import api as settings_api
    from ketaflow.settings import routes as settings_routes
    from ketaflow.web import pages

    pages_routers = [pages.router, auth_routes.router, admin_routes.router, audit_routes.router]
    pages_routers += [patients_routes.router, patients_clinical_routes.router]
    # Routes are matched in order, one by one: the chair-side API, which monitor gateways post
    # vitals to many times a second, comes first.
    api_routers = [infusions_api.router, controlled_api.router]
    api_routers += [auth_api.router, audit_api.router, patients_api.router]
    pages_routers += [assessments_routes.router, portal_routes.router, alerts_routes.router]
    api_routers += [assessments_api.router, portal_api.router, alerts_api.router]
    pages_routers += [screening_routes.router, courses_routes.router]
    api_routers += [screening_api.router, courses_api.router, settings_api.router]
    pages_routers += [infusions_routes.router, ledger_routes.router, settings_routes.router]
    api_routers += [clinic_api.router, outcomes_api.router, reports_api.router]
    pages_routers += [clinic_routes.router, moodchart_routes.router, reminders_routes.router,
                      booking_routes.router, series_routes.router, replan_routes.router,
                      jobs_routes.router, outcomes_routes.router]
    pages_routers += _report_routers() + _fhir_routers()
    return [(r, API_PREFIX) for r in api_routers] + [(r, "") for r in pages_routers]


def _report_routers() -> list[APIRouter]:
    """The printouts and exports; the monthly report's fixed paths before the patient ones."""
    from ketaflow.reports import routes as reports_routes
    from ketaflow.reports.monthly import routes as monthly_routes
    from ketaflow.research import routes as research_routes

    return [monthly_routes.router, reports_routes.router, research_routes.router]


def _fhir_routers() -> list[APIRouter]:
    """FHIR R4 carries its own prefix (/fhir/R4), beside the JSON API rather than under it.
    The SMART endpoints and $export first: the read route `{type}/{id}` would otherwise take
    `.well-known/smart-configuration` and `Patient/$export`."""
    from ketaflow.fhir import api as fhir_api
    from ketaflow.fhir.bulk import api as fhir_bulk_api
    from ketaflow.fhir.smart import api as fhir_smart_api
    from ketaflow.fhir.smart import routes as fhir_smart_routes

    return [fhir_smart_routes.router, fhir_smart_api.router, fhir_bulk_api.router,
            fhir_api.router]


def _openapi_with_bearer(app: FastAPI) -> dict[str, Any]:
    """The generated schema plus the bearer-token scheme, so /api/docs offers "Authorize", and
    every status each operation can answer (`ketaflow.web.openapi`)."""
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version,
                             description=app.description, routes=app.routes)
        components = schema.setdefault("components", {})
        components["securitySchemes"] = {
            "apiToken": {"type": "http", "scheme": "bearer", "bearerFormat": "kft_<id>_<secret>"}
        }
        schema["security"] = [{"apiToken": []}]
        app.openapi_schema = complete_api_schema(schema, API_PREFIX)
    return app.openapi_schema


def _include_routers(app: FastAPI) -> None:
    for router, prefix in mounted_routers():
        app.include_router(router, prefix=prefix)
