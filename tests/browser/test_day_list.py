"""In Chromium at tablet (1024x768) and phone (390x844) sizes: the nurse opens today's session
from the day's list with one button, and sees the patient's name, date of birth and MRN on the
list, the chair page and the printed summary; staff appear by name, never by id."""

from __future__ import annotations

import re
from datetime import date

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ketaflow.clinic import service as clinic_profile
from ketaflow.config import Role
from ketaflow.infusions.models import InfusionSession
from tests.browser.conftest import SIZES, assert_fits, close_page, open_page, shot
from tests.browser.test_infusion import _in_db
from tests.infusions.factories import Clinic, ctx_for, make_course, self_report
from tests.infusions.test_day_list import STAFF_PLACEHOLDER
from tests.patients.factories import make_patient
from tests.support.factories import DEFAULT_PASSWORD, SYSTEM, make_user

BORN = date(1979, 6, 14)


def _arrange(db: Session) -> int:
    nurse = make_user(db, role=Role.NURSE, username="noah", full_name="Noah Reyes")
    prescriber = make_user(db, role=Role.PRESCRIBER, username="raman", full_name="Dr Raman")
    clinic = Clinic(nurse, prescriber, ctx_for(nurse), ctx_for(prescriber))
    patient = make_patient(db, given_name="Ines", family_name="Okafor", date_of_birth=BORN,
                           mrn="MRN-4471")
    course = make_course(db, clinic, patient=patient)
    self_report(db, course.patient_id)
    clinic_profile.update_profile(db, SYSTEM, production=False, entry=clinic_profile.ProfileEntry(
        name="Lakeside Infusion Clinic", national_line_country="US"))
    return course.id


def _identity(page: Page) -> None:
    banner = page.get_by_test_id("patient-banner")
    expect(banner).to_contain_text("OKAFOR, Ines")
    expect(banner).to_contain_text(BORN.isoformat())
    expect(banner).to_contain_text("MRN-4471")
    assert not STAFF_PLACEHOLDER.search(page.content())


@pytest.mark.browser
@pytest.mark.parametrize("size", list(SIZES))
def test_nurse_opens_todays_session_from_the_list(browser: Browser, live_server: str,
                                                  db_url: str, size: str) -> None:
    _in_db(db_url, _arrange)
    context, page, checks = open_page(browser, live_server)
    page.set_viewport_size(SIZES[size])
    try:
        page.goto("/login")
        page.get_by_label("User name").fill("noah")
        page.get_by_label("Password").fill(DEFAULT_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.goto("/infusions")
        expect(page.get_by_role("heading", name="Today's infusions")).to_be_visible()
        row = page.get_by_test_id("day-row")
        expect(row).to_have_count(1)
        for text in ("OKAFOR, Ines", BORN.isoformat(), "MRN-4471", "1 of 6"):
            expect(row).to_contain_text(text)
        assert not STAFF_PLACEHOLDER.search(page.content())
        shot(page, f"daylist-01-list-{size}")
        assert_fits(page)

        with page.expect_navigation():
            row.get_by_role("button", name="Open session").click()
        assert re.search(r"/infusions/sessions/\d+$", page.url), page.inner_text("body")[:600]
        _identity(page)
        expect(page.locator("#status")).to_have_text("planned")
        shot(page, f"daylist-02-chair-{size}")
        # Back on the list the row now leads to the open session: no second one is possible.
        page.goto("/infusions")
        expect(page.get_by_role("button", name="Open session")).to_have_count(0)
        page.get_by_test_id("day-row").get_by_role("link", name=re.compile("Session")).click()
        page.get_by_role("link", name="Session summary (print)").click()
        _identity(page)
        expect(page.get_by_test_id("clinic-name")).to_have_text("Lakeside Infusion Clinic")
        expect(page.get_by_test_id("summary-staff")).to_contain_text("Noah Reyes (nurse)")
        expect(page.get_by_test_id("printed")).to_contain_text(
            re.compile(r"Printed \d{4}-\d\d-\d\d \d\d:\d\d UTC"))
        shot(page, f"daylist-03-summary-{size}")
    finally:
        close_page(context, checks)

    def count(db: Session) -> int:
        return db.scalar(select(func.count()).select_from(InfusionSession)) or 0
    assert _in_db(db_url, count) == 1
