"""A large export written by two processes, so it uses both cores (issue 16: 20,000
resources/s on 2 cores). Mapping rows to resources and encoding them is Python, and one
process runs Python on one core at a time.

The job's process coordinates and two helper processes (fresh interpreters, so no server
state is inherited; a socket pair to each) each write a share of every type (`ndjson.Share`:
the rows whose id is even, or odd) to files of their own; the coordinator then puts each
type's two files together (order within an NDJSON file carries no meaning). The coordinator
keeps the job's heartbeat while they write, so a cancel or a lost claim stops them at their
next chunk, and a helper that finds its coordinator gone (the server died) stops too. Helpers
also keep the export's CPU work out of the server process, whose requests would otherwise
wait for the GIL.

One snapshot for both, so the files still agree as of the manifest's transactionTime:
- PostgreSQL: the coordinator's REPEATABLE READ transaction exports its snapshot
  (`pg_export_snapshot()`) and each helper imports it (`SET TRANSACTION SNAPSHOT`) before its
  first read; the coordinator's transaction stays open until both have.
- SQLite cannot share a snapshot: the coordinator holds the write lock (BEGIN IMMEDIATE) while
  the helpers begin their read transactions, so no commit can fall between theirs. Writers
  wait those milliseconds (the busy timeout), as for any other write.

A small export (under `HELPERS_FROM`) is written in the job's process, as before: starting a
process costs about a second of imports.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

import ketaflow
from ketaflow.db import make_engine, make_session_factory, utcnow
from ketaflow.fhir.bulk import service
from ketaflow.fhir.bulk.ndjson import (
    Progress,
    Share,
    Stopped,
    Written,
    begin_reading,
    count_resources,
    snapshot,
    write_types,
)
from ketaflow.fhir.registry import BY_NAME, ResourceType

log = logging.getLogger("ketaflow.fhir.export")
HELPERS = 2
# Below this many resources the export runs in the job's process (a few seconds at most).
HELPERS_FROM = 50_000
# How long a helper may take to start (imports, a connection) before the export fails.
START_TIMEOUT_S = 120.0
# How long a helper may take to begin its read transaction (one SELECT).
BEGIN_TIMEOUT_S = 30.0
# How often the coordinator calls `progress` (the heartbeat, the cancel check) while waiting.
POLL_S = 0.5
_SNAPSHOT_ID = re.compile(r"[0-9A-Fa-f]+-[0-9A-Fa-f]+(-[0-9A-Fa-f]+)?")


class HelperFailed(Exception):
    """A helper process stopped without finishing its share (its error kind is logged)."""


@dataclass(frozen=True)
class Export:
    written: list[Written]
    transaction_at: datetime
    # Per helper process (none when written in the job's process): its peak resident memory
    # (VmHWM) and CPU time, for the benchmark and the log.
    helper_peaks_mb: tuple[float, ...] = ()
    helper_cpu_s: tuple[float, ...] = ()


def export(read: sessionmaker[Session], write: sessionmaker[Session],
           kinds: Sequence[ResourceType], directory: Path, *, since: datetime | None = None,
           group_id: str | None = None, suffix: str = "", progress: Progress | None = None,
           helpers_from: int = HELPERS_FROM) -> Export:
    """Write the export's files (`<Type>.ndjson<suffix>` in `directory`), in two helper
    processes when it has `helpers_from` resources or more and the machine two cores.
    `write` is only used, on SQLite, to hold the write lock while the helpers begin. Raises
    `Stopped` when `progress` returns False, `HelperFailed` when a helper dies."""
    patients = None if group_id is None else service.group_members(group_id)
    with contextlib.closing(read()) as session:
        at = snapshot(session)
        if (_cores() < HELPERS
                or count_resources(session, kinds, since, patients=patients) < helpers_from):
            written = write_types(session, kinds, directory, since=since, suffix=suffix,
                                  progress=progress, patients=patients)
            session.rollback()
            return Export(written, at)
        session.rollback()
    return _in_helpers(read, write, kinds, directory, since=since, group_id=group_id,
                       suffix=suffix, progress=progress)


def _cores() -> int:
    """The cores this process may run on (its affinity, which a container may narrow)."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else os.cpu_count() or 1


@dataclass
class _Helper:
    process: subprocess.Popen[bytes]
    conn: Connection
    directory: Path
    # What the helper last said it is at: the index of the type, resources written so far.
    type_index: int = 0
    count: int = 0
    result: list[tuple[str, int]] | None = None
    peak_mb: float = 0.0
    cpu_s: float = 0.0


