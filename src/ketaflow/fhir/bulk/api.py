"""Bulk Data `$export` routes under /fhir/R4 (thin: parse, call one service, answer).

Mounted before the FHIR read/search router, whose `/{type}/{id}` would otherwise take
`Patient/$export` and `Group/{id}/$export`. Errors are OperationOutcomes
(`ketaflow.web.errors`, every /fhir/R4 path).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.responses import FileResponse, Response

from ketaflow.auth.permissions import Permission, requires
from ketaflow.config import Settings
from ketaflow.fhir.api import FhirResponse
from ketaflow.fhir.bulk import service
from ketaflow.fhir.bulk.models import ExportLevel, ExportState
from ketaflow.fhir.bulk.ndjson import NDJSON
from ketaflow.fhir.outcome import FHIR_PREFIX, operation_outcome
from ketaflow.fhir.smart.scopes import readable_types, system_access
from ketaflow.web.deps import audit_context, get_db, get_settings
from ketaflow.web.routing import UnitOfWorkRoute

router = APIRouter(tags=["fhir"], route_class=UnitOfWorkRoute, include_in_schema=False)
DB = Annotated[Session, Depends(get_db)]
AppSettings = Annotated[Settings, Depends(get_settings)]
EXPORT = Permission.FHIR_BULK_EXPORT
# How long a client should wait between polls of a running export.
RETRY_AFTER_S = 2


def _kickoff(request: Request, db: Session, settings: Settings, level: ExportLevel,
             group_id: str | None = None) -> Response:
    query = request.query_params.multi_items()
    asked = service.parse_kickoff(level, query, request.headers.get("prefer"), group_id)
    access = getattr(request.state, "system_access", None)
    if access is not None:  # a SMART system client exports only the types its scopes read
        asked = service.within_types(asked, readable_types(access.grant, asked.types),
                                     explicit=any(name == "_type" for name, _ in query))
    base = f"{settings.public_base_url.rstrip('/')}{FHIR_PREFIX}"
    path = {ExportLevel.SYSTEM: "/$export", ExportLevel.PATIENT: "/Patient/$export",
            ExportLevel.GROUP: f"/Group/{group_id}/$export"}[level]
    request_url = base + path + (f"?{urlencode(query)}" if query else "")
    job = service.start_export(db, audit_context(request), request=asked,
                               request_url=request_url)
    runner = getattr(request.app.state, "fhir_exports", None)
    if runner is not None:
        runner.wake()  # a worker of this process looks now; any other looks at its next poll
    return Response(status_code=202,
                    headers={"Content-Location": f"{base}/$export-status/{job.id}"})


@router.get(f"{FHIR_PREFIX}/$export")
@requires(EXPORT)
@system_access(None)
def export_system(request: Request, db: DB, settings: AppSettings) -> Response:
    """Kick-off of a system-level export: every type served (or those in `_type`)."""
    return _kickoff(request, db, settings, ExportLevel.SYSTEM)


@router.get(f"{FHIR_PREFIX}/Patient/$export")
@requires(EXPORT)
@system_access(None)
def export_patients(request: Request, db: DB, settings: AppSettings) -> Response:
    """Kick-off of a Patient-level export: every patient and the types about patients."""
    return _kickoff(request, db, settings, ExportLevel.PATIENT)


@router.get(f"{FHIR_PREFIX}/Group/{{group_id}}/$export")
@requires(EXPORT)
@system_access(None)
def export_group(request: Request, db: DB, settings: AppSettings, group_id: str) -> Response:
    """Kick-off of a Group-level export: the Group's members and the types about patients."""
    return _kickoff(request, db, settings, ExportLevel.GROUP, service.require_group(db, group_id))


@router.get(f"{FHIR_PREFIX}/$export-status/{{job_id}}")
@requires(EXPORT)
@system_access(None)
def export_status(request: Request, db: DB, settings: AppSettings, job_id: str) -> Response:
    """202 with X-Progress while queued or running, 200 with the manifest when done."""
    job = service.export_status(db, audit_context(request), job_id=job_id)
    if job.state is ExportState.DONE:
        return FhirResponse(service.manifest(job, settings.public_base_url),
                            media_type="application/json")
    if job.state is ExportState.FAILED:
        return FhirResponse(operation_outcome(
            500, f"the export failed ({job.error}); start a new one"), status_code=500)
    return Response(status_code=202, headers={"X-Progress": job.progress,
                                              "Retry-After": str(RETRY_AFTER_S)})


@router.delete(f"{FHIR_PREFIX}/$export-status/{{job_id}}")
@requires(EXPORT)
@system_access(None)
def cancel_export(request: Request, db: DB, settings: AppSettings, job_id: str) -> Response:
    """Cancel a running export, or delete a finished one's files (202)."""
    service.cancel_export(db, audit_context(request), job_id=job_id, var_dir=settings.var_dir)
    return Response(status_code=202)


@router.get(f"{FHIR_PREFIX}/$export-file/{{job_id}}/{{file_name}}")
@requires(EXPORT)
@system_access(None)
def export_file(request: Request, db: DB, settings: AppSettings, job_id: str,
                file_name: str) -> Response:
    """One output file, streamed from disk: one resource per line."""
    path = service.output_file(db, audit_context(request), job_id=job_id, file_name=file_name,
                               var_dir=settings.var_dir)
    return FileResponse(path, media_type=NDJSON)
