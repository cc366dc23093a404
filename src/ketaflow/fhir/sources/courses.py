"""Source of CarePlan: each treatment course (the courses domain)."""

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
from ketaflow.fhir.mappers.courses import CAREPLAN_CATEGORY

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
