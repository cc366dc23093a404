"""Reminder plans and the planner that puts due reminders in the outbox. Services never commit.

The planner (`plan_due`) runs every round of the outbox worker, in any number of processes at
once: every message has a deterministic dedupe key (`reminder:{patient}:{kind}:{local day}:{n}`),
so running it twice, or in two processes, stores each reminder once. It enqueues only what is
due now (`timing.due_now`); a reminder whose task is done, or a patient who opted out, has its
pending messages cancelled.

Links in the mails: links are stored hashed, so a reminder cannot reuse one. Each mood reminder
issues a fresh mood link valid for `MOOD_LINK_DAYS`, and each weekly reminder a single-use
portal link for the questionnaires not yet answered. The opt-out link is an HMAC of the plan
(no token stored), so it needs no table and stays valid until staff reset it.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.assessments.models import Assessment
from ketaflow.assessments.service import require_patient
from ketaflow.audit.service import AuditContext, record_event
from ketaflow.booking.models import Appointment, AppointmentKind, AppointmentState
from ketaflow.clinic import service as clinic_service
from ketaflow.clinical.course_plan import CourseState, planned_dates
from ketaflow.config import Settings
from ketaflow.courses.models import TreatmentCourse
from ketaflow.db import utcnow
from ketaflow.errors import ValidationFailed, collect_problems
from ketaflow.jobs import service as jobs
from ketaflow.jobs.models import Channel, OutboxMessage
from ketaflow.moodchart import service as mood_service
from ketaflow.moodchart.models import MoodEntry
from ketaflow.patients.models import PatientDemographics
from ketaflow.portal import service as portal_service
from ketaflow.reminders import mail
from ketaflow.reminders.models import ReminderPlan
from ketaflow.reminders.timing import (
    QuietHours,
    Repeats,
    at_local,
    attempt_times,
    due_now,
    recent_days,
    weekly_days,
)

log = logging.getLogger(__name__)
ENTITY = "reminder_plan"
WEEKLY_SCALES = ("qids-sr16", "asrm")  # ids as in `ketaflow scales list`
MOOD_LINK_DAYS = 2
SCALES_LINK_HOURS = 48
REPEAT_EVERY_H_MIN, REPEAT_EVERY_H_MAX = 1, 12
REPEAT_COUNT_MAX = 5
OPEN_COURSE_STATES = (CourseState.PLANNED, CourseState.ACTIVE, CourseState.MAINTENANCE)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
LABELS = {
    "time_zone": "Patient's time zone", "mood_at": "Daily check-in time",
    "scales_weekday": "Questionnaire day", "scales_at": "Questionnaire time",
    "infusion_at": "Day-before reminder time", "repeat_every_h": "Repeat every (hours)",
    "repeat_count": "Repeats", "quiet_start": "Quiet hours from", "quiet_end": "Quiet hours until",
    "channel": "Send by",
}


class Kind(StrEnum):
    MOOD = "mood"
    SCALES = "scales"
    INFUSION = "infusion"


@dataclass(frozen=True)
class PlanInput:
    """A plan as chosen on the form (already parsed; ranges checked by `save_plan`)."""

    time_zone: str
    mood_enabled: bool = True
    mood_at: time = time(19, 0)
    scales_enabled: bool = True
    scales_weekday: int = 6  # Sunday
    scales_at: time = time(18, 0)
    infusion_enabled: bool = True
    infusion_at: time = time(17, 0)
    repeat_every_h: int = 2
    repeat_count: int = 2
    quiet_start: time = time(21, 30)
    quiet_end: time = time(8, 0)
    channel: Channel = Channel.EMAIL


def system_context() -> AuditContext:
    """The planner acting on its own (no staff account, no request)."""
    return AuditContext(None, "reminders", "system")


def patient_context(base: AuditContext) -> AuditContext:
    """The patient acting through the opt-out link in a mail."""
    return AuditContext(None, "reminder-link", "portal", base.client_address, base.request_id)


def plan_for(db: Session, *, patient_id: int) -> ReminderPlan | None:
    return db.scalar(select(ReminderPlan).where(ReminderPlan.patient_id == patient_id))


def as_input(plan: ReminderPlan) -> PlanInput:
    return PlanInput(**{f.name: getattr(plan, f.name) for f in fields(PlanInput)})


def default_input(db: Session, settings: Settings) -> PlanInput:
    return PlanInput(time_zone=clinic_service.effective_timezone(db, settings))


def _valid_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def check_plan(data: PlanInput, *, sms_sender: bool) -> None:
    with collect_problems() as problems:
        if not _valid_zone(data.time_zone):
            problems.add("time_zone", f"{LABELS['time_zone']} must be an IANA time zone such "
                                      "as Europe/London")
        if not 0 <= data.scales_weekday <= 6:
            problems.add("scales_weekday", f"{LABELS['scales_weekday']} must be a day of the week")
        if not REPEAT_EVERY_H_MIN <= data.repeat_every_h <= REPEAT_EVERY_H_MAX:
            problems.add("repeat_every_h", f"{LABELS['repeat_every_h']} must be "
                                           f"{REPEAT_EVERY_H_MIN} to {REPEAT_EVERY_H_MAX}")
        if not 0 <= data.repeat_count <= REPEAT_COUNT_MAX:
            problems.add("repeat_count", f"{LABELS['repeat_count']} must be 0 to "
                                         f"{REPEAT_COUNT_MAX}")
        if data.channel is Channel.SMS and not sms_sender:
            problems.add("channel", f"{LABELS['channel']}: SMS needs an SMS sender set up for "
                                    "the clinic (docs/reminders.md); choose email")


def save_plan(db: Session, ctx: AuditContext, *, patient_id: int, data: PlanInput,
              user_id: int, sms_sender: bool = False) -> ReminderPlan:
    """Create or change the patient's plan (audited with the names of the fields changed).
    Reminders switched off have their pending messages cancelled."""
    require_patient(db, patient_id)
    check_plan(data, sms_sender=sms_sender)
    plan = plan_for(db, patient_id=patient_id)
    now = utcnow()
    if plan is None:
        plan = ReminderPlan(patient_id=patient_id, opt_out_nonce=secrets.token_hex(16),
                            updated_by_user_id=user_id, created_at=now, updated_at=now,
                            version=1, **{f.name: getattr(data, f.name)
                                          for f in fields(PlanInput)})
        db.add(plan)
        db.flush()
        record_event(db, ctx, action="reminder_plan.create", entity_type=ENTITY,
                     entity_id=plan.id, detail={"patient_id": patient_id})
        return plan
    before = as_input(plan)
    changed = [f.name for f in fields(PlanInput)
               if getattr(before, f.name) != getattr(data, f.name)]
    if not changed:
        return plan
    for name in changed:
        setattr(plan, name, getattr(data, name))
    plan.version += 1
    plan.updated_by_user_id, plan.updated_at = user_id, now
    db.flush()
    for kind, enabled in ((Kind.MOOD, data.mood_enabled), (Kind.SCALES, data.scales_enabled),
                          (Kind.INFUSION, data.infusion_enabled)):
        if not enabled:
            jobs.cancel_pending(db, dedupe_key_prefix=f"{_prefix(patient_id)}{kind}:")
    record_event(db, ctx, action="reminder_plan.update", entity_type=ENTITY, entity_id=plan.id,
                 detail={"patient_id": patient_id, "fields": changed,
                         "version": plan.version})
    return plan


def set_opted_out(db: Session, ctx: AuditContext, *, patient_id: int, opted_out: bool,
                  user_id: int | None) -> ReminderPlan:
    """Stop (or, staff only, resume) every reminder. `user_id` None: the patient's own link."""
    plan = plan_for(db, patient_id=patient_id)
    if plan is None:
        raise ValidationFailed("the patient has no reminder plan yet: save one first",
                               field="opted_out")
    if opted_out and plan.opted_out_at is None:
        plan.opted_out_at, plan.opted_out_by_user_id = utcnow(), user_id
        cancelled = jobs.cancel_pending(db, dedupe_key_prefix=_prefix(patient_id))
        action, detail = "reminder_plan.opt_out", {"cancelled": cancelled}
    elif not opted_out and plan.opted_out_at is not None:
        plan.opted_out_at, plan.opted_out_by_user_id = None, None
        action, detail = "reminder_plan.opt_in", {}
    else:
        return plan
    plan.version += 1
    db.flush()
    record_event(db, ctx, action=action, entity_type=ENTITY, entity_id=plan.id,
                 detail={"patient_id": patient_id, "by_patient": user_id is None, **detail})
    return plan


