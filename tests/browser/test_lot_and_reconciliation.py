"""In Chromium at tablet and phone sizes: a prescriber signs an order on a lot chosen from the
controlled-substance inventory (expired lots not offered), and a nurse reads the reconciliation
report with its flagged session."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from ketaflow.config import Role
from ketaflow.db import make_engine, make_session_factory
from ketaflow.infusions import service
from ketaflow.infusions.controlled import service as ledger
from ketaflow.infusions.rules import EntryKind, SessionAction
from tests.browser.conftest import SIZES, assert_fits, shot, sign_in
from tests.infusions.factories import (
    Clinic,
    backdate,
    ctx_for,
    make_course,
    ready_to_start,
    stock,
)
from tests.patients.factories import make_patient
from tests.support.factories import make_user

TODAY = datetime.now(UTC).date()


def _in_db(db_url: str, work: Callable[[Session], int]) -> int:
    engine = make_engine(db_url)
    session: Session = make_session_factory(engine)()
    try:
        result = work(session)
        session.commit()
        return result
    finally:
        session.close()
        engine.dispose()


def _clinic(db: Session) -> Clinic:
    prescriber = make_user(db, role=Role.PRESCRIBER, username="raman", full_name="Dr Raman")
    nurse = make_user(db, role=Role.NURSE, username="noah", full_name="Noah RN")
    return Clinic(nurse, prescriber, ctx_for(nurse), ctx_for(prescriber))




def _session_in_prechecks(db: Session) -> int:
    clinic = _clinic(db)
    stock(db, clinic, "KX-2291", 2000, expiry_date=TODAY + timedelta(days=200))
    stock(db, clinic, "KX-OLD", 500, expiry_date=TODAY - timedelta(days=3))
    patient = make_patient(db, family_name="Okafor", given_name="Ada")
    course = make_course(db, clinic, patient=patient)
    record = service.open_session(db, clinic.nurse_ctx, course_id=course.id)
    service.apply_action(db, clinic.nurse_ctx, session_id=record.id,
                         action=SessionAction.BEGIN_PRECHECKS)
    return record.id


@pytest.mark.parametrize("size", SIZES)
def test_prescriber_chooses_the_lot_from_the_inventory(page: Page, db_url: str,
                                                       size: str) -> None:
    page.set_viewport_size(SIZES[size])
    session_id = _in_db(db_url, _session_in_prechecks)
    sign_in(page, "raman")
    page.goto(f"/infusions/sessions/{session_id}")
    page.get_by_text("Write and sign the order").click()
    lot = page.get_by_label("Lot (from the controlled-substance inventory)")
    options = lot.locator("option").all_inner_texts()
    # Only the lot in date is offered, with its drug, strength, expiry and stock.
    assert options == ["Choose a lot…", f"KX-2291 · expires {TODAY + timedelta(days=200)} · "
                       "2000 mg in stock · Ketamine hydrochloride 50 mg/mL vials"]
    expect(page.get_by_role("list", name="Lots in stock")).to_contain_text("2000 mg in stock")
    expect(page.get_by_role("list", name="Lots in stock")).not_to_contain_text("KX-OLD")
    expect(page.get_by_label("Expiry date")).to_have_count(0)  # taken from the receipt
    lot.select_option("KX-2291")
    page.get_by_label("Concentration", exact=True).select_option("1")
    assert_fits(page)
    shot(page, f"lot-01-order-form-{size}")
    with page.expect_navigation():
        page.get_by_role("button", name="Sign order").click()
    order = page.locator("#order-summary") if page.locator("#order-summary").count() else page
    expect(order.get_by_text("KX-2291").first).to_be_visible()
    expect(page.get_by_text(str(TODAY + timedelta(days=200))).first).to_be_visible()
    assert_fits(page)
    shot(page, f"lot-02-order-signed-{size}")


def _report_scene(db: Session) -> int:
    """Two closed sessions on lot R-1: one reconciled, one with 5 mg logged as wasted that the
    pump record shows delivered."""
    clinic = _clinic(db)
    stock(db, clinic, "R-1", 500)
    ids = []
    for family, given, wasted in (("Quill", "Iris", 0.0), ("Ravel", "Maurice", 5.0)):
        patient = make_patient(db, family_name=family, given_name=given)
        record = ready_to_start(db, clinic, make_course(db, clinic, patient=patient), lot="R-1")
        service.apply_action(db, clinic.nurse_ctx, session_id=record.id,
                             action=SessionAction.START)
        ledger.draw(db, clinic.nurse_ctx, lot_number="R-1", amount_mg=35, session_id=record.id)
        backdate(db, record, 40)  # the ordered 40 min ran: 35 mg delivered
        service.apply_action(db, clinic.nurse_ctx, session_id=record.id,
                             action=SessionAction.ABORT, reason="line occluded")
        ledger.administer(db, clinic.nurse_ctx, lot_number="R-1", amount_mg=35 - wasted,
                          session_id=record.id)
        if wasted:
            ledger.record_entry(db, clinic.nurse_ctx, witness_confirmed=True,
                                entry=ledger.EntryInput(
                                    EntryKind.WASTED, "R-1", wasted, session_id=record.id,
                                    witness_user_id=clinic.prescriber.id))
        ids.append(record.id)
    return ids[1]


@pytest.mark.parametrize("size", SIZES)
def test_nurse_reads_the_reconciliation_report(page: Page, db_url: str, size: str) -> None:
    page.set_viewport_size(SIZES[size])
    flagged_id = _in_db(db_url, _report_scene)
    sign_in(page, "noah")
    page.goto("/controlled")
    page.get_by_role("link", name="Reconcile with the infusion records").click()
    expect(page.get_by_role("heading", name="Ledger reconciliation")).to_be_visible()
    expect(page.get_by_role("heading", name="Sessions (2, 1 flagged)")).to_be_visible()
    flagged = page.locator(f'tr[data-session="{flagged_id}"]')
    expect(flagged).to_have_class("flagged")
    expect(flagged).to_contain_text("RAVEL, Maurice")
    expect(flagged).to_contain_text("MRN")
    expect(flagged).to_contain_text("administered differs from delivered by more than 0.5 mg")
    expect(page.locator("tr:not(.flagged)").filter(has_text="QUILL, Iris")).to_contain_text(
        "reconciled")
    expect(page.locator("table").nth(1)).to_contain_text("R-1")
    assert_fits(page)
    shot(page, f"lot-03-reconciliation-{size}")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    assert download.value.suggested_filename.startswith("controlled-reconciliation-")
    # The monthly reconciliation: this month so far (the sessions are today's).
    page.get_by_test_id("month-ranges").get_by_role("link", name="This month so far").click()
    expect(page.get_by_role("heading", name="Sessions (2, 1 flagged)")).to_be_visible()
    expect(page.get_by_label("From")).to_have_value(re.compile(r"^\d{4}-\d\d-01$"))
