"""Marks a patient's outcome summaries stale in the transaction that changed their records.

One `after_flush` listener on every ORM Session, registered by the composition roots (the app
factory, the CLI; `register()` is idempotent), so no service has to remember it: whenever a
flush wrote a rating, a result version, an infusion session or its events and alerts, a course
or its state change, a diagnosis or an appointment, it appends one `OutcomeStalePatient` row
per patient touched, by an INSERT ... SELECT on the flushed rows' primary keys (no object
attribute is loaded, nothing is locked beyond the inserted rows). The next dashboard read
recomputes those patients (`ketaflow.outcomes.service.summaries`).

Bulk Core inserts bypass it; the only one on these tables is `ketaflow demo generate`, whose
courses have no summary row and are therefore refreshed by the first aggregate anyway.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from itertools import chain
from typing import Any

from sqlalchemy import Select, event, insert, inspect, select
from sqlalchemy.orm import InstanceState, Session, UOWTransaction

from ketaflow.assessments.models import Assessment, AssessmentResult
from ketaflow.booking.models import Appointment
from ketaflow.courses.models import CourseStateChange, TreatmentCourse
from ketaflow.infusions.models import InfusionSession, SessionAlert, SessionEvent
from ketaflow.outcomes.models import OutcomeStalePatient
from ketaflow.patients.models import Diagnosis

CHUNK = 500  # keys per statement (well under SQLite's bound-parameter limit)

# Per tracked class (each with an integer primary key `id`): the patients of those rows.
_PatientsOf = Callable[[list[int]], Select[tuple[int]]]
PATIENTS_OF: dict[type[Any], _PatientsOf] = {
    Assessment: lambda ids: select(Assessment.patient_id).where(Assessment.id.in_(ids)),
    AssessmentResult: lambda ids: (
        select(Assessment.patient_id)
        .join(AssessmentResult, AssessmentResult.assessment_id == Assessment.id)
        .where(AssessmentResult.id.in_(ids))),
    InfusionSession: lambda ids: (select(InfusionSession.patient_id)
                                  .where(InfusionSession.id.in_(ids))),
    TreatmentCourse: lambda ids: (select(TreatmentCourse.patient_id)
                                  .where(TreatmentCourse.id.in_(ids))),
    CourseStateChange: lambda ids: (
        select(TreatmentCourse.patient_id)
        .join(CourseStateChange, CourseStateChange.course_id == TreatmentCourse.id)
        .where(CourseStateChange.id.in_(ids))),
    Diagnosis: lambda ids: select(Diagnosis.patient_id).where(Diagnosis.id.in_(ids)),
    Appointment: lambda ids: select(Appointment.patient_id).where(Appointment.id.in_(ids)),
    SessionEvent: lambda ids: (
        select(InfusionSession.patient_id)
        .join(SessionEvent, SessionEvent.session_id == InfusionSession.id)
        .where(SessionEvent.id.in_(ids))),
    SessionAlert: lambda ids: (
        select(InfusionSession.patient_id)
        .join(SessionAlert, SessionAlert.session_id == InfusionSession.id)
        .where(SessionAlert.id.in_(ids))),
}


def _touched(objects: Iterable[object]) -> dict[type[Any], list[int]]:
    """The primary keys of the flushed rows of each tracked class."""
    found: dict[type[Any], list[int]] = {}
    for obj in objects:
        kind = type(obj)
        if kind not in PATIENTS_OF:
            continue
        state: InstanceState[Any] = inspect(obj, raiseerr=True)
        # A row inserted by this flush has its key in its attributes, not yet its identity.
        key = state.identity[0] if state.identity is not None else state.dict.get("id")
        if key is not None:
            found.setdefault(kind, []).append(int(key))
    return found


def mark_stale_patients(session: Session, _flush: UOWTransaction) -> None:
    """after_flush: one stale marker per patient whose outcome inputs this flush changed.
    (Clinical rows are never deleted; a deleted row's patient is taken from its loaded state.)"""
    touched = _touched(chain(session.new, session.dirty))
    gone = {int(p) for obj in session.deleted if type(obj) in PATIENTS_OF
            and (p := inspect(obj).dict.get("patient_id")) is not None}
    if not touched and not gone:
        return
    connection = session.connection()
    for kind, ids in touched.items():
        for start in range(0, len(ids), CHUNK):
            patients = PATIENTS_OF[kind](ids[start:start + CHUNK]).distinct()
            connection.execute(insert(OutcomeStalePatient).from_select(["patient_id"],
                                                                       patients))
    if gone:
        connection.execute(insert(OutcomeStalePatient),
                           [{"patient_id": p} for p in sorted(gone)])


def register() -> None:
    """Listen on every Session (idempotent)."""
    if not event.contains(Session, "after_flush", mark_stale_patients):
        event.listen(Session, "after_flush", mark_stale_patients)
