"""In Chromium: a nurse completes a screening, a prescriber signs it, records consent and plans
a treatment course."""

from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from ketaflow.clinical.eligibility import CHECKLIST, ItemKind
from ketaflow.config import Role
from ketaflow.db import make_engine, make_session_factory, utcnow
from tests.browser.conftest import shot, sign_in
from tests.screening.factories import make_patient
from tests.support.factories import make_user


def _arrange(db_url: str) -> int:
    engine = make_engine(db_url)
    session: Session = make_session_factory(engine)()
    patient = make_patient(session, adequate_trials=2)
    make_user(session, role=Role.NURSE, username="noah", full_name="Noah Lindqvist RN")
    make_user(session, role=Role.PRESCRIBER, username="priya", full_name="Dr Priya Raman")
    session.commit()
    session.close()
    engine.dispose()
    return patient.id




def _nurse_fills_screening(page: Page, patient_id: int) -> str:
    page.goto(f"/patients/{patient_id}")
    page.get_by_role("link", name="Start a screening").click()  # loaded into the page by HTMX
    expect(page.get_by_role("heading", name="Eligibility screening")).to_be_visible()
    for item in CHECKLIST:
        answer = "yes" if item.kind is ItemKind.REQUIREMENT else "no"
        if item.key == "cns_depressants":
            answer = "yes"  # a caution: clonazepam at night
            page.get_by_label(f"Note: {item.question}").fill("clonazepam 0.5 mg at night")
        page.locator(f"#a-{item.key}-{answer}").check()
    page.get_by_label("Systolic BP (mmHg)").fill("132")
    page.get_by_label("Diastolic BP (mmHg)").fill("84")
    page.get_by_label("Heart rate (beats/min)").fill("76")
    page.get_by_label("SpO2 (%)").fill("98")
    page.get_by_label("Weight (kg)").fill("72.4")
    page.get_by_label("Baseline YMRS total (0-60)").fill("6")
    page.get_by_label("Pregnancy and breastfeeding").select_option("negative_test")
    page.get_by_label("Negative pregnancy test date").fill(utcnow().date().isoformat())
    page.get_by_label("Current episode (months)").fill("14")
    page.get_by_label("Symptom severity").select_option("moderate")
    page.get_by_label("Failed antidepressants").fill("3")
    page.get_by_label("Augmentation used").select_option("yes")
    page.get_by_label("ECT used").select_option("no")
    shot(page, "20-screening-form")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("Screening saved as a draft.")).to_be_visible()
    expect(page.get_by_test_id("outcome").first).to_have_text("eligible with cautions")
    expect(page.get_by_text("A prescriber signs the screening.")).to_be_visible()
    shot(page, "21-screening-draft-nurse")
    return page.url.split("?")[0]


def test_screening_consent_and_course(page: Page, db_url: str) -> None:
    patient_id = _arrange(db_url)
    sign_in(page, "noah")
    screening_url = _nurse_fills_screening(page, patient_id)
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, "priya")
    page.goto(screening_url)
    expect(page.get_by_test_id("resistance")).to_contain_text("Meets the ISBD 2025 definition")
    expect(page.get_by_test_id("maudsley")).to_contain_text("8 / 15: moderate")
    page.get_by_role("button", name="Sign as prescriber").click()
    expect(page.get_by_text("Screening signed.")).to_be_visible()
    expect(page.get_by_test_id("status")).to_contain_text("signed by Dr Priya Raman")
    shot(page, "22-screening-signed")

    page.get_by_role("link", name="Record consent").click()
    page.get_by_label("Consent form version").fill("OLC-2026.1")
    page.get_by_label("Witnessed by").select_option(label="Noah Lindqvist RN")
    shot(page, "23-consent-form")
    page.get_by_role("button", name="Record consent").click()
    expect(page).to_have_url(re.compile(rf"/patients/{patient_id}"))
    expect(page.get_by_test_id("consents")).to_contain_text("OLC-2026.1")
    shot(page, "24-patient-screening-sections")

    page.get_by_role("link", name="Plan a treatment course").click()
    # Start next Monday so the Mon/Wed/Fri dates are predictable.
    today = utcnow().date()
    monday = today + timedelta(days=7 - today.weekday())
    page.get_by_label("First infusion date").fill(monday.isoformat())
    shot(page, "25-course-form")
    page.get_by_role("button", name="Plan course").click()
    expect(page.get_by_text("Course planned.")).to_be_visible()
    rows = page.get_by_test_id("planned-dates").locator("tbody tr")
    expect(rows).to_have_count(6)
    expect(rows.first).to_contain_text(monday.isoformat())
    expect(rows.nth(3)).to_contain_text((monday + timedelta(days=7)).isoformat())
    expect(page.get_by_test_id("course-state")).to_have_text("planned")
    shot(page, "26-course-planned")
    page.get_by_role("button", name="Start course").click()
    expect(page.get_by_test_id("course-state")).to_have_text("active")
    shot(page, "27-course-active")
