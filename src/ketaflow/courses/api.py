"""Treatment courses over the JSON API (same permissions as the pages)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session

from ketaflow.auth.permissions import Permission, requires
from ketaflow.courses import service
from ketaflow.courses.schemas import BaselineIn, CourseIn, CourseOut, CourseSummaryOut, TransitionIn
from ketaflow.web.deps import audit_context, get_db
from ketaflow.web.openapi import problem
from ketaflow.web.routing import UnitOfWorkRoute

router = APIRouter(tags=["courses"], route_class=UnitOfWorkRoute)
DB = Annotated[Session, Depends(get_db)]


def _out(request: Request, db: Session, course_id: int) -> CourseOut:
    return CourseOut.from_view(service.read_course(db, audit_context(request), course_id=course_id))


@router.get("/patients/{patient_id}/courses", response_model=list[CourseSummaryOut])
@requires(Permission.PATIENTS_CLINICAL_READ)
def list_courses(request: Request, db: DB, patient_id: int) -> list[CourseSummaryOut]:
    courses = service.list_courses(db, audit_context(request), patient_id=patient_id)
    return [CourseSummaryOut.model_validate(c) for c in courses]


@router.post("/patients/{patient_id}/courses", response_model=CourseOut, status_code=201,
             responses=problem(409, "The patient is not ready for a course (`detail` says "
                                    "why)."))
@requires(Permission.COURSES_MANAGE)
def plan_course(request: Request, db: DB, patient_id: int, body: CourseIn) -> CourseOut:
    course = service.plan_course(db, audit_context(request), patient_id=patient_id,
                                 entry=body.to_entry())
    return _out(request, db, course.id)


@router.get("/courses/{course_id}", response_model=CourseOut)
@requires(Permission.PATIENTS_CLINICAL_READ)
def get_course(request: Request, db: DB, course_id: int) -> CourseOut:
    return _out(request, db, course_id)


@router.post("/courses/{course_id}/transitions", response_model=CourseOut,
             responses=problem(409, "The course's state does not allow that move."))
@requires(Permission.COURSES_MANAGE)
def change_state(request: Request, db: DB, course_id: int, body: TransitionIn) -> CourseOut:
    service.change_course_state(db, audit_context(request), course_id=course_id,
                                target=body.state, reason=body.reason)
    return _out(request, db, course_id)


@router.put("/courses/{course_id}/baseline", response_model=CourseOut,
            responses=problem(409, "The course is closed; its baseline is kept."))
@requires(Permission.COURSES_MANAGE)
def set_baseline(request: Request, db: DB, course_id: int, body: BaselineIn) -> CourseOut:
    service.set_course_baseline(db, audit_context(request), course_id=course_id,
                                baseline_on=body.baseline_on)
    return _out(request, db, course_id)
