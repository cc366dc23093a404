"""End to end, as issue 13's "done when" reads: the planner puts today's check-in in the outbox,
a worker round mails it over SMTP to a real (local) server, the patient opens the link from the
mail on a phone and enters today's mood, and the next planner round cancels the repeats."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

from playwright.sync_api import Browser, expect
from sqlalchemy import select

from ketaflow.config import Settings
from ketaflow.jobs.models import OutboxMessage, OutboxStatus
from ketaflow.moodchart.models import MoodEntry
from ketaflow.reminders import service as reminders
from tests.browser.conftest import PHONE, assert_fits, db_session, shot
from tests.patients.factories import make_patient
from tests.support.factories import SYSTEM, make_user
from tests.support.outbox import deliver
from tests.support.smtp import Mailbox


def test_a_reminder_mail_leads_to_todays_entry(browser: Browser, live_server: str,
                                               db_url: str, settings: Settings,
                                               smtp_server: Mailbox) -> None:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    # Due a few minutes ago today, with quiet hours well away from now.
    due = max(now - timedelta(minutes=5), now.replace(hour=0, minute=0))
    mail = settings.model_copy(update={"smtp_host": smtp_server.host,
                                       "smtp_port": smtp_server.port,
                                       "public_base_url": live_server})
    with db_session(db_url) as db:
        nurse = make_user(db)
        patient = make_patient(db, given_name="Robin", email="robin@example.org")
        reminders.save_plan(db, SYSTEM, patient_id=patient.id, user_id=nurse.id,
                            data=reminders.PlanInput(
                                time_zone="UTC", mood_at=due.time(), scales_enabled=False,
                                infusion_enabled=False,
                                quiet_start=time((now.hour + 8) % 24),
                                quiet_end=time((now.hour + 9) % 24)))
        assert reminders.plan_due(db, now, settings=mail) == 1
        patient_id = patient.id
    assert deliver(db_url, mail).sent == 1
    (message,) = smtp_server.messages
    assert message["To"] == "robin@example.org"
    body = str(message)
    link = re.search(r"https?://\S+/mood/\S+", body)
    assert link is not None, body
    assert "robin" in body.lower() and "ketamine" not in body.lower()

    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    entry = phone.new_page()
    try:
        entry.goto(link.group(0))
        expect(entry.get_by_role("heading", name="How was your day?")).to_be_visible()
        for pole, score in (("depressed", 1), ("elevated", 0), ("irritable", 0),
                            ("anxious", 1)):
            entry.locator(f'input[name="{pole}"][value="{score}"]').check(force=True)
        entry.get_by_label(re.compile("^Hours slept")).fill("7.5")
        entry.get_by_role("button", name="Send to my clinic").click()
        expect(entry.get_by_role("heading", name=re.compile("Thank you"))).to_be_visible()
        assert_fits(entry)
        shot(entry, "reminder-01-entry-from-mail")
    finally:
        phone.close()

    with db_session(db_url) as db:
        (stored,) = db.scalars(select(MoodEntry).where(MoodEntry.patient_id == patient_id))
        assert (stored.day, stored.depressed, stored.sleep_h) == (now.date(), 1, 7.5)
        # Done for today: the next rounds send no repeat.
        reminders.plan_due(db, now + timedelta(hours=2, minutes=1), settings=mail)
        pending = db.scalars(select(OutboxMessage).where(
            OutboxMessage.patient_id == patient_id,
            OutboxMessage.status == OutboxStatus.PENDING)).all()
        assert pending == []
    assert deliver(db_url, mail).sent == 0
    assert len(smtp_server.messages) == 1
