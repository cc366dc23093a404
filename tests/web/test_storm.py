"""A storm of concurrent clients against `ketaflow serve` running as a clinic runs it (a
subprocess, on each database, and two servers sharing one PostgreSQL): the server never hangs
(its health check, polled from another process, always answers 200 within 1 s), overload is
answered 503 with Retry-After and nothing else 5xx, every acknowledged vitals write is stored
exactly once, and the audit trail seals and verifies afterwards.

Pass or fail on correctness only; benchmarks/bench_storm.py runs a bigger storm and prints its
figures. The clients and the checks are in tests/support/load.py and scenarios.py.
"""

from __future__ import annotations

from pathlib import Path

from tests.support.databases import PostgresDatabases
from tests.support.scenarios import StormReport, run_storm

CLIENTS = 520  # all at once: more than 500 requests in flight
ROUNDS = 2


def _assert_held(report: StormReport) -> None:
    figures = "\n".join(report.lines())
    assert report.result.peak_in_flight() >= 500, figures
    assert report.problems() == [], figures


def test_a_storm_of_concurrent_clients(db_url: str, tmp_path: Path) -> None:
    _assert_held(run_storm(db_url, tmp_path, workers=2, clients=CLIENTS, rounds=ROUNDS))


def test_a_storm_split_across_two_servers_sharing_postgresql(
        postgres_databases: PostgresDatabases, tmp_path: Path) -> None:
    url = postgres_databases.fresh()
    try:
        _assert_held(run_storm(url, tmp_path, servers=2, workers=1, clients=CLIENTS,
                               rounds=ROUNDS))
    finally:
        postgres_databases.drop(url)
