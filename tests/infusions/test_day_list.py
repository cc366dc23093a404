"""The day's list at /infusions on both databases: today's sessions and each open course's next
planned infusion due today or overdue, with name, date of birth and MRN; opening from it is
idempotent (a second click or a concurrent request returns the same session, never a second);
identity and staff names on the chair page, the summary (HTML and PDF) and the ledger."""

from __future__ import annotations

import contextlib
import re
import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ketaflow.audit.service import AuditContext
from ketaflow.clinical.course_plan import CourseState
from ketaflow.config import Role
from ketaflow.db import make_engine, make_session_factory, transaction
from ketaflow.infusions import service
from ketaflow.infusions.models import InfusionSession
from ketaflow.infusions.pdf import Printout, session_staff, summary_pdf
from ketaflow.infusions.rules import SessionAction, SessionStatus
from ketaflow.infusions.service import daylist
from ketaflow.infusions.service import sessions as sessions_service
from ketaflow.patients.models import Patient
from tests.infusions.factories import (
    Clinic,
    ctx_for,
    make_clinic,
    make_course,
    ready_to_start,
    self_report,
)
from tests.infusions.test_pages import post
from tests.patients.factories import make_patient
from tests.support.factories import make_user
from tests.web.helpers import api_token, sign_in

# A staff member shown by id ("prescriber #2", "user #7", "by #3") instead of by name.
STAFF_PLACEHOLDER = re.compile(r"(?:prescriber|nurse|user|staff|by)\s*#\s*\d", re.I)
BORN = date(1984, 3, 9)


def named(db: Session, family: str, given: str = "Ada") -> Patient:
    """A patient registered through the service (demographics and a generated MRN)."""
    return make_patient(db, family_name=family, given_name=given, date_of_birth=BORN)


def _rows(db: Session, ctx: AuditContext) -> list[service.DayRow]:
    return list(service.day_list(db, ctx, zone="UTC").rows)


def test_the_list_shows_due_infusions_and_todays_sessions(db: Session) -> None:
    clinic = make_clinic(db)
    overdue = make_course(db, clinic, patient=named(db, "Lovelace"))
    # Two infusions given on this one: the next is number 3, planned in January: overdue.
    given = make_course(db, clinic, patient=named(db, "Babbage", "Charles"))
    db.add_all([InfusionSession(course_id=given.id, patient_id=given.patient_id,
                                status=SessionStatus.DISCHARGED, opened_by_user_id=clinic.nurse.id,
                                opened_at=datetime(2026, 1, 5, 9, tzinfo=UTC))
                for _ in range(2)])
    future = make_course(db, clinic, patient=named(db, "Hopper", "Grace"))
    future.start_on = datetime.now(UTC).date() + timedelta(days=20)
    make_course(db, clinic, patient=named(db, "Turing", "Alan"), state=CourseState.COMPLETED)
    db.flush()
    rows = _rows(db, clinic.nurse_ctx)
    by_name = {r.patient.full_name: r for r in rows}
    assert set(by_name) == {"LOVELACE, Ada", "BABBAGE, Charles"}
    first = by_name["LOVELACE, Ada"]
    assert (first.infusion_number, first.infusion_count, first.can_open) == (1, 6, True)
    assert first.patient.date_of_birth == BORN and first.patient.mrn.startswith("KF-")
    assert first.planned_on == date(2026, 1, 5) and first.status is None
    assert by_name["BABBAGE, Charles"].infusion_number == 3

    opened = service.open_next_session(db, clinic.nurse_ctx, course_id=overdue.id)
    rows = _rows(db, clinic.nurse_ctx)
    mine = [r for r in rows if r.course_id == overdue.id]
    assert [(r.session_id, r.status, r.infusion_number) for r in mine] == [
        (opened.id, SessionStatus.PLANNED, 1)]
    assert rows[0].session_id == opened.id  # open sessions come first
    # Aborted today: still listed (today's session), and the infusion is due again.
    service.apply_action(db, clinic.nurse_ctx, session_id=opened.id, action=SessionAction.ABORT,
                         reason="patient unwell on arrival")
    mine = [r for r in _rows(db, clinic.nurse_ctx) if r.course_id == overdue.id]
    assert sorted((r.status is None, r.infusion_number) for r in mine) == [(False, 1), (True, 1)]


