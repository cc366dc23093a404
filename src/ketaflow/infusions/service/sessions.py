"""Opening a session, pre-checks, the signed order, and moving through the state machine."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ketaflow.alerts import service as alerts_service
from ketaflow.alerts.models import Alert
from ketaflow.assessments import service as assessments_service
from ketaflow.assessments.models import Assessment
from ketaflow.audit.service import AuditContext
from ketaflow.clinic.service import service_timezone
from ketaflow.clinical.course_plan import CourseState
from ketaflow.courses.models import TreatmentCourse
from ketaflow.dosing import SaltForm, WeightBasedOrder, calculate_dose
from ketaflow.errors import Conflict, NotFound, ValidationFailed
from ketaflow.infusions.controlled import lots
from ketaflow.infusions.formulary import INFUSION_DRUGS_BY_KEY, InfusionDrug
from ketaflow.infusions.models import EventKind, InfusionOrder, InfusionSession, SessionEvent
from ketaflow.infusions.rules import (
    InfusionSettings,
    OpenAlert,
    OrderDetails,
    PrecheckInput,
    PregnancyTest,
    Problem,
    SessionAction,
    SessionStatus,
    VitalsReading,
    check_rate_change,
    check_resume,
    check_stop,
    is_early_stop,
    missing_prechecks,
    require_duration,
    require_supersede_reason,
    transition,
)
from ketaflow.infusions.rules.labels import worded
from ketaflow.infusions.rules.reconciliation import LotStock, check_order_lot, unknown_lot
from ketaflow.infusions.service._common import (
    audit,
    checked,
    clinic_limits,
    clinic_settings,
    load_session,
    now,
    optional_text,
    positive,
    require_prescriber,
    required_text,
)
from ketaflow.infusions.summary import current_order as current_order  # noqa: PLC0414 (re-export)
from ketaflow.infusions.summary import session_delivery
from ketaflow.patients.models import Measurement

OPEN_COURSE_STATES = (CourseState.PLANNED, CourseState.ACTIVE, CourseState.MAINTENANCE)


def open_session(db: Session, ctx: AuditContext, *, course_id: int) -> InfusionSession:
    """Open the course's next session: one open (not discharged or aborted) at a time, checked
    here for the message and held by the database's partial unique index against races."""
    course = db.get(TreatmentCourse, course_id)
    if course is None:
        raise NotFound("no such treatment course", field="course_id")
    if course.state not in OPEN_COURSE_STATES:
        raise Conflict(f"the course is {course.state.value}: no new sessions", field="course_id")
    _refuse_second_open(db, course.id)
    record = InfusionSession(course_id=course.id, patient_id=course.patient_id,
                             opened_by_user_id=ctx.actor_user_id, opened_at=now())
    try:
        # Added inside the savepoint: begin_nested() flushes what is pending first, outside
        # it, and a refused insert there would end the whole transaction.
        with db.begin_nested():
            db.add(record)
            db.flush()
    except IntegrityError as error:
        raise Conflict("another session was opened on this course at the same moment: "
                       "finish or abort it first", field="course_id") from error
    audit(db, ctx, "infusion.session.open", record.id, course_id=course.id)
    return record


def _refuse_second_open(db: Session, course_id: int) -> None:
    open_id = db.scalar(select(InfusionSession.id).where(
        InfusionSession.course_id == course_id,
        InfusionSession.status.not_in([s for s in SessionStatus if s.is_final])))
    if open_id is not None:
        raise Conflict(f"session {open_id} is still open on this course: discharge or abort "
                       "it before opening another", field="course_id")


def get_session(db: Session, ctx: AuditContext, *, session_id: int) -> InfusionSession:
    """Read a session (audited: it is part of the patient's record)."""
    record = load_session(db, session_id)
    audit(db, ctx, "infusion.session.read", record.id)
    return record


def sessions_for_course(db: Session, ctx: AuditContext, *, course_id: int
                        ) -> list[InfusionSession]:
    records = list(db.scalars(select(InfusionSession).where(
        InfusionSession.course_id == course_id).order_by(InfusionSession.id)))
    record_ids = [r.id for r in records]
    audit(db, ctx, "infusion.session.list", 0, course_id=course_id, session_ids=record_ids)
    return records


