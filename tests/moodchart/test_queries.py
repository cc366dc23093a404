"""The life chart reads a fixed number of SQL statements, however many days it shows."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import event
from sqlalchemy.orm import Session

from ketaflow.db import utcnow
from ketaflow.moodchart import service
from ketaflow.moodchart.models import MoodEntry
from ketaflow.patients import service as patients_service
from tests.assessments.factories import answers, record
from tests.patients.factories import make_patient, medication_input
from tests.support.factories import SYSTEM, make_user

ZONE = "UTC"


@contextmanager
def counted(db: Session) -> Iterator[list[str]]:
    """The SQL statements sent on the session's connection meanwhile."""
    statements: list[str] = []
    connection = db.connection()

    def seen(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    event.listen(connection, "before_cursor_execute", seen)
    try:
        yield statements
    finally:
        event.remove(connection, "before_cursor_execute", seen)


def _add_days(db: Session, patient_id: int, first_ago: int, last_ago: int) -> None:
    """Two entries a day (the worst of the day is charted) with a life event now and then,
    stored directly: the chart reads what is stored, however it came."""
    today = service.clinic_day(utcnow(), ZONE)
    for ago in range(first_ago, last_ago - 1, -1):
        for k in range(2):
            db.add(MoodEntry(patient_id=patient_id, day=today - timedelta(days=ago),
                             depressed=(ago + k) % 3, elevated=ago % 2, irritable=0, anxious=1,
                             sleep_h=7.0 - k, medications_taken={}, source="clinician",
                             life_event="Moved house" if ago % 50 == 0 else None,
                             life_event_impact=-1 if ago % 50 == 0 else None,
                             recorded_at=utcnow()))
    db.flush()


def _statements(db: Session, patient_id: int, days: int) -> int:
    db.expire_all()  # nothing read before may spare a statement
    with counted(db) as statements:
        view = service.chart_view(db, SYSTEM, patient_id=patient_id, days=days, zone=ZONE)
    assert view.summaries  # the chart has something to show
    return len(statements)


def test_the_statements_per_chart_do_not_grow_with_the_days_shown(db: Session) -> None:
    patient = make_patient(db)
    patient.created_at = utcnow() - timedelta(days=800)
    rater = make_user(db)
    patients_service.add_medication(db, SYSTEM, patient_id=patient.id, medication=medication_input(
        drug_name="lithium", dose_amount=800,
        start_date=service.clinic_day(utcnow(), ZONE) - timedelta(days=20)))
    record(db, patient, rater, "asrm", answers("asrm", [1, 1, 1, 1, 1]))
    _add_days(db, patient.id, 29, 0)
    month = _statements(db, patient.id, 30)

    _add_days(db, patient.id, 729, 30)  # two years of entries now
    assert _statements(db, patient.id, 30) == month
    assert _statements(db, patient.id, 365) == month
    assert _statements(db, patient.id, 730) == month