def test_next_due_vitals_for_a_running_session(db: Session) -> None:
    clinic = make_clinic(db)
    course = make_course(db, clinic, patient=named(db, "Franklin", "Rosalind"))
    record = ready_to_start(db, clinic, course)
    service.apply_action(db, clinic.nurse_ctx, session_id=record.id, action=SessionAction.START)
    (row,) = [r for r in _rows(db, clinic.nurse_ctx) if r.session_id == record.id]
    assert row.status is SessionStatus.RUNNING and row.next_due is not None
    assert row.next_due.due_at > datetime.now(UTC) - timedelta(minutes=1)


def test_the_clinic_day_follows_the_clinic_time_zone() -> None:
    late = datetime(2026, 12, 2, 3, 30, tzinfo=UTC)  # still 1 December in New York
    assert daylist.clinic_today(late, "America/New_York") == date(2026, 12, 1)
    assert daylist.clinic_today(late, "Europe/Berlin") == date(2026, 12, 2)


def test_opening_twice_returns_the_same_session(db: Session) -> None:
    clinic = make_clinic(db)
    course = make_course(db, clinic)
    first = service.open_next_session(db, clinic.nurse_ctx, course_id=course.id)
    again = service.open_next_session(db, clinic.prescriber_ctx, course_id=course.id)
    assert again.id == first.id
    assert db.scalar(select(func.count()).select_from(InfusionSession)) == 1


