"""In Chromium at tablet (1024x768) and phone (390x844) sizes: the chair page keeps itself up to
date. A monitor posts a reading through the JSON API while the page is open and the HOLD alert,
its banner and the alarm sound appear without a reload; an infusion left running past its
order shows the overrun alarm; stopping asks for confirmation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TypeVar

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy.orm import Session

from ketaflow.config import Role
from ketaflow.db import make_engine, make_session_factory
from ketaflow.infusions import service
from ketaflow.infusions.models import InfusionSession
from ketaflow.infusions.rules import SessionAction
from tests.browser.conftest import SIZES, assert_fits, close_page, open_page, shot, sign_in
from tests.browser.test_infusion import _backdate
from tests.infusions.factories import Clinic, ctx_for, make_course, ready_to_start
from tests.patients.factories import make_patient
from tests.support.factories import make_user
from tests.web.helpers import api_token

T = TypeVar("T")
BORN = date(1983, 2, 9)
# Live updates come every 5 s: an alert shows within two polls.
LIVE_TIMEOUT_MS = 12_000


def _arrange(db: Session) -> tuple[int, str]:
    """A running session (10 minutes in) for Ines Okafor, and a monitor's API token."""
    nurse = make_user(db, role=Role.NURSE, username="noah", full_name="Noah Reyes")
    prescriber = make_user(db, role=Role.PRESCRIBER, username="raman", full_name="Dr Raman")
    clinic = Clinic(nurse, prescriber, ctx_for(nurse), ctx_for(prescriber))
    patient = make_patient(db, given_name="Ines", family_name="Okafor", date_of_birth=BORN,
                           mrn="MRN-5512")
    record = ready_to_start(db, clinic, make_course(db, clinic, patient=patient))
    service.apply_action(db, clinic.nurse_ctx, session_id=record.id, action=SessionAction.START)
    monitor = make_user(db, role=Role.NURSE, username="monitor", full_name="Bay 3 monitor")
    db.flush()
    return record.id, api_token(db, monitor)


def _in(db_url: str, work: Callable[[Session], T]) -> T:
    """Run `work` in its own committed transaction, as another client of the database."""
    engine = make_engine(db_url)
    session: Session = make_session_factory(engine)()
    try:
        result = work(session)
        session.commit()
        return result
    finally:
        session.close()
        engine.dispose()




@pytest.mark.browser
@pytest.mark.parametrize("size", list(SIZES))
def test_monitor_reading_raises_the_alarm_without_reload(browser: Browser, live_server: str,
                                                         db_url: str, size: str) -> None:
    session_id, token = _in(db_url, _arrange)
    _backdate(db_url, session_id, 10)
    context, page, checks = open_page(browser, live_server)
    page.set_viewport_size(SIZES[size])
    try:
        sign_in(page, "noah")
        page.goto(f"/infusions/sessions/{session_id}")
        expect(page.locator("#status")).to_have_text("running")
        expect(page.locator("#live-elapsed")).to_contain_text("of 40 min running")
        expect(page.get_by_text("Alerts needing action (0)")).to_be_visible()
        # The sound is off until the nurse switches it on; the choice is remembered.
        toggle = page.get_by_role("button", name="Alarm sound: off")
        expect(toggle).to_be_visible()
        toggle.click()
        expect(page.get_by_role("button", name="Alarm sound: on")).to_have_attribute(
            "aria-pressed", "true")
        # The nurse is typing a reading when the monitor posts one: the form keeps her input.
        page.get_by_label("HR bpm").fill("77")
        posted = page.request.post(
            f"/api/v1/infusions/sessions/{session_id}/vitals",
            headers={"Authorization": f"Bearer {token}"},
            data={"sbp_mmhg": 84, "dbp_mmhg": 50, "hr_bpm": 66, "spo2_percent": 97})
        assert posted.status == 201, posted.text()
        banner = page.locator("#alarm-banner")
        expect(banner).to_be_visible(timeout=LIVE_TIMEOUT_MS)
        expect(banner).to_have_attribute("role", "alert")
        expect(banner).to_contain_text("HOLD")
        expect(banner).to_contain_text("SBP below 90 mmHg")
        expect(banner).to_contain_text("a prescriber acknowledges it")
        expect(page.get_by_text("Alerts needing action (1)")).to_be_visible()
        expect(page.locator("#live-latest")).to_contain_text(
            "BP 84/50 mmHg, HR 66 bpm, SpO2 97%")
        expect(page.locator("#live-alerts")).to_contain_text("1 open, 1 HOLD/STOP")
        expect(page.locator("html")).to_have_attribute("data-alarm-beeps", "1")
        expect(page.get_by_label("HR bpm")).to_have_value("77")  # not wiped by the poll
        shot(page, f"live-01-hold-banner-{size}")
        assert_fits(page)
        # A reload (no JavaScript needed) shows the same; the sound choice is kept.
        page.reload()
        expect(page.locator("#alarm-banner")).to_contain_text("SBP below 90 mmHg")
        expect(page.get_by_role("button", name="Alarm sound: on")).to_be_visible()
    finally:
        close_page(context, checks)


@pytest.mark.browser
@pytest.mark.parametrize("size", list(SIZES))
def test_overrun_alarm_and_stop_confirmation(browser: Browser, live_server: str, db_url: str,
                                             size: str) -> None:
    session_id, _ = _in(db_url, _arrange)
    context, page, checks = open_page(browser, live_server)
    page.set_viewport_size(SIZES[size])
    try:
        sign_in(page, "noah")
        page.goto(f"/infusions/sessions/{session_id}")
        expect(page.locator("#status")).to_have_text("running")
        expect(page.locator(".overrun")).to_have_count(0)
        # The pump is left running: 43 minutes of a 40-minute order, with the page open.
        _backdate(db_url, session_id, 43)
        overrun = page.locator("#overrun-overrun-duration")
        expect(overrun).to_be_visible(timeout=LIVE_TIMEOUT_MS)
        expect(overrun).to_contain_text("ordered duration passed: running 43 of 40 min")
        expect(page.locator("#alarm-banner")).to_contain_text("STOP")
        expect(page.locator("#alarm-banner")).to_contain_text("Stop the infusion now.")
        shot(page, f"live-02-overrun-{size}")
        assert_fits(page)
        # Stopping asks for a tick first: the button alone does not stop the pump.
        stop = page.get_by_role("button", name="Stop infusion")
        stop.click()
        confirm = page.get_by_label("Yes, stop the infusion now")
        assert confirm.evaluate("box => !box.validity.valid")
        expect(page.locator("#status")).to_have_text("running")
        shot(page, f"live-03-stop-confirm-{size}")
        confirm.check()
        with page.expect_navigation():
            stop.click()
        expect(page.locator("#status")).to_have_text("stopped")
        assert _status(db_url, session_id) == "stopped"
    finally:
        close_page(context, checks)


def _status(db_url: str, session_id: int) -> str:
    def work(db: Session) -> str:
        record = db.get(InfusionSession, session_id)
        assert record is not None
        return record.status.value
    return _in(db_url, work)
