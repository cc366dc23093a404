"""Patients full of identifiers for the research export's tests.

Every identifying value (names, MRN, date of birth, address, phones, e-mail, the referring
clinician) is distinctive and is also typed into every free-text field the record has (notes,
reasons, life events, alert actions), so a leak through any column shows up in a scan.
Every event of a patient falls within WINDOW_DAYS after `base_day`, so a scan for each real
date of that window catches a date that was not shifted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.alerts.models import Alert, AlertKind, AlertSeverity
from ketaflow.assessments import service as assessments
from ketaflow.courses.models import CourseStateChange
from ketaflow.dosing import SaltForm
from ketaflow.infusions.models import (
    Discharge,
    EventKind,
    InfusionOrder,
    InfusionSession,
    NoteKind,
    SessionAlert,
    SessionEvent,
    SessionNote,
    VitalsRecord,
)
from ketaflow.infusions.rules import AlertLevel, SessionStatus
from ketaflow.moodchart.models import MoodEntry
from ketaflow.patients.diagnosis_codes import BipolarType, Episode
from ketaflow.patients.models import Diagnosis, Measurement, Patient, Sex, SubstanceUse
from tests.assessments.factories import madrs
from tests.infusions.factories import Clinic, make_course
from tests.patients.factories import make_patient
from tests.support.factories import SYSTEM

WINDOW_DAYS = 8


@dataclass(frozen=True)
class Person:
    given_name: str
    family_name: str
    mrn: str
    date_of_birth: date
    phone: str
    email: str
    street: str
    town: str
    postcode: str
    contact_name: str
    contact_phone: str
    referrer: str
    onset_date: date | None = None
    sex: Sex = Sex.FEMALE

    @property
    def address(self) -> str:
        return f"{self.street}, {self.town}, {self.postcode}"

    @property
    def story(self) -> str:
        """Free text as staff might type it, quoting every identifier."""
        return (f"{self.given_name} {self.family_name} ({self.mrn}, born "
                f"{self.date_of_birth.isoformat()}) rang from {self.phone}; lives at "
                f"{self.address}; e-mail {self.email}; contact {self.contact_name} "
                f"{self.contact_phone}; referred by {self.referrer}")

    def identifiers(self) -> list[str]:
        """Every value that must not survive, in the forms a leak might take."""
        born = self.date_of_birth
        return [self.given_name, self.family_name, f"{self.given_name} {self.family_name}",
                self.mrn, self.phone, "".join(ch for ch in self.phone if ch.isdigit()),
                self.email, self.street, self.town, self.postcode, self.contact_name,
                self.contact_phone, self.referrer, born.isoformat(), born.strftime("%Y%m%d"),
                born.strftime("%m/%d/%Y"), born.strftime("%d/%m/%Y")]


@dataclass
class Seeded:
    patient: Patient
    person: Person
    base_day: date
    course_id: int
    session_ids: list[int] = field(default_factory=list)

    def real_dates(self) -> set[date]:
        days = {self.base_day + timedelta(days=n) for n in range(-2, WINDOW_DAYS + 2)}
        born = {self.person.date_of_birth}
        return days | born | ({self.person.onset_date} if self.person.onset_date else set())


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), UTC)


def seed_person(db: Session, clinic: Clinic, person: Person, base_day: date) -> Seeded:
    patient = make_patient(
        db, mrn=person.mrn, given_name=person.given_name, family_name=person.family_name,
        date_of_birth=person.date_of_birth, sex=person.sex, phone=person.phone,
        email=person.email, address=person.address, emergency_contact_name=person.contact_name,
        emergency_contact_phone=person.contact_phone, referring_clinician=person.referrer)
    db.add(Diagnosis(patient_id=patient.id, bipolar_type=BipolarType.BIPOLAR_II,
                     current_episode=Episode.DEPRESSED, icd10_code="F31.81",
                     snomed_code="83225003", onset_date=person.onset_date,
                     episode_start_date=base_day - timedelta(days=1), psychosis_history=False,
                     substance_use=SubstanceUse.PAST, substance_use_note=person.story,
                     suicide_attempts=1, last_suicide_attempt_date=base_day,
                     amendment_reason=person.story))
    course = make_course(db, clinic, patient=patient)
    course.start_on, course.baseline_on = base_day, base_day
    db.add(CourseStateChange(course_id=course.id, to_state=course.state, reason=person.story,
                             changed_at=at(base_day, 8)))
    seeded = Seeded(patient, person, base_day, course.id)
    weight_id = db.scalar(select(Measurement.id).where(Measurement.patient_id == patient.id))
    assert weight_id is not None
    for number, status in enumerate((SessionStatus.DISCHARGED, SessionStatus.ABORTED), 1):
        seeded.session_ids.append(_session(db, clinic, seeded, number * 2, status, weight_id))
    _ratings(db, clinic, seeded)
    _mood(db, seeded)
    db.add(Alert(patient_id=patient.id, kind=AlertKind.CSSRS_HIGH, severity=AlertSeverity.HIGH,
                 actions="same-day-review", reason=person.story, created_at=at(base_day, 11),
                 acknowledged_at=at(base_day, 11, 45), acknowledged_by_user_id=clinic.nurse.id,
                 action_note=person.story))
    db.flush()
    return seeded


def _session(db: Session, clinic: Clinic, seeded: Seeded, day_offset: int,
             status: SessionStatus, weight_id: int) -> int:
    day, story = seeded.base_day + timedelta(days=day_offset), seeded.person.story
    aborted = status is SessionStatus.ABORTED
    record = InfusionSession(
        course_id=seeded.course_id, patient_id=seeded.patient.id, status=status,
        opened_at=at(day, 9), opened_by_user_id=clinic.nurse.id, prechecks_at=at(day, 9, 2),
        started_at=at(day, 9, 10), ended_at=at(day, 9, 50),
        discharged_at=None if aborted else at(day, 10, 50),
        aborted_at=at(day, 9, 55) if aborted else None, abort_reason=story if aborted else None)
    db.add(record)
    db.flush()
    db.add(InfusionOrder(
        session_id=record.id, drug="ketamine_hcl", lot_number="LOT-RX-1", expiry_date=day,
        concentration_mg_per_ml=1.0, concentration_salt=SaltForm.BASE, dose_salt=SaltForm.BASE,
        dose_mg_per_kg=0.5, dose_mg=35.0, dose_mg_base=35.0, dosing_weight_kg=70.0,
        weight_measurement_id=weight_id, duration_min=40.0, volume_ml=35.0, rate_ml_per_h=52.5,
        delivered_dose_mg=35.0, override_reason=story, signed_at=at(day, 9, 5),
        signed_by_user_id=clinic.prescriber.id))
    for minutes, sbp in ((0, 122.0), (20, 141.0), (45, 133.0)):
        db.add(VitalsRecord(session_id=record.id, taken_at=at(day, 9, 10) + timedelta(
            minutes=minutes), sbp_mmhg=sbp, dbp_mmhg=80.0, hr_bpm=74.0, spo2_percent=98.0,
            rr_per_min=14.0, rass=0, recorded_by_user_id=clinic.nurse.id))
    db.add_all([
        SessionEvent(session_id=record.id, kind=EventKind.CADSS6, occurred_at=at(day, 9, 40),
                     total=9, detail={"said": story}, recorded_by_user_id=clinic.nurse.id),
        SessionEvent(session_id=record.id, kind=EventKind.ADVERSE_EVENT, serious=True,
                     occurred_at=at(day, 9, 45), reason=story, detail={"description": story},
                     recorded_by_user_id=clinic.nurse.id),
        SessionNote(session_id=record.id, kind=NoteKind.NOTE, body=story,
                    created_at=at(day, 10), created_by_user_id=clinic.nurse.id),
        SessionAlert(session_id=record.id, level=AlertLevel.REVIEW, code="sbp-high",
                     field="sbp_mmhg", message=story, raised_at=at(day, 9, 30),
                     action_taken=story),
    ])
    if not aborted:
        db.add(Discharge(session_id=record.id, aldrete_answers={}, aldrete_total=10,
                         padss_answers={}, padss_total=9, scales_version="1",
                         escort_confirmed=True, no_driving_advice_given=True,
                         ready_at=at(day, 10, 45), override_reason=story,
                         discharged_at=at(day, 10, 50), recorded_by_user_id=clinic.nurse.id))
    db.flush()
    return record.id


def _ratings(db: Session, clinic: Clinic, seeded: Seeded) -> None:
    pid, base = seeded.patient.id, seeded.base_day
    staff = assessments.Rater.staff(clinic.prescriber.id)
    first = assessments.record_assessment(db, SYSTEM, patient_id=pid, instrument_id="madrs",
                                          answers=madrs(32), rater=staff,
                                          rated_at=at(base, 8, 30), course_id=seeded.course_id)
    assessments.amend_assessment(db, SYSTEM, assessment_id=first.id, answers=madrs(30),
                                 reason=seeded.person.story, rater=staff,
                                 rated_at=at(base, 8, 30))
    assessments.record_assessment(db, SYSTEM, patient_id=pid, instrument_id="madrs",
                                  answers=madrs(14), rater=staff,
                                  rated_at=at(base + timedelta(days=WINDOW_DAYS - 1), 8, 30),
                                  course_id=seeded.course_id)


def _mood(db: Session, seeded: Seeded) -> None:
    story = seeded.person.story
    for offset in range(WINDOW_DAYS):
        day = seeded.base_day + timedelta(days=offset)
        db.add(MoodEntry(patient_id=seeded.patient.id, day=day, depressed=2, elevated=0,
                         irritable=1, anxious=1, sleep_h=6.5, life_event=story,
                         life_event_impact=-2, note=story, source="patient",
                         recorded_at=at(day, 20)))
    db.add(MoodEntry(patient_id=seeded.patient.id, day=seeded.base_day, depressed=3,
                     elevated=3, irritable=3, anxious=3, note=story, source="clinician",
                     entered_in_error_at=at(seeded.base_day, 21),
                     entered_in_error_reason=story))
    db.flush()


def people(base_day: date) -> list[Person]:
    """Three patients: 42, 95 and 89 years old on `base_day` (ages over 89 are grouped)."""
    return [
        Person("Zebulon", "Quixworth", "MRN-ZQ-4417", date(1984, 7, 29), "+1 555 013 7789",
               "zebulon.quixworth@example.test", "17 Quillfeather Lane", "Marrowbyton",
               "ZX9 8QW", "Ottoline Brackenbury", "+1 555 014 2231", "Dr Peregrine Holloway",
               onset_date=date(2003, 5, 1), sex=Sex.MALE),
        Person("Hermengilda", "Vantongeren", "MRN-HV-9051", date(1931, 3, 17),
               "+44 20 7946 0958", "h.vantongeren@example.test", "3 Wyvernstall Road",
               "Kettleburgh Magna", "QK4 7YY", "Barnabus Featherstonehaugh", "+44 20 7946 0321",
               "Dr Isadora Penhaligon", onset_date=date(1950, 5, 1)),
        Person("Lysander", "Achterberg", "MRN-LA-2288", _born_89_on(base_day),
               "+1 555 019 4455", "lysander.a@example.test", "88 Gorsewick Close",
               "Thistlemere", "VB2 6HN", "Clementine Ashdown", "+1 555 019 9001",
               "Dr Ambrose Kittering"),
    ]


def _born_89_on(day: date) -> date:
    """A birth date making someone 89 on `day`, the last day before their 90th birthday."""
    return date(day.year - 90, day.month, day.day) + timedelta(days=1) if not (
        day.month == 2 and day.day == 29) else date(day.year - 90, 3, 1)