def test_two_concurrent_opens_make_one_session(db_url: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Two tablets press "Open session" at the same instant, each on its own connection. On
    PostgreSQL both pass every check before either writes, so the partial unique index refuses
    the second and it returns the first's session; SQLite runs one writer at a time (BEGIN
    IMMEDIATE), so there the second finds the first. Either way: one session, both see it."""
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
                outcomes.append(service.open_next_session(db, ctx, course_id=course_id).id)
        except Exception as error:  # the test reports it
            outcomes.append(error)

    threads = [threading.Thread(target=open_one) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    try:
        assert len(outcomes) == 2 and all(isinstance(o, int) for o in outcomes), outcomes
        assert outcomes[0] == outcomes[1]
        with factory() as check_db:
            assert check_db.scalar(select(func.count()).select_from(InfusionSession)) == 1
    finally:
        engine.dispose()


def test_pages_show_identity_and_open_from_the_list(app_client: TestClient,
                                                    app_db: Session) -> None:
    nurse = make_user(app_db, role=Role.NURSE, full_name="Nina Nurse")
    prescriber = make_user(app_db, role=Role.PRESCRIBER, full_name="Dr Petra Prescriber")
    clinic = Clinic(nurse, prescriber, ctx_for(nurse), ctx_for(prescriber))
    patient = named(app_db, "Curie", "Marie")
    mrn = patient.mrn
    course = make_course(app_db, clinic, patient=patient)
    self_report(app_db, course.patient_id)
    app_db.commit()
    assert sign_in(app_client, nurse.username) == 303
    board = app_client.get("/infusions").text
    assert "CURIE, Marie" in board and BORN.isoformat() in board and mrn in board
    assert "1 of 6" in board and "Open session" in board and "times in UTC" in board
    assert f'action="/infusions/courses/{course.id}/sessions"' in board
    assert 'name="csrf_token" value=""' not in board  # the button's form carries its token
    first = post(app_client, f"/infusions/courses/{course.id}/sessions")
    second = post(app_client, f"/infusions/courses/{course.id}/sessions")
    assert first.status_code == second.status_code == 303  # type: ignore[attr-defined]
    page = first.headers["location"]  # type: ignore[attr-defined]
    assert second.headers["location"] == page  # type: ignore[attr-defined]
    assert app_db.scalar(select(func.count()).select_from(InfusionSession)) == 1
    app_db.rollback()  # let the app have the database again (SQLite: one writer)
    board = app_client.get("/infusions").text
    assert "Open session" not in board and f'href="{page}"' in board

    chair = app_client.get(page).text
    assert 'data-testid="patient-banner"' in chair
    assert "CURIE, Marie" in chair and BORN.isoformat() in chair and mrn in chair
    summary = app_client.get(f"{page}/summary").text
    assert "CURIE, Marie" in summary and BORN.isoformat() in summary and mrn in summary
    assert "Session opened by" in summary and "Nina Nurse (nurse)" in summary
    assert re.search(r"Printed \d{4}-\d\d-\d\d \d\d:\d\d UTC", summary)
    for html in (board, chair, summary):
        assert not STAFF_PLACEHOLDER.search(html), STAFF_PLACEHOLDER.search(html)
    pdf = app_client.get(f"{page}/summary.pdf")
    assert pdf.content.startswith(b"%PDF-")


def test_the_summary_pdf_carries_identity_and_staff(db: Session) -> None:
    clinic = make_clinic(db)
    course = make_course(db, clinic, patient=named(db, "Noether", "Emmy"))
    record = service.open_next_session(db, clinic.nurse_ctx, course_id=course.id)
    view = service.chair_view(db, clinic.nurse_ctx, session_id=record.id)
    assert view.patient is not None and view.patient.full_name == "NOETHER, Emmy"
    staff = session_staff(view.record, view.staff_name)
    assert staff == (("Session opened by", "Test User (nurse)"),)
    printout = Printout("Riverside Clinic", view.patient, staff,
                        datetime(2026, 12, 2, 3, 30, tzinfo=UTC), "America/New_York")
    assert printout.printed == "2026-12-01 22:30 America/New_York"
    assert ("Date of birth", BORN.isoformat()) in printout.identity_rows
    assert summary_pdf(view.summary, printout=printout).startswith(b"%PDF-")


def test_the_day_list_over_the_api_opens_one_session(app_client: TestClient,
                                                     app_db: Session) -> None:
    clinic = make_clinic(app_db)
    patient = named(app_db, "Franklin", "Rosalind")
    mrn = patient.mrn
    course = make_course(app_db, clinic, patient=patient)
    desk = make_user(app_db, role=Role.FRONT_DESK)
    headers = {"Authorization": f"Bearer {api_token(app_db, clinic.nurse)}"}
    day = app_client.get("/api/v1/infusions/day", headers=headers).json()
    assert day["time_zone"] == "UTC" and day["today"] == datetime.now(UTC).date().isoformat()
    [row] = day["rows"]
    assert row["patient"] == {"patient_id": course.patient_id, "mrn": mrn,
                              "given_name": "Rosalind", "family_name": "Franklin",
                              "date_of_birth": BORN.isoformat()}
    assert (row["infusion_number"], row["infusion_count"]) == (1, course.infusion_count)
    assert row["session_id"] is None and row["status"] is None

    path = f"/api/v1/infusions/courses/{course.id}/next-session"
    first = app_client.post(path, headers=headers)
    again = app_client.post(path, headers=headers)
    assert first.status_code == again.status_code == 200, first.text
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["status"] == "planned"
    [row] = app_client.get("/api/v1/infusions/day", headers=headers).json()["rows"]
    assert row["session_id"] == first.json()["id"] and row["status"] == "planned"
    app_db.rollback()
    assert app_db.scalar(select(func.count()).select_from(InfusionSession)) == 1

    desk_headers = {"Authorization": f"Bearer {api_token(app_db, desk)}"}
    assert app_client.get("/api/v1/infusions/day", headers=desk_headers).status_code == 403
    missing = app_client.post("/api/v1/infusions/courses/999999/next-session", headers=headers)
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
