"""Storm: hundreds of concurrent clients against `ketaflow serve`, on SQLite, on PostgreSQL
with durable commits, and with two server processes (ports) sharing one PostgreSQL.

Run by `make bench`; tests/web/test_storm.py runs a smaller storm with the same checks. The
clients (tests/support/load.py): portal links opened with made-up tokens and one real one,
failed sign-ins (the page, then a wrong password), signed-in page loads and vitals posted
through the API, CLIENTS at once, each sending ROUNDS requests back to back. A separate
process polls /healthz every 100 ms meanwhile. Prints per kind the statuses and latency
percentiles, the health check's worst answer, the vitals rows stored per acknowledged key and
the audit trail's seal and verify, and FAIL with the reasons if a requirement did not hold:
no answer later than 1 s from /healthz, no 5xx but 503 with Retry-After, every 201 stored
exactly once, the audit trail verifies. KETAFLOW_* settings in the environment reach the
servers, so one can be tried out: KETAFLOW_MAX_CONCURRENT_REQUESTS=16 python
benchmarks/bench_storm.py (BENCH_STORM=postgresql for one scenario).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

# After the path above, so that this checkout's code and its tests package are imported.
from tests.support.postgres import start_postgres  # noqa: E402
from tests.support.scenarios import StormReport, run_storm  # noqa: E402

CLIENTS = int(os.environ.get("BENCH_STORM_CLIENTS", "600"))
ROUNDS = int(os.environ.get("BENCH_STORM_ROUNDS", "8"))
WORKERS = 2  # per server, as bench_vitals.py; the two-server storm runs one each
SCENARIOS = os.environ.get("BENCH_STORM", "sqlite,postgresql,two servers").split(",")


def _report(title: str, report: StormReport) -> bool:
    print(title)
    for line in report.lines():
        print(line)
    problems = report.problems()
    print("  PASS" if not problems else "  FAIL\n" + "\n".join(f"    {p}" for p in problems))
    print()
    return not problems


def main() -> None:
    print(f"ketaflow storm benchmark ({os.cpu_count()} CPUs): {CLIENTS} clients at once x "
          f"{ROUNDS} requests each\n")
    passed = []
    work = Path(tempfile.mkdtemp(prefix="ketaflow-storm-"))
    try:
        if "sqlite" in SCENARIOS:
            report = run_storm(f"sqlite:///{work / 'storm.db'}", work / "sqlite",
                               workers=WORKERS, clients=CLIENTS, rounds=ROUNDS)
            passed.append(_report(f"SQLite, one server of {WORKERS} workers", report))
        server = start_postgres(durable=True)
        try:
            if "postgresql" in SCENARIOS:
                report = run_storm(server.create_database("storm"), work / "pg",
                                   workers=WORKERS, clients=CLIENTS, rounds=ROUNDS)
                passed.append(_report(f"PostgreSQL (durable), one server of {WORKERS} "
                                      "workers", report))
            if "two servers" in SCENARIOS:
                report = run_storm(server.create_database("storm2"), work / "pg2", servers=2,
                                   workers=1, clients=CLIENTS, rounds=ROUNDS)
                passed.append(_report("PostgreSQL (durable), two servers on two ports, one "
                                      "worker each, clients split across both", report))
        finally:
            server.stop()
    finally:
        if all(passed):
            shutil.rmtree(work)
        else:  # the servers' logs, for whoever looks into the failure
            print(f"server logs kept under {work}")
    sys.exit(0 if all(passed) else 1)


if __name__ == "__main__":
    main()
