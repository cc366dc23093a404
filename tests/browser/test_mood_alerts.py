"""In Chromium, at tablet and phone sizes: the prescriber sees the mood chart's switch warning as
an alert with its reason (on the mood chart and the patient's alerts) and acknowledges it with a
note; confirms a booster that a relapse moved earlier, keeping the planned date beside it; and
cancels it with a reason."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Browser, expect

from ketaflow.alerts import mood
from ketaflow.config import Role
from ketaflow.db import utcnow
from ketaflow.moodchart import service
from ketaflow.moodchart.warnings import clinic_day
from ketaflow.patients.service.identity import patient_identity
from tests.browser.conftest import (
    SIZES,
    assert_fits,
    close_page,
    db_session,
    open_page,
    shot,
    sign_in,
)
from tests.courses.test_maintenance import course_in_maintenance, relapse
from tests.infusions.factories import make_clinic
from tests.patients.factories import make_patient
from tests.support.factories import SYSTEM, make_user


def _switching_patient(db_url: str) -> tuple[str, int]:
    """A patient charting elevated days with short nights: the entries raise a switch alert."""
    with db_session(db_url) as db:
        prescriber = make_user(db, role=Role.PRESCRIBER, full_name="Ines Okafor").username
        patient = make_patient(db, family_name="Halvorsen", given_name="Mia")
        patient.created_at = utcnow() - timedelta(days=30)
        today = clinic_day(utcnow(), "UTC")
        for days_ago in range(4, -1, -1):
            service.record_entry(db, SYSTEM, patient_id=patient.id, zone="UTC",
                                 data=service.EntryInput(today - timedelta(days=days_ago), 0,
                                                         2, 2, 0, 4.5))
        return prescriber, patient.id


@pytest.mark.browser
@pytest.mark.parametrize("size", list(SIZES))
def test_the_prescriber_acknowledges_a_switch_warning(browser: Browser, live_server: str,
                                                      db_url: str, size: str) -> None:
    prescriber, patient_id = _switching_patient(db_url)
    context, page, checks = open_page(browser, live_server)
    page.set_viewport_size(SIZES[size])
    try:
        sign_in(page, prescriber)
        page.goto("/alerts")
        card = page.locator(".alert-card", has_text="Mood chart: possible switch")
        with db_session(db_url) as db:
            who = patient_identity(db, patient_id)
        assert who is not None
        expect(card).to_contain_text(f"HALVORSEN, Mia · born {who.born} · MRN {who.mrn}")
        expect(card).to_contain_text("Why: possible manic switch")
        page.goto(f"/patients/{patient_id}/mood")
        expect(page.get_by_test_id("patient-banner")).to_contain_text("HALVORSEN, Mia")
        alerts = page.locator("#alerts")
        expect(alerts.get_by_role("heading", name="Open mood alerts (1)")).to_be_visible()
        card = alerts.locator(".alert-card")
        expect(card).to_contain_text("possible switch to (hypo)mania")
        expect(card).to_contain_text("Why: possible manic switch: elevated or irritable mood "
                                     "averaging 2")
        expect(card.get_by_role("link", name="mood chart")).to_be_visible()
        assert_fits(page)
        shot(page, f"mood-alert-01-open-{size}")
        card.get_by_label("Action taken").fill("ok")
        card.get_by_role("button", name="Acknowledge").click()
        expect(page.get_by_role("alert")).to_contain_text("at least 5 characters")
        page.goto(f"/patients/{patient_id}/mood")
        card = page.locator("#alerts .alert-card")
        card.get_by_label("Action taken").fill("Phoned: sleeping 4-5 h; YMRS at tomorrow's visit")
        card.get_by_role("button", name="Acknowledge").click()
        expect(page).to_have_url(re.compile(rf"/patients/{patient_id}/mood#alerts$"))
        expect(page.get_by_text("No open alerts from the mood chart.")).to_be_visible()
        page.goto(f"/patients/{patient_id}/assessments")
        done = page.locator(".alert-card.done", has_text="Mood chart: possible switch")
        expect(done).to_contain_text("by Ines Okafor")
        expect(done).to_contain_text("Phoned: sleeping 4-5 h")
        expect(done).to_contain_text("Why: possible manic switch")
        assert_fits(page)
        shot(page, f"mood-alert-02-acknowledged-{size}")
    finally:
        close_page(context, checks)


@pytest.mark.browser
@pytest.mark.parametrize("size", list(SIZES))
def test_the_prescriber_confirms_an_earlier_booster(browser: Browser, live_server: str,
                                                    db_url: str, size: str) -> None:
    with db_session(db_url) as db:
        clinic = make_clinic(db)
        course = course_in_maintenance(db, clinic)
        relapse(db, course)
        mood.refresh_mood_alerts(db, clinic.nurse_ctx, patient_id=course.patient_id,
                                 today=clinic_day(utcnow(), "UTC"), zone="UTC")
        course_id, prescriber = course.id, clinic.prescriber.username
        name = clinic.prescriber.full_name
    context, page, checks = open_page(browser, live_server)
    page.set_viewport_size(SIZES[size])
    try:
        sign_in(page, prescriber)
        page.goto(f"/courses/{course_id}#maintenance")
        expect(page.get_by_test_id("patient-banner")).to_be_visible()
        first = page.get_by_test_id("boosters").locator("tbody tr").first
        expect(first).to_contain_text("Why: possible depressive relapse")
        earlier = first.get_by_role("button", name=re.compile("^Confirm earlier date"))
        expect(first.get_by_role("button", name=re.compile("^Keep "))).to_be_visible()
        assert_fits(page)
        shot(page, f"booster-01-suggested-{size}")
        earlier.click()
        expect(page.get_by_text("Booster confirmed")).to_be_visible()
        first = page.get_by_test_id("boosters").locator("tbody tr").first
        expect(first).to_contain_text("confirmed")
        expect(first).to_contain_text(name)
        expect(first.get_by_role("button", name=re.compile("^(Confirm|Keep)"))).to_have_count(0)
        assert_fits(page)
        shot(page, f"booster-02-confirmed-{size}")
        # Plans change: the prescriber cancels the confirmed booster, saying why.
        form = page.get_by_test_id("cancel-booster")
        form.get_by_role("button", name="Cancel booster").click()  # no reason: refused
        expect(page.get_by_text("Say why the booster is cancelled").first).to_be_visible()
        expect(form.get_by_label("Booster").locator("option").first).to_have_text(
            re.compile(r"^1: .* \(confirmed\)$"))
        form.get_by_label("Booster").select_option(index=0)
        form.get_by_label("Reason to cancel it").fill("travelling for three weeks; review later")
        form.get_by_role("button", name="Cancel booster").click()
        expect(page.get_by_text("Booster cancelled")).to_be_visible()
        first = page.get_by_test_id("boosters").locator("tbody tr").first
        expect(first).to_have_attribute("data-state", "cancelled")
        expect(first).to_contain_text(f"cancelled by {name}")
        expect(first).to_contain_text("Why: travelling for three weeks; review later")
        expect(page.get_by_test_id("cancel-booster").get_by_label("Booster").locator(
            "option")).to_have_count(8)  # the other boosters ahead
        assert_fits(page)
        shot(page, f"booster-03-cancelled-{size}")
    finally:
        close_page(context, checks)
