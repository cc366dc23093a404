"""Plain-function fixtures for infusion tests: a patient on an active course with a weight."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.alerts.models import Alert
from ketaflow.assessments import service as assessments
from ketaflow.assessments.models import Assessment
from ketaflow.audit.service import AuditContext
from ketaflow.auth.models import StaffUser
from ketaflow.clinical.course_plan import CourseState, Frequency
from ketaflow.clinical.eligibility import Outcome
from ketaflow.config import Role
from ketaflow.courses.models import TreatmentCourse
from ketaflow.dosing import SaltForm
from ketaflow.infusions import service
from ketaflow.infusions.models import InfusionSession, SessionEvent, VitalsRecord
from ketaflow.infusions.rules import PregnancyTest, SessionAction, VitalsReading
from ketaflow.infusions.service._common import clock_at
from ketaflow.patients.models import Measurement, Patient
from ketaflow.screening.models import Consent, Screening, ScreeningStatus
from tests.assessments.factories import phq9
from tests.support.factories import SYSTEM, make_user

_mrn = itertools.count(1)
ALDRETE_OK = {"activity": 2, "respiration": 2, "circulation": 2, "consciousness": 2,
              "oxygen_saturation": 2}
PADSS_OK = {"vital_signs": 2, "activity_mental_status": 2, "pain_nausea_vomiting": 2,
            "intake_output": 2}


def ctx_for(user: StaffUser) -> AuditContext:
    return AuditContext(user.id, user.username, user.role.value, "127.0.0.1", "test")


@dataclass
class Clinic:
    nurse: StaffUser
    prescriber: StaffUser
    nurse_ctx: AuditContext
    prescriber_ctx: AuditContext


def make_clinic(db: Session) -> Clinic:
    nurse, prescriber = make_user(db, role=Role.NURSE), make_user(db, role=Role.PRESCRIBER)
    return Clinic(nurse, prescriber, ctx_for(nurse), ctx_for(prescriber))


def make_course(db: Session, clinic: Clinic, *, weight_kg: float = 70.0,
                state: CourseState = CourseState.ACTIVE,
                patient: Patient | None = None, order_lot: bool = False) -> TreatmentCourse:
    """A course on a signed eligible screening and a consent, for `patient` (registered
    elsewhere) or for a new bare record (no demographics: the infusion rules do not read them)."""
    if patient is None:
        patient = Patient(mrn=f"T{next(_mrn):06d}")
        db.add(patient)
        db.flush()
    screening = Screening(patient_id=patient.id, status=ScreeningStatus.SIGNED,
                          outcome=Outcome.ELIGIBLE)
    consent = Consent(patient_id=patient.id, form_version="v1", consented_on=date(2026, 1, 1),
                      witnessed_by_user_id=clinic.nurse.id)
    db.add_all([screening, consent,
                Measurement(patient_id=patient.id, weight_kg=weight_kg,
                            measured_at=datetime.now(UTC) - timedelta(days=1))])
    db.flush()
    course = TreatmentCourse(
        patient_id=patient.id, screening_id=screening.id, consent_id=consent.id, state=state,
        infusion_count=6, frequency=Frequency.MON_WED_FRI,
        skip_weekends=True, start_on=date(2026, 1, 5), dose_mg_per_kg=0.5, max_dose_mg=100,
        salt_form=SaltForm.BASE)
    db.add(course)
    db.flush()
    if order_lot:  # orders written on the course may name ORDER_LOT
        stock_order_lot(db, clinic)
    return course


# The lot every course's orders are prepared from (received by `make_course`): 50 mg/mL vials,
# diluted to the orders' 1 mg/mL bag. Enough for dozens of 35 mg infusions.
ORDER_LOT = "ORDER-LOT-1"
ORDER_LOT_MG = 2000.0
ORDER_LOT_DAYS = 300  # in date for this many days from today


def order_lot_expiry() -> date:
    return datetime.now(UTC).date() + timedelta(days=ORDER_LOT_DAYS)


def stock_order_lot(db: Session, clinic: Clinic, lot: str = ORDER_LOT,
                    amount_mg: float = ORDER_LOT_MG, *, expiry_date: date | None = None,
                    concentration_mg_per_ml: float = 50.0) -> None:
    """Lot `lot` in the ledger (once: a second call for the same lot adds nothing), so orders
    can name it."""
    from ketaflow.infusions.controlled.models import LedgerRow

    if db.scalar(select(LedgerRow.id).where(LedgerRow.lot_number == lot).limit(1)) is None:
        stock(db, clinic, lot, amount_mg, concentration_mg_per_ml,
              expiry_date=expiry_date or order_lot_expiry())


def order_input(**overrides: object) -> service.OrderInput:
    """An order on the clinic's order lot; drug and expiry come from its receipt."""
    values: dict[str, object] = {"lot_number": ORDER_LOT, "concentration_mg_per_ml": 1.0,
                                 "duration_min": 40.0}
    values.update(overrides)
    return service.OrderInput(**values)  # type: ignore[arg-type]


ALL_CHECKS = service.PrecheckChanges(
    identity_confirmed=True, consent_current=True, fasting_confirmed=True,
    escort_confirmed=True, transport_confirmed=True,
    pregnancy_test=PregnancyTest.NOT_APPLICABLE)