# ---- opt-out link --------------------------------------------------------------------------

def opt_out_token(plan: ReminderPlan, key: str) -> str:
    mac = hmac.new(key.encode(), f"reminders-opt-out:{plan.id}:{plan.opt_out_nonce}".encode(),
                   hashlib.sha256).hexdigest()[:32]
    return f"{plan.id}.{mac}"


def opt_out_url(settings: Settings, plan: ReminderPlan) -> str:
    token = opt_out_token(plan, settings.effective_secret_key)
    return f"{settings.public_base_url.rstrip('/')}/reminders/opt-out/{token}"


def plan_by_opt_out_token(db: Session, *, token: str, key: str) -> ReminderPlan | None:
    plan_id, _, _mac = token.partition(".")
    if not plan_id.isascii() or not plan_id.isdigit() or len(plan_id) > 12:
        return None
    plan = db.get(ReminderPlan, int(plan_id))
    if plan is None or not hmac.compare_digest(opt_out_token(plan, key), token):
        return None
    return plan


def opt_out_by_link(db: Session, ctx: AuditContext, *, token: str, key: str
                    ) -> ReminderPlan | None:
    plan = plan_by_opt_out_token(db, token=token, key=key)
    if plan is None:
        return None
    return set_opted_out(db, patient_context(ctx), patient_id=plan.patient_id,
                         opted_out=True, user_id=None)


