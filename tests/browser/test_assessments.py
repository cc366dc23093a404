"""In Chromium: a nurse enters a MADRS on a tablet and sees it charted; a patient answers a PHQ-9
on a phone through a portal link; a prescriber acknowledges the alert it raised."""

from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from ketaflow.alerts.models import Alert
from ketaflow.assessments.models import Assessment
from ketaflow.config import Role, load_settings
from ketaflow.db import utcnow
from ketaflow.portal import service as portal
from tests.assessments.factories import ctx_for, madrs, make_course, phq9, record
from tests.browser.conftest import PHONE, db_session, shot, sign_in
from tests.screening import factories as screening
from tests.support.factories import make_user


def _choose(page: Page, field: str, value: int) -> None:
    page.locator(f'label.choice:has(input[name="{field}"][value="{value}"])').click()


def test_nurse_enters_a_madrs_on_a_tablet_and_sees_it_charted(page: Page, db_url: str) -> None:
    with db_session(db_url) as db:
        patient = screening.make_patient(db)
        nurse = make_user(db, role=Role.NURSE, full_name="Noah Lindqvist RN")
        start = (utcnow() - timedelta(days=11)).date()
        make_course(db, patient, start)
        for days, total in ((13, 32), (8, 24), (4, 17)):
            record(db, patient, nurse, "madrs", madrs(total), utcnow() - timedelta(days=days))
        patient_id, username = patient.id, nurse.username
    sign_in(page, username)
    page.goto(f"/patients/{patient_id}/assessments/new?instrument=madrs")
    expect(page.get_by_role("heading", name=re.compile("New Montgomery"))).to_be_visible()
    chosen = madrs(13)
    items = list(chosen.items())
    for item_id, value in items[:-1]:
        _choose(page, f"item.{item_id}", int(value or 0))
    # Forget the last item first: the form comes back (422) with it named and nothing lost.
    page.get_by_role("button", name="Save MADRS").click()
    expect(page.get_by_role("alert")).to_contain_text("item 10 (suicidal_thoughts) is missing")
    expect(page.locator('input[name="item.apparent_sadness"][value="6"]')).to_be_checked()
    shot(page, "assessments-01-madrs-missing-item")
    _choose(page, "item.suicidal_thoughts", int(items[-1][1] or 0))
    shot(page, "assessments-02-madrs-tablet")
    page.get_by_role("button", name="Save MADRS").click()
    expect(page.get_by_text("Assessment saved.")).to_be_visible()
    chart = page.locator("#chart-madrs")
    expect(chart).to_be_visible()
    # Each rating is a described point: its date and score as a hover title.
    expect(chart.locator("path > title", has_text=re.compile(r"^\d{4}-\d\d-\d\d: \d+"))
           ).to_have_count(4)
    expect(page.locator("#panel-madrs .outcome")).to_contain_text("baseline 32")
    expect(chart.locator("path > title", has_text="planned infusion").first).to_be_attached()
    shot(page, "assessments-03-madrs-chart")


def test_patient_completes_a_phq9_on_a_phone(browser: Browser, live_server: str, page: Page,
                                             db_url: str) -> None:
    settings = load_settings(database_url=db_url, secret_key="x" * 48)
    with db_session(db_url) as db:
        patient = screening.make_patient(db)
        nurse = make_user(db, role=Role.NURSE)
        issued = portal.issue_portal_link(db, ctx_for(nurse), settings, patient_id=patient.id,
                                          instruments=["phq9"], created_by_user_id=nurse.id)
        token = issued.url.rsplit("/", 1)[1]
        patient_id, username = patient.id, nurse.username
    phone = browser.new_context(viewport=PHONE, base_url=live_server, is_mobile=True,
                                has_touch=True)
    errors: list[str] = []
    mobile = phone.new_page()
    mobile.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    mobile.goto(f"/portal/{token}")
    expect(mobile.get_by_text("Little interest or pleasure in doing things")).to_be_visible()
    expect(mobile.get_by_text(re.compile("Pfizer"))).to_be_visible()
    shot(mobile, "assessments-04-portal-phone")
    width = mobile.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways on a phone ({width}px)"
    for item_id, value in phq9(11, item9=1).items():
        mobile.locator(f'label.choice:has(input[name="phq9.{item_id}"][value="{value}"])').tap()
    mobile.get_by_role("button", name="Send my answers").tap()
    expect(mobile.get_by_role("heading", name="Thank you, your answers were sent")).to_be_visible()
    expect(mobile.get_by_role("alert")).to_contain_text("call your local emergency number")
    shot(mobile, "assessments-05-portal-done-pathway")
    mobile.goto(f"/portal/{token}")
    expect(mobile.get_by_role("heading", name="Already completed")).to_be_visible()
    phone.close()
    assert not [e for e in errors if "status of 4" not in e], errors

    sign_in(page, username)
    page.goto(f"/patients/{patient_id}/assessments")
    rating = page.locator("#chart-phq9 path > title", has_text=re.compile(r"^\d{4}-\d\d-\d\d: "))
    expect(rating).to_have_count(1)
    expect(rating).to_contain_text("11 (moderate)")
    expect(page.get_by_role("cell", name="patient (portal)")).to_be_visible()
    expect(page.locator("#alerts")).to_contain_text("C-SSRS screen needed")
    shot(page, "assessments-06-portal-answers-on-chart")


def test_prescriber_acknowledges_an_alert(page: Page, db_url: str) -> None:
    with db_session(db_url) as db:
        patient = screening.make_patient(db)
        nurse = make_user(db, role=Role.NURSE)
        doctor = make_user(db, role=Role.PRESCRIBER, full_name="Dr Priya Raman")
        record(db, patient, nurse, "madrs", madrs(34, item10=4), utcnow() - timedelta(hours=3))
        username = doctor.username
    sign_in(page, username)
    panel = page.locator("#open-alerts")
    expect(panel.get_by_role("heading", name="Open alerts (2)")).to_be_visible()
    shot(page, "assessments-07-home-open-alerts")
    card = panel.locator(".alert-card.urgent")
    card.get_by_label("Action taken").fill("ok")
    card.get_by_role("button", name="Acknowledge").click()
    expect(page.locator(".alert-card.urgent .field-error")).to_contain_text("at least 5")
    card = page.locator(".alert-card.urgent")
    card.get_by_label("Action taken").fill("Seen same day: C-SSRS low risk, safety plan updated")
    card.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_text("Alert acknowledged.")).to_be_visible()
    expect(page.locator(".alert-card")).to_have_count(1)
    shot(page, "assessments-08-alert-acknowledged")
    with db_session(db_url) as db:
        acknowledged = db.scalars(select(Alert).where(Alert.acknowledged_at.is_not(None))).one()
        assert acknowledged.action_note == "Seen same day: C-SSRS low risk, safety plan updated"
        assert db.scalar(select(Assessment.id)) == acknowledged.source_assessment_id