# A helper is a fresh interpreter running `_helper_main`, not a multiprocessing child: a
# spawned child re-imports the parent's main module (the whole CLI and app, in a server).
_HELPER_CODE = "import sys; from ketaflow.fhir.bulk.processes import _helper_main; " \
               "_helper_main(int(sys.argv[1]))"


def _start(index: int, job: tuple[Any, ...]) -> _Helper:
    ours, theirs = socket.socketpair()
    try:
        # This interpreter, our own code, a descriptor number.
        process = subprocess.Popen(  # noqa: S603 - a fixed command, no shell
            [sys.executable, "-c", _HELPER_CODE, str(theirs.fileno())],
            pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, env=_same_code())
    finally:
        theirs.close()
    conn = Connection(ours.detach())
    # The job (the database URL among it) goes over the socket, never on the command line.
    conn.send((*job, Share(index, HELPERS), os.getpid()))
    return _Helper(process, conn, Path(job[2]))


def _same_code() -> dict[str, str]:
    """The environment, with this process's ketaflow first on the helper's path: a helper
    must map with the very code the coordinator runs (a checkout, not another install)."""
    here = str(Path(ketaflow.__file__).resolve().parents[1])
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": here if not path else os.pathsep.join([here, path])}


def _in_helpers(read: sessionmaker[Session], write: sessionmaker[Session],
                kinds: Sequence[ResourceType], directory: Path, *, since: datetime | None,
                group_id: str | None, suffix: str, progress: Progress | None) -> Export:
    names = [kind.name for kind in kinds]
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("share*.part*"):  # an earlier attempt's, its server gone
        shutil.rmtree(stale, ignore_errors=True)
    helpers: list[_Helper] = []
    try:
        with contextlib.closing(read()) as session:
            url = session.get_bind().engine.url.render_as_string(hide_password=False)
        for index in range(HELPERS):
            folder = directory / f"share{index}{suffix}"
            helpers.append(_start(index, (url, names, str(folder), suffix, since, group_id)))
        _wait_for(helpers, "ready", names, progress, timeout_s=START_TIMEOUT_S)
        at = _begin_together(read, write, helpers, names, progress)
        _wait_for(helpers, "done", names, progress)
        return Export(_joined(helpers, kinds, directory, suffix), at,
                      tuple(helper.peak_mb for helper in helpers),
                      tuple(helper.cpu_s for helper in helpers))
    finally:
        for helper in helpers:
            _end(helper)


def _end(helper: _Helper) -> None:
    """Stop a helper that has not finished (it stops at its next chunk) and remove its files."""
    with contextlib.suppress(OSError):
        helper.conn.send(("stop",))
    try:
        helper.process.wait(timeout=10.0)
    except subprocess.TimeoutExpired:
        helper.process.kill()
        helper.process.wait()
    helper.conn.close()
    shutil.rmtree(helper.directory, ignore_errors=True)


def _begin_together(read: sessionmaker[Session], write: sessionmaker[Session],
                    helpers: Sequence[_Helper], names: Sequence[str],
                    progress: Progress | None) -> datetime:
    """Have every helper begin its read transaction on one snapshot (the module's docstring
    says how) and return when that snapshot was taken."""
    with contextlib.closing(read()) as session:
        if session.get_bind().dialect.name == "postgresql":
            at = snapshot(session)
            snapshot_id = session.scalar(text("SELECT pg_export_snapshot()"))
            for helper in helpers:
                helper.conn.send(("begin", snapshot_id))
            _wait_for(helpers, "begun", names, progress)
            session.rollback()  # the helpers hold the snapshot now
            return at
    with contextlib.closing(write()) as lock:
        lock.connection()  # BEGIN IMMEDIATE: no commit until the helpers have begun
        at = utcnow()
        for helper in helpers:
            helper.conn.send(("begin", None))
        # No progress meanwhile: its heartbeat would wait for this very lock.
        _wait_for(helpers, "begun", names, None, timeout_s=BEGIN_TIMEOUT_S)
        lock.rollback()
    return at


