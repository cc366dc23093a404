"""Discharge and the session note (generated, signed by the prescriber, then locked)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session

from ketaflow.audit.service import AuditContext
from ketaflow.booking.appointments import NextVisit, next_visit
from ketaflow.clinic import service as clinic_service
from ketaflow.clinic.crisis_lines import CrisisLines
from ketaflow.config import Role
from ketaflow.courses import maintenance
from ketaflow.errors import Conflict, ValidationFailed
from ketaflow.infusions.discharge_sheet import GivenToday
from ketaflow.infusions.models import (
    Discharge,
    EventKind,
    InfusionSession,
    NoteKind,
    SessionEvent,
    SessionNote,
)
from ketaflow.infusions.rules import (
    DischargeInput,
    SessionAction,
    SessionStatus,
    require_discharge,
    transition,
)
from ketaflow.infusions.service._common import (
    audit,
    checked,
    clinic_settings,
    clinic_thresholds,
    load_session,
    now,
    optional_text,
    require_prescriber,
    required_text,
    staff_names,
)
from ketaflow.infusions.service.chair import ChairView
from ketaflow.infusions.summary import note_text


@dataclass(frozen=True)
class DischargeForm:
    aldrete_answers: Mapping[str, int]
    padss_answers: Mapping[str, int]
    escort_confirmed: bool
    no_driving_advice_given: bool
    override_reason: str | None = None


def discharge_patient(db: Session, ctx: AuditContext, *, session_id: int,
                      form: DischargeForm) -> InfusionSession:
    record = load_session(db, session_id)
    checked(lambda: transition(record.status, SessionAction.DISCHARGE))
    open_alerts = [a for a in record.alerts if a.acknowledged_at is None]
    if open_alerts:
        raise ValidationFailed(f"{len(open_alerts)} alert(s) not acknowledged", field="alerts")
    assert record.ended_at is not None  # observation follows a stop
    stamp = now()
    decision = checked(lambda: require_discharge(DischargeInput(
        aldrete_answers=form.aldrete_answers, padss_answers=form.padss_answers,
        escort_confirmed=form.escort_confirmed,
        no_driving_advice_given=form.no_driving_advice_given,
        infusion_ended_at=record.ended_at, assessed_at=stamp,  # type: ignore[arg-type]
        override_reason=optional_text(form.override_reason, "override_reason"),
        override_by_prescriber=ctx.actor_role == Role.PRESCRIBER.value),
        settings=clinic_settings(db, stamp), thresholds=clinic_thresholds(db, stamp)))
    assert decision.aldrete.total is not None and decision.padss.total is not None
    db.add(Discharge(
        session_id=record.id, aldrete_answers=dict(decision.aldrete.answers),
        aldrete_total=decision.aldrete.total, padss_answers=dict(decision.padss.answers),
        padss_total=decision.padss.total, scales_version=decision.aldrete.instrument_version,
        escort_confirmed=form.escort_confirmed,
        no_driving_advice_given=form.no_driving_advice_given, ready_at=decision.ready_at,
        unmet=[{"field": p.field, "message": p.message} for p in decision.unmet],
        override_reason=form.override_reason if decision.overridden else None,
        discharged_at=stamp, recorded_by_user_id=ctx.actor_user_id))
    record.status, record.discharged_at = SessionStatus.DISCHARGED, stamp
    record.escort_confirmed = record.escort_confirmed or form.escort_confirmed
    record.active_patient_id = None
    db.add(SessionEvent(session_id=record.id, kind=EventKind.STATUS, occurred_at=stamp,
                        detail={"action": "discharge", "from": "observation",
                                "to": "discharged", "overridden": decision.overridden},
                        recorded_by_user_id=ctx.actor_user_id))
    db.flush()
    audit(db, ctx, "infusion.session.discharge", record.id, overridden=decision.overridden)
    # A maintenance infusion given is the course's next booster.
    maintenance.mark_given(db, ctx, course_id=record.course_id, session_id=record.id)
    return load_session(db, session_id)


def _note(record: InfusionSession) -> SessionNote | None:
    return next((n for n in record.notes if n.kind is NoteKind.NOTE), None)


def draft_note(db: Session, ctx: AuditContext, *, session_id: int) -> SessionNote:
    """Generate (or regenerate, while unsigned) the note from the record."""
    record = load_session(db, session_id)
    if not record.status.is_final:
        raise Conflict("the note is written once the session is discharged or aborted",
                               field="status")
    note = _note(record)
    if note is not None and note.signed_at is not None:
        raise Conflict("the note is signed and locked: add an addendum", field="note")
    # The note describes the session with the settings in force when the infusion ended.
    body = note_text(record, clinic_settings(db, record.ended_at or now()),
                     staff=staff_names(db, record))
    if note is None:
        note = SessionNote(session_id=record.id, kind=NoteKind.NOTE, body=body,
                           created_at=now(), created_by_user_id=ctx.actor_user_id)
        db.add(note)
    else:
        note.body = body
    db.flush()
    audit(db, ctx, "infusion.note.draft", record.id, note_id=note.id)
    return note


def sign_note(db: Session, ctx: AuditContext, *, session_id: int) -> SessionNote:
    require_prescriber(ctx, "sign the session note")
    record = load_session(db, session_id)
    note = _note(record)
    if note is None:
        raise Conflict("there is no note to sign: generate it first", field="note")
    if note.signed_at is not None:
        raise Conflict("the note is already signed", field="note")
    note.signed_at, note.signed_by_user_id = now(), ctx.actor_user_id
    db.flush()
    audit(db, ctx, "infusion.note.sign", record.id, note_id=note.id)
    return note


def add_addendum(db: Session, ctx: AuditContext, *, session_id: int, text: str) -> SessionNote:
    """A later change to a signed note; signed by its author as it is written."""
    record = load_session(db, session_id)
    note = _note(record)
    if note is None or note.signed_at is None:
        raise Conflict("addenda follow a signed note; edit the draft instead",
                               field="note")
    stamp = now()
    addendum = SessionNote(session_id=record.id, kind=NoteKind.ADDENDUM,
                           body=required_text(text, "text", max_length=5000), created_at=stamp,
                           created_by_user_id=ctx.actor_user_id, signed_at=stamp,
                           signed_by_user_id=ctx.actor_user_id)
    db.add(addendum)
    db.flush()
    audit(db, ctx, "infusion.note.addendum", record.id, note_id=addendum.id)
    return addendum


@dataclass(frozen=True)
class DischargeSheet:
    """What the patient's discharge instructions print besides the printout header."""

    given: GivenToday
    lines: CrisisLines
    clinic_phone: str | None
    visit: NextVisit | None
    discharged_by: str  # "Full Name (role)"; the session's opener before the discharge


def discharge_sheet(db: Session, ctx: AuditContext, *, view: ChairView) -> DischargeSheet:
    """The discharge instructions' content for a session whose infusion has ended (read from
    its chair view); audited with the session id only."""
    summary, record = view.summary, view.record
    if summary.delivery is None or summary.order is None or summary.ended_at is None:
        raise Conflict("Discharge instructions are printed once the infusion has ended",
                       field="session")
    given = GivenToday(summary.delivery.dose_mg, summary.order.dose_salt.value,
                       summary.delivery.running_min, summary.ended_at)
    staff_id = (record.discharge.recorded_by_user_id if record.discharge is not None
                else record.opened_by_user_id)
    profile = clinic_service.get_profile(db)
    visit = next_visit(db, patient_id=record.patient_id, after=view.now)
    audit(db, ctx, "infusion.session.discharge_sheet", record.id,
          next_visit=visit is not None)
    return DischargeSheet(given, clinic_service.crisis_lines(db),
                          profile.phone if profile is not None else None, visit,
                          view.staff_name(staff_id))
