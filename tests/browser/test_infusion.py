"""In Chromium on a tablet viewport: a whole infusion session at the chair, from pre-checks (with
today's portal PHQ-9 and the suicidality alert it raised) to the signed note, the printable
summary and the PDF."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from ketaflow.config import Role
from ketaflow.db import make_engine, make_session_factory
from ketaflow.infusions import service
from ketaflow.infusions.models import InfusionSession
from tests.browser.conftest import SCREENSHOTS, shot
from tests.infusions.factories import (
    ORDER_LOT,
    Clinic,
    backdate,
    ctx_for,
    make_course,
    self_report,
)
from tests.support.factories import DEFAULT_PASSWORD, make_user
from tests.support.pdftext import page_texts


def _in_db(db_url: str, work: Callable[[Session], int | None]) -> int | None:
    engine = make_engine(db_url)
    session: Session = make_session_factory(engine)()
    try:
        result = work(session)
        session.commit()
        return result
    finally:
        session.close()
        engine.dispose()


def _arrange(db: Session) -> int:
    prescriber = make_user(db, role=Role.PRESCRIBER, username="raman", full_name="Dr Raman")
    nurse = make_user(db, role=Role.NURSE, username="noah", full_name="Noah RN")
    clinic = Clinic(nurse, prescriber, ctx_for(nurse), ctx_for(prescriber))
    course = make_course(db, clinic, weight_kg=70, order_lot=True)
    # This morning's PHQ-9 through the portal, item 9 positive: a suicidality alert is open.
    self_report(db, course.patient_id, item9=1)
    return service.open_session(db, clinic.nurse_ctx, course_id=course.id).id


def _backdate(db_url: str, session_id: int, minutes: float) -> None:
    def work(db: Session) -> None:
        record = db.get(InfusionSession, session_id)
        assert record is not None
        backdate(db, record, minutes)
    _in_db(db_url, work)


def _vitals(page: Page, sbp: str, dbp: str, hr: str, spo2: str = "98") -> None:
    page.get_by_label("SBP mmHg").fill(sbp)
    page.get_by_label("DBP mmHg").fill(dbp)
    page.get_by_label("HR bpm").fill(hr)
    page.get_by_label("SpO2 %").fill(spo2)
    # Wait for the page that comes back, so the next step works on it and not on this one.
    with page.expect_navigation():
        page.get_by_role("button", name="Save reading").click()


def test_whole_infusion_session_on_a_tablet(page: Page, db_url: str) -> None:
    session_id = _in_db(db_url, _arrange)
    page.goto("/login")
    page.get_by_label("User name").fill("raman")
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto("/infusions")
    page.get_by_role("link", name=f"Session {session_id}").click()
    page.get_by_role("button", name="Begin pre-checks").click()
    expect(page.get_by_text("Still needed before the start")).to_be_visible()
    expect(page.locator("#self-report")).to_contain_text(
        re.compile(r"PHQ-9 at \d\d:\d\d [A-Z+\-\d]+ \(portal\)"))
    # Item 9 positive: a C-SSRS screen task and the urgent-pathway alert to the prescriber.
    expect(page.locator("#patient-alerts")).to_contain_text("open alerts: 2")

    for label in ("Identity confirmed", "Consent current", "Fasting confirmed",
                  "Escort confirmed", "Transport home arranged"):
        page.get_by_label(label).check()
    page.get_by_label("Pregnancy test").select_option("not_applicable")
    page.get_by_role("button", name="Save pre-checks").click()
    _vitals(page, "126", "80", "72")
    page.get_by_text("Write and sign the order").click()
    # The lot comes from the inventory: its receipt gives the drug and the expiry.
    page.get_by_label("Lot (from the controlled-substance inventory)").select_option(ORDER_LOT)
    page.get_by_label("Concentration", exact=True).select_option("1")
    shot(page, "infusion-01-prechecks")
    page.get_by_role("button", name="Sign order").click()
    # Everything else is done; the open alert still blocks the start until it is acknowledged.
    expect(page.get_by_text("2 suicidality/switch alert(s) open")).to_be_visible()
    for _ in range(2):
        link = page.get_by_role("link", name="acknowledge", exact=True).first
        card_id = (link.get_attribute("href") or "").rsplit("#", 1)[1]
        link.click()
        card = page.locator(f"#{card_id}")
        card.get_by_label("Action taken").fill("C-SSRS screen: low risk; safety plan reviewed")
        card.get_by_role("button", name="Acknowledge").click()
        expect(page.get_by_text("Acknowledged").first).to_be_visible()
        page.goto(f"/infusions/sessions/{session_id}")
    expect(page.locator("#patient-alerts")).to_contain_text("none open")
    expect(page.get_by_text("All pre-checks complete")).to_be_visible()
    page.get_by_role("button", name="Start infusion").click()
    expect(page.locator("#status")).to_have_text("running")
    expect(page.locator("#rate")).to_have_text("52.5 mL/h")

    # An impossible reading is refused and the typed values stay in the form.
    _vitals(page, "120", "130", "70")
    expect(page.get_by_role("alert").first).to_contain_text("DBP mmHg must be below SBP mmHg")
    expect(page.get_by_label("DBP mmHg")).to_have_value("130")
    shot(page, "infusion-02-refused-reading")

    # Fifteen minutes on without a reading: the reminder turns overdue.
    expect(page.locator("#status")).to_have_text("running")
    _backdate(db_url, session_id, 15)  # type: ignore[arg-type]
    page.reload()
    expect(page.locator("#due")).to_contain_text("OVERDUE")
    shot(page, "infusion-03-overdue")
    _vitals(page, "184", "104", "88")
    expect(page.get_by_text("repeat the reading now")).to_be_visible()
    _vitals(page, "182", "101", "86")
    expect(page.locator("#alerts").get_by_text("on a repeat reading: hold the infusion")
           ).to_be_visible()
    shot(page, "infusion-04-alerts")
    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_text("Alerts needing action (2)")).to_be_visible()
    for remaining in (1, 0):
        page.get_by_label("Action taken").first.fill("paused, repeated BP, prescriber reviewed")
        page.get_by_role("button", name="Acknowledge").first.click()
        expect(page.get_by_text(f"Alerts needing action ({remaining})")).to_be_visible()
    expect(page.get_by_text("Alerts needing action (0)")).to_be_visible()
    page.get_by_role("button", name="Resume").click()
    page.get_by_text("CADSS-6 (dissociation").click()
    for select in page.locator("select[name^='cadss.']").all():
        select.select_option("1")
    page.get_by_role("button", name="Save CADSS-6").click()
    expect(page.get_by_text("CADSS-6 dissociation: 6/24")).to_be_visible()
    _vitals(page, "140", "88", "78")
    shot(page, "infusion-05-running")

    # Item 3: above the signed rate is refused, naming the field and the signed rate.
    page.get_by_label("New rate (mL/h)").fill("9999")
    page.locator("#f-rate-reason").fill("faster")
    page.get_by_role("button", name="Change rate").click()
    expect(page.get_by_role("alert").first).to_contain_text("above the signed order's rate of "
                                                            "52.5 mL/h")
    expect(page.locator("#rate")).to_have_text("52.5 mL/h")
    # Item 5: an early stop needs a reason, and the summary says what was actually given.
    # (Stopping asks for the confirmation tick first: item 4.)
    page.get_by_label("Yes, stop the infusion now").check()
    page.get_by_role("button", name="Stop infusion").click()
    expect(page.get_by_role("alert").first).to_contain_text("stopping early")
    page.get_by_label("Reason for stopping (required before the order's end)").fill(
        "BP hold earlier; prescriber decided to stop")
    page.get_by_label("Yes, stop the infusion now").check()
    page.get_by_role("button", name="Stop infusion").click()
    page.get_by_role("button", name="Begin observation").click()
    # Wait for the page to come back before changing the record behind the browser's back.
    expect(page.locator("#status")).to_have_text("observation")
    _backdate(db_url, session_id, 61)  # type: ignore[arg-type]
    page.reload()
    _vitals(page, "128", "82", "72")
    for select in page.locator("select[name^='aldrete.'], select[name^='padss.']").all():
        select.select_option("2")
    page.get_by_label("Escort present").check()
    page.get_by_label("No-driving advice given").check()
    shot(page, "infusion-06-discharge")
    page.get_by_role("button", name="Discharge", exact=True).click()
    expect(page.locator("#status")).to_have_text("discharged")
    # The sheet the patient takes home, linked from the chair once the infusion has ended.
    sheet = page.get_by_role("link", name="Discharge instructions for the patient (PDF)")
    expect(sheet).to_be_visible()
    handed = page.request.get(sheet.get_attribute("href") or "")
    assert handed.ok and handed.headers["content-type"] == "application/pdf"
    assert "After your ketamine infusion today" in " ".join(page_texts(handed.body()))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "infusion-discharge-instructions.pdf").write_bytes(handed.body())
    page.get_by_role("button", name="Generate note from the record").click()
    page.get_by_role("button", name="Sign and lock note").click()
    expect(page.get_by_text(re.compile(r"signed .* \(locked\)"))).to_be_visible()
    shot(page, "infusion-07-note")

    page.get_by_role("link", name="Session summary (print)").click()
    expect(page.get_by_role("cell", name="126/80 mmHg")).to_be_visible()
    expect(page.get_by_role("cell", name=re.compile(r"mg base of 35\.0 mg ordered"))
           ).to_be_visible()
    expect(page.get_by_role("cell", name=re.compile(r"EARLY STOP .*BP hold earlier"))
           ).to_be_visible()
    page.emulate_media(media="print")
    expect(page.locator(".topbar")).to_be_hidden()
    shot(page, "infusion-08-summary-print")
    page.emulate_media(media="screen")
    response = page.request.get(f"/infusions/sessions/{session_id}/summary.pdf")
    assert response.ok and response.headers["content-type"] == "application/pdf"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "infusion-summary.pdf").write_bytes(response.body())
    assert response.body().startswith(b"%PDF-")