def recent_messages(db: Session, *, patient_id: int, limit: int = 20) -> list[OutboxMessage]:
    """Everything recently sent (or to send) to the patient, reminders and other mail alike,
    with its delivery state."""
    return jobs.messages_for_patient(db, patient_id, limit=limit)


# ---- planner -------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Recipient:
    plan: ReminderPlan
    email: str
    first_name: str


@dataclass(frozen=True)
class _Round:
    """What every reminder of one planner round shares."""

    db: Session
    now: datetime
    settings: Settings
    ctx: AuditContext
    clinic: str


def _prefix(patient_id: int) -> str:
    return f"reminder:{patient_id}:"


def _recipients(db: Session) -> list[_Recipient]:
    rows = db.execute(
        select(ReminderPlan, PatientDemographics.email, PatientDemographics.given_name)
        .join(PatientDemographics, PatientDemographics.patient_id == ReminderPlan.patient_id)
        .where(PatientDemographics.superseded_at.is_(None), ReminderPlan.opted_out_at.is_(None),
               ReminderPlan.channel == Channel.EMAIL, PatientDemographics.email.is_not(None))
        .order_by(ReminderPlan.id)).all()
    return [_Recipient(plan, email, given) for plan, email, given in rows if email]


def plan_due(db: Session, now: datetime, *, settings: Settings) -> int:
    """Enqueue every reminder due at `now` for every patient with a plan and an email address;
    returns how many were enqueued (0 when run again for the same moment)."""
    recipients = _recipients(db)
    if not recipients:
        return 0
    round_ = _Round(db, now, settings, system_context(),
                    clinic_service.clinic_name(db) or "Your clinic")
    return sum(_plan_one(round_, r) for r in recipients)


def _plan_one(round_: _Round, r: _Recipient) -> int:
    """One patient's reminders in a savepoint: a patient whose reminders cannot be planned
    (a bug, a bad row) is logged by id and skipped, and does not stop everyone else's."""
    plan_id = r.plan.id  # read before: a rolled-back savepoint may expire the row
    try:
        with round_.db.begin_nested():
            return _mood(round_, r) + _scales(round_, r) + _infusion(round_, r)
    except Exception as error:
        log.warning("reminders for plan %s not planned (%s)", plan_id, type(error).__name__)
        return 0


