"""Chair-side load: vitals writes side by side with the framework's ceiling and the database's
raw rate, and the chair page.

Run by `make bench`, never by the tests. Everything is on loopback, on one throwaway PostgreSQL
with durable commits (fsync and synchronous_commit on, as a clinic runs it), and bounded in
time. Three figures under the same conditions (WORKERS uvicorn workers on SO_REUSEPORT sockets
where there is a server, CONNECTIONS concurrent clients, WARMUP_S then DURATION_S):
1. the framework's ceiling: a FastAPI app with one POST route taking the same small pydantic
   body and answering JSON (benchmarks/ceiling_app.py), served by ketaflow's serving code and
   loaded by wrk with benchmarks/vitals.lua;
2. the database's raw rate: pgbench running single-row durable INSERTs of a reading
   (benchmarks/raw_insert.sql), one transaction each, CONNECTIONS clients;
3. ketaflow: `ketaflow serve` with SESSIONS running infusions, wrk posting one reading per
   request (bearer token, a fresh Idempotency-Key each: authenticated, checked, stored once,
   audited); the rows are counted afterwards.
Prints writes/s, p50 and p99 of each, and ketaflow as a share of the ceiling against the goal
(>= 50 % of the ceiling with p99 < 50 ms). Then the chair page of a session holding 100
readings is loaded PAGE_LOADS times, one after another (goal p95 < 50 ms).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2 as httpx  # the maintained successor of httpx, as Starlette recommends
import psycopg
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

# After the path above, so that this checkout's code and its tests package are imported.
from tests.infusions.factories import (  # noqa: E402
    ALL_CHECKS,
    make_clinic,
    make_course,
    order_input,
)
from tests.infusions.factories import self_report as rate_self_report  # noqa: E402
from tests.support.load import SESSION_COOKIE, seed, sign_in  # noqa: E402
from tests.support.postgres import PostgresServer, start_postgres  # noqa: E402
from tests.support.servers import (  # noqa: E402
    AUDIT_KEY,
    Server,
    ServerConfig,
    checkout_env,
    free_port,
)

from ketaflow.audit.keys import session_info  # noqa: E402
from ketaflow.db import make_engine, make_session_factory, transaction  # noqa: E402
from ketaflow.infusions import service  # noqa: E402
from ketaflow.infusions.models import VitalsRecord  # noqa: E402
from ketaflow.infusions.rules import SessionAction, VitalsReading  # noqa: E402
from ketaflow.infusions.service._common import clock_at  # noqa: E402

SESSIONS = 64
# Overridable for exploration, e.g. BENCH_CONNECTIONS=1 for the latency floor.
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
WRK_THREADS = 1  # one C thread is plenty for this rate and leaves the cores to the server
WARMUP_S, DURATION_S, PAGE_LOADS = 3.0, 10.0, 200
VAR_DIR = Path(tempfile.gettempdir()) / "ketaflow-bench-var"
GOAL_SHARE, GOAL_P99_MS, GOAL_PAGE_P95_MS = 0.5, 50, 50


@dataclass(frozen=True)
class Rate:
    writes_per_s: float
    p50_ms: float
    p99_ms: float
    cpu_ms: float | None = None  # the server's CPU time per write (all its processes)


def _cpu_s(group: int) -> float:
    """CPU time (user + system) used so far by the processes of one process group. Other work
    on a shared machine changes throughput, not this: per write it is the steadier figure."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        if int(fields[2]) == group:  # after the state and the parent: the process group
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


# ---------------------------------------------------------------- wrk against a server


def _wrk(base: str, token: str, session_ids: list[int], seconds: float, run: str
         ) -> dict[str, int]:
    command = ["wrk", f"-t{WRK_THREADS}", f"-c{CONNECTIONS}", f"-d{seconds:g}s", "--latency",
               "-s", str(ROOT / "benchmarks" / "vitals.lua"), base, "--", token,
               ",".join(map(str, session_ids)), run]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    found = re.search(r"^RESULT (.*)$", output, re.MULTILINE)
    assert found, f"wrk printed no result:\n{output}"
    return {key: int(value) for key, value in (pair.split("=") for pair in found[1].split())}


