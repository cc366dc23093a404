"""`generate_clinic`: a clinic group's synthetic data, written in bulk into an empty database.

Rows are built as the services would write them (same columns, codes, scored results, states
and timestamps) and inserted with SQLAlchemy Core `insert()` over lists of dicts (executemany),
in batches, never through per-row ORM services: 20,000 patients take minutes, not hours.

Audit: no audit event is written per generated row (the rows are not changes anyone made);
one `demo.generate` event records the run (seed, counts). `ketaflow audit verify` checks the
events and seals that exist, so it still passes (docs/audit-trail.md#verifying).

The caller's transaction carries everything; nothing commits here.
"""

from __future__ import annotations

import random
import time as clock
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.orm import Session

from ketaflow.audit.service import AuditContext, record_event
from ketaflow.auth.security import hash_password
from ketaflow.demo_data import rows
from ketaflow.demo_data.plan import Fate, PatientPlan, plan_patient
from ketaflow.errors import Conflict
from ketaflow.outcomes.service.summaries import refresh_summaries
from ketaflow.patients.models import Patient

BATCH_ROWS = 5_000
# Patients whose rows are buffered before a flush: about 550 rows each, so memory stays near
# 100,000 row dicts however many patients are generated.
PATIENTS_PER_FLUSH = 200
DEFAULT_PATIENTS = 20_000
DEFAULT_SITES = 3
ENTITY = "demo_data"

TABLES: tuple[Table, ...] = tuple(rows.T.values())


@dataclass
class GenerationSummary:
    patients: int
    seed: int
    sites: int
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


class _Ids:
    """The next free id of each table (the database may already hold staff)."""

    def __init__(self, db: Session) -> None:
        self._next = {t.name: int(db.scalar(select(func.coalesce(func.max(t.c.id), 0))
                                            .select_from(t)) or 0) + 1 for t in TABLES}

    def take(self, table: Table) -> int:
        value = self._next[table.name]
        self._next[table.name] = value + 1
        return value


class _Writer:
    """Buffers rows per table and inserts them in batches, parents first."""

    def __init__(self, db: Session) -> None:
        self.db = db
        self.buffers: dict[str, list[dict[str, Any]]] = {t.name: [] for t in TABLES}
        self.counts: dict[str, int] = dict.fromkeys(self.buffers, 0)

    def add(self, table: Table, row: dict[str, Any]) -> None:
        self.buffers[table.name].append(row)

    def flush(self) -> None:
        for table in TABLES:
            pending = self.buffers[table.name]
            for start in range(0, len(pending), BATCH_ROWS):
                self.db.execute(insert(table), pending[start:start + BATCH_ROWS])
            self.counts[table.name] += len(pending)
            pending.clear()


# The audit action of a generation: its event marks the database as synthetic for good (the
# production check refuses it; an audit row cannot be removed without breaking the chain).
GENERATE_ACTION = "demo.generate"


def require_empty(db: Session) -> None:
    """Refuse a database that already holds patients (generated rows would mix with real)."""
    if db.scalar(select(Patient.id).limit(1)) is not None:
        raise Conflict("the database already has patients: demo generate fills an empty one")


def generate_clinic(db: Session, ctx: AuditContext, *, patients: int = DEFAULT_PATIENTS,
                    seed: int = 1, sites: int = DEFAULT_SITES, today: date | None = None,
                    progress: Callable[[int], None] | None = None) -> GenerationSummary:
    """Fill an empty, migrated database with `patients` synthetic patients over `sites` sites.
    The same seed and day give the same rows."""
    require_empty(db)
    started = clock.perf_counter()
    day = today or datetime.now(UTC).date()
    rng = random.Random(seed)  # synthetic data, not a secret
    ids = _Ids(db)
    out = _Writer(db)
    staff = rows.staff_and_sites(out, ids, sites=sites,
                                 password_hash=hash_password(f"unusable-{rng.random()}"),
                                 first_day=day - timedelta(days=800))
    for chunk in _chunks(patients, PATIENTS_PER_FLUSH):
        for index in chunk:
            plan = plan_patient(rng, index, sites=sites, today=day)
            _patient(out, ids, rng, plan, staff)
        out.flush()
        if progress is not None:
            progress(chunk[-1] + 1)
    _advance_sequences(db)
    # The rows went in without ORM flushes: compute the dashboard's summaries now, so its
    # first load is not the one that pays for every course.
    refresh_summaries(db)
    summary = GenerationSummary(patients, seed, sites, dict(out.counts),
                                clock.perf_counter() - started)
    record_event(db, ctx, action=GENERATE_ACTION, entity_type=ENTITY, entity_id=None,
                 detail={"seed": seed, "patients": patients, "sites": sites,
                         "rows": summary.rows})
    return summary


def _chunks(total: int, size: int) -> Iterator[range]:
    for start in range(0, total, size):
        yield range(start, min(total, start + size))


def _patient(out: _Writer, ids: _Ids, rng: random.Random, plan: PatientPlan,
             staff: rows.Staff) -> None:
    ctx = rows.PatientRows(out, ids, rng, plan, staff)
    ctx.record()
    ctx.screening()
    if plan.fate is Fate.COURSE:
        ctx.course()


def _advance_sequences(db: Session) -> None:
    """PostgreSQL: ids were given explicitly, so move each id sequence past them (the app's
    next insert must not collide). SQLite needs nothing (it takes max(rowid) + 1)."""
    if db.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        db.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "  # noqa: S608
                        f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table.name}), false)"))

