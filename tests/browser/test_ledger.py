"""In Chromium on a tablet viewport: a nurse receives a vial with a prescriber as witness, draws
for a session and wastes the rest, witnessed again (a wrong witness password first)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from ketaflow.config import Role
from ketaflow.db import make_engine, make_session_factory
from ketaflow.infusions import service
from tests.browser.conftest import shot
from tests.infusions.factories import Clinic, ctx_for, make_course
from tests.support.factories import DEFAULT_PASSWORD, make_user


def _arrange(db_url: str) -> int:
    engine = make_engine(db_url)
    db: Session = make_session_factory(engine)()
    try:
        prescriber = make_user(db, role=Role.PRESCRIBER, username="raman", full_name="Dr Raman")
        nurse = make_user(db, role=Role.NURSE, username="noah", full_name="Noah RN")
        clinic = Clinic(nurse, prescriber, ctx_for(nurse), ctx_for(prescriber))
        course = make_course(db, clinic, weight_kg=70)
        session_id = service.open_session(db, clinic.nurse_ctx, course_id=course.id).id
        db.commit()
        return session_id
    finally:
        db.close()
        engine.dispose()


def _submit(page: Page, form: str, button: str) -> None:
    # Wait for the page that comes back, so the next step works on it and not on this one.
    with page.expect_navigation():
        page.locator(f"#form-{form}").get_by_role("button", name=button).click()


def test_receive_draw_and_witnessed_waste_on_a_tablet(page: Page, db_url: str) -> None:
    session_id = _arrange(db_url)
    page.goto("/login")
    page.get_by_label("User name").fill("noah")
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto("/infusions")
    page.get_by_role("link", name="Controlled-substance log").click()
    expect(page.get_by_role("heading", name="Controlled substances")).to_be_visible()
    expect(page.get_by_text("No stock received yet")).to_be_visible()

    receive = page.locator("#form-receive")
    receive.get_by_text("Receive vials").click()
    receive.get_by_label("Lot number").fill("KX-2291")
    receive.get_by_label("Drug (clinic formulary)").select_option("ketamine_hcl")
    receive.get_by_label("Expiry date").fill(str((datetime.now(UTC) + timedelta(days=300)).date()))
    receive.get_by_label("Concentration as labelled").select_option("50")
    receive.get_by_label("Number of vials").fill("1")
    receive.get_by_label("Volume per vial mL").fill("10")
    receive.get_by_label("Witness", exact=True).select_option(label="Dr Raman (prescriber)")
    receive.get_by_label("Witness's password").fill(DEFAULT_PASSWORD)
    shot(page, "ledger-01-receive")
    _submit(page, "receive", "Record receipt")
    expect(page.get_by_role("status")).to_have_text("Receipt recorded.")
    expect(page.locator("td.on-hand")).to_contain_text("500 mg")

    draw = page.locator("#form-draw")
    draw.get_by_text("Draw for a session").click()
    draw.get_by_label("Session").select_option(str(session_id))
    draw.get_by_label("Lot").select_option("KX-2291")
    draw.get_by_label("Amount drawn mg").fill("50")
    _submit(page, "draw", "Record draw")
    expect(page.locator("td.on-hand")).to_contain_text("450 mg")

    waste = page.locator("#form-waste")
    waste.get_by_text("Waste (witnessed)").click()
    waste.get_by_label("Session").select_option(str(session_id))
    waste.get_by_label("Lot").select_option("KX-2291")
    waste.get_by_label("Amount wasted mg").fill("15")
    waste.get_by_label("Witness", exact=True).select_option(label="Dr Raman (prescriber)")
    waste.get_by_label("Witness's password").fill("not-the-password")
    _submit(page, "waste", "Record waste")
    # Refused: the form comes back open with the message and what was typed, bar the password.
    expect(waste.get_by_role("alert")).to_contain_text("the witness password is wrong")
    expect(waste.get_by_label("Amount wasted mg")).to_have_value("15")
    expect(waste.get_by_label("Witness's password")).to_have_value("")
    shot(page, "ledger-02-wrong-witness-password")
    waste.get_by_label("Witness's password").fill(DEFAULT_PASSWORD)
    _submit(page, "waste", "Record waste")
    expect(page.get_by_role("status")).to_have_text("Waste recorded and witnessed.")
    entries = page.locator("table.entries tbody tr")
    expect(entries).to_have_count(3)
    expect(entries.first).to_contain_text("wasted")
    expect(entries.first).to_contain_text("Dr Raman")
    expect(page.locator("td.on-hand")).to_contain_text("450 mg")
    shot(page, "ledger-03-after-waste")
