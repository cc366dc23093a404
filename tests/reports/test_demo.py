"""Every demo patient's packet and clinician report print (what `make run` shows a prescriber)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.auth.models import StaffUser
from ketaflow.config import Role
from ketaflow.db import utcnow
from ketaflow.demo import seed_demo
from ketaflow.patients.models import Patient
from ketaflow.reports import service
from ketaflow.reports.pdf import clinician_pdf, prior_auth_pdf
from ketaflow.reports.prior_auth import packet_json
from tests.support.factories import SYSTEM
from tests.support.pdftext import page_texts


def test_every_demo_patients_reports_print(db: Session) -> None:
    seed_demo(db, SYSTEM)
    prescriber = db.scalars(select(StaffUser).where(StaffUser.role == Role.PRESCRIBER)).first()
    assert prescriber is not None
    ctx = SYSTEM.as_user(prescriber.id, prescriber.username, prescriber.role.value)
    patients = list(db.scalars(select(Patient).order_by(Patient.id)))
    assert len(patients) >= 5
    with_course = with_mood = 0
    for patient in patients:
        ready = service.prepare(db, ctx, patient_id=patient.id, zone="UTC")
        packet = service.prior_auth_packet(db, ctx, patient_id=patient.id, formats=("pdf",))
        body = packet_json(packet, ready.identity, clinic_name=ready.printout.clinic_name,
                           prepared_by=ready.prepared_by)
        assert body["patient"]["mrn"] == patient.mrn
        with_course += body["course"] is not None
        pages = page_texts(prior_auth_pdf(packet, printout=ready.printout))
        assert all(f"MRN {patient.mrn}" in page for page in pages)
        report = service.clinician_report(db, ctx, patient_id=patient.id, start=None, end=None,
                                          zone="UTC", today=utcnow().date(), formats=("pdf",))
        with_mood += report.life_chart is not None
        pages = page_texts(clinician_pdf(report, printout=ready.printout))
        assert all(f"MRN {patient.mrn}" in page for page in pages)
    assert with_course >= 2 and with_mood >= 1
