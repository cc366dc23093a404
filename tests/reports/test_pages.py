"""Report routes through the app on both databases: the patient page's buttons, the PDF,
JSON (problem details when the patient is unknown) and CSV, a refused range re-shown with its
message, who is refused, and the admin's service codes page."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from ketaflow.config import Role
from tests.reports.factories import MRN, hand_made
from tests.support.pdftext import page_texts
from tests.web.helpers import committed_user, csrf, sign_in


def test_a_prescriber_prints_the_packet_and_the_report(app_client: TestClient,
                                                        app_db: Session) -> None:
    made = hand_made(app_db)
    app_db.commit()
    pid = made.patient.id
    assert sign_in(app_client, made.prescriber.username) == 303
    page = app_client.get(f"/patients/{pid}").text
    assert f'href="/patients/{pid}/reports/prior-auth.pdf"' in page
    assert f'href="/patients/{pid}/reports/patient.pdf"' in page

    pdf = app_client.get(f"/patients/{pid}/reports/prior-auth.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert f"MRN {MRN}" in page_texts(pdf.content)[0]
    packet = app_client.get(f"/patients/{pid}/reports/prior-auth.json")
    assert packet.status_code == 200 and packet.json()["patient"]["mrn"] == MRN
    missing = app_client.get(f"/patients/{pid + 999}/reports/prior-auth.json")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["status"] == 404 and missing.json()["detail"] == "no such patient"

    reports = app_client.get(f"/patients/{pid}/reports")
    assert reports.status_code == 200
    assert all(v in reports.text for v in ("TESTPERSON, Ada", "1980-03-01", MRN))
    assert "No service codes configured by the clinic" in reports.text
    report = app_client.get(f"/patients/{pid}/reports/patient.pdf")
    assert report.status_code == 200 and report.headers["content-type"] == "application/pdf"
    table = app_client.get(f"/patients/{pid}/reports/patient.csv?from=2026-01-01")
    assert table.status_code == 200 and table.headers["content-type"].startswith("text/csv")
    assert "attachment" in table.headers["content-disposition"]
    bad = app_client.get(f"/patients/{pid}/reports/patient.pdf?from=2026-02-10&to=2026-02-01")
    assert bad.status_code == 422
    assert "From must be on or before To (2026-02-01)" in bad.text
    assert 'value="2026-02-10"' in bad.text   # what was asked is kept in the form
    typo = app_client.get(f"/patients/{pid}/reports/patient.csv?to=yesterday")
    assert typo.status_code == 422 and "To must be a date (YYYY-MM-DD)" in typo.text


def test_front_desk_and_researchers_are_refused_reports(app_client: TestClient,
                                                        app_db: Session) -> None:
    made = hand_made(app_db)
    desk = committed_user(app_db, Role.FRONT_DESK)
    app_db.commit()
    assert sign_in(app_client, desk.username) == 303
    for path in ("prior-auth.pdf", "prior-auth.json", "patient.pdf", "patient.csv", ""):
        url = f"/patients/{made.patient.id}/reports/{path}".rstrip("/")
        assert app_client.get(url).status_code == 403, url
    page = app_client.get(f"/patients/{made.patient.id}").text
    assert "prior-auth.pdf" not in page


def test_an_admin_lists_and_retires_the_clinics_service_codes(app_client: TestClient,
                                                              app_db: Session) -> None:
    admin = committed_user(app_db, Role.ADMIN, full_name="Alex Admin")
    nurse = committed_user(app_db, Role.NURSE)
    assert sign_in(app_client, nurse.username) == 303
    assert "No service codes configured" in app_client.get("/settings/service-codes").text
    refused = app_client.post("/settings/service-codes", data={
        "code_system": "T", "code": "1", "label": "x", "csrf_token": csrf(app_client)})
    assert refused.status_code == 403
    app_client.cookies.clear()
    assert sign_in(app_client, admin.username) == 303
    token = csrf(app_client)
    long = app_client.post("/settings/service-codes", data={
        "code_system": "TEST", "code": "X" * 21, "label": "Too long", "csrf_token": token})
    assert long.status_code == 422
    assert "Code must be at most 20 characters (21 given)" in long.text
    assert 'value="Too long"' in long.text
    added = app_client.post("/settings/service-codes", data={
        "code_system": "TEST", "code": "T-9", "label": "Test service", "csrf_token": token})
    assert added.status_code == 303
    listed = app_client.get("/settings/service-codes").text
    assert "T-9" in listed and "by Alex Admin (admin)" in listed
    code_id = re.search(r'/settings/service-codes/(\d+)/retire', listed).group(1)
    twice = app_client.post("/settings/service-codes", data={
        "code_system": "test", "code": "t-9", "label": "Again", "csrf_token": token})
    assert twice.status_code == 409    # the same code in other letter case
    assert "test t-9 is already listed: retire it first" in twice.text
    retired = app_client.post(f"/settings/service-codes/{code_id}/retire",
                              data={"csrf_token": token})
    assert retired.status_code == 303
    assert "retired" in app_client.get("/settings/service-codes").text
