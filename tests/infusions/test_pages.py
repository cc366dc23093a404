"""Chair-side pages on both databases: the page, forms with post/redirect/get, refusals (422)
that keep entered values, the printable summary and the PDF."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from ketaflow.clinic import service as clinic_profile
from ketaflow.infusions.models import InfusionSession
from tests.infusions.factories import ORDER_LOT, backdate, make_clinic, make_course, self_report
from tests.support.factories import SYSTEM
from tests.web.helpers import csrf, sign_in


def post(client: TestClient, path: str, data: dict[str, str] | None = None) -> object:
    return client.post(path, data={"csrf_token": csrf(client), **(data or {})})


def arrange(app_client: TestClient, app_db: Session) -> tuple[int, str, str]:
    clinic = make_clinic(app_db)
    course = make_course(app_db, clinic, order_lot=True)
    self_report(app_db, course.patient_id)
    app_db.commit()
    return course.id, clinic.nurse.username, clinic.prescriber.username


def test_whole_session_through_the_pages(app_client: TestClient, app_db: Session) -> None:
    course_id, _, prescriber = arrange(app_client, app_db)
    assert sign_in(app_client, prescriber) == 303
    opened = post(app_client, f"/infusions/courses/{course_id}/sessions")
    assert opened.status_code == 303  # type: ignore[attr-defined]
    page = opened.headers["location"]  # type: ignore[attr-defined]
    session_id = int(page.rsplit("/", 1)[1])
    post(app_client, f"{page}/action", {"action": "begin_prechecks"})
    html = app_client.get(page).text
    assert "Still needed before the start" in html and "pre-infusion blood pressure" in html
    post(app_client, f"{page}/prechecks", {
        "identity_confirmed": "on", "consent_current": "on", "fasting_confirmed": "on",
        "escort_confirmed": "on", "transport_confirmed": "on",
        "pregnancy_test": "not_applicable"})
    post(app_client, f"{page}/vitals", {"sbp_mmhg": "126", "dbp_mmhg": "80", "hr_bpm": "70",
                                        "spo2_percent": "98"})
    # The lot is chosen from the inventory: drug and expiry come from its receipt.
    assert f'<option value="{ORDER_LOT}"' in app_client.get(page).text
    signed = post(app_client, f"{page}/order", {"lot_number": ORDER_LOT,
                                                "concentration_mg_per_ml": "1",
                                                "duration_min": "40"})
    assert signed.status_code == 303  # type: ignore[attr-defined]
    assert "All pre-checks complete" in app_client.get(page).text
    post(app_client, f"{page}/action", {"action": "start"})
    html = app_client.get(page).text
    assert 'id="rate">52.5 mL/h' in html
    assert "<svg" in html and "Kamp 2020 (arterial) model" in html and "style=" not in html
    assert re.search(r"Next:\s+interval reading at \d\d:\d\d", html)
    # An impossible value is refused with 422, the entered values kept, nothing saved.
    refused = post(app_client, f"{page}/vitals", {"sbp_mmhg": "120", "dbp_mmhg": "130",
                                                  "hr_bpm": "71"})
    assert refused.status_code == 422  # type: ignore[attr-defined]
    text = refused.text  # type: ignore[attr-defined]
    assert "DBP mmHg must be below SBP mmHg" in text and 'value="130"' in text
    post(app_client, f"{page}/vitals", {"sbp_mmhg": "185", "dbp_mmhg": "100", "hr_bpm": "90"})
    html = app_client.get(page).text
    assert "Alerts needing action (1)" in html and "repeat the reading now" in html
    alert_id = re.search(r"/alerts/(\d+)/acknowledge", html).group(1)  # type: ignore[union-attr]
    post(app_client, f"{page}/alerts/{alert_id}/acknowledge", {"action_taken": "repeated"})
    post(app_client, f"{page}/cadss6", {f"cadss.{k}": "1" for k in (
        "slow_motion", "unreality", "body_disconnection", "body_change", "spacing_out",
        "observer_item_22")})
    post(app_client, f"{page}/action", {"action": "stop", "reason": "stopped early (test)",
                                        "confirm_stop": "on"})
    post(app_client, f"{page}/action", {"action": "begin_observation"})
    record = app_db.get(InfusionSession, session_id)
    assert record is not None
    backdate(app_db, record, 61)
    app_db.commit()
    answers = {f"aldrete.{k}": "2" for k in ("activity", "respiration", "circulation",
                                              "consciousness", "oxygen_saturation")}
    answers |= {f"padss.{k}": "2" for k in ("vital_signs", "activity_mental_status",
                                             "pain_nausea_vomiting", "intake_output")}
    missing = post(app_client, f"{page}/discharge", answers)
    assert missing.status_code == 422  # type: ignore[attr-defined]
    assert "responsible adult escort not confirmed" in missing.text  # type: ignore[attr-defined]
    done = post(app_client, f"{page}/discharge", answers | {
        "escort_confirmed": "on", "no_driving_advice_given": "on"})
    assert done.status_code == 303  # type: ignore[attr-defined]
    post(app_client, f"{page}/note")
    post(app_client, f"{page}/note/sign")
    html = app_client.get(page).text
    assert "(locked)" in html and "CADSS-6 max 6" in html
    profile = clinic_profile.ProfileEntry(name="Lakeside Clinic", national_line_country="US")
    clinic_profile.update_profile(app_db, SYSTEM, production=False, entry=profile)
    app_db.commit()
    summary = app_client.get(f"{page}/summary")
    assert summary.status_code == 200
    assert "BP before dosing" in summary.text and "126/80 mmHg" in summary.text
    assert '<p class="clinic-name" data-testid="clinic-name"><strong>Lakeside Clinic' in (
        summary.text)
    pdf = app_client.get(f"{page}/summary.pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")


def test_nurse_cannot_sign_order_page(app_client: TestClient, app_db: Session) -> None:
    course_id, nurse, _ = arrange(app_client, app_db)
    assert sign_in(app_client, nurse) == 303
    page = post(app_client, f"/infusions/courses/{course_id}/sessions"
                ).headers["location"]  # type: ignore[attr-defined]
    post(app_client, f"{page}/action", {"action": "begin_prechecks"})
    assert "Write and sign the order" not in app_client.get(page).text
    response = post(app_client, f"{page}/order", {"drug": "ketamine_hcl"})
    assert response.status_code == 403  # type: ignore[attr-defined]


def test_board_lists_sessions_and_stylesheet_is_served(app_client: TestClient,
                                                      app_db: Session) -> None:
    course_id, nurse, _ = arrange(app_client, app_db)
    assert sign_in(app_client, nurse) == 303
    post(app_client, f"/infusions/courses/{course_id}/sessions")
    board = app_client.get("/infusions")
    assert board.status_code == 200 and "Session " in board.text
    css = app_client.get("/infusions/assets/chair.css")
    assert css.headers["content-type"].startswith("text/css") and "@media print" in css.text


def prechecks_page(app_client: TestClient, app_db: Session, *, item9: int | None,
                   as_nurse: bool = True) -> str:
    """Signed in, a session opened and in pre-checks; returns the session page's path."""
    clinic = make_clinic(app_db)
    course = make_course(app_db, clinic, order_lot=True)
    if item9 is not None:
        self_report(app_db, course.patient_id, item9=item9)
    app_db.commit()
    user = clinic.nurse if as_nurse else clinic.prescriber
    assert sign_in(app_client, user.username) == 303
    page: str = post(app_client, f"/infusions/courses/{course.id}/sessions"
                     ).headers["location"]  # type: ignore[attr-defined]
    post(app_client, f"{page}/action", {"action": "begin_prechecks"})
    return page


