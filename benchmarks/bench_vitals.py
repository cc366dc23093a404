"""Chair-side load: concurrent clients posting vitals through the JSON API, and the chair page.

Run by `make bench`, never by the tests. Everything is on loopback and bounded in time:
1. a throwaway PostgreSQL (tests/support/postgres.py), migrated and seeded with SESSIONS running
   infusions (one per patient) and one session holding 100 readings;
2. the app under uvicorn (WORKERS processes) on 127.0.0.1;
3. CLIENTS concurrent clients post vitals (bearer token, Idempotency-Key on every write) for
   DURATION_S seconds; then the chair page of the 100-reading session is loaded PAGE_LOADS times.
Prints throughput and p50/p95/p99 latency against the goals (>= 1,000 writes/s with
p99 < 50 ms; chair page p95 < 50 ms).
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2 as httpx  # the maintained successor of httpx, as Starlette recommends

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

SESSIONS = 64
# Overridable for exploration, e.g. BENCH_CLIENTS=1 BENCH_WORKERS=1 for the latency floor.
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "32"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
WARMUP_S, DURATION_S, PAGE_LOADS = 2.0, 10.0, 200
GOAL_WRITES_PER_S, GOAL_P99_MS, GOAL_PAGE_P95_MS = 1000, 50, 50


def make_app():  # type: ignore[no-untyped-def]
    """uvicorn factory for each worker: settings from the environment."""
    from ketaflow.config import load_settings
    from ketaflow.web.app import create_app

    return create_app(load_settings())


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
        heavy = service.open_session(db, clinic.nurse_ctx, course_id=make_course(db, clinic).id)
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
    env = os.environ | {
        "KETAFLOW_DATABASE_URL": url, "KETAFLOW_MODE": "demo", "KETAFLOW_COOKIE_SECURE": "false",
        "KETAFLOW_SECRET_KEY": "b" * 48, "KETAFLOW_VAR_DIR": "/tmp/ketaflow-bench-var",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "benchmarks"), str(ROOT / "src"), str(ROOT)]),
    }
    command = [sys.executable, "-m", "uvicorn", "bench_vitals:make_app", "--factory",
               "--host", "127.0.0.1", "--port", str(port), "--workers", str(WORKERS),
               "--log-level", "warning", "--no-access-log"]
    process = subprocess.Popen(command, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError("the server did not start within 30 s")


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


async def _writer(client: httpx.AsyncClient, session_id: int, stop_at: float,
                  record_from: float, latencies: list[float], failures: list[int]) -> None:
    while (start := time.perf_counter()) < stop_at:
        body = {"sbp_mmhg": 124, "dbp_mmhg": 80, "hr_bpm": 74, "spo2_percent": 98,
                "rr_per_min": 14, "rass": 0}
        response = await client.post(f"/api/v1/infusions/sessions/{session_id}/vitals",
                                     json=body, headers={"Idempotency-Key": uuid.uuid4().hex})
        elapsed = time.perf_counter() - start
        if start >= record_from:
            if response.status_code == 201:
                latencies.append(elapsed * 1000)
            else:
                failures.append(response.status_code)


async def _load_vitals(base: str, token: str, session_ids: list[int]) -> None:
    latencies: list[float] = []
    failures: list[int] = []
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30,
                                 headers={"Authorization": f"Bearer {token}"}) as client:
        begin = time.perf_counter()
        record_from, stop_at = begin + WARMUP_S, begin + WARMUP_S + DURATION_S
        await asyncio.gather(*(
            _writer(client, session_ids[i % len(session_ids)], stop_at, record_from, latencies,
                    failures) for i in range(CLIENTS)))
    rate = len(latencies) / DURATION_S
    print(f"vitals writes: {CLIENTS} clients x {DURATION_S:g} s over {len(session_ids)} sessions"
          f" ({WORKERS} uvicorn workers, PostgreSQL, loopback)")
    print(f"  throughput  {rate:8.0f} writes/s   (goal >= {GOAL_WRITES_PER_S})")
    print(f"  latency     p50 {_percentile(latencies, 50):6.1f} ms   p99 "
          f"{_percentile(latencies, 99):6.1f} ms   (goal p99 < {GOAL_P99_MS} ms)")
    print(f"  failures    {len(failures)}" + (f" (statuses {sorted(set(failures))})"
                                              if failures else ""))


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

    server = start_postgres()
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
        asyncio.run(_load_vitals(base, token, session_ids))
        print()
        _load_page(base, username, heavy_id)
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=15)
        server.stop()


if __name__ == "__main__":
    main()
