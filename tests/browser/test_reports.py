"""In Chromium: a prescriber prints a patient's prior-authorisation packet and clinician
report from the patient page, sees a refused range named with its field (what was typed kept),
and downloads the CSV; the first PDF page is rendered to PNG (pdftoppm) beside the
screenshots, so a person can look at what the payer would get."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import (
    SCREENSHOTS,
    SIZES,
    assert_fits,
    close_page,
    db_session,
    open_page,
    shot,
    sign_in,
)
from tests.reports.factories import MRN, hand_made
from tests.support.pdftext import page_texts


def _pdf_page_png(pdf: Path, name: str) -> Path:
    """The PDF's first page as PNG beside the screenshots (a required tool: never skipped)."""
    tool = shutil.which("pdftoppm")
    assert tool is not None, "pdftoppm (poppler-utils) is needed to look at the printed pages"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    target = SCREENSHOTS / name
    subprocess.run([tool, "-png", "-r", "70", "-f", "1", "-l", "1", "-singlefile", str(pdf),
                    str(target)], check=True, timeout=60)
    return target.with_suffix(".png")


@pytest.mark.browser
@pytest.mark.parametrize("size", list(SIZES))
def test_a_prescriber_prints_the_packet_and_the_report(browser: Browser, live_server: str,
                                                       db_url: str, size: str,
                                                       tmp_path: Path) -> None:
    with db_session(db_url) as db:
        made = hand_made(db)
        username, patient_id = made.prescriber.username, made.patient.id
    context, page, checks = open_page(browser, live_server)
    page.set_viewport_size(SIZES[size])
    try:
        sign_in(page, username)
        page.goto(f"/patients/{patient_id}")
        section = page.locator("#reports-section")
        expect(section).to_be_visible()
        section.scroll_into_view_if_needed()
        shot(page, f"reports-01-patient-page-{size}")
        # The section itself fits the phone (the patient page's older tables do not yet).
        box = section.bounding_box()
        assert box is not None and box["x"] + box["width"] <= SIZES[size]["width"]
        section.screenshot(path=str(SCREENSHOTS / f"reports-01-section-{size}.png"))

        # Served inline: Chromium opens it in its own viewer, which hands the page its HTML
        # rather than the file; the same URL fetched with the signed-in context's cookies
        # gives the bytes the viewer shows.
        button = section.get_by_test_id("prior-auth-pdf")
        with page.expect_response(lambda r: r.url.endswith("/prior-auth.pdf")) as packet:
            button.click()
        assert packet.value.status == 200
        assert packet.value.headers["content-type"] == "application/pdf"
        pdf = tmp_path / "packet.pdf"
        pdf.write_bytes(context.request.get(packet.value.url).body())
        first = page_texts(pdf.read_bytes())[0]
        assert f"MRN {MRN}" in first and "TESTPERSON, Ada" in first
        if size == "tablet":
            _pdf_page_png(pdf, "reports-02-packet-page-1")

        page.goto(f"/patients/{patient_id}")
        page.get_by_role("link", name="Other ranges, CSV and JSON").click()
        expect(page.get_by_test_id("patient-banner")).to_contain_text("TESTPERSON, Ada")
        page.get_by_label("From", exact=True).fill("2026-02-10")
        page.get_by_label("To", exact=True).fill("2026-02-01")
        page.get_by_test_id("clinician-pdf").click()
        expect(page.get_by_text("From must be on or before To (2026-02-01)").first
               ).to_be_visible()
        expect(page.get_by_label("From", exact=True)).to_have_value("2026-02-10")
        shot(page, f"reports-03-refused-range-{size}")
        assert_fits(page)

        page.get_by_label("From", exact=True).fill("")
        page.get_by_label("To", exact=True).fill("")
        with page.expect_download() as table:
            page.get_by_test_id("clinician-csv").click()
        csv_path = tmp_path / "report.csv"
        table.value.save_as(csv_path)
        assert csv_path.read_text().startswith("section,when,item,value,unit,detail")
        shot(page, f"reports-05-reports-page-{size}")
        with page.expect_response(lambda r: "/reports/patient.pdf" in r.url) as report:
            page.get_by_test_id("clinician-pdf").click()
        assert report.value.status == 200
        assert report.value.headers["content-type"] == "application/pdf"
        report_pdf = tmp_path / "report.pdf"
        report_pdf.write_bytes(context.request.get(report.value.url).body())
        assert "Clinician report" in page_texts(report_pdf.read_bytes())[0]
        if size == "tablet":
            _pdf_page_png(report_pdf, "reports-04-clinician-page-1")
    finally:
        close_page(context, checks)