def test_missing_self_report_shows_override_form(app_client: TestClient,
                                                 app_db: Session) -> None:
    page = prechecks_page(app_client, app_db, item9=None)
    html = app_client.get(page).text
    assert re.search(r'id="self-report">\s*<span class="missing">missing', html)
    assert "Today&#39;s self-report done" not in html and "self_report_done" not in html
    refused = post(app_client, f"{page}/prechecks/self-report-override",
                   {"self_report_reason": " "})
    assert refused.status_code == 422  # type: ignore[attr-defined]
    assert "Reason is required" in refused.text  # type: ignore[attr-defined]
    done = post(app_client, f"{page}/prechecks/self-report-override",
                {"self_report_reason": "patient declined"})
    assert done.status_code == 303  # type: ignore[attr-defined]
    html = app_client.get(page).text
    assert "going ahead without it, &ldquo;patient declined&rdquo;" in html
    assert "self-report-override" not in html  # the form is gone once a reason is on file
    assert "Went ahead without today's self-report: patient declined" in html


def test_self_report_and_open_alert_listed_for_the_nurse(app_client: TestClient,
                                                         app_db: Session) -> None:
    page = prechecks_page(app_client, app_db, item9=2)
    html = app_client.get(page).text
    assert re.search(r"PHQ-9 at \d\d:\d\d [A-Z+\-\d]+ \(portal\)", html)
    assert "open alerts: 2" in html and "Suicidality item positive" in html
    assert "Suicidality item on the urgent pathway" in html
    assert re.search(r'href="/patients/\d+/assessments#alert-\d+">view \(a prescriber '
                     r"acknowledges\)", html)
    assert "suicidality/switch alert(s) open" in html


def test_prescriber_gets_the_acknowledge_link(app_client: TestClient, app_db: Session) -> None:
    page = prechecks_page(app_client, app_db, item9=1, as_nurse=False)
    html = app_client.get(page).text
    assert re.search(r'#alert-\d+">acknowledge</a>', html)


def test_nurse_cannot_acknowledge_hold_alert_page(app_client: TestClient,
                                                  app_db: Session) -> None:
    page = prechecks_page(app_client, app_db, item9=0)
    post(app_client, f"{page}/vitals", {"sbp_mmhg": "185", "dbp_mmhg": "100"})
    post(app_client, f"{page}/vitals", {"sbp_mmhg": "182", "dbp_mmhg": "104"})
    html = app_client.get(page).text
    assert "A prescriber acknowledges HOLD alerts" in html
    # Only the REVIEW alert offers the nurse a form.
    [review_id] = re.findall(r"/alerts/(\d+)/acknowledge", html)
    hold_id = int(review_id) + 1
    refused = post(app_client, f"{page}/alerts/{hold_id}/acknowledge", {"action_taken": "x"})
    assert refused.status_code == 403  # type: ignore[attr-defined]
    assert "only a prescriber may acknowledge a HOLD alert" in refused.text  # type: ignore
    done = post(app_client, f"{page}/alerts/{review_id}/acknowledge", {"action_taken": "rep"})
    assert done.status_code == 303  # type: ignore[attr-defined]
    assert "Alerts needing action (1)" in app_client.get(page).text