@dataclass(frozen=True)
class PrecheckChanges:
    """Pre-check answers to set; None leaves an answer as it is."""

    identity_confirmed: bool | None = None
    consent_current: bool | None = None
    fasting_confirmed: bool | None = None
    escort_confirmed: bool | None = None
    transport_confirmed: bool | None = None
    pregnancy_test: PregnancyTest | None = None
    bp_reviewed: bool | None = None


_ANSWERS = ("identity_confirmed", "consent_current", "fasting_confirmed", "escort_confirmed",
            "transport_confirmed", "pregnancy_test")
SELF_REPORT_CHECK = "self_report"
OVERRIDE_REASON_MAX_LENGTH = 500


def update_prechecks(db: Session, ctx: AuditContext, *, session_id: int,
                     changes: PrecheckChanges) -> InfusionSession:
    record = load_session(db, session_id)
    if record.status is not SessionStatus.PRECHECKS:
        raise Conflict(f"pre-checks can be changed only during pre-checks (the session "
                               f"is {record.status.value})", field="status")
    changed = [name for name in _ANSWERS if getattr(changes, name) is not None]
    for name in changed:
        setattr(record, name, getattr(changes, name))
    if changes.bp_reviewed is not None:
        require_prescriber(ctx, "record the pre-infusion blood-pressure review")
        record.bp_reviewed_by_user_id = ctx.actor_user_id if changes.bp_reviewed else None
        changed.append("bp_reviewed")
    db.flush()
    audit(db, ctx, "infusion.prechecks.update", record.id, fields=changed)
    return record


def _pre_infusion_vitals(record: InfusionSession) -> VitalsReading | None:
    readings = [v for v in record.vitals if v.sbp_mmhg is not None
                and (record.started_at is None or v.taken_at <= record.started_at)]
    if not readings:
        return None
    last = readings[-1]
    return VitalsReading(last.taken_at, sbp_mmhg=last.sbp_mmhg, dbp_mmhg=last.dbp_mmhg)


def session_day(db: Session, moment: datetime) -> date:
    """The day a pre-check counts for: the moment's date in the clinic's time zone."""
    return moment.astimezone(ZoneInfo(service_timezone(db))).date()


@dataclass(frozen=True)
class PrecheckFacts:
    """The pre-checks the record answers (not tick-boxes), gathered for the rules and the page."""

    day: date
    self_reports: tuple[Assessment, ...]   # current self-reports rated on `day`, oldest first
    override: SessionEvent | None          # the latest documented reason to go without one
    patient_alerts: tuple[Alert, ...]      # open suicidality/switch alerts, oldest first


@dataclass(frozen=True)
class PrecheckStatus:
    facts: PrecheckFacts
    problems: tuple[Problem, ...]


def self_report_override(record: InfusionSession) -> SessionEvent | None:
    return next((e for e in reversed(record.events) if e.kind is EventKind.PRECHECK_OVERRIDE
                 and e.detail.get("check") == SELF_REPORT_CHECK), None)


def precheck_facts(db: Session, record: InfusionSession, *, day: date) -> PrecheckFacts:
    """Not audited here: `precheck_status` audits what it gathered."""
    return PrecheckFacts(
        day=day,
        self_reports=tuple(assessments_service.self_reports_on(
            db, patient_id=record.patient_id, day=day)),
        override=self_report_override(record),
        patient_alerts=tuple(alerts_service.open_patient_alerts(
            db, patient_id=record.patient_id)))


