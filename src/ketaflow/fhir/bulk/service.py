"""`$export` as use cases: kick-off, status, cancel and download for the client (each audited
with ids and counts only), and claim, heartbeat, finish and fail for the worker. Services never
commit: the routes and the runner open the transactions.

How a job survives a restart and is run by one process among several (as the outbox,
docs/jobs.md): a worker claims a queued job with an UPDATE guarded by its state, so two
workers never both hold it; while writing it refreshes `heartbeat_at`; a job whose heartbeat
is older than `STALE_AFTER` belongs to a worker that died and is claimed again, from the
start, by the next worker that looks. Every later write of a worker is guarded by its claim
(`claimed_by` and the attempt number), so a worker that lost its claim writes nothing more.
"""

from __future__ import annotations

import re
import secrets
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, or_, select, update
from sqlalchemy.orm import Session

from ketaflow.audit.service import AuditContext, record_event
from ketaflow.booking.models import Site
from ketaflow.db import first_unlocked, utcnow
from ketaflow.errors import NotFound, PermissionDenied
from ketaflow.fhir.bulk.models import ExportLevel, ExportState, FhirExportJob
from ketaflow.fhir.bulk.ndjson import NDJSON_FORMATS, level_types
from ketaflow.fhir.codes import Resource
from ketaflow.fhir.outcome import InvalidSearch
from ketaflow.fhir.sources import booking

ENTITY = "fhir_export_job"
WORKER_CONTEXT = AuditContext(None, "fhir-export", "system")
# A running job whose heartbeat is older than this is taken to have lost its worker.
STALE_AFTER = timedelta(seconds=60)
# How often a running export refreshes its heartbeat (well inside STALE_AFTER).
HEARTBEAT_EVERY = timedelta(seconds=5)
# Kick-off parameters served; any other is refused rather than ignored.
_PARAMETERS = frozenset({"_type", "_since", "_outputFormat"})
# FHIR's instant: to the second at least, with a zone.
_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})")
_FILE = re.compile(r"([A-Z][A-Za-z]{0,63})\.ndjson")


@dataclass(frozen=True)
class ExportRequest:
    level: ExportLevel
    types: tuple[str, ...]
    since: datetime | None
    group_id: str | None = None


def require_group(db: Session, group_id: str) -> str:
    """A Group this server serves (a site's patients), or NotFound (404 OperationOutcome)."""
    site_id = booking.GROUP.row_id(group_id)
    if not isinstance(site_id, int) or isinstance(site_id, bool) or db.get(Site, site_id) is None:
        raise NotFound(f"Group/{group_id[:40]}: no such group", field="group")
    return group_id


def group_members(group_id: str) -> Select[Any]:
    """The patients a group-level export covers: the Group's members when it runs (the
    export's snapshot), not when it was asked for."""
    site_id = booking.GROUP.row_id(group_id)
    assert isinstance(site_id, int) and not isinstance(site_id, bool)
    return booking.site_members(site_id)


def parse_kickoff(level: ExportLevel, query: Sequence[tuple[str, str]],
                  prefer: str | None, group_id: str | None = None) -> ExportRequest:
    """The export a kick-off asks for, or an InvalidSearch (400) naming what is wrong."""
    if "respond-async" not in [p.strip().lower() for p in (prefer or "").split(",")]:
        raise InvalidSearch("Prefer: respond-async is required (the export runs in the "
                            "background; poll the Content-Location)", field="Prefer")
    given: dict[str, str] = {}
    for name, value in query:
        if name not in _PARAMETERS:
            raise InvalidSearch(f"{name[:40]}: not supported by $export here; supported: "
                                f"{', '.join(sorted(_PARAMETERS))}", field=name[:40])
        if name in given:
            raise InvalidSearch(f"{name} may be given once", field=name)
        given[name] = value
    if given.get("_outputFormat", "application/fhir+ndjson") not in NDJSON_FORMATS:
        raise InvalidSearch("_outputFormat: only application/fhir+ndjson is written",
                            field="_outputFormat")
    in_compartment = level is not ExportLevel.SYSTEM
    served = [kind.name for kind in level_types(in_compartment)]
    types = tuple(served)
    if "_type" in given:
        asked = [name.strip() for name in given["_type"].split(",")]
        unknown = sorted({name[:40] for name in asked if name not in served})
        if unknown or not any(asked):
            where = "in the Patient compartment" if in_compartment else "here"
            raise InvalidSearch(f"_type: {', '.join(unknown) or 'empty'} not exported {where}; "
                                f"exported: {', '.join(served)}", field="_type")
        types = tuple(name for name in served if name in asked)
    since = None if "_since" not in given else parse_instant(given["_since"])
    return ExportRequest(level, types, since, group_id)


