"""In Chromium: an admin changes the BP hold threshold with a reason and sees it in the history;
a nurse sees the settings and their sources but no change form."""

from __future__ import annotations

from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from ketaflow.config import Role
from ketaflow.db import make_engine, make_session_factory
from tests.browser.conftest import shot
from tests.support.factories import DEFAULT_PASSWORD, make_user


def _arrange(db_url: str, role: Role, username: str, full_name: str) -> None:
    engine = make_engine(db_url)
    session: Session = make_session_factory(engine)()
    make_user(session, role=role, username=username, full_name=full_name)
    session.commit()
    session.close()
    engine.dispose()


def _sign_in(page: Page, username: str) -> None:
    page.goto("/login")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_admin_changes_the_bp_hold_threshold_and_sees_the_history(page: Page,
                                                                  db_url: str) -> None:
    _arrange(db_url, Role.ADMIN, "ada", "Ada Okafor")
    _sign_in(page, "ada")
    page.get_by_role("link", name="Clinic settings").click()
    expect(page.get_by_role("heading", name="Pre-infusion blood pressure")).to_be_visible()
    row = page.locator("#setting-infusion-hold_sbp_min_mmhg")
    expect(row).to_contain_text("180")
    expect(row).to_contain_text("160-200")
    expect(row.get_by_role("link", name="sources: vital-sign-criteria")).to_have_attribute(
        "href", "/sources#vital-sign-criteria")

    summary = page.get_by_text("Change or reset Hold infusion: SBP at least")
    summary.click()
    form = page.get_by_role("form", name="Change Hold infusion: SBP at least (on a repeat "
                                         "reading)")
    # Out of bounds first: refused with the message beside the value, nothing changed.
    form.get_by_label("New value (160-200)").fill("250")
    form.get_by_label("Reason").fill("clinic protocol v2")
    form.get_by_role("button", name="Change").click()
    expect(page.get_by_role("alert").first).to_contain_text("Nothing was changed")
    expect(page.locator("#change-infusion-hold_sbp_min_mmhg-value-error")).to_contain_text(
        "must be from 160 to 200 (got 250)")
    expect(page.locator("#history")).to_contain_text("No setting has been changed")
    shot(page, "settings-01-refused-out-of-bounds")

    form = page.get_by_role("form", name="Change Hold infusion: SBP at least (on a repeat "
                                         "reading)")
    form.get_by_label("New value (160-200)").fill("170")
    form.get_by_role("button", name="Change").click()
    expect(page.get_by_role("status")).to_contain_text("Setting changed")
    expect(page.locator("#setting-infusion-hold_sbp_min_mmhg td.num").first).to_have_text("170")
    history = page.locator("#history")
    expect(history).to_contain_text("180 → 170")
    expect(history).to_contain_text("clinic protocol v2")
    expect(history).to_contain_text("Ada Okafor")
    shot(page, "settings-02-changed-with-history")

    page.locator("#setting-infusion-hold_sbp_min_mmhg").get_by_role(
        "link", name="sources: vital-sign-criteria").click()
    expect(page.get_by_role("heading", name="Vital-sign criteria")).to_be_visible()
    assert page.url.endswith("/sources#vital-sign-criteria")


def test_a_nurse_sees_no_change_form(page: Page, db_url: str) -> None:
    _arrange(db_url, Role.NURSE, "noah", "Noah Lindqvist RN")
    _sign_in(page, "noah")
    page.goto("/settings/clinical")
    expect(page.get_by_role("heading", name="Infusion session")).to_be_visible()
    expect(page.locator("#setting-infusion-hold_sbp_min_mmhg")).to_contain_text("180")
    expect(page.get_by_role("button", name="Change")).to_have_count(0)
    expect(page.get_by_text("Change or reset")).to_have_count(0)
    shot(page, "settings-03-nurse-no-form")
