"""Reminder plans and the planner on both databases. The tests stop at outbox rows (what is
stored to send, when, to whom); delivering them is the jobs worker's."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.audit.models import AuditEvent
from ketaflow.auth.models import StaffUser
from ketaflow.booking import service as booking
from ketaflow.config import Settings
from ketaflow.db import utcnow
from ketaflow.errors import ValidationFailed
from ketaflow.jobs import service as jobs
from ketaflow.jobs.models import Channel, OutboxMessage, OutboxStatus
from ketaflow.moodchart import service as mood_service
from ketaflow.moodchart.models import MoodLink
from ketaflow.patients.models import Patient
from ketaflow.portal.models import PortalLink
from ketaflow.reminders import service
from ketaflow.reminders.models import ReminderPlan
from ketaflow.reminders.timing import at_local
from tests.assessments.factories import answers, ctx_for, make_course, record
from tests.booking.factories import make_clinic
from tests.patients.factories import make_patient
from tests.support.factories import SYSTEM, make_user

NY = "America/New_York"
NONE = time(0, 0)  # quiet hours from 00:00 to 00:00: none


def plan(db: Session, patient: Patient, user: StaffUser, **changes: object) -> ReminderPlan:
    data = service.PlanInput(**({"time_zone": NY} | changes))  # type: ignore[arg-type]
    return service.save_plan(db, ctx_for(user), patient_id=patient.id, data=data,
                             user_id=user.id)


def rows(db: Session, patient: Patient) -> list[OutboxMessage]:
    return list(db.scalars(select(OutboxMessage).where(OutboxMessage.patient_id == patient.id)
                           .order_by(OutboxMessage.id)))


def at(day: date, wall: time, zone: str = NY) -> datetime:
    return at_local(day, wall, ZoneInfo(zone))


def recent_day(patient: Patient) -> date:
    """A day a mood entry may be stored for: in the past, after (back-dated) registration."""
    patient.created_at = utcnow() - timedelta(days=30)
    return utcnow().astimezone(ZoneInfo(NY)).date() - timedelta(days=2)


def only_mood(**changes: object) -> dict[str, object]:
    return {"scales_enabled": False, "infusion_enabled": False} | changes


def test_daily_mood_reminder_repeats_until_the_limit(db: Session, settings: Settings) -> None:
    nurse = make_user(db)
    patient = make_patient(db, given_name="Robin", email="robin@example.org")
    plan(db, patient, nurse, **only_mood())
    day = date(2026, 6, 1)
    assert service.plan_due(db, at(day, time(18, 59)), settings=settings) == 0
    assert service.plan_due(db, at(day, time(19, 0)), settings=settings) == 1
    first = rows(db, patient)[0]
    assert first.dedupe_key == f"reminder:{patient.id}:mood:2026-06-01:1"
    assert first.to_address == "robin@example.org" and first.channel is Channel.EMAIL
    assert first.not_before == datetime(2026, 6, 1, 23, 0, tzinfo=UTC)
    assert first.subject.endswith("your daily check-in")
    assert first.body_text.startswith("Hello Robin,")
    assert "Monday 01 June" in first.body_text
    assert f"{settings.public_base_url}/mood/" in first.body_text
    assert f"{settings.public_base_url}/reminders/opt-out/" in first.body_text
    assert "Fictional" not in first.body_text + first.subject  # first name only
    # The mood link in the mail opens the entry page.
    token = first.body_text.split("/mood/", 1)[1].split()[0]
    assert mood_service.visit(db, SYSTEM, token=token).state is mood_service.LinkState.OPEN
    # 21:00 the repeat; 23:00 is quiet: 08:00 the next morning; then no more.
    assert service.plan_due(db, at(day, time(21, 0)), settings=settings) == 1
    assert service.plan_due(db, at(day + timedelta(days=1), time(7, 59)), settings=settings) == 0
    assert service.plan_due(db, at(day + timedelta(days=1), time(8, 0)), settings=settings) == 1
    keys = [m.dedupe_key.rsplit(":", 1)[1] for m in rows(db, patient)]
    assert keys == ["1", "2", "3"]
    assert service.plan_due(db, at(day + timedelta(days=1), time(10, 0)), settings=settings) == 0
    assert len(rows(db, patient)) == 3
    assert "earlier message was missed" in rows(db, patient)[1].body_text
    # A fresh mood link per reminder, each created on behalf of the staff who set the plan.
    links = db.scalars(select(MoodLink).where(MoodLink.patient_id == patient.id)).all()
    assert len(links) == 3 and {link.created_by_user_id for link in links} == {nurse.id}


def test_running_the_planner_twice_enqueues_nothing_new(db: Session, settings: Settings
                                                         ) -> None:
    nurse = make_user(db)
    patient = make_patient(db)
    plan(db, patient, nurse, **only_mood())
    moment = at(date(2026, 6, 1), time(21, 30))
    assert service.plan_due(db, moment, settings=settings) == 2
    links_before = db.scalars(select(MoodLink.id)).all()
    assert service.plan_due(db, moment, settings=settings) == 0
    assert len(rows(db, patient)) == 2
    assert db.scalars(select(MoodLink.id)).all() == links_before  # no link nobody receives


def test_an_entry_for_the_day_stops_the_repeats(db: Session, settings: Settings) -> None:
    nurse = make_user(db)
    patient = make_patient(db)
    plan(db, patient, nurse, **only_mood(repeat_count=2))
    day = recent_day(patient)
    service.plan_due(db, at(day, time(19, 0)), settings=settings)
    rows(db, patient)[0].status = OutboxStatus.SENT  # as the worker would have
    # A repeat already enqueued (for example by a planner ahead of the worker) is cancelled.
    jobs.enqueue(db, dedupe_key=f"reminder:{patient.id}:mood:{day.isoformat()}:2", purpose="x",
                 channel=Channel.EMAIL, to_address="a@example.org", subject="s", body_text="b",
                 patient_id=patient.id, not_before=at(day, time(21, 0)))
    mood_service.record_entry(db, ctx_for(nurse), patient_id=patient.id, zone=NY,
                              entered_by_user_id=nurse.id, data=mood_service.EntryInput(
                                  day=day, depressed=0, elevated=0, irritable=0, anxious=0))
    assert service.plan_due(db, at(day, time(21, 0)), settings=settings) == 0
    statuses = [m.status for m in rows(db, patient)]
    assert statuses == [OutboxStatus.SENT, OutboxStatus.CANCELLED]


def test_entries_made_in_error_do_not_count_as_done(db: Session, settings: Settings) -> None:
    nurse = make_user(db)
    patient = make_patient(db)
    plan(db, patient, nurse, **only_mood())
    day = recent_day(patient)
    stored = mood_service.record_entry(
        db, ctx_for(nurse), patient_id=patient.id, zone=NY, entered_by_user_id=nurse.id,
        data=mood_service.EntryInput(day=day, depressed=0, elevated=0, irritable=0, anxious=0))
    mood_service.mark_entered_in_error(db, ctx_for(nurse), patient_id=patient.id,
                                       entry_id=stored.id, reason="wrong patient",
                                       user_id=nurse.id)
    assert service.plan_due(db, at(day, time(19, 0)), settings=settings) == 1


def test_opt_out_stops_everything(db: Session, settings: Settings) -> None:
    nurse = make_user(db)
    patient = make_patient(db)
    stored = plan(db, patient, nurse, **only_mood())
    day = date(2026, 6, 1)
    service.plan_due(db, at(day, time(19, 0)), settings=settings)
    token = service.opt_out_token(stored, settings.effective_secret_key)
    assert service.plan_by_opt_out_token(db, token=token[:-1] + "0",
                                         key=settings.effective_secret_key) in (None, stored)
    assert service.plan_by_opt_out_token(db, token="1.x", key="k") is None
    assert service.plan_by_opt_out_token(db, token="abc", key="k") is None
    opted = service.opt_out_by_link(db, SYSTEM, token=token, key=settings.effective_secret_key)
    assert opted is stored and stored.opted_out_at is not None
    assert stored.opted_out_by_user_id is None
    assert [m.status for m in rows(db, patient)] == [OutboxStatus.CANCELLED]
    assert service.plan_due(db, at(day, time(21, 0)), settings=settings) == 0
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "reminder_plan.opt_out")
                       ).one()
    assert event.actor_user_id is None
    # Staff can turn reminders back on (the patient asked on the phone).
    service.set_opted_out(db, ctx_for(nurse), patient_id=patient.id, opted_out=False,
                          user_id=nurse.id)
    assert service.plan_due(db, at(day, time(21, 0)), settings=settings) == 1


def test_no_email_address_no_reminder(db: Session, settings: Settings) -> None:
    nurse = make_user(db)
    patient = make_patient(db, email=None)
    plan(db, patient, nurse, **only_mood())
    assert service.plan_due(db, at(date(2026, 6, 1), time(19, 0)), settings=settings) == 0


def test_weekly_questionnaires_repeat_until_both_are_answered(db: Session, settings: Settings
                                                               ) -> None:
    nurse = make_user(db)
    patient = make_patient(db)
    today = utcnow().date()  # "done" is read from assessments stored now
    plan(db, patient, nurse, time_zone="UTC", mood_enabled=False, infusion_enabled=False,
         scales_weekday=today.weekday(), scales_at=time(12, 0), quiet_start=NONE,
         quiet_end=NONE)
    noon = at(today, time(12, 0), "UTC")
    assert service.plan_due(db, noon - timedelta(minutes=1), settings=settings) == 0
    assert service.plan_due(db, noon, settings=settings) == 1
    first = rows(db, patient)[0]
    assert first.dedupe_key == f"reminder:{patient.id}:scales:{today.isoformat()}:1"
    assert "two short questionnaires" in first.body_text
    assert f"{settings.public_base_url}/portal/" in first.body_text
    link = db.scalars(select(PortalLink).where(PortalLink.patient_id == patient.id)).one()
    assert link.instrument_ids == ("qids-sr16", "asrm") and link.emailed_at is None
    record(db, patient, nurse, "qids-sr16", answers("qids-sr16", [0] * 16))
    assert service.plan_due(db, noon + timedelta(hours=2), settings=settings) == 1
    newest = db.scalars(select(PortalLink).where(PortalLink.patient_id == patient.id)
                        .order_by(PortalLink.id.desc())).first()
    assert newest is not None and newest.instrument_ids == ("asrm",)
    assert "a short questionnaire" in rows(db, patient)[1].body_text
    record(db, patient, nurse, "asrm", answers("asrm", [0] * 5))
    assert service.plan_due(db, noon + timedelta(hours=4), settings=settings) == 0
    assert len(rows(db, patient)) == 2


def test_the_day_before_a_planned_infusion(db: Session, settings: Settings) -> None:
    nurse = make_user(db)
    patient = make_patient(db, given_name="Robin")
    course = make_course(db, patient, utcnow().date() + timedelta(days=1))
    plan(db, patient, nurse, mood_enabled=False, scales_enabled=False)
    days = service.planned_infusion_days(db, patient_id=patient.id, zone=ZoneInfo(NY))
    assert len(days) == course.infusion_count
    eve = days[0] - timedelta(days=1)
    assert service.plan_due(db, at(eve, time(16, 59)), settings=settings) == 0
    assert service.plan_due(db, at(eve, time(17, 0)), settings=settings) == 1
    assert service.plan_due(db, at(eve, time(19, 0)), settings=settings) == 0  # once only
    message = rows(db, patient)[0]
    assert message.dedupe_key == f"reminder:{patient.id}:infusion:{days[0].isoformat()}"
    assert message.subject.endswith("your appointment tomorrow")
    body = message.body_text.lower()
    assert "do not eat" in body and "take you home" in body and "do not drive" in body
    assert "ketamine" not in body and "mg" not in body.split()
    # Not on a day whose next day has no infusion planned.
    assert service.plan_due(db, at(days[0], time(17, 0)), settings=settings) == (
        1 if days[0] + timedelta(days=1) in days else 0)


def test_missed_reminders_are_not_sent_after_an_outage(db: Session, settings: Settings
                                                        ) -> None:
    nurse = make_user(db)
    patient = make_patient(db)
    plan(db, patient, nurse, **only_mood(repeat_count=0))
    # The server was down from before 19:00 until 22:30: the 1st's reminder is 3.5 h late,
    # past STALE_AFTER, and is never sent; the 2nd's goes at its time.
    assert service.plan_due(db, at(date(2026, 6, 1), time(22, 30)), settings=settings) == 0
    assert service.plan_due(db, at(date(2026, 6, 2), time(19, 5)), settings=settings) == 1
    assert [m.dedupe_key.split(":")[3] for m in rows(db, patient)] == ["2026-06-02"]


def test_editing_the_plan_is_audited_with_field_names_only(db: Session, settings: Settings
                                                            ) -> None:
    nurse = make_user(db)
    patient = make_patient(db)
    stored = plan(db, patient, nurse)
    assert stored.mood_at == time(19, 0) and stored.quiet_start == time(21, 30)
    assert (stored.repeat_every_h, stored.repeat_count) == (2, 2)
    service.plan_due(db, at(date(2026, 6, 1), time(19, 0)), settings=settings)
    plan(db, patient, nurse, mood_enabled=False, mood_at=time(20, 15))
    assert stored.version == 2 and stored.mood_at == time(20, 15)
    assert [m.status for m in rows(db, patient)] == [OutboxStatus.CANCELLED]
    plan(db, patient, nurse, mood_enabled=False, mood_at=time(20, 15))  # no change
    events = db.scalars(select(AuditEvent).where(AuditEvent.entity_type == "reminder_plan")
                        .order_by(AuditEvent.id)).all()
    assert [e.action for e in events] == ["reminder_plan.create", "reminder_plan.update"]
    assert json.loads(events[1].detail) == {
        "patient_id": patient.id, "fields": ["mood_enabled", "mood_at"], "version": 2}


def test_bad_plans_are_refused_naming_each_field(db: Session) -> None:
    nurse = make_user(db)
    patient = make_patient(db)
    with pytest.raises(ValidationFailed) as refused:
        plan(db, patient, nurse, time_zone="Mars/Olympus", repeat_every_h=0, repeat_count=9,
             scales_weekday=7, channel=Channel.SMS)
    messages = {p.field: p.detail for p in refused.value.problems}
    assert messages == {
        "time_zone": "Patient's time zone must be an IANA time zone such as Europe/London",
        "scales_weekday": "Questionnaire day must be a day of the week",
        "repeat_every_h": "Repeat every (hours) must be 1 to 12",
        "repeat_count": "Repeats must be 0 to 5",
        "channel": "Send by: SMS needs an SMS sender set up for the clinic "
                   "(docs/reminders.md); choose email",
    }
    assert service.plan_for(db, patient_id=patient.id) is None


@hyp_settings(max_examples=12, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(minutes=st.integers(0, 7 * 24 * 60), mood_at=st.times(), every_h=st.integers(1, 12),
       count=st.integers(0, 5))
def test_the_planner_run_again_enqueues_nothing_new(db: Session, settings: Settings,
                                                    minutes: int, mood_at: time, every_h: int,
                                                    count: int) -> None:
    nurse = make_user(db)
    patient = make_patient(db)
    plan(db, patient, nurse, scales_weekday=minutes % 7,
         mood_at=mood_at.replace(second=0, microsecond=0), scales_at=time(9, 0),
         repeat_every_h=every_h, repeat_count=count)
    moment = datetime(2026, 6, 1, tzinfo=UTC) + timedelta(minutes=minutes)
    service.plan_due(db, moment, settings=settings)
    stored = len(rows(db, patient))
    assert service.plan_due(db, moment, settings=settings) == 0
    assert len(rows(db, patient)) == stored


@hyp_settings(max_examples=10, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(minutes=st.lists(st.integers(0, 7 * 24 * 60), min_size=1, max_size=4))
def test_after_opting_out_nothing_is_ever_enqueued(db: Session, settings: Settings,
                                                   minutes: list[int]) -> None:
    nurse = make_user(db)
    patient = make_patient(db)
    plan(db, patient, nurse, quiet_start=NONE, quiet_end=NONE, repeat_every_h=1,
         repeat_count=5)
    service.set_opted_out(db, ctx_for(nurse), patient_id=patient.id, opted_out=True,
                          user_id=nurse.id)
    start = datetime(2026, 6, 1, tzinfo=UTC)
    for offset in minutes:
        assert service.plan_due(db, start + timedelta(minutes=offset), settings=settings) == 0
    assert rows(db, patient) == []


def test_the_worker_hook_is_the_planner(db: Session, settings: Settings) -> None:
    nurse = make_user(db)
    patient = make_patient(db)
    plan(db, patient, nurse, **only_mood())
    hook = service.planner(settings)
    assert hook == service.planner(settings)  # registering twice adds nothing
    assert hook(db, at(date(2026, 6, 1), time(19, 0))) == 1


def test_one_patient_that_cannot_be_planned_does_not_stop_the_others(
        db: Session, settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    nurse = make_user(db)
    broken, fine = make_patient(db), make_patient(db, given_name="Robin")
    bad = plan(db, broken, nurse, **only_mood())
    plan(db, fine, nurse, **only_mood())
    bad.time_zone = "Not/AZone"  # as if a zone were removed from the system's tz database
    db.flush()
    assert service.plan_due(db, at(date(2026, 6, 1), time(19, 0)), settings=settings) == 1
    assert rows(db, broken) == [] and len(rows(db, fine)) == 1
    assert f"reminders for plan {bad.id} not planned (ZoneInfoNotFoundError)" in caplog.text
    assert "Robin" not in caplog.text and "Fictional" not in caplog.text


def test_booked_infusions_take_over_from_the_course_plan(db: Session, settings: Settings) -> None:
    nurse = make_user(db)
    patient = make_patient(db, given_name="Robin")
    make_course(db, patient, utcnow().date() + timedelta(days=1))
    plan(db, patient, nurse, mood_enabled=False, scales_enabled=False)
    clinic = make_clinic(db, zone=NY)
    wanted = booking.SeriesAsk(patient_id=patient.id, site_id=clinic.site.id, count=2,
                               earliest_on=clinic.first_monday + timedelta(days=1))
    proposal = booking.propose_series(db, ask=wanted)
    rows_booked = booking.book_series(db, SYSTEM, ask=wanted, option=0,
                                      version=proposal.version, booked_by_user_id=None)
    days = service.planned_infusion_days(db, patient_id=patient.id, zone=ZoneInfo(NY))
    booked = [r.starts_at.astimezone(ZoneInfo(NY)).date() for r in rows_booked]
    assert days[-2:] == booked and all(d < booked[0] for d in days[:-2])
    eve = days[0] - timedelta(days=1)
    assert service.plan_due(db, at(eve, time(17, 0)), settings=settings) == 1
