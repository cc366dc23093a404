"""Exact records after early stops (issue 12, item 5), on both databases: the summary and the
note state the dose actually delivered, running time, pauses, rate changes, the early stop and
its reason, a discharge override with the prescriber's name; ready-to-leave is never after the
discharge; notes and addenda show who signed them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from ketaflow.infusions import service
from ketaflow.infusions.pdf import Printout, summary_pdf, summary_rows
from ketaflow.infusions.rules import SessionAction
from ketaflow.infusions.service._common import clock_at
from ketaflow.patients.models import Patient
from tests.infusions.factories import (
    ALDRETE_OK,
    PADSS_OK,
    Clinic,
    make_clinic,
    make_course,
    ready_to_start,
)

A = SessionAction


def early_stopped_and_discharged(db: Session, patient: Patient | None = None
                                 ) -> tuple[Clinic, int, datetime]:
    """Started at T, paused 10-12, rate down to 26.25 at 15, stopped early at 20 (nausea),
    discharged by prescriber override at 30 (before 60 min of observation)."""
    clinic = make_clinic(db)
    record = ready_to_start(db, clinic, make_course(db, clinic, patient=patient))
    start = datetime.now(UTC)
    steps: list[tuple[float, A, dict[str, object]]] = [
        (0, A.START, {}), (10, A.PAUSE, {}), (12, A.RESUME, {}),
        (15, A.CHANGE_RATE, {"rate_ml_per_h": 26.25, "reason": "dizzy"}),
        (20, A.STOP, {"reason": "nausea, patient asked to stop"}),
        (21, A.BEGIN_OBSERVATION, {})]
    for minutes, action, extra in steps:
        with clock_at(start + timedelta(minutes=minutes)):
            service.apply_action(db, clinic.nurse_ctx, session_id=record.id, action=action,
                                 **extra)  # type: ignore[arg-type]
    with clock_at(start + timedelta(minutes=30)):
        service.discharge_patient(db, clinic.prescriber_ctx, session_id=record.id,
                                  form=service.DischargeForm(
                                      ALDRETE_OK, PADSS_OK, True, True,
                                      override_reason="escort must leave; stable"))
    return clinic, record.id, start


def test_summary_states_what_was_given(db: Session) -> None:
    clinic, session_id, start = early_stopped_and_discharged(db)
    with clock_at(start + timedelta(minutes=31)):
        view = service.chair_view(db, clinic.nurse_ctx, session_id=session_id)
    s = view.summary
    assert s.delivery is not None
    # 0-10 and 12-15 at 52.5 mL/h (8.75 + 2.625 mL), 15-20 at 26.25 (2.1875 mL): 13.5625 mL.
    assert s.delivery.volume_ml == pytest.approx(13.5625)
    assert s.delivery.dose_mg == pytest.approx(13.5625)
    assert s.delivery.running_min == pytest.approx(18.0)
    assert s.delivery.paused_min == pytest.approx(2.0)
    rows = dict(summary_rows(s))
    assert rows["Dose delivered"] == ("13.6 mg base of 35.0 mg ordered (39%): 13.6 of 35.0 mL "
                                      "at 1 mg/mL base")
    assert rows["Running time"] == "18.0 min of 40 min ordered; paused 2.0 min in 1 pause(s)"
    assert rows["Pauses"].count("-") == 1
    assert "52.5 to 26.25 mL/h" in rows["Rate changes"] and "dizzy" in rows["Rate changes"]
    assert "(nurse)" in rows["Rate changes"]
    assert rows["Stop"].startswith("EARLY STOP") and "nausea" in rows["Stop"]
    assert "(prescriber)" in rows["Discharge override"]
    assert "escort must leave" in rows["Discharge override"]
    pdf = summary_pdf(s, printout=Printout("Test Clinic", None, (), start, "UTC"))
    assert pdf.startswith(b"%PDF")


def test_ready_to_leave_never_after_discharge(db: Session) -> None:
    """The cause: ready-to-leave was the end of observation (end + 60 min), stored even when a
    prescriber override discharged the patient before it."""
    clinic, session_id, _start = early_stopped_and_discharged(db)
    view = service.chair_view(db, clinic.nurse_ctx, session_id=session_id)
    s = view.summary
    assert s.discharged_at is not None
    assert s.ready_to_leave_at is None or s.ready_to_leave_at <= s.discharged_at
    assert s.ready_text.startswith("not reached before discharge")
    html_rows = dict(summary_rows(s))
    assert html_rows["Ready to leave"].startswith("not reached before discharge")


def test_note_states_delivery_override_and_signers(db: Session) -> None:
    clinic, session_id, _start = early_stopped_and_discharged(db)
    note = service.draft_note(db, clinic.nurse_ctx, session_id=session_id)
    assert "Dose delivered: 13.6 mg base of 35.0 mg ordered (39%)" in note.body
    assert "Running time: 18.0 min of 40 min ordered" in note.body
    assert "Pauses: 1" in note.body and "Rate changes: 1" in note.body
    assert "Stopped early: EARLY STOP" in note.body and "nausea" in note.body
    assert "Discharged by prescriber override (" in note.body
    assert "Ready to leave: not reached before discharge" in note.body
    service.sign_note(db, clinic.prescriber_ctx, session_id=session_id)
    service.add_addendum(db, clinic.nurse_ctx, session_id=session_id, text="called at home")
    view = service.chair_view(db, clinic.nurse_ctx, session_id=session_id)
    signed = [(n.kind, n.signed_by) for n in view.summary.notes]
    assert signed == [("Note", f"{clinic.prescriber.full_name} (prescriber)"),
                      ("Addendum", f"{clinic.nurse.full_name} (nurse)")]
    rows = summary_rows(view.summary)
    assert ("Note", next(v for k, v in rows if k == "Note")) in rows
    assert any(k == "Addendum" and "(nurse)" in v for k, v in rows)


def test_full_run_summary_says_the_full_dose(db: Session) -> None:
    clinic = make_clinic(db)
    record = ready_to_start(db, clinic)
    start = datetime.now(UTC)
    with clock_at(start):
        service.apply_action(db, clinic.nurse_ctx, session_id=record.id, action=A.START)
    with clock_at(start + timedelta(minutes=40)):
        service.apply_action(db, clinic.nurse_ctx, session_id=record.id, action=A.STOP)
        view = service.chair_view(db, clinic.nurse_ctx, session_id=record.id)
    rows = dict(summary_rows(view.summary))
    assert rows["Dose delivered"].startswith("35.0 mg base of 35.0 mg ordered (100%)")
    assert rows["Stop"].endswith("at the end of the order")
    assert not view.summary.early_stop
