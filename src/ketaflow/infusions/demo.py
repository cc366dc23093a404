"""Demo infusion sessions for `make run`: two completed sessions on each of the first active
courses, and one session in progress today, all built through the services.

Each session day starts with the patient's PHQ-9 through the portal, because the start needs a
self-report rated that day."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.assessments import service as assessments
from ketaflow.audit.service import AuditContext
from ketaflow.auth.models import StaffUser
from ketaflow.clinical.course_plan import CourseState
from ketaflow.config import Role
from ketaflow.courses.models import TreatmentCourse
from ketaflow.infusions import service
from ketaflow.infusions.controlled import service as ledger
from ketaflow.infusions.formulary import KETAMINE_HCL
from ketaflow.infusions.rules import EntryKind, PregnancyTest, SessionAction, VitalsReading
from ketaflow.infusions.service._common import clock_at, now
from ketaflow.scales import get_instrument

DEMO_LOT = "DEMO-KET-001"
_ALDRETE = {"activity": 2, "respiration": 2, "circulation": 2, "consciousness": 2,
            "oxygen_saturation": 2}
# A PHQ-9 totalling 10 with the last item (thoughts of self-harm) at 0, so it raises no alert.
_PHQ9 = dict(zip((item.id for item in get_instrument("phq9").asked_items),
                 (2, 2, 1, 1, 1, 1, 1, 1, 0), strict=True))
_PADSS = {"vital_signs": 2, "activity_mental_status": 2, "pain_nausea_vomiting": 2,
          "intake_output": 2}
# (minutes from start, SBP, DBP, HR): the usual rise to a peak near 40 minutes.
_CURVE = ((10, 128, 82, 76), (20, 134, 86, 78), (30, 139, 88, 80), (40, 144, 90, 82),
          (55, 136, 86, 78), (70, 130, 82, 74), (85, 126, 80, 72), (101, 124, 79, 70))


def _ctx(db: Session, role: Role, base: AuditContext) -> AuditContext:
    user = db.scalar(select(StaffUser).where(StaffUser.role == role).order_by(StaffUser.id))
    if user is None:
        return base
    return base.as_user(user.id, user.username, role.value)


def _vitals(db: Session, ctx: AuditContext, session_id: int, at: datetime,
            sbp: float, dbp: float, hr: float) -> None:
    with clock_at(at):
        service.record_vitals(db, ctx, session_id=session_id, reading=VitalsReading(
            at, sbp_mmhg=sbp, dbp_mmhg=dbp, hr_bpm=hr, spo2_percent=98, rr_per_min=14,
            rass=0 if hr < 80 else -1))


def _self_report(db: Session, ctx: AuditContext, course_id: int, at: datetime) -> None:
    course = db.get(TreatmentCourse, course_id)
    assert course is not None
    assessments.record_assessment(db, ctx, patient_id=course.patient_id, instrument_id="phq9",
                                  answers=_PHQ9, rater=assessments.Rater.portal(), rated_at=at)


def _run(db: Session, nurse: AuditContext, prescriber: AuditContext, course_id: int,
         opened: datetime, *, finish: bool, portal: AuditContext, short_mg: float = 0.0) -> int:
    """`short_mg`: that much of the drawn drug is logged as wasted rather than administered,
    though the pump record shows the whole dose delivered: the ledger balances, and the
    reconciliation report flags administered against delivered."""
    # Twenty minutes before opening, but on the (UTC) day the infusion starts: the start's
    # pre-check counts that day's self-reports, and just after midnight opening was yesterday.
    start = opened + timedelta(minutes=10)
    day_start = start.replace(hour=0, minute=0, second=0, microsecond=0)
    _self_report(db, portal, course_id, max(opened - timedelta(minutes=20), day_start))
    with clock_at(opened):
        record = service.open_session(db, nurse, course_id=course_id)
        service.apply_action(db, nurse, session_id=record.id,
                             action=SessionAction.BEGIN_PRECHECKS)
        service.update_prechecks(db, nurse, session_id=record.id, changes=service.PrecheckChanges(
            identity_confirmed=True, consent_current=True, fasting_confirmed=True,
            escort_confirmed=True, transport_confirmed=True,
            pregnancy_test=PregnancyTest.NOT_APPLICABLE))
        service.record_vitals(db, nurse, session_id=record.id, reading=VitalsReading(
            opened, sbp_mmhg=124, dbp_mmhg=80, hr_bpm=72, spo2_percent=98))
        # The lot from the inventory: drug and expiry come from its receipt.
        order = service.sign_order(db, prescriber, session_id=record.id, order=service.OrderInput(
            drug=KETAMINE_HCL.key, lot_number=DEMO_LOT, concentration_mg_per_ml=1.0,
            duration_min=40.0))
    with clock_at(start):
        service.apply_action(db, nurse, session_id=record.id, action=SessionAction.START)
        ledger.record_entry(db, nurse, entry=ledger.EntryInput(
            EntryKind.DRAWN, DEMO_LOT, order.dose_mg, session_id=record.id))
    for minutes, sbp, dbp, hr in _CURVE if finish else _CURVE[:2]:
        if start + timedelta(minutes=minutes) > now():
            break
        if minutes == 55:
            # Stopped when the ordered 40 minutes have run (the pump's volume is in).
            with clock_at(start + timedelta(minutes=40)):
                service.apply_action(db, nurse, session_id=record.id, action=SessionAction.STOP)
                service.apply_action(db, nurse, session_id=record.id,
                                     action=SessionAction.BEGIN_OBSERVATION)
                service.record_cadss6(db, nurse, session_id=record.id, answers={
                    "slow_motion": 1, "unreality": 2, "body_disconnection": 1,
                    "body_change": 1, "spacing_out": 2, "observer_item_22": 1})
                ledger.administer(db, nurse, lot_number=DEMO_LOT,
                                  amount_mg=order.dose_mg - short_mg, session_id=record.id)
                if short_mg:
                    # Witnessed by the demo prescriber (no one to type a password: confirmed).
                    ledger.record_entry(db, nurse, witness_confirmed=True, entry=ledger.EntryInput(
                        EntryKind.WASTED, DEMO_LOT, short_mg, session_id=record.id,
                        witness_user_id=prescriber.actor_user_id))
        _vitals(db, nurse, record.id, start + timedelta(minutes=minutes), sbp, dbp, hr)
    if finish:
        with clock_at(start + timedelta(minutes=103)):
            service.discharge_patient(db, nurse, session_id=record.id,
                                      form=service.DischargeForm(_ALDRETE, _PADSS, True, True))
            service.draft_note(db, nurse, session_id=record.id)
            service.sign_note(db, prescriber, session_id=record.id)
    return record.id


def seed_sessions(db: Session, ctx: AuditContext, *, courses: int = 3) -> list[int]:
    """Completed sessions 7 and 3 days ago on the first active courses, and one in progress
    (started 25 minutes ago) on the first. Returns the session ids; nothing without courses."""
    found = list(db.scalars(select(TreatmentCourse).where(
        TreatmentCourse.state == CourseState.ACTIVE).order_by(TreatmentCourse.id)
        .limit(courses)))
    if not found:
        return []
    nurse, prescriber = _ctx(db, Role.NURSE, ctx), _ctx(db, Role.PRESCRIBER, ctx)
    current = now()
    with clock_at(current - timedelta(days=8)):
        # Stock as it is delivered: four 10 mL vials of 50 mg/mL (2000 mg); the orders' 1 mg/mL
        # is the infusion bag the drawn drug is diluted into. The demo prescriber witnesses;
        # seeding has nobody to type a password, so the receipt is recorded as confirmed.
        receipt = ledger.receipt_entry(db, ledger.Receipt(
            DEMO_LOT, KETAMINE_HCL.key, (current + timedelta(days=365)).date(),
            concentration_mg_per_ml=50.0, vial_count=4, vial_volume_ml=10.0),
            witness_id=prescriber.actor_user_id)
        ledger.record_entry(db, nurse, entry=receipt, witness_confirmed=True)
    ids = []
    for course in found:
        for days in (7, 3):
            opened = (current - timedelta(days=days)).replace(hour=9, minute=0, second=0,
                                                              microsecond=0)
            # The first course's latest session: 5 mg logged as wasted that the pump delivered.
            short = 5.0 if course is found[0] and days == 3 else 0.0
            ids.append(_run(db, nurse, prescriber, course.id, opened, finish=True,
                            portal=ctx, short_mg=short))
    ids.append(_run(db, nurse, prescriber, found[0].id, current - timedelta(minutes=35),
                    finish=False, portal=ctx))
    return ids


def seed_given_infusions(db: Session, ctx: AuditContext, *, course_id: int,
                         days: list[date]) -> list[int]:
    """A completed (discharged) session at 09:00 UTC on each of `days`, on the demo lot (after
    `seed_sessions`, which stocks it): the induction behind a maintenance course."""
    nurse, prescriber = _ctx(db, Role.NURSE, ctx), _ctx(db, Role.PRESCRIBER, ctx)
    return [_run(db, nurse, prescriber, course_id, datetime.combine(day, time(9), UTC),
                 finish=True, portal=ctx) for day in days]


# The clinic day: one session in each state, today, for `make run` at any hour. Times are
# minutes before now; a session that needs more of the day than has passed since the clinic's
# midnight (the discharged one takes about two hours) simply began yesterday evening.
_STOP_EARLY_REASON = "nausea and dizziness at 24 min; prescriber advised stopping"


def _prepared(db: Session, nurse: AuditContext, prescriber: AuditContext, course_id: int,
              opened: datetime, *, portal: AuditContext) -> int:
    """A session opened at `opened` with every pre-check done and the order signed."""
    day_start = opened.replace(hour=0, minute=0, second=0, microsecond=0)
    _self_report(db, portal, course_id, max(opened - timedelta(minutes=20), day_start))
    with clock_at(opened):
        record = service.open_session(db, nurse, course_id=course_id)
        service.apply_action(db, nurse, session_id=record.id,
                             action=SessionAction.BEGIN_PRECHECKS)
        service.update_prechecks(db, nurse, session_id=record.id, changes=service.PrecheckChanges(
            identity_confirmed=True, consent_current=True, fasting_confirmed=True,
            escort_confirmed=True, transport_confirmed=True,
            pregnancy_test=PregnancyTest.NOT_APPLICABLE))
        service.record_vitals(db, nurse, session_id=record.id, reading=VitalsReading(
            opened, sbp_mmhg=122, dbp_mmhg=78, hr_bpm=70, spo2_percent=98))
        service.sign_order(db, prescriber, session_id=record.id, order=service.OrderInput(
            drug=KETAMINE_HCL.key, lot_number=DEMO_LOT, concentration_mg_per_ml=1.0,
            duration_min=40.0))  # the expiry comes from the lot's receipt
    return record.id


def _started(db: Session, nurse: AuditContext, session_id: int, start: datetime,
             curve: tuple[tuple[int, float, float, float], ...]) -> None:
    """Start the pump at `start` (the drug drawn from the lot) and chart `curve`'s readings."""
    with clock_at(start):
        service.apply_action(db, nurse, session_id=session_id, action=SessionAction.START)
        order = service.current_order(service.load_session(db, session_id))
        assert order is not None
        ledger.record_entry(db, nurse, entry=ledger.EntryInput(
            EntryKind.DRAWN, DEMO_LOT, order.dose_mg, session_id=session_id))
    for minutes, sbp, dbp, hr in curve:
        _vitals(db, nurse, session_id, start + timedelta(minutes=minutes), sbp, dbp, hr)


