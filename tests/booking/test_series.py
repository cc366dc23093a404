"""Booking a whole series in one step and moving one infusion, on both databases: the rules
hold on what is stored, a stale proposal is refused, and the patient's mail carries the file."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.audit.models import AuditEvent
from ketaflow.booking import service
from ketaflow.booking.models import Appointment, AppointmentState
from ketaflow.errors import Conflict, ValidationFailed
from ketaflow.jobs.models import OutboxMessage
from tests.booking.factories import Clinic, make_clinic
from tests.patients.factories import make_patient
from tests.support.factories import SYSTEM

NY = ZoneInfo("America/New_York")


def ask(clinic: Clinic, patient_id: int, **changes: object) -> service.SeriesAsk:
    values: dict[str, object] = {"patient_id": patient_id, "site_id": clinic.site.id,
                                 "count": 6, "earliest_on": clinic.first_monday}
    return service.SeriesAsk(**(values | changes))  # type: ignore[arg-type]


def test_a_six_infusion_series_is_booked_in_one_step(db: Session) -> None:
    clinic = make_clinic(db)
    patient = make_patient(db, email="patient@example.org")
    wanted = ask(clinic, patient.id, weekdays=frozenset({0, 2, 4}))
    proposal = service.propose_series(db, ask=wanted)
    assert len(proposal.options) == 4  # the best and three alternatives
    best = proposal.options[0]
    assert [p.start.astimezone(NY).weekday() for p in best] == [0, 2, 4, 0, 2, 4]
    assert best[0].start.astimezone(NY).date() == clinic.first_monday
    rows = service.book_series(db, SYSTEM, ask=wanted, option=0, version=proposal.version,
                               booked_by_user_id=None)
    assert [r.infusion_number for r in rows] == [1, 2, 3, 4, 5, 6]
    assert {r.staff_user_id for r in rows} == {clinic.nurse.id}
    gaps = [(b.starts_at - a.starts_at) for a, b in itertools.pairwise(rows)]
    assert min(gaps) >= timedelta(hours=48)
    assert db.scalar(select(AuditEvent.action).where(
        AuditEvent.action == "appointment_series.book")) is not None
    mail = db.scalars(select(OutboxMessage).where(OutboxMessage.patient_id == patient.id)).one()
    assert mail.purpose == "booking-confirmation" and mail.to_address == "patient@example.org"
    events = Calendar.from_ical(mail.attachments[0]["content"]).walk("VEVENT")
    assert [e.decoded("dtstart") for e in events] == [r.starts_at for r in rows]
    assert "ketamine" not in mail.body_text.lower()


def test_a_proposal_made_before_another_booking_is_refused(db: Session) -> None:
    clinic = make_clinic(db, chairs=1, ratio=1)
    first, second = make_patient(db), make_patient(db)
    one = service.propose_series(db, ask=ask(clinic, first.id, count=2))
    two = service.propose_series(db, ask=ask(clinic, second.id, count=2))
    service.book_series(db, SYSTEM, ask=ask(clinic, first.id, count=2), option=0,
                        version=one.version, booked_by_user_id=None)
    with pytest.raises(Conflict, match="calendar changed"):
        service.book_series(db, SYSTEM, ask=ask(clinic, second.id, count=2), option=0,
                            version=two.version, booked_by_user_id=None)
    fresh = service.propose_series(db, ask=ask(clinic, second.id, count=2))
    taken = {r.starts_at for r in db.scalars(select(Appointment))}
    assert not taken & {p.start for p in fresh.options[0]}


def test_without_a_prescriber_on_shift_nothing_is_placed(db: Session) -> None:
    clinic = make_clinic(db, prescriber=False)
    proposal = service.propose_series(db, ask=ask(clinic, make_patient(db).id))
    assert proposal.options == () and "no prescriber" in (proposal.reason or "")


def test_every_bad_field_of_a_series_is_named(db: Session) -> None:
    clinic = make_clinic(db)
    with pytest.raises(ValidationFailed) as refused:
        service.propose_series(db, ask=ask(clinic, 1, count=0, within_days=0, max_per_week=8,
                                           earliest_on=clinic.first_monday - timedelta(days=30)))
    assert {p.field for p in refused.value.problems} == {
        "count", "within_days", "max_per_week", "earliest_on"}


def test_moving_the_third_infusion_reflows_the_rest_and_keeps_the_old_rows(db: Session) -> None:
    clinic = make_clinic(db)
    patient = make_patient(db, email="patient@example.org")
    wanted = ask(clinic, patient.id, weekdays=frozenset({0, 2, 4}))
    proposal = service.propose_series(db, ask=wanted)
    rows = service.book_series(db, SYSTEM, ask=wanted, option=0, version=proposal.version,
                               booked_by_user_id=None)
    third = rows[2]
    # From Friday week 1 to Monday week 2 at the same time: 4-6 move on by one weekday slot.
    new_start = third.starts_at + timedelta(days=3)
    move = service.propose_move(db, appointment_id=third.id, new_start=new_start)
    assert move.reason is None
    starts = sorted(p.start for p in move.placements)
    assert starts[:2] == [rows[0].starts_at, rows[1].starts_at]
    assert starts[2] == new_start
    assert all(b - a >= timedelta(hours=48) for a, b in itertools.pairwise(starts))
    service.move_appointment(db, SYSTEM, appointment_id=third.id, new_start=new_start,
                             version=move.version, booked_by_user_id=None)
    assert third.state is AppointmentState.MOVED
    current = service.series_rows(db, third.series_id or 0)
    assert [r.starts_at for r in current] == starts
    assert [r.infusion_number for r in current] == [1, 2, 3, 4, 5, 6]
    mails = db.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [m.dedupe_key.rsplit(":", 1)[1] for m in mails] == ["0", "1"]
    assert "have changed" in mails[1].body_text


def test_a_move_into_the_past_or_too_close_is_refused(db: Session) -> None:
    clinic = make_clinic(db)
    patient = make_patient(db)
    wanted = ask(clinic, patient.id)
    proposal = service.propose_series(db, ask=wanted)
    rows = service.book_series(db, SYSTEM, ask=wanted, option=0, version=proposal.version,
                               booked_by_user_id=None)
    with pytest.raises(ValidationFailed, match="future"):
        service.propose_move(db, appointment_id=rows[2].id,
                             new_start=datetime.now(UTC) - timedelta(hours=1))
    close = service.propose_move(db, appointment_id=rows[2].id,
                                 new_start=rows[1].starts_at + timedelta(hours=24))
    assert close.placements == () and "48 h" in (close.reason or "")


def test_the_staff_feed_lists_chairs_and_nurses_but_no_patient(db: Session) -> None:
    from ketaflow.booking import feed
    from ketaflow.errors import NotFound

    clinic = make_clinic(db)
    patient = make_patient(db, family_name="Zebedee")
    wanted = ask(clinic, patient.id, count=2)
    proposal = service.propose_series(db, ask=wanted)
    service.book_series(db, SYSTEM, ask=wanted, option=0, version=proposal.version,
                        booked_by_user_id=None)
    old = feed.issue_feed_token(db, SYSTEM, site_id=clinic.site.id)
    token = feed.issue_feed_token(db, SYSTEM, site_id=clinic.site.id)
    with pytest.raises(NotFound):
        feed.feed_text(db, token=old)
    text = feed.feed_text(db, token=token)
    events = Calendar.from_ical(text).walk("VEVENT")
    assert [str(e["summary"]) for e in events] == ["Chair 1: infusion 1", "Chair 1: infusion 2"]
    assert "Nora Quist" in text
    assert "ZEBEDEE" not in text.upper() and patient.mrn not in text
