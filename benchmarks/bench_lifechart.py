"""The life chart for 2 years of daily entries against the chair page with 100 readings, side
by side in one run of the real app (issue 13 item 8: the chart's p95 no slower than the chair
page's).

    .venv/bin/python benchmarks/bench_lifechart.py [--loads N] [--patients P] [--postgres]

Run by `make bench`, never by the tests. One `ketaflow serve` process on loopback over one
database (the embedded SQLite by default, a throwaway durable PostgreSQL with --postgres) holds
a running infusion session with 100 vitals readings (as bench_vitals seeds it) and P patients
each with 730 days of daily mood entries (a depressive and a hypomanic episode, sleep, a
medication started and stopped, life events, an ASRM and a QIDS-SR16 rating). A signed-in nurse
then loads, in turn, the chair page and a life chart `/patients/{id}/mood?days=730`, N times
each, one request at a time, so both pages see the same machine at the same moment.

Two life-chart figures, since the server keeps each rendered chart (keyed on its spec) in a
small cache:
- **first view (cold)**: each patient's chart the first time it is drawn in the process (the
  spec is new, so the chart is rendered: what a clinician opening a patient waits for);
  measured once per patient, so P of them. Each patient's episodes fall on other days, so no
  first view is served from the cache. One more patient's chart is loaded first as the
  page's warm-up (its template and queries, and the life chart's shape, which the server
  compiles from Vega-Lite once per process whatever the patient, day or range), as the
  chair page is warmed up;
- **repeat view (warm)**: the same charts again (reloads, a second clinician); the entries are
  read, the signals and forecast computed and the spec built every time, only the drawing is
  reused.
The chair page is warm throughout (10 loads first), but draws its PK chart on every load (a
running infusion's curve ends at "now"). Printed: p50 and p95 of each and the ratio of each
life-chart p95 to the chair page's p95 in the same run (goal <= 1).

Measured (SQLite, 20 patients, 100 loads, 2 cores shared with other work; docs/mood.md): see
the README's Performance table for the latest figures.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import httpx2 as httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

from benchmarks.bench_vitals import _percentile, _seed_heavy_session  # noqa: E402
from tests.assessments.factories import answers, record  # noqa: E402
from tests.patients.factories import make_patient, medication_input  # noqa: E402
from tests.support.factories import SYSTEM, make_user  # noqa: E402
from tests.support.load import SESSION_COOKIE, seed, sign_in  # noqa: E402
from tests.support.postgres import start_postgres  # noqa: E402
from tests.support.servers import AUDIT_KEY, Server, ServerConfig  # noqa: E402

from ketaflow.audit.keys import session_info  # noqa: E402
from ketaflow.db import make_engine, make_session_factory, transaction, utcnow  # noqa: E402
from ketaflow.moodchart import service as mood  # noqa: E402
from ketaflow.patients import service as patients_service  # noqa: E402

DAYS = 730
VAR_DIR = Path(tempfile.gettempdir()) / "ketaflow-bench-lifechart"
GOAL_RATIO = 1.0


def _mood_on(day_index: int) -> tuple[int, int, int, float]:
    """Depressed, elevated, irritable and sleep on day `day_index` of the two years: mostly
    euthymic with a depressive episode (days 200-260) and a hypomanic one (days 500-515)."""
    if 200 <= day_index < 260:
        return 2 + (day_index % 5 == 0), 0, 1, 9.0
    if 500 <= day_index < 516:
        return 0, 2, 1 + (day_index % 3 == 0), 4.5
    return day_index % 4 == 0, day_index % 9 == 0, 0, 7.0 + (day_index % 3) * 0.5


def _seed_charts(url: str, patients: int) -> list[int]:
    engine = make_engine(url)
    factory = make_session_factory(engine, info=session_info(AUDIT_KEY.encode()))
    today = utcnow().date()
    first = today - timedelta(days=DAYS - 1)
    ids = []
    try:
        with transaction(factory) as db:
            rater = make_user(db)
            for n in range(patients):
                patient = make_patient(db)
                patient.created_at = utcnow() - timedelta(days=DAYS + 10)
                lithium = patients_service.add_medication(
                    db, SYSTEM, patient_id=patient.id, medication=medication_input(
                        drug_name="lithium", dose_amount=800, start_date=first))
                patients_service.add_medication(db, SYSTEM, patient_id=patient.id,
                                                medication=medication_input(
                                                    drug_name="quetiapine", dose_amount=100,
                                                    start_date=first + timedelta(days=300),
                                                    stop_date=first + timedelta(days=420)))
                for k in range(DAYS):
                    if k % 11 == 5:
                        continue  # a missed day now and then
                    # Each patient's episodes fall on other days, so no two charts are
                    # the same drawing (a first view is never a cached one).
                    depressed, elevated, irritable, sleep_h = _mood_on((k + 17 * n) % DAYS)
                    day: date = first + timedelta(days=k)
                    event = "Row with partner" if k % 60 == 7 else None
                    mood.record_entry(db, SYSTEM, patient_id=patient.id, zone="UTC",
                                      data=mood.EntryInput(
                                          day, int(depressed), int(elevated), int(irritable),
                                          0, sleep_h, medications_taken={lithium.id: True},
                                          life_event=event,
                                          life_event_impact=-2 if event else None))
                record(db, patient, rater, "asrm", answers("asrm", [2, 2, 1, 1, 1]))
                record(db, patient, rater, "qids-sr16",
                       answers("qids-sr16", [1] * 16))
                ids.append(patient.id)
    finally:
        engine.dispose()
    return ids


def _timed(client: httpx.Client, path: str, expect: str) -> float:
    start = time.perf_counter()
    response = client.get(path)
    elapsed = (time.perf_counter() - start) * 1000
    assert response.status_code == 200 and expect in response.text, (path,
                                                                      response.status_code)
    return elapsed


def _line(label: str, timings: list[float]) -> str:
    return (f"{label:<44}{len(timings):>6}{_percentile(timings, 50):>10.1f}"
            f"{_percentile(timings, 95):>10.1f}")


def _measure(base: str, nurse: str, chair_id: int, patient_ids: list[int], loads: int) -> None:
    cookie = sign_in(base, nurse)
    chair_path = f"/infusions/sessions/{chair_id}"
    warm_up, *charts = [f"/patients/{p}/mood?days={DAYS}" for p in patient_ids]
    chair: list[float] = []
    first: list[float] = []
    repeat: list[float] = []
    with httpx.Client(base_url=base, timeout=60,
                      headers={"Cookie": f"{SESSION_COOKIE}={cookie}"}) as client:
        for _ in range(10):  # warm-up: the chair page and the server's code paths
            _timed(client, chair_path, "Readings (101)")
        # The same for the life chart: its page's code paths, and the chart's shape, which
        # the server compiles once per process (any patient, day or range: ketaflow.charts).
        # The warm-up patient's chart is drawn here, so it is not one of the first views.
        for _ in range(3):
            _timed(client, warm_up, 'id="life-chart"')
        for path in charts:
            chair.append(_timed(client, chair_path, "Readings (101)"))
            first.append(_timed(client, path, 'id="life-chart"'))
        for i in range(loads):
            chair.append(_timed(client, chair_path, "Readings (101)"))
            repeat.append(_timed(client, charts[i % len(charts)], 'id="life-chart"'))
    print(f"{'page (ms)':<44}{'loads':>6}{'p50':>10}{'p95':>10}")
    print(_line("chair page, 100 readings", chair))
    print(_line(f"life chart {DAYS} days, first view (cold)", first))
    print(_line(f"life chart {DAYS} days, repeat view (warm)", repeat))
    chair_p95 = _percentile(chair, 95)
    for label, values in (("first view, cold", first), ("repeat view, warm", repeat)):
        ratio = _percentile(values, 95) / chair_p95
        verdict = "PASS" if ratio <= GOAL_RATIO else "FAIL"
        print(f"goal: life chart ({label}) p95 / chair page p95 <= {GOAL_RATIO:g}: "
              f"{ratio:.2f} {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=200)
    parser.add_argument("--patients", type=int, default=20)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    shutil.rmtree(VAR_DIR, ignore_errors=True)
    VAR_DIR.mkdir(parents=True)
    postgres = start_postgres(durable=True) if args.postgres else None
    url = (postgres.create_database("bench_lifechart") if postgres is not None
           else f"sqlite:///{VAR_DIR / 'bench.db'}")
    server = None
    try:
        started = time.perf_counter()
        data = seed(url, sessions=1)
        chair_id = _seed_heavy_session(url)
        patient_ids = _seed_charts(url, args.patients + 1)  # one more for the warm-up
        print(f"life chart vs chair page ({'PostgreSQL' if postgres else 'SQLite'}): "
              f"{args.patients} patients x {DAYS} days seeded in "
              f"{time.perf_counter() - started:.0f} s")
        server = Server(ServerConfig(url, VAR_DIR, 1))
        server.start()
        _measure(server.base, data.nurse, chair_id, patient_ids, args.loads)
    finally:
        if server is not None:
            server.stop()
        if postgres is not None:
            postgres.stop()


if __name__ == "__main__":
    main()