def _act(db: Session, ctx: AuditContext, session_id: int, at: datetime, action: SessionAction,
         reason: str | None = None) -> None:
    with clock_at(at):
        service.apply_action(db, ctx, session_id=session_id, action=action, reason=reason)


def _day_session(db: Session, staff: tuple[AuditContext, AuditContext, AuditContext],
                 course_id: int, state: str, current: datetime) -> int:
    """One session of the clinic day in `state`, as the chair would have charted it."""
    nurse, prescriber, portal = staff
    if state == "planned":
        with clock_at(current - timedelta(minutes=5)):
            return service.open_session(db, nurse, course_id=course_id).id
    minutes_ago = {"prechecks": 15, "paused-hold": 22, "overrun": 46, "stopped-early": 30,
                   "observation": 75}[state]
    start = current - timedelta(minutes=minutes_ago)
    session_id = _prepared(db, nurse, prescriber, course_id, start - timedelta(minutes=10),
                           portal=portal)
    if state == "prechecks":
        return session_id
    if state == "paused-hold":
        # A severe BP, then the repeat: HOLD; the nurse paused and the prescriber is called.
        _started(db, nurse, session_id, start, ((10, 130, 84, 76), (18, 184, 112, 88),
                                                (20, 186, 114, 90)))
        _act(db, nurse, session_id, start + timedelta(minutes=21), SessionAction.PAUSE)
    elif state == "overrun":
        # The pump was never stopped at 40 minutes: the overrun alarm is raised (once).
        _started(db, nurse, session_id, start, _CURVE[:4])
        service.raise_overruns(db, nurse, service.load_session(db, session_id), at=current)
    elif state == "stopped-early":
        _started(db, nurse, session_id, start, _CURVE[:2])
        _act(db, nurse, session_id, start + timedelta(minutes=24), SessionAction.STOP,
             _STOP_EARLY_REASON)
    elif state == "observation":
        _started(db, nurse, session_id, start, _CURVE[:4])
        _act(db, nurse, session_id, start + timedelta(minutes=40), SessionAction.STOP)
        _act(db, nurse, session_id, start + timedelta(minutes=40),
             SessionAction.BEGIN_OBSERVATION)
        for minutes, sbp, dbp, hr in _CURVE[4:6]:
            _vitals(db, nurse, session_id, start + timedelta(minutes=minutes), sbp, dbp, hr)
    return session_id


CLINIC_DAY = ("planned", "prechecks", "running", "paused-hold", "overrun", "stopped-early",
              "observation", "discharged")


def seed_clinic_day(db: Session, ctx: AuditContext, courses: list[TreatmentCourse]
                    ) -> dict[str, int]:
    """Today's sessions in each state of `CLINIC_DAY`, one per course (each its own patient,
    who can be in one session at a time), relative to now; returns the session ids by state.
    Runs after `seed_sessions`, whose lot it draws from."""
    nurse, prescriber = _ctx(db, Role.NURSE, ctx), _ctx(db, Role.PRESCRIBER, ctx)
    current = now()
    ids: dict[str, int] = {}
    for state, course in zip(CLINIC_DAY, courses, strict=False):
        if state == "running":  # started 15 minutes ago, as `seed_sessions` runs one
            ids[state] = _run(db, nurse, prescriber, course.id,
                              current - timedelta(minutes=25), finish=False, portal=ctx)
        elif state == "discharged":  # the whole session, finished minutes ago
            ids[state] = _run(db, nurse, prescriber, course.id,
                              current - timedelta(minutes=118), finish=True, portal=ctx)
        else:
            ids[state] = _day_session(db, (nurse, prescriber, ctx), course.id, state, current)
    return ids
