"""In Chromium: a nurse registers a patient, then records a weight in pounds, a benzodiazepine
(shown as its diazepam equivalent), a diagnosis and a prior treatment trial."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from ketaflow.config import Role
from ketaflow.db import make_engine, make_session_factory
from ketaflow.patients.demo import seed_patients
from tests.browser.conftest import shot
from tests.support.factories import DEFAULT_PASSWORD, SYSTEM, make_user


def _arrange_nurse(db_url: str) -> None:
    engine = make_engine(db_url)
    session: Session = make_session_factory(engine)()
    make_user(session, role=Role.NURSE, username="noah", full_name="Noah Lindqvist RN")
    session.commit()
    session.close()
    engine.dispose()


def test_nurse_registers_a_patient_and_records_history(page: Page, db_url: str) -> None:
    _arrange_nurse(db_url)
    page.goto("/login")
    page.get_by_label("User name").fill("noah")
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Patients", exact=True).first.click()
    expect(page.get_by_role("heading", name="Patients")).to_be_visible()
    page.get_by_role("link", name="Register a patient").click()

    # A birth date in the future is refused next to the field, keeping what was typed.
    page.get_by_label("Given name").fill("Marigold")
    page.get_by_label("Family name").fill("Storybrook")
    page.get_by_label("Date of birth").fill("2999-05-01")
    page.get_by_label("Sex assigned at birth").select_option("female")
    page.get_by_label("Phone", exact=True).fill("+1 555 0123")
    page.get_by_label("Referring clinician").fill("Dr Quill (fictional)")
    page.get_by_role("button", name="Register patient").click()
    expect(page.locator("#e-date_of_birth")).to_contain_text("cannot be in the future")
    expect(page.get_by_label("Family name")).to_have_value("Storybrook")
    shot(page, "patients-01-register-error")
    page.get_by_label("Date of birth").fill("1984-03-07")
    page.get_by_role("button", name="Register patient").click()
    expect(page.get_by_text("Patient registered.")).to_be_visible()
    expect(page.get_by_test_id("mrn")).to_have_text(re.compile(r"^KF-\d{6}$"))

    # Weight in pounds: refused without a unit, converted exactly with one.
    page.get_by_role("link", name="Add weight/height").click()
    page.get_by_label("Weight", exact=True).fill("165")
    page.get_by_role("button", name="Save measurement").click()
    expect(page.locator("#e-weight_unit")).to_contain_text("state the unit (kg|lb)")
    expect(page.get_by_label("Weight", exact=True)).to_have_value("165")
    shot(page, "patients-02-weight-unit-missing")
    page.get_by_label("Weight unit").select_option("lb")
    page.get_by_label("Height", exact=True).fill("66")
    page.get_by_label("Height unit").select_option("in")
    page.get_by_role("button", name="Save measurement").click()
    expect(page.get_by_test_id("latest-weight")).to_contain_text("74.8 kg")
    expect(page.get_by_test_id("latest-weight")).to_contain_text("entered 165 lb")

    page.get_by_role("link", name="Record diagnosis").click()
    page.get_by_label("Type").select_option("bipolar_i")
    page.get_by_label("Current episode", exact=True).select_option("depressed")
    page.get_by_label("Severity").select_option("severe")
    page.get_by_label("Current episode started").fill("2026-08-15")
    page.get_by_label("History of psychosis").select_option("no")
    page.get_by_label("Substance use", exact=True).select_option("past")
    page.get_by_role("button", name="Save diagnosis").click()
    expect(page.get_by_test_id("icd10")).to_have_text("F31.4")

    page.get_by_role("link", name="Add medication").click()
    page.get_by_label("Drug", exact=True).fill("lorazepam")
    page.get_by_label("Dose", exact=True).fill("2")
    page.get_by_label("Dose unit").select_option("mg/day")
    page.get_by_label("Started").fill("2025-11-01")
    page.get_by_label("Adherence").select_option("good")
    shot(page, "patients-03-medication-form")
    page.get_by_role("button", name="Save medication").click()
    expect(page.get_by_test_id("diazepam-equivalent")).to_have_text("≈ 20 mg/day diazepam")
    expect(page.get_by_test_id("benzo-load")).to_contain_text("20 mg/day diazepam-equivalent")
    expect(page.get_by_test_id("benzo-load")).to_contain_text(
        "linked to a weaker ketamine response in one retrospective study")

    page.get_by_role("link", name="Add medication").click()
    page.get_by_label("Drug", exact=True).fill("lithium")
    page.get_by_label("Dose", exact=True).fill("900")
    page.get_by_label("Dose unit").select_option("mg/day")
    page.get_by_label("Level (mmol/L)").fill("0.8")
    page.get_by_label("Level taken on").fill("2026-10-01")
    page.get_by_role("button", name="Save medication").click()
    expect(page.get_by_text("level 0.8 mmol/L (2026-10-01)")).to_be_visible()

    for drug, dose, weeks, response in (
        ("quetiapine", "400", "10", "none"),
        ("lurasidone", "80", "8", "partial"),
    ):
        page.get_by_role("link", name="Add trial").click()
        page.get_by_label("Drug", exact=True).fill(drug)
        page.get_by_label("Dose (mg/day)", exact=True).fill(dose)
        page.get_by_label("Duration (weeks)").fill(weeks)
        page.get_by_label("Adherence verified").select_option("yes")
        page.get_by_label("Response").select_option(response)
        page.get_by_role("button", name="Save trial").click()
        expect(page.get_by_text("Treatment trial recorded.")).to_be_visible()
    expect(page.get_by_test_id("resistance")).to_contain_text("meets the ISBD 2025 definition")
    shot(page, "patients-04-patient-page")

    page.get_by_role("link", name="Patients", exact=True).first.click()
    page.get_by_label(re.compile("Search by name")).fill("storyb")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("link", name="STORYBROOK, Marigold")).to_be_visible()
    shot(page, "patients-05-search")


def test_front_desk_sees_demographics_only_and_amends(page: Page, db_url: str) -> None:
    engine = make_engine(db_url)
    session: Session = make_session_factory(engine)()
    make_user(session, role=Role.FRONT_DESK, username="fatima", full_name="Fatima Haddad")
    patients = seed_patients(session, SYSTEM)
    session.commit()
    session.close()
    engine.dispose()
    page.goto("/login")
    page.get_by_label("User name").fill("fatima")
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"/patients/{patients[1].id}")
    expect(
        page.get_by_text("Clinical information is visible to clinical staff only.")
    ).to_be_visible()
    expect(page.locator("#medications")).to_have_count(0)
    shot(page, "patients-06-front-desk-view")
    page.get_by_role("link", name="Amend").click()
    page.get_by_label("Phone", exact=True).fill("+1 555 0199")
    page.get_by_role("button", name="Save amendment").click()
    expect(page.locator("#e-reason")).to_contain_text("reason for the amendment is required")
    expect(page.get_by_label("Phone", exact=True)).to_have_value("+1 555 0199")
    page.get_by_label("Reason for the amendment").fill("patient changed number")
    page.get_by_role("button", name="Save amendment").click()
    expect(page.get_by_text("previous version is kept in the history")).to_be_visible()
    page.get_by_role("link", name=re.compile(r"History \(version 2\)")).click()
    expect(page.get_by_role("cell", name="patient changed number")).to_be_visible()
    shot(page, "patients-07-demographics-history")


def _patients_named(db_url: str, family_name: str) -> int:
    from sqlalchemy import func, select

    from ketaflow.patients.models import PatientDemographics

    engine = make_engine(db_url)
    with engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(PatientDemographics).where(
            PatientDemographics.family_name == family_name)).scalar_one()
    engine.dispose()
    return count


def test_a_double_click_registers_once_and_a_namesake_needs_confirmation(
        page: Page, db_url: str) -> None:
    _arrange_nurse(db_url)
    page.goto("/login")
    page.get_by_label("User name").fill("noah")
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    def fill() -> None:
        page.goto("/patients/new")
        page.get_by_label("Given name").fill("Twyla")
        page.get_by_label("Family name").fill("Doubleclick")
        page.get_by_label("Date of birth").fill("1979-09-09")
        page.get_by_label("Sex assigned at birth").select_option("female")

    fill()
    page.get_by_role("button", name="Register patient").dblclick(delay=30)
    expect(page.get_by_text("Patient registered.")).to_be_visible()
    assert _patients_named(db_url, "Doubleclick") == 1
    page.reload()  # a GET: nothing posted again
    assert _patients_named(db_url, "Doubleclick") == 1

    fill()
    page.get_by_role("button", name="Register patient").click()
    expect(page.locator("#e-confirm_same_person")).to_contain_text(
        "same name and date of birth")
    shot(page, "patients-03-namesake-needs-confirmation")
    page.get_by_label("This is a different person with the same name and date of birth").check()
    page.get_by_role("button", name="Register patient").click()
    expect(page.get_by_text("Patient registered.")).to_be_visible()
    assert _patients_named(db_url, "Doubleclick") == 2
