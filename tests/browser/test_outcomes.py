"""In Chromium, at tablet and phone sizes: the director opens the outcomes dashboard from the
nav, reads response and remission beside the trials, the time-to-response curve and the
funnel, filters to a site with no courses (an empty state that says why), and a researcher
sees the same page with small cells suppressed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import Browser, expect

from ketaflow.config import Role
from tests.browser.conftest import (
    SIZES,
    assert_fits,
    close_page,
    db_session,
    open_page,
    shot,
    sign_in,
)
from tests.outcomes.factories import anchor, course, make_clinic, rate, site
from tests.support.factories import make_user


def _clinic(db_url: str) -> dict[str, str]:
    """Four finished inductions (three responders, one remitter) and an empty site."""
    with db_session(db_url) as db:
        admin = make_user(db, role=Role.ADMIN, full_name="Ada Director").username
        researcher = make_user(db, role=Role.RESEARCHER, full_name="Rui Research").username
        empty = site(db, "E")
        clinic = make_clinic(db)
        first = anchor(60)
        # After the third infusion, at the end, and (the non-responder) five days later.
        for early, end in ((14, 9), (22, 14), (22, 15), (22, 24)):
            c = course(db, clinic, first=first)
            rate(db, c, 30, first.replace(hour=8))
            rate(db, c, early, c.infusions[2].replace(hour=14))
            rate(db, c, end, c.last.replace(hour=14))
            if end > 15:
                rate(db, c, 26, c.last.replace(hour=14) + timedelta(days=5))
        return {"admin": admin, "researcher": researcher, "empty_site": empty.name}


@pytest.mark.browser
@pytest.mark.parametrize("size", list(SIZES))
def test_the_director_reads_outcomes_beside_the_trials(browser: Browser, live_server: str,
                                                        db_url: str, size: str) -> None:
    names = _clinic(db_url)
    context, page, checks = open_page(browser, live_server)
    page.set_viewport_size(SIZES[size])
    try:
        sign_in(page, names["admin"])
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Outcomes").click()
        expect(page.get_by_role("heading", name="Outcomes", exact=True)).to_be_visible()
        row = page.locator("#row-madrs")
        expect(row).to_contain_text("MADRS")
        expect(row.locator("td[data-label=Responders]")).to_have_text("3")
        expect(row.locator("td[data-label=Response]")).to_contain_text("75% (95% CI")
        expect(row.locator("td[data-label=Remitters]")).to_have_text("1")
        expect(page.locator("#response-refs")).to_contain_text("Diazgranados")
        expect(page.locator("#response-refs")).to_contain_text("unipolar")
        expect(page.locator("svg#km-madrs")).to_be_visible()
        expect(page.locator("svg#funnel")).to_be_visible()
        expect(page.get_by_text("MADRS: 4 courses followed, 3 responded, 1 censored")) \
            .to_be_visible()
        shot(page, f"outcomes-01-dashboard-{size}")
        assert_fits(page)
        page.get_by_label("Site").select_option(label=names["empty_site"])
        page.get_by_role("button", name="Show").click()
        expect(page.locator("#outcomes-empty")).to_contain_text(
            "No treatment course matches these filters")
        shot(page, f"outcomes-02-empty-site-{size}")
        assert_fits(page)
        page.get_by_label("From").fill("2026-03-01")
        page.get_by_label("To").fill("2026-02-01")
        page.get_by_role("button", name="Show").click()
        expect(page.locator("#e-to")).to_have_text("To must be on or after From")
        page.get_by_role("button", name="Sign out").click()
        sign_in(page, names["researcher"])
        page.goto("/outcomes")
        expect(page.get_by_role("note").filter(has_text="Researcher view")).to_be_visible()
        expect(page.locator("#row-madrs td[data-label=Responders]")).to_have_text("<11")
        expect(page.locator("svg#km-madrs")).to_have_count(0)
        shot(page, f"outcomes-03-researcher-{size}")
        assert_fits(page)
    finally:
        close_page(context, checks)