def _wrk_rate(base: str, token: str, session_ids: list[int], label: str, group: int) -> Rate:
    """wrk's rate and latency after a warm-up, and the CPU the server (`group`) spent."""
    _wrk(base, token, session_ids, WARMUP_S, f"{label}-warmup")
    cpu_before = _cpu_s(group)
    result = _wrk(base, token, session_ids, DURATION_S, label)
    cpu_ms = (_cpu_s(group) - cpu_before) * 1000 / max(result["requests"], 1)
    assert result["non2xx"] == 0 and result["errors"] == 0, f"{label}: failures {result}"
    return Rate(result["requests"] / DURATION_S, result["p50_us"] / 1000,
                result["p99_us"] / 1000, cpu_ms)


def _ceiling() -> Rate:
    """The trivial app under ketaflow's serving code, loaded exactly as ketaflow is."""
    port = free_port()
    command = [sys.executable, str(ROOT / "benchmarks" / "ceiling_app.py"), str(port),
               str(WORKERS)]
    process = subprocess.Popen(command, env=checkout_env(), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_listening(base)
        return _wrk_rate(base, "none", [1], "ceiling", process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wait_listening(base: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(base, timeout=1)  # any answer (404) means it serves
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing answered on {base} within 60 s")


# ---------------------------------------------------------------- pgbench against PostgreSQL


RAW_TABLE = """CREATE TABLE raw_vitals (
    id bigserial PRIMARY KEY, session_id integer NOT NULL, taken_at timestamptz NOT NULL,
    sbp_mmhg real, dbp_mmhg real, hr_bpm real, spo2_percent real, rr_per_min real,
    rass integer)"""


def _pgbench(server: PostgresServer, database: str, seconds: float, logs: Path | None) -> str:
    command = ["pgbench", "-n", "-M", "prepared", f"-c{CONNECTIONS}", "-j2", f"-T{seconds:g}",
               "-f", str(ROOT / "benchmarks" / "raw_insert.sql"), "-h", "127.0.0.1",
               "-p", str(server.port), "-U", "postgres", database]
    if logs is not None:  # one line per transaction, its latency in microseconds third
        command[1:1] = ["-l", f"--log-prefix={logs / 'pgbench'}"]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def _raw_inserts(server: PostgresServer) -> Rate:
    """The database alone: as many durable one-row INSERTs as CONNECTIONS clients manage."""
    server.create_database("bench_raw")
    with psycopg.connect(host="127.0.0.1", port=server.port, user="postgres",
                         dbname="bench_raw", autocommit=True) as conn:
        conn.execute(RAW_TABLE)
    _pgbench(server, "bench_raw", WARMUP_S, None)
    with tempfile.TemporaryDirectory() as logs:
        output = _pgbench(server, "bench_raw", DURATION_S, Path(logs))
        latencies = [int(line.split()[2]) / 1000 for log in Path(logs).glob("pgbench*")
                     for line in log.read_text().splitlines()]
    tps = re.search(r"tps = ([\d.]+)", output)
    assert tps, f"pgbench printed no rate:\n{output}"
    return Rate(float(tps[1]), _percentile(latencies, 50), _percentile(latencies, 99))


# ---------------------------------------------------------------- ketaflow


def _seed_heavy_session(url: str) -> int:
    """A session opened three hours ago holding 100 readings, for the chair page."""
    engine = make_engine(url)
    factory = make_session_factory(engine, info=session_info(AUDIT_KEY.encode()))
    opened = datetime.now(UTC) - timedelta(hours=3)
    with transaction(factory) as db:
        clinic = make_clinic(db)
        nurse = clinic.nurse_ctx
        with clock_at(opened):
            course = make_course(db, clinic)
            rate_self_report(db, course.patient_id, rated_at=opened)
            heavy = service.open_session(db, nurse, course_id=course.id)
            service.apply_action(db, nurse, session_id=heavy.id,
                                 action=SessionAction.BEGIN_PRECHECKS)
            service.update_prechecks(db, nurse, session_id=heavy.id, changes=ALL_CHECKS)
            service.record_vitals(db, nurse, session_id=heavy.id, reading=VitalsReading(
                opened, sbp_mmhg=122, dbp_mmhg=78, hr_bpm=72, spo2_percent=98))
            service.sign_order(db, clinic.prescriber_ctx, session_id=heavy.id,
                               order=order_input())
            service.apply_action(db, nurse, session_id=heavy.id, action=SessionAction.START)
        for minute in range(1, 101):
            at = opened + timedelta(minutes=minute)
            with clock_at(at):
                service.record_vitals(db, nurse, session_id=heavy.id, reading=VitalsReading(
                    at, sbp_mmhg=120 + minute % 15, dbp_mmhg=80, hr_bpm=72, spo2_percent=98,
                    rr_per_min=14, rass=0))
        heavy_id = heavy.id
    engine.dispose()
    return heavy_id


def _stored_readings(url: str) -> int:
    engine = make_engine(url)
    with engine.connect() as connection:
        count = connection.scalar(select(func.count()).select_from(VitalsRecord))
    engine.dispose()
    return int(count or 0)


def _ketaflow_writes(server: Server, url: str, token: str, session_ids: list[int]) -> Rate:
    before = _stored_readings(url)
    assert server.process is not None
    rate = _wrk_rate(server.base, token, session_ids, "ketaflow", server.process.pid)
    stored = _stored_readings(url) - before
    expected = round(rate.writes_per_s * DURATION_S)
    # wrk counts the answers within the run; writes answered in the warm-up's tail also land.
    assert stored >= expected, f"{stored} readings stored for {expected} acknowledged"
    return rate


def _load_page(base: str, username: str, session_id: int) -> None:
    cookie = sign_in(base, username)
    with httpx.Client(base_url=base, timeout=30,
                      headers={"Cookie": f"{SESSION_COOKIE}={cookie}"}) as client:
        path = f"/infusions/sessions/{session_id}"
        for _ in range(20):  # warm-up
            client.get(path)
        timings = []
        for _ in range(PAGE_LOADS):
            start = time.perf_counter()
            response = client.get(path)
            timings.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200 and "Readings (101)" in response.text
    print(f"chair page with 100 readings: {PAGE_LOADS} sequential loads")
    print(f"  latency     p50 {_percentile(timings, 50):6.1f} ms   p95 "
          f"{_percentile(timings, 95):6.1f} ms   (goal p95 < {GOAL_PAGE_P95_MS} ms)")


def _side_by_side(ceiling: Rate, raw: Rate, ours: Rate) -> None:
    print(f"vitals writes: {CONNECTIONS} connections, {WARMUP_S:g} s warm-up then "
          f"{DURATION_S:g} s; {WORKERS} uvicorn workers (httptools, uvloop, SO_REUSEPORT);"
          " PostgreSQL with durable commits")
    print(f"  {'':46} {'writes/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'server CPU/write':>17}")
    for name, rate in (("framework ceiling (FastAPI, one POST route)", ceiling),
                       ("database raw rate (pgbench, one-row INSERT)", raw),
                       ("ketaflow (authenticated, idempotent, audited)", ours)):
        cpu = "" if rate.cpu_ms is None else f"{rate.cpu_ms:14.2f} ms"
        print(f"  {name:46} {rate.writes_per_s:9,.0f} {rate.p50_ms:7.1f} {rate.p99_ms:7.1f} "
              f"{cpu}")
    share = ours.writes_per_s / ceiling.writes_per_s
    met = share >= GOAL_SHARE and ours.p99_ms < GOAL_P99_MS
    print(f"  ketaflow = {share:.0%} of the ceiling ({ours.writes_per_s / raw.writes_per_s:.0%}"
          f" of the raw INSERT rate), p99 {ours.p99_ms:.1f} ms; goal >= {GOAL_SHARE:.0%} with "
          f"p99 < {GOAL_P99_MS} ms: {'met' if met else 'NOT met'}")
    if ceiling.cpu_ms and ours.cpu_ms:
        print(f"  per write ketaflow's server spends {ours.cpu_ms / ceiling.cpu_ms:.1f}x the "
              "ceiling's CPU (the steadier ratio while other work shares the machine)")


def main() -> None:
    for tool in ("wrk", "pgbench"):
        if shutil.which(tool) is None:
            sys.exit(f"bench_vitals needs {tool}: apt-get install wrk postgresql-client")
    print(f"ketaflow chair-side benchmark ({os.cpu_count()} CPUs)\n")
    ceiling = _ceiling()
    postgres = start_postgres(durable=True)
    shutil.rmtree(VAR_DIR, ignore_errors=True)
    process = None
    try:
        raw = _raw_inserts(postgres)
        url = postgres.create_database("bench_vitals")
        data = seed(url, sessions=SESSIONS)
        heavy_id = _seed_heavy_session(url)
        process = Server(ServerConfig(url, VAR_DIR, WORKERS))
        process.start()
        ours = _ketaflow_writes(process, url, data.api_token, list(data.session_ids))
        _side_by_side(ceiling, raw, ours)
        print()
        _load_page(process.base, data.nurse, heavy_id)
    finally:
        if process is not None:
            process.stop()
        postgres.stop()


if __name__ == "__main__":
    main()
