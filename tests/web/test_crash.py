"""kill -9 of `ketaflow serve` while monitor gateways post vitals, each retrying its reading
with the same Idempotency-Key until it is answered: after every crash and restart each
reading is stored exactly once (none acknowledged and lost, none stored twice) and the audit
trail seals and verifies. benchmarks/bench_crash.py runs 100 cycles per database.
"""

from __future__ import annotations

from pathlib import Path

from tests.support.scenarios import run_crash

CYCLES = 4


def test_readings_survive_kill_9_exactly_once(db_url: str, tmp_path: Path) -> None:
    report = run_crash(db_url, tmp_path, cycles=CYCLES)
    figures = "\n".join(report.lines())
    assert report.once.posted > 0 and report.once.acknowledged == report.once.posted, figures
    assert report.problems() == [], figures
