"""In Chromium: an admin sets the clinic's crisis line and time zone (a wrong zone is refused,
naming the field); a patient's portal PHQ-9 with item 9 positive shows that crisis line."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from ketaflow.clinic import service as clinic
from ketaflow.config import Role, load_settings
from ketaflow.portal import service as portal
from tests.assessments.factories import ctx_for, phq9
from tests.browser.conftest import PHONE, db_session, shot, sign_in
from tests.screening import factories as screening
from tests.support.factories import SYSTEM, make_user

CRISIS_LINE = "+1 555 010 0142 (answered 24 hours)"






def test_admin_sets_the_crisis_line_and_time_zone(page: Page, db_url: str) -> None:
    with db_session(db_url) as db:
        username = make_user(db, role=Role.ADMIN, full_name="Ada Okafor").username
    sign_in(page, username)
    page.get_by_role("link", name=re.compile("Clinic profile")).click()
    expect(page.get_by_role("heading", name="Clinic profile")).to_be_visible()
    page.get_by_label(re.compile("^Clinic name")).fill("Lakeside Ketamine Clinic")
    page.get_by_label(re.compile("^Time zone")).fill("America/Chikago")
    page.get_by_label(re.compile("^The clinic's crisis line")).fill(CRISIS_LINE)
    page.get_by_label(re.compile("^National crisis line \\(by country\\)")).select_option("US")
    page.get_by_role("button", name="Save clinic profile").click()
    zone = page.get_by_label(re.compile("^Time zone"))
    expect(zone).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#e-timezone")).to_contain_text("is not an IANA time zone name")
    expect(page.get_by_label(re.compile("^The clinic's crisis line"))).to_have_value(CRISIS_LINE)
    shot(page, "clinic-01-unknown-time-zone")
    zone.fill("America/Chicago")
    page.get_by_role("button", name="Save clinic profile").click()
    expect(page.get_by_text("Clinic profile saved.")).to_be_visible()
    expect(page.get_by_test_id("timezone-in-force")).to_contain_text(
        "America/Chicago (clinic profile)")
    expect(page.get_by_test_id("crisis-line")).to_have_text(CRISIS_LINE)
    shot(page, "clinic-02-profile-saved")


def test_portal_phq9_item9_shows_the_clinic_crisis_line(browser: Browser, live_server: str,
                                                        db_url: str) -> None:
    settings = load_settings(database_url=db_url, secret_key="x" * 48)
    with db_session(db_url) as db:
        clinic.update_profile(db, SYSTEM, production=False, entry=clinic.ProfileEntry(
            name="Lakeside Ketamine Clinic", timezone="America/Chicago", crisis_line=CRISIS_LINE,
            national_line_country="US",
            after_hours="Call the on-call psychiatrist through the hospital switchboard."))
        patient = screening.make_patient(db)
        nurse = make_user(db, role=Role.NURSE)
        issued = portal.issue_portal_link(db, ctx_for(nurse), settings, patient_id=patient.id,
                                          instruments=["phq9"], created_by_user_id=nurse.id)
        token = issued.url.rsplit("/", 1)[1]
    phone = browser.new_context(viewport=PHONE, base_url=live_server, is_mobile=True,
                                has_touch=True)
    mobile = phone.new_page()
    mobile.goto(f"/portal/{token}")
    for item_id, value in phq9(11, item9=1).items():
        mobile.locator(f'label.choice:has(input[name="phq9.{item_id}"][value="{value}"])').tap()
    mobile.get_by_role("button", name="Send my answers").tap()
    expect(mobile.get_by_role("heading", name="Thank you, your answers were sent")).to_be_visible()
    crisis = mobile.get_by_role("alert")
    expect(crisis).to_contain_text("If you are in danger now, call your local emergency number.")
    expect(crisis).to_contain_text(f"call your clinic's crisis line: {CRISIS_LINE}.")
    expect(crisis).to_contain_text("988 Suicide & Crisis Lifeline: 988 (call or text)")
    expect(crisis).to_contain_text("Outside clinic hours: Call the on-call psychiatrist")
    expect(crisis).not_to_contain_text("[")
    shot(mobile, "clinic-03-portal-crisis-line")
    phone.close()
