"""In Chromium: a researcher finds the export in the menu, downloads the zip and gets the
de-identified bundle (no identifier in any file); the page fits a tablet and a phone."""

from __future__ import annotations

import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from ketaflow.config import Role
from ketaflow.research import columns
from tests.browser.conftest import (
    SIZES,
    assert_fits,
    close_page,
    db_session,
    open_page,
    shot,
    sign_in,
)
from tests.infusions.factories import make_clinic
from tests.research.bundle import every_cell
from tests.research.factories import Person, people, seed_person
from tests.support.factories import make_user


def _arrange(db_url: str) -> list[Person]:
    base = datetime.now(UTC).date() - timedelta(days=20)
    with db_session(db_url) as db:
        clinic = make_clinic(db)
        for person in people(base):
            seed_person(db, clinic, person, base)
        make_user(db, role=Role.RESEARCHER, username="rui", full_name="Dr Rui Santos")
    return people(base)


def test_a_researcher_downloads_the_bundle(page: Page, db_url: str, tmp_path: Path) -> None:
    seeded = _arrange(db_url)
    sign_in(page, "rui")
    page.get_by_role("navigation", name="Main").get_by_role("link",
                                                            name="Research export").click()
    expect(page.get_by_role("heading", name="Research export", level=1)).to_be_visible()
    expect(page.get_by_text("You have not exported yet")).to_be_visible()
    shot(page, "research-01-export-page")
    page.get_by_label("CSV and Parquet").check()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download export (.zip)").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name.startswith("ketaflow-research-export-") and saved.suffix == ".zip"
    folder = tmp_path / "bundle"
    with zipfile.ZipFile(saved) as bundle:
        bundle.extractall(folder)
    assert {f"{t.name}.parquet" for t in columns.TABLES} <= {p.name for p in folder.iterdir()}
    forbidden = {value.lower() for person in seeded for value in person.identifiers()}
    for name, cell in every_cell(folder):
        assert not [value for value in forbidden if value in cell.lower()], name
    page.reload()
    expect(page.get_by_role("region", name="Your recent exports")).to_contain_text(
        "69 rows (csv+parquet)")
    shot(page, "research-02-after-download")


@pytest.mark.parametrize("size", list(SIZES))
def test_the_export_page_fits(browser: Browser, live_server: str, db_url: str,
                              size: str) -> None:
    with db_session(db_url) as db:
        make_user(db, role=Role.RESEARCHER, username="rui", full_name="Dr Rui Santos")
    context, page, checks = open_page(browser, live_server)
    page.set_viewport_size(SIZES[size])
    sign_in(page, "rui")
    page.goto("/research/export")
    expect(page.get_by_role("button", name="Download export (.zip)")).to_be_visible()
    assert_fits(page)
    shot(page, f"research-03-export-page-{size}")
    close_page(context, checks)
