"""Chair-side load: monitor gateways posting vitals through the JSON API, and the chair page.

Run by `make bench`, never by the tests. Everything is on loopback and bounded in time:
1. a throwaway PostgreSQL with durable commits (fsync and synchronous_commit on, as a clinic
   runs it), migrated and seeded with SESSIONS running infusions and one session holding 100
   readings;
2. the app under uvicorn (WORKERS processes) on 127.0.0.1;
3. wrk (a C load generator, so the client takes little of the two cores) keeps CONNECTIONS
   connections posting one reading per request (bearer token, a fresh Idempotency-Key each) for
   DURATION_S seconds after a warm-up; the rows in the database are counted afterwards;
4. the chair page of the 100-reading session is loaded PAGE_LOADS times, one after another.
Prints throughput and p50/p99 latency against the goals (>= 1,000 writes/s with p99 < 50 ms;
chair page p95 < 50 ms).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2 as httpx  # the maintained successor of httpx, as Starlette recommends

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

SESSIONS = 64
# Overridable for exploration, e.g. BENCH_CONNECTIONS=1 for the latency floor.
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
WRK_THREADS = 1  # one C thread is plenty for this rate and leaves the cores to the server
WARMUP_S, DURATION_S, PAGE_LOADS = 3.0, 10.0, 200
VAR_DIR = Path(tempfile.gettempdir()) / "ketaflow-bench-var"
GOAL_WRITES_PER_S, GOAL_P99_MS, GOAL_PAGE_P95_MS = 1000, 50, 50


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _seed(url: str) -> tuple[str, list[int], int, str]:
    """Sessions running on SESSIONS patients, one with 100 readings; a nurse's API token."""
    from tests.infusions.factories import (
        ALL_CHECKS,
        make_clinic,
        make_course,
        order_input,
        ready_to_start,
        self_report,
    )
    from tests.support.factories import SYSTEM

    from ketaflow import migrate
    from ketaflow.auth import service as auth_service
    from ketaflow.db import make_engine, make_session_factory
    from ketaflow.infusions import service
    from ketaflow.infusions.rules import SessionAction, VitalsReading
    from ketaflow.infusions.service._common import clock_at

    migrate.upgrade(url)
    engine = make_engine(url)
    db = make_session_factory(engine)()
    clinic = make_clinic(db)
    token, _ = auth_service.create_api_token(db, SYSTEM, user=clinic.nurse, name="bench", days=1)
    ids = []
    for _ in range(SESSIONS):
        record = ready_to_start(db, clinic)
        service.apply_action(db, clinic.nurse_ctx, session_id=record.id,
                             action=SessionAction.START)
        ids.append(record.id)
    opened = datetime.now(UTC) - timedelta(hours=3)
    with clock_at(opened):
        course = make_course(db, clinic)
        self_report(db, course.patient_id, rated_at=opened)
        heavy = service.open_session(db, clinic.nurse_ctx, course_id=course.id)
        service.apply_action(db, clinic.nurse_ctx, session_id=heavy.id,
                             action=SessionAction.BEGIN_PRECHECKS)
        service.update_prechecks(db, clinic.nurse_ctx, session_id=heavy.id, changes=ALL_CHECKS)
        service.record_vitals(db, clinic.nurse_ctx, session_id=heavy.id, reading=VitalsReading(
            opened, sbp_mmhg=122, dbp_mmhg=78, hr_bpm=72, spo2_percent=98))
        service.sign_order(db, clinic.prescriber_ctx, session_id=heavy.id, order=order_input())
        service.apply_action(db, clinic.nurse_ctx, session_id=heavy.id,
                             action=SessionAction.START)
    for minute in range(1, 101):
        at = opened + timedelta(minutes=minute)
        with clock_at(at):
            service.record_vitals(db, clinic.nurse_ctx, session_id=heavy.id, reading=VitalsReading(
                at, sbp_mmhg=120 + minute % 15, dbp_mmhg=80, hr_bpm=72, spo2_percent=98,
                rr_per_min=14, rass=0))
    db.commit()
    db.close()
    engine.dispose()
    return token, ids, heavy.id, clinic.nurse.username