def precheck_problems(record: InfusionSession, facts: PrecheckFacts,
                      settings: InfusionSettings) -> tuple[Problem, ...]:
    """The pure rules applied to the session's answers and the gathered facts, with the
    settings in force."""
    order = current_order(record)
    details = None if order is None else OrderDetails(
        drug=order.drug, lot_number=order.lot_number, expiry_date=order.expiry_date,
        concentration_mg_per_ml=order.concentration_mg_per_ml, dose_mg=order.dose_mg,
        rate_ml_per_h=order.rate_ml_per_h, signed=order.signed_by_user_id is not None)
    checks = PrecheckInput(
        **{name: getattr(record, name) for name in _ANSWERS},
        pre_infusion_vitals=_pre_infusion_vitals(record),
        bp_review_by_prescriber=record.bp_reviewed_by_user_id is not None,
        self_report_found=bool(facts.self_reports),
        self_report_override_reason=None if facts.override is None else facts.override.reason,
        unacknowledged_alerts=sum(1 for a in record.alerts if a.acknowledged_at is None),
        open_patient_alerts=len(facts.patient_alerts),
        order=details)
    return missing_prechecks(checks, today=facts.day, settings=settings)


def precheck_status(db: Session, ctx: AuditContext, record: InfusionSession) -> PrecheckStatus:
    """Gather the facts for the session's day and apply the rules (audited: it reads the
    patient's assessments and alerts; ids only)."""
    facts = precheck_facts(db, record, day=session_day(db, now()))
    audit(db, ctx, "infusion.prechecks.check", record.id,
          assessment_ids=[a.id for a in facts.self_reports],
          alert_ids=[a.id for a in facts.patient_alerts],
          override_event_id=None if facts.override is None else facts.override.id)
    return PrecheckStatus(facts, precheck_problems(record, facts, clinic_settings(db, now())))


def override_self_report(db: Session, ctx: AuditContext, *, session_id: int,
                         reason: str) -> SessionEvent:
    """Record why the infusion goes ahead without today's self-report (e.g. the patient
    declined). Kept as a session event; the audit names the check, never the reason."""
    record = load_session(db, session_id)
    if record.status is not SessionStatus.PRECHECKS:
        raise Conflict("the self-report check can be overridden only during pre-checks",
                               field="status")
    text = required_text(reason, "reason", max_length=OVERRIDE_REASON_MAX_LENGTH)
    if assessments_service.self_reports_on(db, patient_id=record.patient_id,
                                           day=session_day(db, now())):
        raise ValidationFailed("a self-report rated today is on record: no override is needed",
                               field="reason")
    stamp = now()
    row = SessionEvent(session_id=record.id, kind=EventKind.PRECHECK_OVERRIDE, occurred_at=stamp,
                       reason=text, detail={"check": SELF_REPORT_CHECK},
                       recorded_by_user_id=ctx.actor_user_id, recorded_at=stamp)
    db.add(row)
    db.flush()
    audit(db, ctx, "infusion.prechecks.override", record.id, check=SELF_REPORT_CHECK,
          event_id=row.id)
    return row


@dataclass(frozen=True, kw_only=True)
class OrderInput:
    # A lot the controlled-substance ledger holds: its receipt gives the drug and the expiry.
    lot_number: str
    concentration_mg_per_ml: float  # what runs: the vials' strength undiluted, or a dilution
    # None: as the lot's receipt records it; given, it must match the receipt.
    drug: str | None = None
    expiry_date: date | None = None
    # No silent default: None (left empty) is refused, naming the field; the form pre-fills
    # the usual 40 min visibly instead.
    duration_min: float | None = None
    dose_mg_per_kg: float | None = None  # None: the course's dose
    concentration_salt: SaltForm = SaltForm.BASE
    override_reason: str | None = None
    # Required when a signed order is already in force: it is kept, superseded, in the history.
    supersede_reason: str | None = None