def _wait_for(helpers: Sequence[_Helper], wanted: str, names: Sequence[str],
              progress: Progress | None, *, timeout_s: float | None = None) -> None:
    """Until every helper has said `wanted`, calling `progress` every POLL_S with what they
    have written so far."""
    waiting = {helper.conn: helper for helper in helpers}
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while waiting:
        for conn in wait(list(waiting), timeout=POLL_S):
            assert isinstance(conn, Connection)
            helper = waiting[conn]
            try:
                message = conn.recv()
            except (EOFError, OSError):
                raise HelperFailed(f"exit status {helper.process.poll()}") from None
            if message[0] == "progress":
                helper.type_index, helper.count = message[1:]
                continue
            if message[0] != wanted:  # "failed" carries the helper's error kind
                raise HelperFailed(" ".join(map(str, message)))
            if wanted == "done":
                helper.result, helper.peak_mb, helper.cpu_s = message[1:]
            del waiting[conn]
        if progress is not None and not progress(*_progress(helpers, names)):
            raise Stopped("cancelled while the helpers wrote")
        if deadline is not None and time.monotonic() > deadline:
            raise HelperFailed(f"no {wanted} in time")


def _progress(helpers: Sequence[_Helper], names: Sequence[str]) -> tuple[str, int]:
    """The type the slower helper is writing, and how many resources both have written."""
    index = min(helper.type_index for helper in helpers)
    return names[min(index, len(names) - 1)], sum(helper.count for helper in helpers)


def _joined(helpers: Sequence[_Helper], kinds: Sequence[ResourceType], directory: Path,
            suffix: str) -> list[Written]:
    """Each type's file: the first helper's moved into place, the others' appended to it."""
    written = []
    for kind in kinds:
        name = f"{kind.name}.ndjson{suffix}"
        path = directory / name
        helpers[0].directory.joinpath(name).replace(path)
        with path.open("ab") as out:
            for helper in helpers[1:]:
                with helper.directory.joinpath(name).open("rb") as part:
                    shutil.copyfileobj(part, out, 1 << 20)
        counts = [dict(helper.result or ())[kind.name] for helper in helpers]
        written.append(Written(kind.name, path, sum(counts)))
    return written


# ---------------------------------------------------------------- in the helper process


def _helper_main(fd: int) -> None:
    """A helper's whole life: take the job, connect, say ready, begin on the coordinator's
    snapshot, write its share of each type, say done (or why not)."""
    # This process only exports: objects made at start-up are frozen out of the collector's
    # scans, and it collects less often (the export's objects are short-lived, freed by
    # reference counting; collections were a fifth of its time).
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    conn = Connection(fd)
    url, names, folder, suffix, since, group_id, share, coordinator = conn.recv()
    engine = make_engine(url, connections=1)
    try:
        with contextlib.closing(make_session_factory(engine, read_only=True)()) as session:
            conn.send(("ready",))
            message = conn.recv()
            if message[0] != "begin":
                return
            _begin(session, message[1])
            conn.send(("begun",))
            kinds = [BY_NAME[name] for name in names]
            written = write_types(session, kinds, Path(folder), since=since, suffix=suffix,
                                  progress=_Progress(names, conn, coordinator),
                                  patients=None if group_id is None
                                  else service.group_members(group_id), share=share)
            session.rollback()
        conn.send(("done", [(item.type_name, item.count) for item in written], _peak_mb(),
                   time.process_time()))
    except Stopped:
        with contextlib.suppress(OSError):
            conn.send(("stopped",))
    except Exception as error:  # told to the coordinator by kind, never by text
        log.warning("fhir export helper failed (%s)", type(error).__name__)
        with contextlib.suppress(OSError):
            conn.send(("failed", type(error).__name__))
    finally:
        engine.dispose()
        conn.close()


def _peak_mb() -> float:
    """This process's peak resident memory since it started (not ru_maxrss, which counts the
    parent's pages a spawned process had before its exec)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0  # kB
    return 0.0


def _begin(session: Session, snapshot_id: str | None) -> None:
    if snapshot_id is None:  # SQLite: the coordinator holds the write lock meanwhile
        begin_reading(session)
        return
    if not _SNAPSHOT_ID.fullmatch(snapshot_id):  # it is written into the statement
        raise ValueError("not a snapshot id")
    session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    session.execute(text(f"SET TRANSACTION SNAPSHOT '{snapshot_id}'"))


class _Progress:
    """A helper's progress callback: tells the coordinator what it has written; False (stop)
    once the coordinator says stop or is gone."""

    def __init__(self, names: Sequence[str], conn: Connection, coordinator: int) -> None:
        self.names, self.conn, self.coordinator = names, conn, coordinator

    def __call__(self, type_name: str, count: int) -> bool:
        if os.getppid() != self.coordinator or self.conn.poll():  # "stop", or the end of it
            return False
        self.conn.send(("progress", self.names.index(type_name), count))
        return True
