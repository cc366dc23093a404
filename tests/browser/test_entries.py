"""In Chromium at tablet (1024x768) and phone (390x844) sizes: plausible entries. A nurse
confirms a large weight change, marks a weight entered in error (struck through; the next order
uses the previous valid weight and the chair page flags the order that used it), is refused
lorazepam above its label maximum until she confirms with a reason, and records "no known
allergies"."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.auth.models import StaffUser
from ketaflow.config import Role
from ketaflow.infusions import service as infusions
from ketaflow.patients import service
from ketaflow.patients.models import Patient
from tests.browser.conftest import (
    SIZES,
    assert_fits,
    close_page,
    open_page,
    shot,
    sign_in,
)
from tests.browser.test_infusion import _in_db
from tests.infusions.factories import Clinic, ctx_for, make_course, order_input
from tests.patients.factories import make_patient
from tests.support.factories import SYSTEM, make_user

BORN = date(1981, 2, 3)
pytestmark = pytest.mark.browser


@dataclass
class Arranged:
    patient_id: int
    session_id: int = 0
    measurement_id: int = 0


def _people(db: Session) -> Clinic:
    nurse = make_user(db, role=Role.NURSE, username="noah", full_name="Noah Reyes")
    prescriber = make_user(db, role=Role.PRESCRIBER, username="raman", full_name="Dr Raman")
    return Clinic(nurse, prescriber, ctx_for(nurse), ctx_for(prescriber))


def _patient(db: Session) -> int:
    return make_patient(db, given_name="Wren", family_name="Halloway", date_of_birth=BORN,
                        mrn="MRN-5520").id


@pytest.fixture(params=list(SIZES))
def sized(request: pytest.FixtureRequest, browser: Browser,
          live_server: str) -> Iterator[tuple[Page, str]]:
    context, page, checks = open_page(browser, live_server)
    page.set_viewport_size(SIZES[request.param])
    yield page, request.param
    close_page(context, checks)




def _struck(page: Page, test_id: str) -> bool:
    return bool(page.get_by_test_id(test_id).first.locator("td").first.evaluate(
        "cell => getComputedStyle(cell).textDecorationLine.includes('line-through')"))


def test_nurse_confirms_a_large_weight_change(sized: tuple[Page, str], db_url: str) -> None:
    page, size = sized

    def arrange(db: Session) -> int:
        _people(db)
        pid = _patient(db)
        service.record_measurement(db, SYSTEM, patient_id=pid, weight=72.5, weight_unit="kg",
                                   measured_at=datetime.now(UTC) - timedelta(days=14))
        return pid

    pid = _in_db(db_url, arrange)
    sign_in(page, "noah")
    page.goto(f"/patients/{pid}/measurements/new")
    page.get_by_label("Weight", exact=True).fill("25")
    page.get_by_label("Weight unit").select_option("kg")
    page.get_by_role("button", name="Save measurement").click()
    notice = page.get_by_test_id("weight-change-notice")
    expect(notice).to_contain_text("not saved yet")
    expect(notice).to_contain_text("The previous recorded weight is 72.5 kg")
    expect(page.locator("#e-confirm_weight_change")).to_contain_text("more than 10%")
    expect(page.get_by_label("Weight", exact=True)).to_have_value("25")
    expect(page.get_by_label("Weight unit")).to_have_value("kg")
    shot(page, f"entries-01-weight-change-{size}")
    assert_fits(page)
    page.get_by_label("Confirm weight change").check()
    page.get_by_role("button", name="Save measurement").click()
    expect(page.get_by_text("Measurement recorded.")).to_be_visible()
    expect(page.get_by_test_id("latest-weight")).to_contain_text("25.0 kg")
    expect(page.get_by_test_id("weight-change-flag")).to_contain_text("-65.5%")
    shot(page, f"entries-02-weight-change-confirmed-{size}")
    assert_fits(page)


def test_weight_entered_in_error_is_struck_through_and_the_next_order_skips_it(
    sized: tuple[Page, str], db_url: str
) -> None:
    page, size = sized

    arranged = Arranged(0)

    def arrange(db: Session) -> None:
        clinic = _people(db)
        patient = db.get(Patient, _patient(db))
        # 70 kg yesterday (the course factory), then 74 kg today, which the first order uses.
        course = make_course(db, clinic, weight_kg=70.0, patient=patient, order_lot=True)
        wrong = service.record_measurement(db, SYSTEM, patient_id=course.patient_id,
                                           weight=74, weight_unit="kg")
        record = infusions.open_session(db, clinic.nurse_ctx, course_id=course.id)
        infusions.sign_order(db, clinic.prescriber_ctx, session_id=record.id,
                             order=order_input())
        arranged.patient_id, arranged.session_id = course.patient_id, record.id
        arranged.measurement_id = wrong.id

    _in_db(db_url, arrange)
    pid, session_id = arranged.patient_id, arranged.session_id
    sign_in(page, "noah")
    page.goto(f"/patients/{pid}")
    expect(page.get_by_test_id("latest-weight")).to_contain_text("74.0 kg")
    page.get_by_text("All measurements (2)").click()
    page.locator(f"a[href$='/measurements/{arranged.measurement_id}/entered-in-error']").click()
    expect(page.get_by_role("heading", name="Mark a measurement entered in error")).to_be_visible()
    page.get_by_role("button", name="Mark entered in error").click()
    expect(page.locator("#e-reason")).to_contain_text("Reason is required")
    page.get_by_label("Reason").fill("scale not zeroed")
    shot(page, f"entries-03-entered-in-error-form-{size}")
    assert_fits(page)
    page.get_by_role("button", name="Mark entered in error").click()
    expect(page.get_by_text("Marked entered in error")).to_be_visible()
    expect(page.get_by_test_id("latest-weight")).to_contain_text("70.0 kg")
    row = page.get_by_test_id("measurement-in-error")
    expect(row).to_contain_text("74.0 kg")
    assert _struck(page, "measurement-in-error")
    expect(page.locator("tr.in-error-reason")).to_contain_text("scale not zeroed")
    expect(page.locator("tr.in-error-reason")).to_contain_text("Noah Reyes (nurse)")
    shot(page, f"entries-04-entered-in-error-{size}")
    assert_fits(page)

    # The signed order keeps its weight and says it was later marked in error.
    page.goto(f"/infusions/sessions/{session_id}")
    expect(page.get_by_test_id("weight-in-error-flag")).to_contain_text("scale not zeroed")
    shot(page, f"entries-05-chair-weight-in-error-{size}")

    # The next order is calculated from the previous valid weight, 70 kg.
    def resign(db: Session) -> None:
        raman = db.scalar(select(StaffUser).where(StaffUser.username == "raman"))
        assert raman is not None
        order = infusions.sign_order(db, ctx_for(raman), session_id=session_id,
                                     order=order_input(supersede_reason="weight made in error"))
        assert order.dosing_weight_kg == 70.0

    _in_db(db_url, resign)
    page.reload()
    expect(page.locator("dl.dose")).to_contain_text("70.0 kg")
    expect(page.get_by_test_id("weight-in-error-flag")).to_have_count(0)


def test_lorazepam_above_the_maximum_is_refused_then_confirmed_with_a_reason(
    sized: tuple[Page, str], db_url: str
) -> None:
    page, size = sized

    def arrange(db: Session) -> int:
        _people(db)
        return _patient(db)

    pid = _in_db(db_url, arrange)
    sign_in(page, "noah")
    page.goto(f"/patients/{pid}/medications/new")
    page.get_by_label("Drug", exact=True).fill("lorazepam")
    page.get_by_label("Dose", exact=True).fill("500")
    page.get_by_label("Dose unit").select_option("mg/day")
    page.get_by_role("button", name="Save medication").click()
    expect(page.locator("#e-dose_amount")).to_contain_text(
        "Dose is above the label maximum for lorazepam of 10 mg/day")
    expect(page.get_by_label("Dose", exact=True)).to_have_value("500")
    shot(page, f"entries-06-dose-above-maximum-{size}")
    assert_fits(page)
    # Not a typing error here: the prescriber means 12 mg/day, so confirm it with a reason.
    page.get_by_label("Dose", exact=True).fill("12")
    page.get_by_label("Confirm dose above the maximum").check()
    page.get_by_role("button", name="Save medication").click()
    expect(page.locator("#e-above_max_daily_dose_reason")).to_contain_text("is required")
    page.get_by_label("Reason for a dose above the maximum").fill("alcohol withdrawal protocol")
    page.get_by_role("button", name="Save medication").click()
    expect(page.get_by_text("Medication recorded.")).to_be_visible()
    expect(page.locator("#medications")).to_contain_text("Above the label maximum:")
    expect(page.locator("#medications")).to_contain_text("alcohol withdrawal protocol")
    shot(page, f"entries-07-dose-above-maximum-confirmed-{size}")
    assert_fits(page)


def test_nurse_records_no_known_allergies_then_an_allergy_replaces_it(
    sized: tuple[Page, str], db_url: str
) -> None:
    page, size = sized

    def arrange(db: Session) -> int:
        _people(db)
        return _patient(db)

    pid = _in_db(db_url, arrange)
    sign_in(page, "noah")
    page.goto(f"/patients/{pid}")
    status = page.get_by_test_id("allergy-status")
    expect(status).to_have_attribute("data-status", "not_asked")
    expect(status).to_contain_text("Not yet asked")
    page.get_by_role("button", name="No known allergies").click()
    expect(page.get_by_text("No known allergies recorded.")).to_be_visible()
    expect(status).to_have_attribute("data-status", "no_known_allergies")
    expect(status).to_contain_text(re.compile(r"recorded by Noah Reyes \(nurse\), \d{4}-"))
    expect(page.get_by_role("button", name="No known allergies")).to_have_count(0)
    shot(page, f"entries-08-no-known-allergies-{size}")
    assert_fits(page)
    page.get_by_role("link", name="Add allergy").click()
    page.get_by_label("Substance").fill("latex")
    page.get_by_label("Severity").select_option("moderate")
    page.get_by_role("button", name="Save allergy").click()
    expect(status).to_have_attribute("data-status", "listed")
    expect(page.get_by_test_id("nka-history")).to_contain_text("replaced by an allergy")
    shot(page, f"entries-09-allergy-replaces-nka-{size}")
    assert_fits(page)