def formulary_drug(order: OrderInput) -> InfusionDrug:
    """The order's drug, concentration and salt as the clinic formulary lists them, or 422
    naming the field: never free text (see `ketaflow.infusions.formulary`)."""
    drug = INFUSION_DRUGS_BY_KEY.get((order.drug or "").strip())
    if drug is None:
        keys = ", ".join(INFUSION_DRUGS_BY_KEY)
        raise ValidationFailed(f"Drug must be one of the clinic formulary: {keys}", field="drug")
    allowed = drug.order_concentrations_mg_per_ml
    if not any(abs(order.concentration_mg_per_ml - c) <= 1e-9 for c in allowed):
        listed = ", ".join(f"{c:g}" for c in allowed)
        raise ValidationFailed(f"Concentration (mg/mL) for {drug.name} must be one of "
                               f"{listed} mg/mL (the clinic formulary)",
                               field="concentration_mg_per_ml")
    if order.concentration_salt is not drug.concentration_salt:
        raise ValidationFailed(f"{drug.name} is labelled as {drug.concentration_salt.value}: "
                               "the concentration must be stated as "
                               f"{drug.concentration_salt.value}",
                               field="concentration_salt")
    return drug


def _latest_weight(db: Session, patient_id: int) -> Measurement:
    measurement = db.scalar(
        select(Measurement)
        .where(Measurement.patient_id == patient_id, Measurement.weight_kg.is_not(None),
               Measurement.entered_in_error_at.is_(None))  # a weight made in error never doses
        .order_by(Measurement.measured_at.desc(), Measurement.id.desc()).limit(1))
    if measurement is None:
        raise ValidationFailed("no weight recorded for the patient: record one first",
                               field="weight_kg")
    return measurement


ORDER_STATES = (SessionStatus.PLANNED, SessionStatus.PRECHECKS, SessionStatus.RUNNING,
                SessionStatus.PAUSED)


def _same_bag(previous: InfusionOrder | None, order: OrderInput,
              record: InfusionSession) -> None:
    """During the infusion a new order changes the dose, duration or rate of the bag that is
    running, never its drug or concentration (that would be a new bag: stop and start anew)."""
    if previous is None or not record.status.infusing:
        return
    if order.drug != previous.drug:
        raise ValidationFailed("Drug: during the infusion a new order keeps the drug of the "
                               "bag that is running", field="drug")
    if abs(order.concentration_mg_per_ml - previous.concentration_mg_per_ml) > 1e-9:
        raise ValidationFailed(
            f"Concentration: during the infusion a new order keeps the running bag's "
            f"{previous.concentration_mg_per_ml:g} mg/mL", field="concentration_mg_per_ml")


def _with_lot(db: Session, record: InfusionSession, order: OrderInput
              ) -> tuple[OrderInput, LotStock, float]:
    """The lot the order names as the ledger holds it (422 if never received), the order with
    the drug its receipt records when none was given, and what this session has drawn from the
    lot and not yet administered or wasted (out of the lot's balance, still for this patient)."""
    if order.drug is not None:
        formulary_drug(order)  # a drug typed in is refused as such before its lot is looked up
    lot_number = required_text(order.lot_number, "lot_number", max_length=64)
    stock, own_open_mg = lots.lot_stock(db, lot_number, session_id=record.id)
    if stock is None:
        error = unknown_lot(lot_number)
        raise ValidationFailed(error.message, field=error.field)
    if order.drug is None:
        order = replace(order, drug=stock.drug)
    return order, stock, own_open_mg


