"""FHIR Bulk Data `$export` speed and memory (run by `make bench`, never by the tests).

    .venv/bin/python benchmarks/bench_fhir_export.py [--patients N] [--measurements M]
                                                     [--postgres | --url URL] [--in-process]

The data set is deliberately simple and made fast: N patients, each with current
demographics, one diagnosis (a Condition) and M body measurements with weight and height
(three Observations each: weight, height and BMI), written with bulk INSERTs straight into a
freshly migrated database (SQLite in a temporary folder; a throwaway PostgreSQL started from the
Debian binaries with --postgres; or the database --url names). It is not a realistic clinic
(no infusion vitals, sessions or scale totals): it times the plain-row streaming path
(`search.Rows`: Patient, Condition, body measurements); types still loaded a chunk at a time
through ORM loaders (the infusion record, ratings, mood entries) are not in it.

Printed side by side, from the same run:
- the export: `ketaflow.fhir.bulk.processes.export` over every served type, in one snapshot,
  to NDJSON files, as the background job runs it: two helper processes, one per core, each
  writing a share (resources/s); with --in-process, the export in this one process instead;
- the NDJSON ceiling: the same resources mapped by the same mappers and encoded the same way
  from rows already in memory, no database, nothing written (resources/s);
- the anchor: 720 resources/s, the LinuxForHealth (IBM) FHIR server's Patient+CarePlan bulk
  export on PostgreSQL (LinuxForHealth/FHIR#1128), as a ratio;
- with helpers, resources per CPU-second of the busier helper: on a shared machine the
  wall-clock rate also counts the time the helpers waited for a core;
- peak memory: of this process (ru_maxrss: the coordinator, which also generated the data),
  of each helper (its VmHWM) with its CPU time, and their sum (the total, an upper bound: the
  peaks need not coincide).
Goal (issue 16): at least 20,000 resources/s with a peak under 500 MB.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

from sqlalchemy import insert  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402
from tests.support.postgres import start_postgres  # noqa: E402

from ketaflow import migrate  # noqa: E402
from ketaflow.db import make_engine, make_session_factory  # noqa: E402
from ketaflow.fhir.bulk.ndjson import encode_lines, with_meta  # noqa: E402
from ketaflow.fhir.bulk.processes import Export, export  # noqa: E402
from ketaflow.fhir.mappers import conditions, people  # noqa: E402
from ketaflow.fhir.registry import TYPES  # noqa: E402
from ketaflow.fhir.sources import clinical  # noqa: E402
from ketaflow.fhir.sources import observations as obs_sources  # noqa: E402
from ketaflow.fhir.sources import people as people_sources  # noqa: E402
from ketaflow.patients.diagnosis_codes import BipolarType, Episode  # noqa: E402
from ketaflow.patients.models import (  # noqa: E402
    Diagnosis,
    Measurement,
    Patient,
    PatientDemographics,
    Sex,
    SubstanceUse,
)

ANCHOR_RESOURCES_PER_S = 720.0  # LinuxForHealth/FHIR#1128
GOAL_RESOURCES_PER_S = 20_000.0
GOAL_PEAK_MB = 500.0
BATCH = 5_000
START = datetime(2026, 1, 1, tzinfo=UTC)


def _rows(first: int, count: int, measurements: int) -> dict[type, list[dict[str, Any]]]:
    rows: dict[type, list[dict[str, Any]]] = {Patient: [], PatientDemographics: [],
                                              Diagnosis: [], Measurement: []}
    for pid in range(first, first + count):
        at = START + timedelta(minutes=pid)
        rows[Patient].append({"id": pid, "mrn": f"B{pid:08d}", "created_at": at})
        rows[PatientDemographics].append({
            "id": pid, "patient_id": pid, "version": 1, "given_name": "Alex",
            "family_name": f"Bench{pid}", "date_of_birth": date(1980, 1, 1) + timedelta(pid % 9000),
            "sex": Sex.FEMALE if pid % 2 else Sex.MALE, "search_name": f" alex bench{pid} ",
            "recorded_at": at})
        rows[Diagnosis].append({
            "id": pid, "patient_id": pid, "bipolar_type": BipolarType.BIPOLAR_I,
            "current_episode": Episode.DEPRESSED, "icd10_code": "F31.4", "snomed_code": "191627008",
            "psychosis_history": False, "substance_use": SubstanceUse.NONE, "suicide_attempts": 0,
            "recorded_at": at})
        for k in range(measurements):
            mid = (pid - 1) * measurements + k + 1
            moment = at + timedelta(days=7 * k)
            rows[Measurement].append({
                "id": mid, "patient_id": pid, "measured_at": moment, "recorded_at": moment,
                "weight_kg": 60.0 + (mid % 400) / 10, "height_cm": 150.0 + pid % 40})
    return rows


def generate(url: str, patients: int, measurements: int) -> None:
    engine = make_engine(url)
    try:
        with Session(engine) as db:
            for first in range(1, patients + 1, BATCH):
                for model, rows in _rows(first, min(BATCH, patients - first + 1),
                                         measurements).items():
                    db.execute(insert(model), rows)
                db.commit()
    finally:
        engine.dispose()


def in_memory_ceiling(patients: int, measurements: int) -> tuple[int, float]:
    """The same resources, mapped and encoded from transient rows: no database at all."""
    rows = _rows(1, patients, measurements)
    demographics = [PatientDemographics(**r) for r in rows[PatientDemographics]]
    patient_rows = [Patient(**r) for r in rows[Patient]]
    diagnoses = [Diagnosis(**r) for r in rows[Diagnosis]]
    kept = [Measurement(**r) for r in rows[Measurement]]
    # The sources' own builder (private there), so the mapping is the very one exported.
    builders = [(source, obs_sources._measurement_builder(kind))
                for source, kind in ((obs_sources.BODY_WEIGHT, "weight"),
                                     (obs_sources.BODY_HEIGHT, "height"),
                                     (obs_sources.BMI, "bmi"))]
    started = time.perf_counter()
    count = 0
    chunk: list[dict[str, Any]] = []

    def flush() -> None:
        nonlocal count
        count += len(chunk)
        encode_lines(chunk)
        chunk.clear()

    for row, current in zip(patient_rows, demographics, strict=True):
        chunk.append(with_meta(people_sources.PATIENT, row.id, current.recorded_at,
                               people.patient(row, current)))
        if len(chunk) >= 1000:
            flush()
    for diagnosis in diagnoses:
        chunk.append(with_meta(clinical.CONDITION, diagnosis.id, diagnosis.recorded_at,
                               conditions.condition(diagnosis)))
        if len(chunk) >= 1000:
            flush()
    for source, build in builders:
        for measurement in kept:
            chunk.append(with_meta(source, measurement.id, measurement.recorded_at,
                                   build(measurement)))
            if len(chunk) >= 1000:
                flush()
    flush()
    return count, time.perf_counter() - started


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def _export(url: str, out: Path, in_process: bool) -> tuple[Export, float]:
    engine = make_engine(url, connections=2)  # as the runner's: the snapshot and the heartbeat
    try:
        read = make_session_factory(engine, read_only=True)
        write = make_session_factory(engine)
        started = time.perf_counter()
        done = export(read, write, TYPES, out, helpers_from=10**12 if in_process else 0)
        return done, time.perf_counter() - started
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=20_000)
    parser.add_argument("--measurements", type=int, default=10)
    parser.add_argument("--url", default=None, help="database URL (default: a temporary SQLite)")
    parser.add_argument("--postgres", action="store_true",
                        help="a throwaway PostgreSQL (Debian's binaries) instead of SQLite")
    parser.add_argument("--in-process", action="store_true",
                        help="the export in this process, without the two helpers")
    args = parser.parse_args()
    postgres = start_postgres(durable=True) if args.postgres else None
    try:
        with tempfile.TemporaryDirectory() as folder:
            url = args.url or (postgres.create_database("bench_fhir_export") if postgres
                               else f"sqlite:///{Path(folder) / 'bench.db'}")
            migrate.upgrade(url)
            started = time.perf_counter()
            generate(url, args.patients, args.measurements)
            print(f"generated {args.patients} patients x {args.measurements} measurements in "
                  f"{time.perf_counter() - started:.1f} s ({url.split(':')[0]})")
            done, export_s = _export(url, Path(folder) / "out", args.in_process)
            written = done.written
            exported = sum(item.count for item in written)
            size_mb = sum(item.path.stat().st_size for item in written) / 1e6
    finally:
        if postgres is not None:
            postgres.stop()
    peak_mb = _peak_mb()
    total_mb = peak_mb + sum(done.helper_peaks_mb)
    rate = exported / export_s
    ceiling_count, ceiling_s = in_memory_ceiling(args.patients, args.measurements)
    ceiling = ceiling_count / ceiling_s
    how = "in this process" if args.in_process else "2 helper processes"
    print(f"export   {exported:>9} resources in {export_s:6.2f} s = {rate:>9,.0f} resources/s "
          f"({how}; {size_mb:.0f} MB NDJSON; "
          f"{', '.join(f'{w.type_name} {w.count}' for w in written if w.count)})")
    print(f"ceiling  {ceiling_count:>9} resources in {ceiling_s:6.2f} s = {ceiling:>9,.0f} "
          f"resources/s (mapped + encoded from memory in one process, no database); "
          f"export / ceiling = {rate / ceiling:.2f}")
    print(f"anchor   {ANCHOR_RESOURCES_PER_S:>9,.0f} resources/s (LinuxForHealth/FHIR#1128); "
          f"export / anchor = {rate / ANCHOR_RESOURCES_PER_S:.1f}x")
    helpers = ", ".join(f"{mb:.0f} MB and {cpu:.1f} CPU-s" for mb, cpu in
                        zip(done.helper_peaks_mb, done.helper_cpu_s, strict=True))
    print(f"memory   peak {peak_mb:.0f} MB this process (it also generated the data)"
          f"{f'; helpers {helpers}' if helpers else ''}; {total_mb:.0f} MB in all")
    if done.helper_cpu_s:
        # Not the goal's figure (that is the wall-clock rate above): what the rate would be
        # if each helper had a core to itself, for a machine shared while measured.
        print(f"cpu      {exported / max(done.helper_cpu_s):>9,.0f} resources per CPU-second "
              f"of the busier helper (wall / its CPU = {export_s / max(done.helper_cpu_s):.1f}: "
              f"above 1 means it waited for a core)")
    print(f"goal     >= {GOAL_RESOURCES_PER_S:,.0f} resources/s: "
          f"{'met' if rate >= GOAL_RESOURCES_PER_S else 'NOT met'}; total peak < "
          f"{GOAL_PEAK_MB:.0f} MB: {'met' if total_mb < GOAL_PEAK_MB else 'NOT met'}")


if __name__ == "__main__":
    main()
