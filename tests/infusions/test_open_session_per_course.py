"""One open (not yet discharged or aborted) session per course, on both databases: refused by the
service with 409 naming the session, held by a partial unique index in the database, and two
concurrent opens on separate connections cannot both succeed."""

from __future__ import annotations

import contextlib
import threading

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ketaflow.db import make_engine, make_session_factory, transaction
from ketaflow.errors import Conflict, KetaflowError
from ketaflow.infusions import service
from ketaflow.infusions.models import InfusionSession
from ketaflow.infusions.rules import SessionAction, SessionStatus
from ketaflow.infusions.service import sessions as sessions_service
from tests.infusions.factories import ctx_for, make_clinic, make_course
from tests.infusions.test_api import BASE, arrange
from tests.infusions.test_pages import arrange as page_arrange
from tests.infusions.test_pages import post
from tests.web.helpers import sign_in


def test_a_second_open_session_on_the_course_is_a_conflict(db: Session) -> None:
    clinic = make_clinic(db)
    course = make_course(db, clinic)
    first = service.open_session(db, clinic.nurse_ctx, course_id=course.id)
    with pytest.raises(Conflict) as error:
        service.open_session(db, clinic.nurse_ctx, course_id=course.id)
    assert error.value.field == "course_id"
    assert f"session {first.id} is still open" in error.value.detail
    service.apply_action(db, clinic.nurse_ctx, session_id=first.id, action=SessionAction.ABORT,
                         reason="patient unwell on arrival")
    again = service.open_session(db, clinic.nurse_ctx, course_id=course.id)
    assert again.status is SessionStatus.PLANNED


def test_the_database_holds_one_open_session_per_course(db: Session) -> None:
    clinic = make_clinic(db)
    course = make_course(db, clinic)

    def row(status: SessionStatus) -> InfusionSession:
        return InfusionSession(course_id=course.id, patient_id=course.patient_id,
                               status=status, opened_by_user_id=clinic.nurse.id)

    db.add_all([row(SessionStatus.DISCHARGED), row(SessionStatus.ABORTED),
                row(SessionStatus.PRECHECKS)])
    db.flush()  # closed sessions never collide with the open one
    db.add(row(SessionStatus.PLANNED))
    with pytest.raises(IntegrityError):
        db.flush()


def test_api_answers_409_pages_go_to_the_open_one_and_name_missing_courses(app_client: TestClient,
                                                           app_db: Session) -> None:
    nurse, _, course_id = arrange(app_client, app_db)
    first = nurse.post(BASE, {"course_id": course_id}, expect=201)["id"]
    second = nurse.post(BASE, {"course_id": course_id}, expect=409)
    assert second["field"] == "course_id" and f"session {first} is still open" in second["detail"]
    missing = nurse.post(BASE, {"course_id": 424242}, expect=422)
    assert missing["field"] == "course_id"
    course_id, nurse_name, _ = page_arrange(app_client, app_db)
    assert sign_in(app_client, nurse_name) == 303
    opened = post(app_client, f"/infusions/courses/{course_id}/sessions")
    assert opened.status_code == 303  # type: ignore[attr-defined]
    # The page's one button is idempotent: a second press goes to the session already open.
    again = post(app_client, f"/infusions/courses/{course_id}/sessions")
    assert again.status_code == 303  # type: ignore[attr-defined]
    assert (again.headers["location"]  # type: ignore[attr-defined]
            == opened.headers["location"])  # type: ignore[attr-defined]
    assert post(app_client, "/infusions/courses/424242/sessions"
                ).status_code == 404  # type: ignore[attr-defined]


def test_two_concurrent_opens_cannot_both_succeed(db_url: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Two tablets open a session on the same course at the same instant, each on its own
    connection. On PostgreSQL both pass the service's check before either writes (each waits
    up to 2 s for the other after checking), so only the partial unique index stops the
    second (without it both succeed: checked). SQLite runs one writer at a time (BEGIN
    IMMEDIATE), so there the second sees the first."""
    engine = make_engine(db_url)
    factory = make_session_factory(engine)
    with transaction(factory) as arrange_db:
        clinic = make_clinic(arrange_db)
        course_id = make_course(arrange_db, clinic).id
    ctx = ctx_for(clinic.nurse)
    start, both_checked = threading.Barrier(2), threading.Barrier(2)
    check = sessions_service._refuse_second_open

    def check_then_wait(db: Session, course: int) -> None:
        check(db, course)
        with contextlib.suppress(threading.BrokenBarrierError):
            both_checked.wait(timeout=2)

    monkeypatch.setattr(sessions_service, "_refuse_second_open", check_then_wait)
    outcomes: list[object] = []

    def open_one() -> None:
        start.wait(timeout=10)
        try:
            with transaction(factory) as db:
                service.open_session(db, ctx, course_id=course_id)
            outcomes.append("opened")
        except KetaflowError as error:
            outcomes.append(error)

    threads = [threading.Thread(target=open_one) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    try:
        assert len(outcomes) == 2 and outcomes.count("opened") == 1, outcomes
        (refusal,) = [o for o in outcomes if isinstance(o, Conflict)]
        assert refusal.field == "course_id"
        with factory() as check_db:
            assert check_db.scalar(select(func.count()).select_from(InfusionSession)) == 1
    finally:
        engine.dispose()
