"""In Chromium: the patient page's Messages section shows each message's delivery as the
worker recorded it (sent, given up, waiting for mail to be configured), at tablet and phone
size, and never the address or the text."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from ketaflow.config import Role, load_settings
from ketaflow.jobs import service
from ketaflow.jobs.models import Channel
from tests.browser.conftest import SIZES, assert_fits, db_session, shot, sign_in
from tests.patients.factories import make_patient
from tests.support.factories import make_user
from tests.support.outbox import deliver
from tests.support.smtp import Mailbox


def _queue(db_url: str, patient_id: int, purpose: str, n: int) -> None:
    with db_session(db_url) as db:
        service.enqueue(db, dedupe_key=f"{purpose}:{patient_id}:{n}", purpose=purpose,
                        channel=Channel.EMAIL, to_address="hidden.mailbox@example.org",
                        subject="From your clinic", body_text="hidden body text",
                        patient_id=patient_id, max_attempts=1 if n == 2 else 5)


@pytest.mark.parametrize("size", list(SIZES))
def test_messages_section_shows_delivery_state(page: Page, db_url: str, tmp_path: Path,
                                               smtp_server: Mailbox, size: str) -> None:
    page.set_viewport_size(SIZES[size])
    with db_session(db_url) as db:
        patient = make_patient(db, family_name="Okonkwo", given_name="Ada")
        username = make_user(db, role=Role.FRONT_DESK, full_name="Fran Desk").username
    mail = load_settings(var_dir=tmp_path, secret_key="s" * 48, smtp_host=smtp_server.host,
                         smtp_port=smtp_server.port)
    _queue(db_url, patient.id, "portal-link", 1)
    assert deliver(db_url, mail).sent == 1
    _queue(db_url, patient.id, "appointment-reminder", 2)  # one attempt allowed, server down
    down = load_settings(var_dir=tmp_path, secret_key="s" * 48, smtp_host="127.0.0.1",
                         smtp_port=1)
    assert deliver(db_url, down).failed == 1
    _queue(db_url, patient.id, "mood-reminder", 3)  # the live server has no SMTP configured
    sign_in(page, username)
    page.goto(f"/patients/{patient.id}")
    listing = page.get_by_test_id("messages")
    expect(listing).to_be_visible()
    expect(page.get_by_role("heading", name="Messages")).to_be_visible()
    expect(listing.locator('li[data-status="sent"]')).to_contain_text("Portal link")
    expect(listing.locator('li[data-status="failed"]')).to_contain_text("not delivered")
    expect(listing.locator('li[data-status="failed"]')).to_contain_text(
        "the mail server could not be reached (ConnectionRefusedError)")
    expect(listing.locator('li[data-status="pending"]')).to_contain_text(
        "waiting: mail not configured")
    content = page.content()
    assert "hidden.mailbox" not in content and "hidden body" not in content
    expect(page.get_by_text("Okonkwo").first).to_be_visible()  # the identity banner
    assert_fits(page)
    page.locator("#messages").scroll_into_view_if_needed()
    shot(page, f"outbox-messages-{size}")
