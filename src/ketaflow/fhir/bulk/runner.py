"""The background runner: claims export jobs and writes them, in each server process, off the
request path (its own thread and its own engine, beside the outbox and the audit duties).

Per job: a short transaction claims it; one snapshot of the database (one read transaction,
or two helper processes sharing one: `processes`) streams every type into
`<Type>.ndjson.part<attempt>` files; a heartbeat, at most
every `HEARTBEAT_EVERY`, in short transactions on the second connection, says the worker is
alive and asks whether the job is still its own (cancelled, or re-claimed after a stall, it
stops); the files are then renamed into place and a last short transaction records the
output. A process that dies leaves a job `running` with an old heartbeat, and the next round
of any process claims it again and starts it over (docs/fhir.md, "Bulk export").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ketaflow.db import make_engine, make_session_factory, transaction, utcnow
from ketaflow.fhir.bulk import ndjson, processes, service
from ketaflow.fhir.bulk.models import ExportState, FhirExportJob
from ketaflow.fhir.bulk.ndjson import Stopped
from ketaflow.fhir.registry import BY_NAME
from ketaflow.jobs.worker import worker_id

log = logging.getLogger("ketaflow.fhir.export")
# A round looks for work this often (a kick-off in this process wakes it at once).
POLL_EVERY_S = 2.0
JOBS_PER_ROUND = 5


snapshot = ndjson.snapshot  # the CLI's name for it


def run_claimed(read: sessionmaker[Session], write: sessionmaker[Session],
                claim: service.Claim, var_dir: Path, *,
                stop: threading.Event | None = None) -> ExportState | None:
    """Write a claimed job's files and record the outcome. Returns the state recorded, or
    None when the job is no longer this worker's (cancelled, re-claimed, or released at
    shutdown for another worker to run)."""
    directory = service.export_dir(var_dir, claim.job_id)
    suffix = f".part{claim.attempt}"
    kinds = [BY_NAME[name] for name in claim.types if name in BY_NAME]
    beat = _Heartbeat(write, claim, len(kinds), stop)
    try:
        done_export = processes.export(read, write, kinds, directory, since=claim.since,
                                       group_id=claim.group_id, suffix=suffix, progress=beat)
    except Stopped:
        _remove_parts(directory, suffix)
        if stop is not None and stop.is_set():
            with transaction(write) as db:
                service.release(db, claim)
        _remove_if_cancelled(write, claim.job_id, directory)
        return None
    except Exception as error:  # a bug or a lost database: the job fails with its kind
        log.warning("fhir export %s failed (%s)", claim.job_id, type(error).__name__)
        _remove_parts(directory, suffix)
        with transaction(write) as db:
            failed = service.fail(db, claim, now=utcnow(), error=type(error).__name__)
        _remove_if_cancelled(write, claim.job_id, directory)
        return ExportState.FAILED if failed else None
    for item in done_export.written:
        item.path.replace(directory / f"{item.type_name}.ndjson")
    with transaction(write) as db:
        done = service.finish(db, claim, now=utcnow(), transaction_at=done_export.transaction_at,
                              output=[(item.type_name, item.count)
                                      for item in done_export.written])
    if not done:
        _remove_if_cancelled(write, claim.job_id, directory)
    return ExportState.DONE if done else None


class _Heartbeat:
    """The progress callback: a heartbeat at most every HEARTBEAT_EVERY; False (stop) once
    the claim is lost or the process is stopping."""

    def __init__(self, write: sessionmaker[Session], claim: service.Claim, types: int,
                 stop: threading.Event | None) -> None:
        self.write, self.claim, self.types, self.stop = write, claim, types, stop
        self.last = time.monotonic()
        self.current: str | None = None
        self.index = 0

    def __call__(self, type_name: str, count: int) -> bool:
        """`count`: resources written of every type so far."""
        if self.stop is not None and self.stop.is_set():
            return False
        if type_name != self.current:
            self.current, self.index = type_name, self.index + 1
        if time.monotonic() - self.last < service.HEARTBEAT_EVERY.total_seconds():
            return True
        self.last = time.monotonic()
        with transaction(self.write) as db:
            return service.heartbeat(
                db, self.claim, now=utcnow(),
                progress=f"{type_name} ({self.index} of {self.types} types), "
                         f"{count} resources written so far")


def _remove_parts(directory: Path, suffix: str) -> None:
    for path in directory.glob(f"*.ndjson{suffix}"):
        path.unlink(missing_ok=True)


def _remove_if_cancelled(write: sessionmaker[Session], job_id: str, directory: Path) -> None:
    with transaction(write) as db:
        state = db.scalar(select(FhirExportJob.state).where(FhirExportJob.id == job_id))
    if state is ExportState.CANCELLED:
        shutil.rmtree(directory, ignore_errors=True)


def run_round(read: sessionmaker[Session], write: sessionmaker[Session], var_dir: Path, *,
              worker: str, stop: threading.Event | None = None,
              limit: int = JOBS_PER_ROUND) -> int:
    """Claim and run jobs until none is waiting (at most `limit`). Returns how many ran."""
    ran = 0
    for _ in range(limit):
        if stop is not None and stop.is_set():
            break
        with transaction(write) as db:
            claim = service.claim_next(db, worker_id=worker, now=utcnow())
        if claim is None:
            break
        run_claimed(read, write, claim, var_dir, stop=stop)
        ran += 1
    return ran


class ExportRunner:
    """Rounds in a running server, every POLL_EVERY_S or when woken, in a thread of its own
    with an engine of its own (two connections: the snapshot and the heartbeat)."""

    def __init__(self, url: str, var_dir: Path, *, info: dict[str, Any],
                 interval_s: float = POLL_EVERY_S) -> None:
        self.engine = make_engine(url, connections=2)
        self.write = make_session_factory(self.engine, info=info)
        self.read = make_session_factory(self.engine, info=info, read_only=True)
        self.var_dir = var_dir
        self.interval_s = interval_s
        self.worker = worker_id()
        self._limiter = anyio.CapacityLimiter(1)  # its own: never a request's thread
        self._stop = threading.Event()
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake = asyncio.Event()

    def start(self) -> None:
        self._stop.clear()
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._task = asyncio.create_task(self._run())

    def wake(self) -> None:
        """From any thread (a kick-off's): look for work now rather than at the next poll."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop is shutting down
                loop.call_soon_threadsafe(self._wake.set)

    async def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                await anyio.to_thread.run_sync(self._round, limiter=self._limiter)
            except Exception as error:  # a database restart: logged, tried next round
                log.warning("fhir export round failed (%s)", type(error).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval_s)

    def _round(self) -> int:
        return run_round(self.read, self.write, self.var_dir, worker=self.worker,
                         stop=self._stop)

    async def stop(self) -> None:
        """At shutdown: a job being written goes back to the queue (another process, or this
        one after the restart, runs it again)."""
        self._stop.set()
        task, self._task = self._task, None
        if task is None:
            return
        self._wake.set()
        done, _ = await asyncio.wait({task}, timeout=30.0)
        if not done:
            log.warning("fhir export still writing at shutdown; it is re-claimed once its "
                        "heartbeat is stale")
            task.cancel()

    def dispose(self) -> None:
        self.engine.dispose()