def sign_order(db: Session, ctx: AuditContext, *, session_id: int,
               order: OrderInput) -> InfusionOrder:
    """Write and sign the order; the dose comes from the patient's latest weight. An order
    already in force is kept, superseded, and the new one says why (order history); during the
    infusion this is how a prescriber covers a faster rate."""
    require_prescriber(ctx, "sign an infusion order")
    record = load_session(db, session_id)
    if record.status not in ORDER_STATES:
        raise Conflict(f"the order can be written only before or during the infusion (the "
                       f"session is {record.status.value})", field="status")
    previous = current_order(record)
    order, stock, own_open_mg = _with_lot(db, record, order)
    drug = formulary_drug(order)
    _same_bag(previous, order, record)
    duration_min = checked(lambda: require_duration(order.duration_min))
    supersede_reason = checked(lambda: require_supersede_reason(
        optional_text(order.supersede_reason, "supersede_reason"),
        replaces=previous is not None))
    course = db.get(TreatmentCourse, record.course_id)
    assert course is not None  # foreign key
    weight = _latest_weight(db, record.patient_id)
    dose_mg_per_kg = positive(order.dose_mg_per_kg or course.dose_mg_per_kg, "dose_mg_per_kg")
    reason = optional_text(order.override_reason, "override_reason")
    result = checked(lambda: calculate_dose(WeightBasedOrder(
        weight_kg=weight.weight_kg or 0.0, dose_mg_per_kg=dose_mg_per_kg,
        duration_min=duration_min,
        concentration_mg_per_ml=positive(order.concentration_mg_per_ml,
                                         "concentration_mg_per_ml"),
        dose_salt=course.salt_form, concentration_salt=order.concentration_salt,
        override_reason=reason), clinic_limits(db, now())))
    if result.requires_override:
        raise ValidationFailed("; ".join(worded(w.message) for w in result.warnings)
                               + ": an override reason is needed", field="override_reason")
    if result.dose_mg > course.max_dose_mg:
        raise ValidationFailed("Dose (mg/kg) gives a dose above the course cap of "
                               f"{course.max_dose_mg:g} mg",
                               field="dose_mg_per_kg")
    # The ledger counts mg as labelled: the bag's volume at the order's concentration.
    lot = checked(lambda: check_order_lot(
        stock, lot_number=stock.lot_number, drug=drug.key,
        concentration_mg_per_ml=order.concentration_mg_per_ml, expiry_date=order.expiry_date,
        needed_mg=result.volume_ml * order.concentration_mg_per_ml, own_open_mg=own_open_mg,
        day=session_day(db, now())))
    assert lot.expiry_date is not None  # checked with the lot
    stamp = now()
    for previous in record.orders:
        if previous.superseded_at is None:
            previous.superseded_at = stamp
    signed = InfusionOrder(
        session_id=record.id, drug=drug.key,
        lot_number=lot.lot_number,
        expiry_date=lot.expiry_date, concentration_mg_per_ml=order.concentration_mg_per_ml,
        concentration_salt=order.concentration_salt, dose_salt=course.salt_form,
        dose_mg_per_kg=result.dose_mg_per_kg, dose_mg=result.dose_mg,
        dose_mg_base=result.dose_mg_base, dosing_weight_kg=result.dosing_weight_kg,
        weight_measurement_id=weight.id, duration_min=duration_min,
        volume_ml=result.volume_ml, rate_ml_per_h=result.rate_ml_per_h,
        delivered_dose_mg=result.delivered_dose_mg,
        warnings=[{"code": str(w.code), "field": w.field, "message": w.message}
                  for w in result.warnings],
        override_reason=reason, signed_at=stamp, signed_by_user_id=ctx.actor_user_id,
        supersedes_order_id=None if previous is None else previous.id,
        supersede_reason=supersede_reason)
    db.add(signed)
    db.flush()
    audit(db, ctx, "infusion.order.sign", record.id, order_id=signed.id,
          overridden=result.soft_limits_overridden,
          supersedes_order_id=None if previous is None else previous.id)
    return signed


def _set_active(db: Session, record: InfusionSession) -> None:
    """Claim the patient's one in-progress slot; the unique constraint decides races."""
    busy = db.scalar(select(InfusionSession.id).where(
        InfusionSession.active_patient_id == record.patient_id,
        InfusionSession.id != record.id))
    if busy is not None:
        raise Conflict(f"session {busy} is already in progress for this patient",
                       field="session_id")
    record.active_patient_id = record.patient_id
    try:
        with db.begin_nested():
            db.flush()
    except IntegrityError as error:
        raise Conflict("another session is already in progress for this patient",
                       field="session_id") from error


def _change_rate(db: Session, record: InfusionSession, rate_ml_per_h: float | None,
                 stamp: datetime) -> dict[str, object]:
    """Never above the signed order (with the clinic's tolerance); never faster under an open
    HOLD or STOP alert (`rules.rates`)."""
    order = current_order(record)
    assert order is not None  # the infusion started on one
    signed, current = order.rate_ml_per_h, record.rate_ml_per_h
    alerts, settings = open_alerts(record), clinic_settings(db, stamp)
    new_rate = checked(lambda: check_rate_change(
        new_rate_ml_per_h=rate_ml_per_h, current_rate_ml_per_h=current,
        signed_rate_ml_per_h=signed, open_alerts=alerts, settings=settings))
    record.rate_ml_per_h = new_rate
    return {"from_ml_per_h": current, "to_ml_per_h": new_rate, "order_id": order.id}


