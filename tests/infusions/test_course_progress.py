"""Course progress comes from the sessions charted at the chair."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from ketaflow.infusions import service
from ketaflow.infusions.rules import SessionAction
from tests.infusions.factories import make_clinic, make_course, ready_to_start
from tests.web.helpers import sign_in


def test_progress_counts_given_and_in_progress(app_client: TestClient, app_db: Session) -> None:
    clinic = make_clinic(app_db)
    course = make_course(app_db, clinic)
    empty = service.course_progress(app_db, clinic.nurse_ctx, course_id=course.id)
    assert (empty.planned, empty.given, empty.in_progress) == (course.infusion_count, 0, 0)

    aborted = ready_to_start(app_db, clinic, course)
    service.apply_action(app_db, clinic.nurse_ctx, session_id=aborted.id,
                         action=SessionAction.ABORT, reason="patient unwell")
    open_one = ready_to_start(app_db, clinic, course)
    app_db.commit()
    progress = service.course_progress(app_db, clinic.nurse_ctx, course_id=course.id)
    # An aborted infusion is not a given one; the session in pre-checks is in progress.
    assert (progress.given, progress.in_progress) == (0, 1)
    assert [s.session_id for s in progress.sessions] == [aborted.id, open_one.id]
    app_db.commit()

    assert sign_in(app_client, clinic.nurse.username) == 303
    fragment = app_client.get(f"/infusions/courses/{course.id}/_progress")
    assert fragment.status_code == 200
    assert f"0 of {course.infusion_count}" in fragment.text and "1 in progress" in fragment.text
    assert app_client.get("/infusions/courses/999999/_progress").status_code == 404