@dataclass(frozen=True, eq=True)
class Planner:
    """The hook the outbox worker runs each round: `Planner(settings)(db, now) -> enqueued`.
    Equal settings make equal planners, so registering it again (the app factory may run more
    than once in a process) adds nothing."""

    settings: Settings
    __name__ = "reminders.plan_due"  # named in the worker's log line if it fails

    def __call__(self, db: Session, now: datetime) -> int:
        return plan_due(db, now, settings=self.settings)


def planner(settings: Settings) -> Callable[[Session, datetime], int]:
    return Planner(settings)


def _zone(plan: ReminderPlan) -> ZoneInfo:
    return ZoneInfo(plan.time_zone)


def _quiet(plan: ReminderPlan) -> QuietHours:
    return QuietHours(plan.quiet_start, plan.quiet_end)


def _repeats(plan: ReminderPlan) -> Repeats:
    return Repeats(plan.repeat_every_h, plan.repeat_count)


def _stored(db: Session, key: str) -> bool:
    return db.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key)) is not None


def _enqueue(round_: _Round, r: _Recipient, key: str, due: datetime, kind: Kind,
             text: mail.Text) -> int:
    jobs.enqueue(round_.db, dedupe_key=key, purpose=f"reminder-{kind}", channel=Channel.EMAIL,
                 to_address=r.email, subject=text.subject, body_text=text.body,
                 patient_id=r.plan.patient_id, not_before=due)
    return 1


def _has_mood_entry(db: Session, patient_id: int, day: date) -> bool:
    return db.scalar(select(MoodEntry.id).where(
        MoodEntry.patient_id == patient_id, MoodEntry.day == day,
        MoodEntry.entered_in_error_at.is_(None)).limit(1)) is not None


def _mood(round_: _Round, r: _Recipient) -> int:
    plan, db, enqueued = r.plan, round_.db, 0
    if not plan.mood_enabled:
        return 0
    zone = _zone(plan)
    for day in recent_days(round_.now, zone):
        prefix = f"{_prefix(plan.patient_id)}{Kind.MOOD}:{day.isoformat()}:"
        times = attempt_times(day, plan.mood_at, zone, quiet=_quiet(plan), repeats=_repeats(plan))
        due_attempts = due_now(times, round_.now)
        if not due_attempts:
            continue  # most rounds: nothing due, no query
        if _has_mood_entry(db, plan.patient_id, day):
            jobs.cancel_pending(db, dedupe_key_prefix=prefix)  # done: no more repeats
            continue
        for n, due in due_attempts:
            key = f"{prefix}{n}"
            if _stored(db, key):
                continue  # checked first so a rerun issues no link nobody receives
            issued = mood_service.issue_link(
                db, round_.ctx, base_url=round_.settings.public_base_url,
                patient_id=plan.patient_id, created_by_user_id=plan.updated_by_user_id,
                valid_days=MOOD_LINK_DAYS)
            text = mail.mood(first_name=r.first_name, clinic=round_.clinic, day=day,
                             url=issued.url, link_days=MOOD_LINK_DAYS, attempt=n,
                             opt_out_url=opt_out_url(round_.settings, plan))
            enqueued += _enqueue(round_, r, key, due, Kind.MOOD, text)
    return enqueued


def _unanswered(db: Session, patient_id: int, since: datetime) -> list[str]:
    answered = set(db.scalars(select(Assessment.instrument_id).where(
        Assessment.patient_id == patient_id, Assessment.instrument_id.in_(WEEKLY_SCALES),
        Assessment.recorded_at >= since)))
    return [i for i in WEEKLY_SCALES if i not in answered]


