"""A hand-made June 2026 in New York (UTC-4 in June) whose every monthly-report number is
known, worked out by hand in the comments below (the tests assert these numbers, never what
the code computes).

Sites N and S. Infusions at 10:00 UTC (06:00 in New York) unless said otherwise:
- A (N): six infusions June 3-14 (induction 1-6, completed); MADRS 30 -> 12 (response).
- B (N): induction in May; maintenance infusions 7 and 8 on June 10 and 24.
- C (S): induction May 26 - June 6, infusions 4-6 in June; MADRS 34 -> 9 (remission).
- D (S): infusions 1-2 on June 28 and 30 (still in induction); one session aborted June 29.
- E (no site): one infusion at 02:00 UTC on July 1 = June 30, 22:00 in New York: June.
- F (no site): one infusion at 03:00 UTC on June 1 = May 31, 23:00 in New York: May.
- G (N): stopped after two infusions (June 8, 10), the second stopped early; no ratings.

June in New York, all sites: 16 infusions (N 10, S 5, no site 1), 2 maintenance, courses
started 4 (A, D, E, G), inductions completed 2 (A, C), 1 stopped early, 1 aborted; by week
6, 6, 0, 2, 2. New patients: A (June 2), D (June 27), E (03:00 UTC July 1) = 3; F (02:00 UTC
June 1) is May's. Adverse events 3 (1 serious: chest pain and dyspnoea; 1 severe headache; 1
with no red-flag symptom), BP alerts review 1 hold 1 (the spo2 stop alert is not BP; F's
hold is May's), rescue medication 3 (ondansetron 2, labetalol 1), two discharges 10 and 30
minutes after the end of observation (one overridden). Inductions ended in June: A, C, G (3);
MADRS with baseline 2, rated at the end 2, responders 2, remitters 1. Ledger: 1000 mg opening,
500 received, 50 drawn, 35 administered, 15 wasted, balance 1450 mg; 16 sessions reconciled,
1 flagged (A's first: 35 mg administered, the record shows no order delivered).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.booking.models import Site
from ketaflow.clinical.course_plan import CourseState
from ketaflow.infusions.controlled.models import LedgerRow
from ketaflow.infusions.models import (
    Discharge,
    EventKind,
    InfusionSession,
    SessionAlert,
    SessionEvent,
)
from ketaflow.infusions.rules import AlertLevel, EntryKind, SessionStatus
from ketaflow.patients.models import Patient
from tests.infusions.factories import ALDRETE_OK, PADSS_OK
from tests.outcomes.factories import Course, course, make_clinic, rate, site

ZONE = "America/New_York"
MONTH = "2026-06"
LOT = "LOT-JUNE"


def at(day: str, hour: int = 10, minute: int = 0) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, minute=minute, tzinfo=UTC)


@dataclass
class June:
    north: Site
    south: Site
    a: Course
    c: Course
    g: Course


def _session(db: Session, c: Course, moment: datetime) -> InfusionSession:
    row = InfusionSession(course_id=c.row.id, patient_id=c.row.patient_id,
                          status=SessionStatus.DISCHARGED, opened_at=moment, started_at=moment,
                          ended_at=moment + timedelta(minutes=40),
                          discharged_at=moment + timedelta(minutes=100))
    db.add(row)
    db.flush()
    return row


def _sessions(db: Session, c: Course) -> list[InfusionSession]:
    return list(db.scalars(select(InfusionSession).where(
        InfusionSession.course_id == c.row.id, InfusionSession.started_at.is_not(None))
        .order_by(InfusionSession.started_at)))


def _event(db: Session, record: InfusionSession, kind: EventKind, *, serious: bool = False,
           reason: str | None = None, **detail: object) -> None:
    assert record.started_at is not None
    db.add(SessionEvent(session_id=record.id, kind=kind, serious=serious, reason=reason,
                        occurred_at=record.started_at + timedelta(minutes=20), detail=detail))


def _alert(db: Session, record: InfusionSession, level: AlertLevel, field: str) -> None:
    db.add(SessionAlert(session_id=record.id, level=level, code=f"test-{level.value}",
                        field=field, message="test alert"))


def _discharge(db: Session, record: InfusionSession, minutes_late: int,
               override: str | None = None) -> None:
    assert record.ended_at is not None
    ready = record.ended_at + timedelta(minutes=60)
    db.add(Discharge(session_id=record.id, aldrete_answers=ALDRETE_OK, aldrete_total=10,
                     padss_answers=PADSS_OK, padss_total=8, scales_version="1",
                     escort_confirmed=True, no_driving_advice_given=True, ready_at=ready,
                     override_reason=override,
                     discharged_at=ready + timedelta(minutes=minutes_late)))


def _ledger(db: Session, staff_id: int, kind: EntryKind, amount: float, when: datetime,
            session_id: int | None = None) -> None:
    db.add(LedgerRow(kind=kind, lot_number=LOT, amount_mg=amount, session_id=session_id,
                     staff_user_id=staff_id, recorded_at=when,
                     **({"drug": "ketamine_hcl", "concentration_mg_per_ml": 50.0,
                         "expiry_date": datetime(2027, 12, 31).date()}
                        if kind is EntryKind.RECEIVED else {})))


def june(db: Session) -> June:
    clinic = make_clinic(db)
    north, south = site(db, "N"), site(db, "S")
    a = course(db, clinic, first=at("2026-06-03"), site=north)
    b = course(db, clinic, first=at("2026-05-20"), site=north,
               state=CourseState.MAINTENANCE)
    for day in ("2026-06-10", "2026-06-24"):
        _session(db, b, at(day))
    c = course(db, clinic, first=at("2026-05-26"), site=south)
    d = course(db, clinic, first=at("2026-06-28"), given=2, site=south)
    db.add(InfusionSession(course_id=d.row.id, patient_id=d.row.patient_id,
                           status=SessionStatus.ABORTED, opened_at=at("2026-06-29", 14),
                           aborted_at=at("2026-06-29", 15), abort_reason="unwell"))
    e = course(db, clinic, first=at("2026-07-01", 2), given=1)
    f = course(db, clinic, first=at("2026-06-01", 3), given=1)
    g = course(db, clinic, first=at("2026-06-08"), given=2, site=north,
               state=CourseState.STOPPED)
    registered = {a.row.patient_id: at("2026-06-02"), d.row.patient_id: at("2026-06-27"),
                  e.row.patient_id: at("2026-07-01", 3), f.row.patient_id: at("2026-06-01", 2)}
    for made in (a, b, c, d, e, f, g):
        patient = db.get(Patient, made.row.patient_id)
        assert patient is not None
        patient.created_at = registered.get(made.row.patient_id, at("2026-04-01"))
    rate(db, a, 30, at("2026-06-02"))
    rate(db, a, 12, at("2026-06-15"))
    rate(db, c, 34, at("2026-05-25"))
    rate(db, c, 9, at("2026-06-07"))

    a1, a2, a3 = _sessions(db, a)[:3]
    c4 = _sessions(db, c)[3]
    b7 = _sessions(db, b)[6]
    d1 = _sessions(db, d)[0]
    g2 = _sessions(db, g)[1]
    f1 = _sessions(db, f)[0]
    _event(db, a1, EventKind.ADVERSE_EVENT, reason="felt faint", seriousness="non_serious",
           symptoms=[])
    _event(db, c4, EventKind.ADVERSE_EVENT, serious=True, reason="chest tightness",
           seriousness="serious", symptoms=["chest_pain", "dyspnoea"])
    _event(db, b7, EventKind.ADVERSE_EVENT, reason="headache", seriousness="non_serious",
           symptoms=["severe_headache"])
    _event(db, f1, EventKind.ADVERSE_EVENT, reason="may", seriousness="non_serious",
           symptoms=[])
    _alert(db, a2, AlertLevel.HOLD, "sbp_mmhg")
    _alert(db, a3, AlertLevel.REVIEW, "sbp_mmhg")
    _alert(db, c4, AlertLevel.STOP, "spo2_percent")
    _alert(db, f1, AlertLevel.HOLD, "sbp_mmhg")
    for record, name in ((a1, "Ondansetron"), (d1, "Ondansetron"), (c4, "Labetalol")):
        _event(db, record, EventKind.RESCUE_MEDICATION, reason="nausea", name=name,
               medication=name.lower(), dose_mg=4.0, route="IV")
    _event(db, g2, EventKind.STATUS, action="stop", early=True)
    _event(db, a2, EventKind.STATUS, action="stop", early=False)
    _discharge(db, a1, 10)
    _discharge(db, c4, 30, override="escort waiting; PADSS 8 after review")

    staff = clinic.nurse.id
    _ledger(db, staff, EntryKind.RECEIVED, 1000, at("2026-05-15"))
    _ledger(db, staff, EntryKind.RECEIVED, 500, at("2026-06-05"))
    _ledger(db, staff, EntryKind.DRAWN, 50, at("2026-06-03", 10, 5), a1.id)
    _ledger(db, staff, EntryKind.ADMINISTERED, 35, at("2026-06-03", 10, 50), a1.id)
    _ledger(db, staff, EntryKind.WASTED, 15, at("2026-06-03", 10, 55), a1.id)
    db.flush()
    return June(north, south, a, c, g)


CLINIC_NAME = "Hudson Ketamine Clinic"


def new_york_clinic(db: Session) -> None:
    """The clinic profile with its zone, so the pages and the CLI count June as above."""
    from ketaflow.clinic.models import ClinicProfile

    db.add(ClinicProfile(name=CLINIC_NAME, timezone=ZONE))
    db.flush()