def self_report(db: Session, patient_id: int, *, item9: int = 0,
                rated_at: datetime | None = None) -> Assessment:
    """The patient's PHQ-9 through the portal (now unless `rated_at`); item 9 above 0 raises a
    suicidality alert."""
    return assessments.record_assessment(db, SYSTEM, patient_id=patient_id, instrument_id="phq9",
                                         answers=phq9(10, item9),
                                         rater=assessments.Rater.portal(),
                                         rated_at=rated_at or datetime.now(UTC))


def open_alerts(db: Session, patient_id: int) -> list[Alert]:
    return list(db.scalars(select(Alert).where(Alert.patient_id == patient_id,
                                               Alert.acknowledged_at.is_(None))))


def ready_to_start(db: Session, clinic: Clinic, course: TreatmentCourse | None = None,
                   *, lot: str = ORDER_LOT) -> InfusionSession:
    """A session in pre-checks with everything done (today's self-report included): the pump
    may start. The order names `lot`, received first unless the ledger already holds it."""
    course = course or make_course(db, clinic)
    stock_order_lot(db, clinic, lot)
    self_report(db, course.patient_id)
    record = service.open_session(db, clinic.nurse_ctx, course_id=course.id)
    service.apply_action(db, clinic.nurse_ctx, session_id=record.id,
                         action=SessionAction.BEGIN_PRECHECKS)
    service.update_prechecks(db, clinic.nurse_ctx, session_id=record.id, changes=ALL_CHECKS)
    service.record_vitals(db, clinic.nurse_ctx, session_id=record.id, reading=VitalsReading(
        datetime.now(UTC), sbp_mmhg=122, dbp_mmhg=78, hr_bpm=72, spo2_percent=98))
    service.sign_order(db, clinic.prescriber_ctx, session_id=record.id,
                       order=order_input(lot_number=lot))
    return record


def infused(db: Session, clinic: Clinic, record: InfusionSession, minutes: float = 41.0
            ) -> InfusionSession:
    """Start the pump and move the session back `minutes`, so that the infusion record shows
    that long at the ordered rate delivered (35.9 mg of the 35 mg order after 41 min)."""
    service.apply_action(db, clinic.nurse_ctx, session_id=record.id,
                         action=SessionAction.START)
    backdate(db, record, minutes)
    return record


def given_and_discharged(db: Session, clinic: Clinic, course: TreatmentCourse) -> int:
    """A whole infusion of the course, pre-checks to discharge (40 minutes, then an hour's
    observation, on the service clock moved forward); returns the session id."""
    record = ready_to_start(db, clinic, course)
    start = datetime.now(UTC)
    for minutes, action in ((0, SessionAction.START), (40, SessionAction.STOP),
                            (41, SessionAction.BEGIN_OBSERVATION)):
        with clock_at(start + timedelta(minutes=minutes)):
            service.apply_action(db, clinic.nurse_ctx, session_id=record.id, action=action,
                                 **({"reason": "course done"} if action is SessionAction.STOP
                                    else {}))  # type: ignore[arg-type]
    with clock_at(start + timedelta(minutes=105)):
        service.discharge_patient(db, clinic.nurse_ctx, session_id=record.id,
                                  form=service.DischargeForm(ALDRETE_OK, PADSS_OK, True, True))
    return record.id


def backdate(db: Session, record: InfusionSession, minutes: float) -> None:
    """Move a whole session back in time (its times, readings and events), so observation time
    can elapse within a test."""
    shift = timedelta(minutes=minutes)
    for name in ("opened_at", "prechecks_at", "started_at", "ended_at"):
        value = getattr(record, name)
        if value is not None:
            setattr(record, name, value - shift)
    for vitals in db.scalars(select(VitalsRecord).where(VitalsRecord.session_id == record.id)):
        vitals.taken_at -= shift
    for event in db.scalars(select(SessionEvent).where(SessionEvent.session_id == record.id)):
        event.occurred_at -= shift
    db.flush()


def stock(db: Session, clinic: Clinic, lot: str, amount_mg: float,
          concentration_mg_per_ml: float = 50.0, *, drug: str = "ketamine_hcl",
          expiry_date: date | None = None) -> None:
    """Lot `lot` in stock: a receipt recorded by the nurse and witnessed by the prescriber
    (the password step is the pages' and API's; tests that arrange stock skip it)."""
    from ketaflow.infusions.controlled import service as ledger
    from ketaflow.infusions.rules import EntryKind

    ledger.record_entry(db, clinic.nurse_ctx, witness_confirmed=True, entry=ledger.EntryInput(
        EntryKind.RECEIVED, lot, amount_mg, witness_user_id=clinic.prescriber.id,
        drug=drug, concentration_mg_per_ml=concentration_mg_per_ml,
        expiry_date=expiry_date or order_lot_expiry()))


def second_course(db: Session, course: TreatmentCourse) -> TreatmentCourse:
    """Another course for the same patient (the courses service allows one open course at a
    time; the infusion rules are tested on their own here)."""
    other = TreatmentCourse(
        patient_id=course.patient_id, screening_id=course.screening_id,
        consent_id=course.consent_id, state=course.state, infusion_count=6,
        frequency=course.frequency, skip_weekends=True, start_on=course.start_on,
        dose_mg_per_kg=course.dose_mg_per_kg, max_dose_mg=course.max_dose_mg,
        salt_form=course.salt_form)
    db.add(other)
    db.flush()
    return other
