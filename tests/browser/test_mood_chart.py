"""In Chromium: a nurse gives a patient their mood link; the patient enters today's mood on a
phone (a missing answer is named, nothing lost); the nurse sees the day on the life chart with
a switch warning and its reason, and marks a wrong entry as entered in error."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Browser, expect

from ketaflow.db import utcnow
from ketaflow.moodchart import service
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


def _arrange(db_url: str) -> tuple[str, int]:
    """A patient well for two weeks, then two elevated days with short nights."""
    with db_session(db_url) as db:
        nurse = make_user(db, full_name="Nia Mensah").username
        patient = make_patient(db, family_name="Lindqvist", given_name="Sara")
        patient.created_at = utcnow() - timedelta(days=30)
        today = service.clinic_day(utcnow(), "UTC")
        for days_ago in range(16, 0, -1):
            up, sleep = (2, 4.5) if days_ago <= 2 else (0, 8.0)
            service.record_entry(db, SYSTEM, patient_id=patient.id, zone="UTC",
                                 data=service.EntryInput(today - timedelta(days=days_ago), 0,
                                                         up, up, 0, sleep))
        return nurse, patient.id




@pytest.mark.browser
@pytest.mark.parametrize("size", list(SIZES))
def test_phone_entry_then_the_life_chart(browser: Browser, live_server: str, db_url: str,
                                         size: str) -> None:
    nurse, patient_id = _arrange(db_url)
    context, page, checks = open_page(browser, live_server)
    page.set_viewport_size(SIZES[size])
    try:
        sign_in(page, nurse)
        page.goto(f"/patients/{patient_id}/mood")
        expect(page.get_by_test_id("patient-banner")).to_contain_text("LINDQVIST, Sara")
        page.get_by_role("button", name=re.compile("Create a new link")).click()
        link = page.get_by_test_id("mood-link").get_by_role("link").first.get_attribute("href")
        assert link is not None and "/mood/" in link
        shot(page, f"mood-01-link-{size}")
    finally:
        close_page(context, checks)

    phone = browser.new_context(viewport=PHONE, base_url=live_server, is_mobile=True,
                                has_touch=True)
    entry = phone.new_page()
    try:
        entry.goto("/mood/" + link.rsplit("/mood/", 1)[1])
        expect(entry.get_by_role("heading", name="How was your day?")).to_be_visible()
        entry.locator('input[name="depressed"][value="0"]').check(force=True)
        entry.locator('input[name="elevated"][value="2"]').check(force=True)
        entry.locator('input[name="irritable"][value="1"]').check(force=True)
        entry.get_by_label(re.compile("^Hours slept")).fill("4")
        entry.get_by_role("button", name="Send to my clinic").click()
        expect(entry.get_by_role("alert")).to_contain_text("Anxious or worried: choose 0 to 3")
        expect(entry.get_by_label(re.compile("^Hours slept"))).to_have_value("4")
        shot(entry, f"mood-02-phone-missing-{size}")
        entry.locator('input[name="anxious"][value="1"]').check(force=True)
        entry.get_by_role("button", name="Send to my clinic").click()
        expect(entry.get_by_role("heading", name=re.compile("Thank you"))).to_be_visible()
        assert_fits(entry)
        shot(entry, f"mood-03-phone-sent-{size}")
    finally:
        phone.close()

    context, page, checks = open_page(browser, live_server)
    page.set_viewport_size(SIZES[size])
    try:
        sign_in(page, nurse)
        page.goto(f"/patients/{patient_id}/mood?days=30")
        warning = page.get_by_test_id("mood-warning").first
        expect(warning).to_contain_text("possible manic switch")
        expect(warning).to_contain_text("averaging 0.4 over the last 5 days (usual 0)")
        chart = page.locator("#life-chart")
        expect(chart).to_be_visible()
        expect(chart.locator("path > title", has_text="warning ")).to_have_count(1)
        report_link = page.get_by_test_id("mood-report-link")
        expect(report_link).to_have_text("Print report (PDF)")
        report = page.request.get(report_link.get_attribute("href") or "")
        assert report.ok and report.headers["content-type"] == "application/pdf"
        assert report.body().startswith(b"%PDF-")
        rows = page.get_by_test_id("mood-entry")
        expect(rows).to_have_count(17)
        expect(rows.first).to_contain_text("patient (link)")
        rows.first.get_by_text("Mark entered in error").click()
        rows.first.get_by_label("Reason").fill("sent by the wrong person")
        rows.first.get_by_role("button", name="Mark").click()
        expect(page.get_by_text("Entry marked as entered in error.")).to_be_visible()
        expect(page.get_by_test_id("mood-entry").first).to_contain_text(
            "Entered in error: sent by the wrong person")
        assert_fits(page)
        shot(page, f"mood-04-chart-{size}")
    finally:
        close_page(context, checks)
