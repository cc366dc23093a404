"""Sources of CarePlan (each treatment course, the courses domain) and Consent (each treatment
consent, the screening domain)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Select, case, select
from sqlalchemy.orm import Session

from ketaflow.clinical.course_plan import CourseState
from ketaflow.courses.models import TreatmentCourse
from ketaflow.fhir import search
from ketaflow.fhir.codes import Resource, us_core
from ketaflow.fhir.mappers import courses
from ketaflow.fhir.mappers.courses import CAREPLAN_CATEGORY, CONSENT_SCOPE
from ketaflow.screening.models import Consent

CAREPLAN_STATUS = "http://hl7.org/fhir/request-status"
# A planned course is agreed and consented, so in force (active) though not yet started; a
# pause puts it on hold; a stop withdraws it (revoked); completion completes it.
_STATUS = {CourseState.PLANNED: "active", CourseState.ACTIVE: "active",
           CourseState.MAINTENANCE: "active", CourseState.PAUSED: "on-hold",
           CourseState.COMPLETED: "completed", CourseState.STOPPED: "revoked"}
STATUS_SQL = case(_STATUS, value=TreatmentCourse.state)
_FINAL = (CourseState.COMPLETED, CourseState.STOPPED)


def _courses(query: Select[Any]) -> Select[Any]:
    return query.select_from(TreatmentCourse)


def _load_courses(session: Session, ids: Sequence[int]) -> Mapping[int, Resource]:
    rows = session.execute(select(TreatmentCourse, STATUS_SQL)
                           .where(TreatmentCourse.id.in_(ids))).all()
    return {row.id: courses.care_plan(row, status, row.state in _FINAL) for row, status in rows}


CARE_PLAN = search.Source(
    key="course", row=TreatmentCourse.id, updated=TreatmentCourse.state_changed_at,
    base=_courses, load=_load_courses, profile=us_core("careplan"), prefix="course-",
    filters={"patient": search.references(TreatmentCourse.patient_id),
             "category": search.static_tokens((CAREPLAN_CATEGORY, "assess-plan")),
             "status": search.column_tokens(STATUS_SQL, CAREPLAN_STATUS),
             # The course's start date (a calendar date, as planned).
             "date": search.day_filter(TreatmentCourse.start_on)},
)


def _consents(query: Select[Any]) -> Select[Any]:
    return query.select_from(Consent)


def _load_consents(session: Session, ids: Sequence[int]) -> Mapping[int, Resource]:
    return {row.id: courses.consent(row)
            for row in session.scalars(select(Consent).where(Consent.id.in_(ids)))}


# Base R4: US Core has no Consent profile. A consent row is recorded once, never changed.
CONSENT = search.Source(
    key="consent", row=Consent.id, updated=Consent.recorded_at, base=_consents,
    load=_load_consents, profile=None, prefix="consent-",
    filters={"patient": search.references(Consent.patient_id),
             "date": search.day_filter(Consent.consented_on),
             "status": search.static_tokens(("http://hl7.org/fhir/consent-state-codes",
                                             "active")),
             "scope": search.static_tokens((CONSENT_SCOPE, "treatment"))},
)
