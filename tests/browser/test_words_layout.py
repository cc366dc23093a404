"""In Chromium at tablet (1024x768) and phone (390x844) sizes, with the demo's data: the main
pages never scroll sideways, times carry the clinic's time zone, collapsed sections show a
disclosure marker, a notice is not styled as an error, and a form with two bad fields shows
both messages at once, each beside its field and in a summary at the top."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.demo import seed_demo
from ketaflow.infusions.models import InfusionSession
from ketaflow.patients.models import Patient
from tests.browser.conftest import SIZES, assert_fits, close_page, open_page, shot, sign_in
from tests.browser.test_infusion import _in_db
from tests.support.factories import SYSTEM


def _seed(db: Session) -> None:
    accounts = seed_demo(db, SYSTEM)
    _PASSWORDS.update({a.username: a.password for a in accounts})


_PASSWORDS: dict[str, str] = {}


def _ids(db: Session) -> tuple[int, int]:
    patient = db.scalars(select(Patient.id).order_by(Patient.id)).first()
    session = db.scalars(select(InfusionSession.id).order_by(InfusionSession.id.desc())).first()
    assert patient is not None and session is not None
    return patient, session


def _sign_in(page: Page, username: str) -> None:
    sign_in(page, username, _PASSWORDS[username])


_WIDE = """() => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
  .filter(e => ![...e.children].some(c => c.getBoundingClientRect().right
                                          > document.documentElement.clientWidth + 1))
  .slice(0, 5)
  .map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))"""


def _visit(page: Page, path: str, name: str, size: str) -> None:
    response = page.goto(path)
    assert response is not None and response.status == 200, (path, response and response.status)
    shot(page, f"words-{name}-{size}")
    # Which elements stick out, so a failure says where to look.
    assert page.evaluate("document.documentElement.scrollWidth") <= SIZES[size]["width"], (
        path, page.evaluate(_WIDE))
    assert_fits(page)


@pytest.mark.browser
@pytest.mark.parametrize("size", list(SIZES))
def test_main_pages_fit_and_state_the_clinic_time_zone(
        browser: Browser, live_server: str, db_url: str, size: str) -> None:
    _PASSWORDS.clear()
    _in_db(db_url, _seed)
    patient_id, session_id = _in_db(db_url, _ids)  # type: ignore[misc]
    context, page, checks = open_page(browser, live_server)
    page.set_viewport_size(SIZES[size])
    try:
        _sign_in(page, "nurse")
        _visit(page, "/patients", "01-patient-list", size)
        expect(page.locator("table tbody tr").first).to_be_visible()
        _visit(page, "/patients?q=Testwood,%20Juniper", "02-patient-search", size)
        expect(page.locator("table tbody tr")).to_have_count(1)
        _visit(page, f"/patients/{patient_id}", "03-patient", size)
        # The medications table is read row by row on a phone: every cell on screen, none
        # scrolled away inside the table (a wide table would only scroll within itself).
        rights = page.locator("table.meds td").evaluate_all(
            "cells => cells.map(c => c.getBoundingClientRect().right)")
        assert rights and max(rights) <= SIZES[size]["width"], rights
        _visit(page, "/infusions", "04-day-list", size)
        _visit(page, f"/infusions/sessions/{session_id}", "05-chair", size)
        # Every time on the chair page states its zone ("14:05 UTC" for the demo clinic).
        body = page.inner_text("main")
        bare = [t for t in re.findall(r"\b\d{2}:\d{2}\b(?! ?[A-Z+-])", body)]
        assert not bare, f"times without a zone on the chair page: {bare}"
        _visit(page, f"/infusions/sessions/{session_id}/summary", "06-summary", size)
        _visit(page, "/controlled", "07-ledger", size)
        # A collapsed section shows a marker that turns when it opens.
        summary = page.locator("details:not([open]) > summary").first
        marker = summary.evaluate("s => getComputedStyle(s, '::before').borderLeftWidth")
        assert marker not in ("", "0px"), marker
        _visit(page, "/settings/clinical", "08-settings", size)
    finally:
        close_page(context, checks)


@pytest.mark.browser
@pytest.mark.parametrize("size", list(SIZES))
def test_a_form_with_two_bad_fields_shows_both_messages(
        browser: Browser, live_server: str, db_url: str, size: str) -> None:
    _PASSWORDS.clear()
    _in_db(db_url, _seed)
    patient_id, _ = _in_db(db_url, _ids)  # type: ignore[misc]
    context, page, checks = open_page(browser, live_server)
    page.set_viewport_size(SIZES[size])
    try:
        _sign_in(page, "nurse")
        page.goto(f"/patients/{patient_id}/measurements/new")
        page.get_by_label("Weight", exact=True).fill("seventy")
        page.get_by_label("Weight unit").select_option("kg")
        page.get_by_label("Height", exact=True).fill("1e2")
        page.get_by_label("Height unit").select_option("cm")
        page.get_by_role("button", name=re.compile("Save|Record")).click()
        summary = page.locator("#error-summary")
        expect(summary).to_contain_text("correct these 2 problems")
        expect(summary).to_contain_text("Weight must be a number")
        expect(summary).to_contain_text("Height must be a number")
        expect(page.locator("#e-weight")).to_have_text(re.compile("Weight must be a number"))
        expect(page.locator("#e-height")).to_have_text(re.compile("Height must be a number"))
        expect(page.get_by_label("Weight", exact=True)).to_have_value("seventy")
        expect(page.get_by_label("Weight", exact=True)).to_have_attribute("aria-invalid", "true")
        expect(page.get_by_label("Height", exact=True)).to_have_attribute("aria-invalid", "true")
        # No field name leaks into the words.
        assert "weight_kg" not in page.inner_text("main")
        shot(page, f"words-09-two-errors-{size}")
        assert_fits(page)
    finally:
        close_page(context, checks)