def _start_server(url: str, port: int) -> subprocess.Popen[bytes]:
    """`ketaflow serve` exactly as a clinic runs it, with WORKERS processes."""
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    env = os.environ | {
        "KETAFLOW_DATABASE_URL": url, "KETAFLOW_MODE": "demo", "KETAFLOW_COOKIE_SECURE": "false",
        "KETAFLOW_SECRET_KEY": "b" * 48, "KETAFLOW_VAR_DIR": str(VAR_DIR),
    }
    command = [sys.executable, "-m", "ketaflow", "serve", "--host", "127.0.0.1",
               "--port", str(port), "--workers", str(WORKERS)]
    with (VAR_DIR / "server.log").open("wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError(f"the server did not start within 30 s: see {VAR_DIR / 'server.log'}")


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def _wrk(base: str, token: str, session_ids: list[int], seconds: float, run: str
         ) -> dict[str, int]:
    command = ["wrk", f"-t{WRK_THREADS}", f"-c{CONNECTIONS}", f"-d{seconds:g}s", "--latency",
               "-s", str(ROOT / "benchmarks" / "vitals.lua"), base, "--", token,
               ",".join(map(str, session_ids)), run]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    found = re.search(r"^RESULT (.*)$", output, re.MULTILINE)
    assert found, f"wrk printed no result:\n{output}"
    return {key: int(value) for key, value in (pair.split("=") for pair in found[1].split())}


def _stored_readings(url: str) -> int:
    from sqlalchemy import func, select

    from ketaflow.db import make_engine
    from ketaflow.infusions.models import VitalsRecord

    engine = make_engine(url)
    with engine.connect() as connection:
        count = connection.scalar(select(func.count()).select_from(VitalsRecord))
    engine.dispose()
    return int(count or 0)


def _load_vitals(base: str, url: str, token: str, session_ids: list[int]) -> None:
    _wrk(base, token, session_ids, WARMUP_S, "warmup")
    before = _stored_readings(url)
    result = _wrk(base, token, session_ids, DURATION_S, "measured")
    stored = _stored_readings(url) - before
    rate = result["requests"] / DURATION_S
    print(f"vitals writes: {CONNECTIONS} connections x {DURATION_S:g} s over {len(session_ids)}"
          f" sessions ({WORKERS} uvicorn workers, PostgreSQL with durable commits, wrk on"
          " loopback)")
    print(f"  throughput  {rate:8.0f} writes/s   (goal >= {GOAL_WRITES_PER_S})")
    print(f"  latency     p50 {result['p50_us'] / 1000:6.1f} ms   p99 "
          f"{result['p99_us'] / 1000:6.1f} ms   (goal p99 < {GOAL_P99_MS} ms)")
    print(f"  failures    {result['non2xx']} non-2xx, {result['errors']} socket errors;"
          f" {stored} readings stored for {result['requests']} answered requests")


def _load_page(base: str, username: str, session_id: int) -> None:
    from tests.support.factories import DEFAULT_PASSWORD

    with httpx.Client(base_url=base, timeout=30) as client:
        login = client.get("/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', login)
        assert token, "no CSRF token on the sign-in page"
        signed = client.post("/login", data={"username": username, "password": DEFAULT_PASSWORD,
                                              "next": "/", "csrf_token": token.group(1)})
        assert signed.status_code == 303, f"sign-in failed: {signed.status_code}"
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


def main() -> None:
    from tests.support.postgres import start_postgres

    if shutil.which("wrk") is None:
        sys.exit("bench_vitals needs wrk, the HTTP load generator: apt-get install wrk")
    server = start_postgres(durable=True)
    process = None
    try:
        with server.admin_conn() as conn:
            conn.execute("CREATE DATABASE bench_vitals")
        url = server.url("bench_vitals")
        token, session_ids, heavy_id, username = _seed(url)
        port = _free_port()
        process = _start_server(url, port)
        base = f"http://127.0.0.1:{port}"
        print(f"ketaflow chair-side benchmark ({os.cpu_count()} CPUs)\n")
        _load_vitals(base, url, token, session_ids)
        print()
        _load_page(base, username, heavy_id)
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=15)
        server.stop()


if __name__ == "__main__":
    main()