def within_types(asked: ExportRequest, allowed: Sequence[str], *,
                 explicit: bool) -> ExportRequest:
    """A system client's export, narrowed to the types its scopes read: every such type when
    `_type` was not given; a `_type` naming any other type is refused (403), not narrowed."""
    refused = [name for name in asked.types if name not in allowed]
    if refused and explicit:
        raise PermissionDenied(f"_type: the token's scopes do not read {', '.join(refused)}",
                               field="_type")
    types = tuple(name for name in asked.types if name in allowed)
    if not types:
        raise PermissionDenied("the token's scopes read none of the types exported here")
    return ExportRequest(asked.level, types, asked.since, asked.group_id)


def parse_instant(raw: str, field: str = "_since") -> datetime:
    """A FHIR instant (e.g. 2026-12-01T00:00:00Z), in UTC."""
    if not _INSTANT.fullmatch(raw):
        raise InvalidSearch(f"{field}: expected an instant such as 2026-12-01T08:00:00Z "
                            "(date, time to the second and a zone)", field=field)
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidSearch(f"{field}: not a real date and time", field=field) from None
    return moment.astimezone(UTC)


def start_export(db: Session, ctx: AuditContext, *, request: ExportRequest,
                 request_url: str) -> FhirExportJob:
    job = FhirExportJob(id=secrets.token_hex(16), level=request.level,
                        types=list(request.types), since=request.since,
                        group_id=request.group_id, request_url=request_url[:2000],
                        requester_user_id=ctx.actor_user_id, requester_client_id=ctx.client_id)
    db.add(job)
    db.flush()
    record_event(db, ctx, action="fhir.export.start", entity_type=ENTITY, entity_id=job.id,
                 detail={"level": job.level.value, "group": job.group_id, "types": job.types,
                         "since": None if job.since is None else job.since.isoformat()})
    return job


def _own_job(db: Session, ctx: AuditContext, job_id: str) -> FhirExportJob:
    """The caller's job, live (a cancelled job is gone, as the IG asks: 404)."""
    job = db.get(FhirExportJob, job_id) if re.fullmatch(r"[0-9a-f]{32}", job_id) else None
    if (job is None or job.state is ExportState.CANCELLED
            or job.requester_user_id != ctx.actor_user_id
            or job.requester_client_id != ctx.client_id):
        raise NotFound("no export with this id (unknown, cancelled, or not yours)",
                       field="job")
    return job


def export_status(db: Session, ctx: AuditContext, *, job_id: str) -> FhirExportJob:
    """Polling is not audited (clients poll every few seconds); kick-off, download and
    cancel are."""
    return _own_job(db, ctx, job_id)


def export_dir(var_dir: Path, job_id: str) -> Path:
    return var_dir / "fhir-export" / job_id


def manifest(job: FhirExportJob, base_url: str) -> Resource:
    """The complete-status body (Bulk Data IG v2)."""
    assert job.state is ExportState.DONE and job.transaction_at is not None
    base = f"{base_url.rstrip('/')}/fhir/R4"
    return {
        "transactionTime": job.transaction_at.isoformat(timespec="milliseconds"),
        "request": job.request_url,
        "requiresAccessToken": True,
        "output": [{"type": item["type"],
                    "url": f"{base}/$export-file/{job.id}/{item['type']}.ndjson",
                    "count": item["count"]} for item in job.output],
        "error": [],
    }


def cancel_export(db: Session, ctx: AuditContext, *, job_id: str, var_dir: Path) -> None:
    """Cancel a queued or running job, or take back a finished one: its files are removed.
    A worker writing it notices at its next heartbeat and stops."""
    job = _own_job(db, ctx, job_id)
    previous = job.state
    job.state, job.cancelled_at, job.claimed_by = ExportState.CANCELLED, utcnow(), None
    db.flush()
    record_event(db, ctx, action="fhir.export.cancel", entity_type=ENTITY, entity_id=job.id,
                 detail={"state": previous.value})
    shutil.rmtree(export_dir(var_dir, job.id), ignore_errors=True)


def output_file(db: Session, ctx: AuditContext, *, job_id: str, file_name: str,
                var_dir: Path) -> Path:
    job = _own_job(db, ctx, job_id)
    match = _FILE.fullmatch(file_name)
    item = None if match is None or job.state is not ExportState.DONE else next(
        (i for i in job.output if i["type"] == match[1]), None)
    path = export_dir(var_dir, job.id) / file_name
    if item is None or not path.is_file():
        raise NotFound("no such file in this export", field="file")
    record_event(db, ctx, action="fhir.export.download", entity_type=ENTITY, entity_id=job.id,
                 detail={"type": item["type"], "count": item["count"]})
    return path


