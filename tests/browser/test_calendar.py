"""In Chromium: the front desk adds a site (a bad time zone refused, naming the field), puts a
nurse on shift (an overlap refused), and sees the site's day with the patient's identifiers,
then cancels an appointment with its reason."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import Page, expect

from ketaflow.booking.models import Appointment, AppointmentKind, Site
from ketaflow.config import Role
from tests.browser.conftest import PHONE, assert_fits, db_session, shot, sign_in
from tests.patients.factories import make_patient
from tests.support.factories import make_user


def test_front_desk_sets_up_a_site_and_works_its_day(page: Page, db_url: str) -> None:
    with db_session(db_url) as db:
        desk = make_user(db, role=Role.FRONT_DESK, full_name="Dana Reyes").username
        make_user(db, role=Role.NURSE, full_name="Nora Quist")
        patient = make_patient(db)
        mrn = patient.mrn
    sign_in(page, desk)
    page.get_by_role("link", name="Calendar", exact=True).first.click()
    page.get_by_label("Code (short, e.g. NORTH)").fill("NORTH")
    page.get_by_label("Name", exact=True).fill("North clinic")
    page.get_by_label(re.compile("^Time zone")).fill("Europe/Londn")
    page.get_by_role("button", name="Add site").click()
    expect(page.locator("#e-timezone")).to_contain_text("IANA zone")
    expect(page.get_by_label("Name", exact=True)).to_have_value("North clinic")
    page.get_by_label(re.compile("^Time zone")).fill("Europe/London")
    page.get_by_role("button", name="Add site").click()
    expect(page.get_by_text("Site saved.")).to_be_visible()
    zone = ZoneInfo("Europe/London")
    today = datetime.now(UTC).astimezone(zone).date()
    # A weekday the site opens (Mon-Fri by default), a week ahead.
    day = today + timedelta(days=7 - today.weekday())
    page.goto(page.url.split("?")[0] + f"?day={day.isoformat()}")
    page.get_by_label("Shift starts").fill("08:00")
    page.get_by_label("Shift ends").fill("14:00")
    page.get_by_role("button", name="Add shift").click()
    expect(page.get_by_text("Shift added.")).to_be_visible()
    page.get_by_label("Shift starts").fill("12:00")
    page.get_by_label("Shift ends").fill("16:00")
    page.get_by_role("button", name="Add shift").click()
    expect(page.locator("#e-starts")).to_contain_text("overlaps Nora Quist's shift 08:00 to 14:00")
    with db_session(db_url) as db:
        site = db.query(Site).one()
        db.add(Appointment(patient_id=patient.id, site_id=site.id, kind=AppointmentKind.INFUSION,
                           infusion_number=1, minutes=120,
                           starts_at=datetime.combine(day, datetime.min.time(), zone)
                           .replace(hour=9).astimezone(UTC)))
    page.goto(f"{page.url.split('/calendar')[0]}/calendar/sites/{site.id}?day={day.isoformat()}")
    row = page.get_by_test_id("appointment-row")
    expect(row).to_contain_text("09:00–11:00")
    expect(row).to_contain_text(mrn)
    expect(row).to_contain_text("infusion 1")
    shot(page, "calendar-01-site-day")
    row.get_by_text("Cancel or no-show").click()
    row.get_by_role("button", name="Save").click()
    expect(page.locator("#e-reason")).to_have_text("Reason is required")
    row = page.get_by_test_id("appointment-row")
    row.get_by_label("Reason (required)").fill("Patient unwell")
    row.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Appointment updated.")).to_be_visible()
    expect(page.get_by_test_id("appointment-row")).to_contain_text("Patient unwell")
    page.set_viewport_size(PHONE)
    assert_fits(page)
    shot(page, "calendar-02-site-day-phone")
