"""In Chromium: an admin signs in with TOTP, creates a user and finds the event in the audit log."""

from __future__ import annotations

import re
import time

import pyotp
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from ketaflow.config import Role
from ketaflow.db import make_engine, make_session_factory
from tests.browser.conftest import shot
from tests.support.factories import DEFAULT_PASSWORD, make_user


def _arrange_admin(db_url: str) -> str:
    engine = make_engine(db_url)
    session: Session = make_session_factory(engine)()
    user = make_user(session, role=Role.ADMIN, username="ada", full_name="Ada Okafor")
    session.commit()
    session.close()
    engine.dispose()
    return user.username


def _sign_in(page: Page, username: str) -> None:
    page.goto("/login")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_admin_mfa_create_user_and_audit(page: Page, db_url: str) -> None:
    username = _arrange_admin(db_url)
    _sign_in(page, "ada")
    expect(page.get_by_role("heading", name=re.compile("Good to see you"))).to_be_visible()

    # Enrol TOTP from the account page, reading the key the page shows.
    page.goto("/mfa/enrol")
    secret = page.get_by_test_id("totp-secret").inner_text().strip()
    shot(page, "02-mfa-enrol")
    # The previous step's code, so the current one is still unused for the sign-in below.
    page.get_by_label("Code from the app").fill(pyotp.TOTP(secret).at(time.time() - 30))
    page.get_by_role("button", name="Turn on two-factor sign-in").click()
    expect(page.get_by_text("Two-factor sign-in is now on.")).to_be_visible()

    # Sign out and back in: the second factor is now asked for.
    page.get_by_role("button", name="Sign out").click()
    _sign_in(page, username)
    expect(page).to_have_url(re.compile(r"/mfa$"))
    shot(page, "03-mfa-verify")
    page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name=re.compile("Good to see you"))).to_be_visible()
    shot(page, "04-home-admin")

    # A bad form re-renders with the message next to the field, and nothing is lost.
    page.get_by_role("link", name="Staff", exact=True).click()
    page.get_by_label("User name").fill("n")
    page.get_by_label("Full name").fill("Nadia Nurse")
    page.get_by_label("Role").select_option("nurse")
    page.get_by_label("Initial password (at least 12 characters)").fill("a-long-password-1")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("#e-username")).to_contain_text("username must be")
    expect(page.get_by_label("Full name")).to_have_value("Nadia Nurse")
    shot(page, "05-create-user-error")

    page.get_by_label("User name").fill("nadia")
    page.get_by_label("Initial password (at least 12 characters)").fill("a-long-password-1")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_text("Account created.")).to_be_visible()
    shot(page, "06-user-created")

    page.get_by_role("link", name="Audit log").click()
    page.get_by_label("Entity type").fill("staff_user")
    page.get_by_role("button", name="Filter").click()
    row = page.locator("tr", has_text="user.create").filter(has_text="nadia")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("ada")
    shot(page, "07-audit-log")


def test_api_docs_render_under_the_csp(page: Page) -> None:
    """Swagger UI is vendored and started from a file, so the CSP allows it (no console errors)."""
    page.goto("/api/docs")
    expect(page.get_by_text("/api/v1/me").first).to_be_visible(timeout=15000)
    shot(page, "08-api-docs")
