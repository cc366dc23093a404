"""Crash: kill -9 `ketaflow serve` CYCLES times per database while monitor gateways post
vitals, each retrying its reading with the same Idempotency-Key until it is answered.

Run by `make bench`; tests/web/test_crash.py runs a few cycles with the same checks. Each
cycle starts the server, lets GATEWAYS gateways post without pause and kills the server's
process group at a random moment 0.1-1 s after it is healthy; after the last cycle the server
is started once more so that every reading gets its answer, then stopped. Prints the readings
acknowledged, lost (acknowledged but not stored) and duplicated (stored more than once for
one key), which must both be 0, and the audit trail's seal and verify.
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
from tests.support.scenarios import CrashReport, run_crash  # noqa: E402

CYCLES = int(os.environ.get("BENCH_CRASH_CYCLES", "100"))
GATEWAYS = 16
DATABASES = os.environ.get("BENCH_CRASH", "sqlite,postgresql").split(",")


def _progress(cycle: int) -> None:
    if cycle % 10 == 0:
        print(f"  ... {cycle} cycles", flush=True)


def _report(title: str, report: CrashReport) -> bool:
    print(title)
    for line in report.lines():
        print(line)
    problems = report.problems()
    print("  PASS" if not problems else "  FAIL\n" + "\n".join(f"    {p}" for p in problems))
    print()
    return not problems


def main() -> None:
    print(f"ketaflow crash benchmark ({os.cpu_count()} CPUs): {CYCLES} kill -9 cycles per "
          f"database, {GATEWAYS} gateways posting\n")
    passed = []
    work = Path(tempfile.mkdtemp(prefix="ketaflow-crash-"))
    try:
        if "sqlite" in DATABASES:
            print("SQLite", flush=True)
            report = run_crash(f"sqlite:///{work / 'crash.db'}", work / "sqlite", cycles=CYCLES,
                               gateways=GATEWAYS, progress=_progress)
            passed.append(_report("SQLite", report))
        if "postgresql" in DATABASES:
            print("PostgreSQL", flush=True)
            server = start_postgres(durable=True)
            try:
                report = run_crash(server.create_database("crash"), work / "pg", cycles=CYCLES,
                                   gateways=GATEWAYS, progress=_progress)
            finally:
                server.stop()
            passed.append(_report("PostgreSQL (durable)", report))
    finally:
        if all(passed):
            shutil.rmtree(work)
        else:  # the servers' logs, for whoever looks into the failure
            print(f"server logs kept under {work}")
    sys.exit(0 if all(passed) else 1)


if __name__ == "__main__":
    main()
