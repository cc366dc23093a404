"""The discharge instructions handed to the patient, on both databases: both identifiers,
the dose given, the sourced no-driving and escort advice, the clinic's own crisis lines (none
invented when the clinic has set none) and the next booked visit; refused before the infusion
has ended; served as a PDF from the chair."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.audit.models import AuditEvent
from ketaflow.booking.models import Appointment, AppointmentKind
from ketaflow.clinic import service as clinic_service
from ketaflow.errors import Conflict
from ketaflow.infusions import service
from ketaflow.infusions.discharge_sheet import UNTIL_TOMORROW, discharge_sheet_pdf
from ketaflow.infusions.pdf import Printout, session_staff
from tests.booking.factories import make_clinic as make_site_clinic
from tests.infusions.factories import make_clinic, ready_to_start
from tests.infusions.test_day_list import BORN, named
from tests.infusions.test_exact_records import early_stopped_and_discharged
from tests.support.factories import SYSTEM
from tests.support.pdftext import page_texts
from tests.web.helpers import sign_in

CRISIS = "+1 555 0199 (24 hours)"


def _profile(db: Session) -> None:
    clinic_service.update_profile(db, SYSTEM, production=False, entry=clinic_service.ProfileEntry(
        name="Riverside Ketamine Clinic", phone="+1 555 0100", crisis_line=CRISIS,
        national_line_country="US"))


def _sheet_text(db: Session, session_id: int, ctx: object) -> str:
    view = service.chair_view(db, ctx, session_id=session_id)  # type: ignore[arg-type]
    sheet = service.discharge_sheet(db, ctx, view=view)  # type: ignore[arg-type]
    printout = Printout("Riverside Ketamine Clinic", view.patient,
                        session_staff(view.record, view.staff_name), view.now, "UTC")
    pdf = discharge_sheet_pdf(printout=printout, given=sheet.given, lines=sheet.lines,
                              clinic_phone=sheet.clinic_phone, visit=sheet.visit,
                              discharged_by=sheet.discharged_by)
    # reportlab draws a kerned apostrophe as its own string: join it back to its word.
    return " ".join(" ".join(page_texts(pdf)).split()).replace(" ' ", "'")


def test_the_sheet_names_the_patient_the_dose_the_advice_and_whom_to_call(db: Session) -> None:
    clinic, session_id, _start = early_stopped_and_discharged(db, named(db, "Meitner", "Lise"))
    _profile(db)
    record = service.chair_view(db, clinic.nurse_ctx, session_id=session_id)
    assert record.patient is not None and record.summary.delivery is not None
    text = _sheet_text(db, session_id, clinic.nurse_ctx)
    who = record.patient
    for value in ("MEITNER, Lise", BORN.isoformat(), who.mrn):
        assert value in text
    dose = f"ketamine {record.summary.delivery.dose_mg:.0f} mg"
    assert dose in text
    for advice in UNTIL_TOMORROW:
        assert advice in text
    assert f"The clinic's crisis line: {CRISIS}." in text
    assert "988 Suicide & Crisis Lifeline: 988 (call or text), any time of day or night" in text
    assert "The clinic, for questions about today: +1 555 0100." in text
    assert "No next visit is booked yet" in text
    assert f"Discharged by {clinic.prescriber.full_name} (prescriber)." in text
    assert db.scalars(select(AuditEvent.action).where(
        AuditEvent.action == "infusion.session.discharge_sheet")).one()


def test_without_clinic_lines_only_the_emergency_number_is_given(db: Session) -> None:
    clinic, session_id, _start = early_stopped_and_discharged(db)
    text = _sheet_text(db, session_id, clinic.nurse_ctx)
    assert "call your local emergency number" in text
    assert "crisis line" not in text and "988" not in text and "[" not in text


def test_the_next_booked_visit_is_printed_in_its_site_time(db: Session) -> None:
    clinic, session_id, _start = early_stopped_and_discharged(db)
    site = make_site_clinic(db, zone="America/New_York").site
    view = service.chair_view(db, clinic.nurse_ctx, session_id=session_id)
    later = (view.now + timedelta(days=2)).replace(hour=14, minute=0, second=0, microsecond=0)
    db.add(Appointment(patient_id=view.record.patient_id, site_id=site.id,
                       kind=AppointmentKind.INFUSION, starts_at=later, minutes=120))
    db.flush()
    text = _sheet_text(db, session_id, clinic.nurse_ctx)
    local = later.astimezone(ZoneInfo("America/New_York"))
    assert f"{local.strftime('%A %d %B %Y, %H:%M')} (America/New_York) at {site.name}." in text


def test_refused_before_the_infusion_has_ended(db: Session) -> None:
    clinic = make_clinic(db)
    record = ready_to_start(db, clinic)
    view = service.chair_view(db, clinic.nurse_ctx, session_id=record.id)
    with pytest.raises(Conflict, match="once the infusion has ended"):
        service.discharge_sheet(db, clinic.nurse_ctx, view=view)


def test_the_chair_links_the_sheet_and_serves_the_pdf(app_client: TestClient,
                                                      app_db: Session) -> None:
    clinic, session_id, _start = early_stopped_and_discharged(app_db)
    username = clinic.nurse.username
    app_db.commit()
    assert sign_in(app_client, username) == 303
    page = f"/infusions/sessions/{session_id}"
    assert f'href="{page}/discharge-instructions.pdf"' in app_client.get(page).text
    pdf = app_client.get(f"{page}/discharge-instructions.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert "After your ketamine infusion today" in " ".join(page_texts(pdf.content))