# --- The worker's side (ketaflow.fhir.bulk.runner runs these, one short transaction each)


@dataclass(frozen=True)
class Claim:
    job_id: str
    worker_id: str
    attempt: int
    level: ExportLevel
    types: tuple[str, ...]
    since: datetime | None
    group_id: str | None = None


def _claimable(now: datetime, stale_after: timedelta) -> ColumnElement[bool]:
    return or_(FhirExportJob.state == ExportState.QUEUED,
               and_(FhirExportJob.state == ExportState.RUNNING,
                    FhirExportJob.heartbeat_at < now - stale_after))


def claim_next(db: Session, *, worker_id: str, now: datetime,
               stale_after: timedelta = STALE_AFTER) -> Claim | None:
    """Claim the oldest queued job, or one whose worker stopped beating. Candidate first
    (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: the write lock is held already), then an
    UPDATE repeating the guard, as the outbox claims (docs/jobs.md)."""
    job_id = first_unlocked(db, select(FhirExportJob.id).where(_claimable(now, stale_after))
                            .order_by(FhirExportJob.created_at, FhirExportJob.id).limit(1))
    if job_id is None:
        return None
    claimed = db.execute(
        update(FhirExportJob)
        .where(FhirExportJob.id == job_id, _claimable(now, stale_after))
        .values(state=ExportState.RUNNING, claimed_by=worker_id, heartbeat_at=now,
                started_at=now, attempts=FhirExportJob.attempts + 1, progress="starting")
        .returning(FhirExportJob.attempts, FhirExportJob.level, FhirExportJob.types,
                   FhirExportJob.since, FhirExportJob.group_id)
        .execution_options(synchronize_session=False)).first()
    if claimed is None:
        return None
    if claimed.attempts > 1:
        record_event(db, WORKER_CONTEXT, action="fhir.export.reclaim", entity_type=ENTITY,
                     entity_id=job_id, detail={"attempt": int(claimed.attempts)})
    return Claim(job_id, worker_id, int(claimed.attempts), ExportLevel(claimed.level),
                 tuple(claimed.types), claimed.since, claimed.group_id)


def _still_ours(claim: Claim) -> ColumnElement[bool]:
    return and_(FhirExportJob.id == claim.job_id, FhirExportJob.state == ExportState.RUNNING,
                FhirExportJob.claimed_by == claim.worker_id,
                FhirExportJob.attempts == claim.attempt)


def _guarded(db: Session, claim: Claim, **values: object) -> bool:
    result = db.execute(update(FhirExportJob).where(_still_ours(claim)).values(**values)
                        .execution_options(synchronize_session=False))
    return bool(getattr(result, "rowcount", 0))


def heartbeat(db: Session, claim: Claim, *, now: datetime, progress: str) -> bool:
    """Refresh the claim; False if it is no longer ours (cancelled, or re-claimed)."""
    return _guarded(db, claim, heartbeat_at=now, progress=progress[:200])


def finish(db: Session, claim: Claim, *, now: datetime, transaction_at: datetime,
           output: Sequence[tuple[str, int]]) -> bool:
    done = _guarded(db, claim, state=ExportState.DONE, finished_at=now, claimed_by=None,
                    transaction_at=transaction_at, progress="done",
                    output=[{"type": name, "count": count} for name, count in output])
    if done:
        record_event(db, WORKER_CONTEXT, action="fhir.export.done", entity_type=ENTITY,
                     entity_id=claim.job_id,
                     detail={"attempt": claim.attempt,
                             "counts": {name: count for name, count in output}})
    return done


def fail(db: Session, claim: Claim, *, now: datetime, error: str) -> bool:
    failed = _guarded(db, claim, state=ExportState.FAILED, finished_at=now, claimed_by=None,
                      error=error[:200], progress="failed")
    if failed:
        record_event(db, WORKER_CONTEXT, action="fhir.export.failed", entity_type=ENTITY,
                     entity_id=claim.job_id, detail={"attempt": claim.attempt,
                                                     "error": error[:200]})
    return failed


def release(db: Session, claim: Claim) -> bool:
    """At shutdown: back to the queue, for the next worker to start again."""
    return _guarded(db, claim, state=ExportState.QUEUED, claimed_by=None, heartbeat_at=None,
                    progress="queued (server restarted)")