def _scales(round_: _Round, r: _Recipient) -> int:
    plan, db, enqueued = r.plan, round_.db, 0
    if not plan.scales_enabled:
        return 0
    zone = _zone(plan)
    for day in weekly_days(round_.now, zone, plan.scales_weekday):
        prefix = f"{_prefix(plan.patient_id)}{Kind.SCALES}:{day.isoformat()}:"
        times = attempt_times(day, plan.scales_at, zone, quiet=_quiet(plan),
                              repeats=_repeats(plan))
        due_attempts = due_now(times, round_.now)
        if not due_attempts:
            continue
        # Done once both were answered since that day began (through any link, or at the clinic).
        remaining = _unanswered(db, plan.patient_id, at_local(day, time(0, 0), zone))
        if not remaining:
            jobs.cancel_pending(db, dedupe_key_prefix=prefix)
            continue
        for n, due in due_attempts:
            key = f"{prefix}{n}"
            if _stored(db, key):
                continue
            issued = portal_service.issue_portal_link(
                db, round_.ctx, round_.settings, patient_id=plan.patient_id,
                instruments=remaining, created_by_user_id=plan.updated_by_user_id,
                valid_hours=SCALES_LINK_HOURS, send_mail=False)
            text = mail.scales(first_name=r.first_name, clinic=round_.clinic, url=issued.url,
                               count=len(remaining), link_hours=SCALES_LINK_HOURS, attempt=n,
                               opt_out_url=opt_out_url(round_.settings, plan))
            enqueued += _enqueue(round_, r, key, due, Kind.SCALES, text)
    return enqueued


def planned_infusion_days(db: Session, *, patient_id: int, zone: ZoneInfo) -> list[date]:
    """The days of the patient's infusions: the open courses' induction plan until the first
    infusion booked on the calendar, the booked infusions (in the patient's zone) from then on."""
    booked = {row.starts_at.astimezone(zone).date() for row in db.scalars(
        select(Appointment).where(Appointment.patient_id == patient_id,
                                  Appointment.kind == AppointmentKind.INFUSION,
                                  Appointment.state == AppointmentState.BOOKED))}
    days: set[date] = set()
    for course in db.scalars(select(TreatmentCourse).where(
            TreatmentCourse.patient_id == patient_id,
            TreatmentCourse.state.in_(OPEN_COURSE_STATES))):
        days.update(planned_dates(course.start_on, course.infusion_count, course.frequency,
                                  skip_weekends=course.skip_weekends))
    if booked:
        days = {d for d in days if d < min(booked)} | booked
    return sorted(days)


def _infusion(round_: _Round, r: _Recipient) -> int:
    plan, db, enqueued = r.plan, round_.db, 0
    if not plan.infusion_enabled:
        return 0
    zone = _zone(plan)
    planned: set[date] | None = None  # read only on a round when a reminder is due
    for day in recent_days(round_.now, zone):
        # Sent once (nothing to be "done" by the patient before the day).
        times = attempt_times(day, plan.infusion_at, zone, quiet=_quiet(plan),
                              repeats=Repeats(1, 0))
        due_attempts = due_now(times, round_.now)
        if not due_attempts:
            continue
        if planned is None:
            planned = set(planned_infusion_days(db, patient_id=plan.patient_id, zone=zone))
        infusion_on = day + timedelta(days=1)
        if infusion_on not in planned:
            continue
        for _n, due in due_attempts:
            key = f"{_prefix(plan.patient_id)}{Kind.INFUSION}:{infusion_on.isoformat()}"
            if _stored(db, key):
                continue
            text = mail.infusion(first_name=r.first_name, clinic=round_.clinic, on=infusion_on,
                                 opt_out_url=opt_out_url(round_.settings, plan))
            enqueued += _enqueue(round_, r, key, due, Kind.INFUSION, text)
    return enqueued


def kinds_text(plan: ReminderPlan) -> Sequence[str]:
    """The reminders a plan sends, in words, for the page."""
    out = []
    if plan.mood_enabled:
        out.append(f"daily check-in at {plan.mood_at:%H:%M}")
    if plan.scales_enabled:
        out.append(f"questionnaires on {WEEKDAYS[plan.scales_weekday]} at {plan.scales_at:%H:%M}")
    if plan.infusion_enabled:
        out.append(f"the day before each planned infusion at {plan.infusion_at:%H:%M}")
    return out


def has_email(db: Session, *, patient_id: int) -> bool:
    return bool(db.scalar(select(PatientDemographics.email).where(
        PatientDemographics.patient_id == patient_id,
        PatientDemographics.superseded_at.is_(None))))
