"""In Chromium: a nurse sets a patient's reminder plan (a bad time is named, nothing lost),
sees the recent reminders, and the patient stops them from the link in a mail, on a phone."""

from __future__ import annotations

from datetime import time, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, expect

from ketaflow.config import Settings
from ketaflow.db import utcnow
from ketaflow.reminders import service
from ketaflow.reminders.timing import at_local
from tests.browser.conftest import (
    PHONE,
    SIZES,
    assert_fits,
    close_page,
    db_session,
    open_page,
    shot,
    sign_in,
)
from tests.patients.factories import make_patient
from tests.support.factories import SYSTEM, make_user


def _arrange(db_url: str, settings: Settings) -> tuple[str, int, str]:
    """A patient with the default plan and yesterday's check-in reminders."""
    with db_session(db_url) as db:
        nurse = make_user(db, full_name="Nia Mensah")
        patient = make_patient(db, family_name="Okonkwo", given_name="Ada")
        plan = service.save_plan(db, SYSTEM, patient_id=patient.id, user_id=nurse.id,
                                 data=service.PlanInput(time_zone="UTC"))
        yesterday = utcnow().date() - timedelta(days=1)
        for hour in (19, 21):
            service.plan_due(db, at_local(yesterday, time(hour, 0), ZoneInfo("UTC")),
                             settings=settings)
        return nurse.username, patient.id, service.opt_out_token(
            plan, settings.effective_secret_key)


@pytest.mark.browser
@pytest.mark.parametrize("size", list(SIZES))
def test_the_reminder_plan_form(browser: Browser, live_server: str, db_url: str,
                                settings: Settings, size: str) -> None:
    nurse, patient_id, _token = _arrange(db_url, settings)
    context, page, checks = open_page(browser, live_server)
    page.set_viewport_size(SIZES[size])
    try:
        sign_in(page, nurse)
        page.goto(f"/patients/{patient_id}/reminders")
        expect(page.get_by_test_id("patient-banner")).to_contain_text("OKONKWO, Ada")
        expect(page.get_by_test_id("dob")).to_be_visible()
        expect(page.get_by_test_id("delivery")).to_have_count(2)
        expect(page.get_by_test_id("plan-state")).to_contain_text("daily check-in at 19:00")
        shot(page, f"reminders-01-plan-{size}")
        assert_fits(page)
        page.get_by_label("Repeats after the first, 0 to 5").fill("")
        page.get_by_label("Repeats after the first, 0 to 5").press_sequentially("9")
        page.get_by_label("Daily check-in time").fill("20:30")
        # The browser's own range check would stop the form: the server's message is tested.
        page.locator("form.reminder-form").evaluate("f => f.noValidate = true")
        page.get_by_role("button", name="Save reminder plan").click()
        expect(page.get_by_role("alert")).to_contain_text("Repeats must be 0 to 5")
        expect(page.get_by_label("Daily check-in time")).to_have_value("20:30")
        shot(page, f"reminders-02-refused-{size}")
        assert_fits(page)
        page.get_by_label("Repeats after the first, 0 to 5").fill("1")
        page.get_by_role("button", name="Save reminder plan").click()
        expect(page.get_by_role("status")).to_contain_text("Reminder plan saved.")
        expect(page.get_by_test_id("plan-state")).to_contain_text("daily check-in at 20:30")
        expect(page.get_by_text("by Nia Mensah (nurse)")).to_be_visible()
        shot(page, f"reminders-03-saved-{size}")
    finally:
        close_page(context, checks)


@pytest.mark.browser
def test_the_patient_stops_reminders_from_a_phone(browser: Browser, live_server: str,
                                                  db_url: str, settings: Settings) -> None:
    _nurse, patient_id, token = _arrange(db_url, settings)
    phone = browser.new_context(viewport=PHONE, base_url=live_server, is_mobile=True,
                                has_touch=True)
    page = phone.new_page()
    try:
        page.goto(f"/reminders/opt-out/{token}")
        expect(page.get_by_role("heading", name="Stop reminders?")).to_be_visible()
        assert "Okonkwo" not in page.content()
        shot(page, "reminders-04-opt-out-phone")
        assert_fits(page)
        page.get_by_role("button", name="Stop all reminders").click()
        expect(page.get_by_role("heading", name="Reminders stopped")).to_be_visible()
        shot(page, "reminders-05-stopped-phone")
    finally:
        phone.close()
    with db_session(db_url) as db:
        plan = service.plan_for(db, patient_id=patient_id)
        assert plan is not None and plan.opted_out_at is not None
        states = [m.status.value for m in service.recent_messages(db, patient_id=patient_id)]
        assert states == ["cancelled", "cancelled"]  # yesterday's, not yet sent