def _stop_detail(record: InfusionSession, reason: str | None, stamp: datetime
                 ) -> dict[str, object]:
    """An early stop needs a reason; the event keeps what had run."""
    order = current_order(record)
    if order is None:
        return {}
    given_ml, ordered_ml = session_delivery(record, order, until=stamp).volume_ml, order.volume_ml
    checked(lambda: check_stop(delivered_ml=given_ml, ordered_ml=ordered_ml, reason=reason))
    return {"delivered_ml": round(given_ml, 2),
            "early": is_early_stop(delivered_ml=given_ml, ordered_ml=ordered_ml)}


def _apply_effects(db: Session, ctx: AuditContext, record: InfusionSession,
                   action: SessionAction, reason: str | None, rate_ml_per_h: float | None,
                   stamp: datetime) -> dict[str, object]:
    detail: dict[str, object] = {}
    if action is SessionAction.BEGIN_PRECHECKS:
        record.prechecks_at = stamp
        _set_active(db, record)
    elif action is SessionAction.START:
        problems = precheck_status(db, ctx, record).problems
        if problems:
            raise ValidationFailed("cannot start: " + "; ".join(p.message for p in problems),
                                   field=problems[0].field)
        order = current_order(record)
        assert order is not None  # checked by precheck_problems
        record.started_at, record.rate_ml_per_h = stamp, order.rate_ml_per_h
        detail = {"rate_ml_per_h": order.rate_ml_per_h, "order_id": order.id}
    elif action is SessionAction.CHANGE_RATE:
        detail = _change_rate(db, record, rate_ml_per_h, stamp)
    elif action is SessionAction.RESUME:
        checked(lambda: check_resume(open_alerts(record)))
    elif action is SessionAction.STOP:
        detail = _stop_detail(record, reason, stamp)
        record.ended_at = stamp
    elif action is SessionAction.ABORT:
        record.aborted_at, record.abort_reason = stamp, reason
        record.active_patient_id = None
        if record.started_at is not None and record.ended_at is None:
            record.ended_at = stamp
    return detail


def open_alerts(record: InfusionSession) -> list[OpenAlert]:
    """The session's unacknowledged alerts, oldest first, as the rate rules read them."""
    return [OpenAlert(a.level, a.message) for a in record.alerts if a.acknowledged_at is None]


def apply_action(db: Session, ctx: AuditContext, *, session_id: int, action: SessionAction,
                 reason: str | None = None, rate_ml_per_h: float | None = None
                 ) -> InfusionSession:
    """Move the session along the state machine (discharge has its own use case)."""
    if action is SessionAction.DISCHARGE:
        raise ValidationFailed("discharge is recorded with the discharge assessment",
                               field="action")
    record = load_session(db, session_id)
    reason = optional_text(reason, "reason")
    before = record.status
    target = checked(lambda: transition(before, action, reason=reason))
    # One moment for the change and its event: the pump history (delivered dose) reads the
    # events, the session's times must agree with them.
    stamp = now()
    detail = _apply_effects(db, ctx, record, action, reason, rate_ml_per_h, stamp)
    record.status = target
    kind = EventKind.RATE_CHANGE if action is SessionAction.CHANGE_RATE else EventKind.STATUS
    db.add(SessionEvent(session_id=record.id, kind=kind, occurred_at=stamp, reason=reason,
                        detail={"action": action.value, "from": before.value,
                                "to": target.value, **detail},
                        recorded_by_user_id=ctx.actor_user_id))
    db.flush()
    audit(db, ctx, f"infusion.session.{action.value}", record.id, status=target.value)
    return load_session(db, session_id)
